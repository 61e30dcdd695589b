//! Sharded models as one: a safetensors shard index (shards written by the `safetensors`
//! crate's serializer, the index as Hugging Face writes it) and a GGUF split (named and keyed
//! as llama.cpp's `gguf-split` writes them), opened through a registry over `MemoryOs`, with
//! every way an index or a split can disagree with its files.

use std::collections::HashMap;

use loadguard::format::{ParseOptions, Rule};
use loadguard::os::MemoryOs;
use loadguard::testing::Ledger;
use loadguard::{Error, LoadOptions, Model, Registry};
use safetensors::tensor::{Dtype, TensorView};

/// A safetensors file of `tensors` (name, f32 values), serialized by the reference crate.
fn shard(tensors: &[(&str, &[f32])]) -> Vec<u8> {
    let bytes: Vec<(String, Vec<u8>, usize)> = tensors
        .iter()
        .map(|(n, v)| {
            let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            ((*n).to_owned(), b, v.len())
        })
        .collect();
    let views: HashMap<String, TensorView<'_>> = bytes
        .iter()
        .map(|(n, b, len)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, vec![*len], b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize(&views, None).unwrap()
}

fn index(map: &[(&str, &str)]) -> Vec<u8> {
    let entries: Vec<String> = map.iter().map(|(t, f)| format!("{t:?}: {f:?}")).collect();
    format!(
        "{{\n  \"metadata\": {{\"total_size\": 24}},\n  \"weight_map\": {{\n    {}\n  }}\n}}\n",
        entries.join(",\n    ")
    )
    .into_bytes()
}

fn fs_with(files: &[(&str, Vec<u8>)]) -> MemoryOs {
    let fs = MemoryOs::new();
    for (p, b) in files {
        fs.write(*p, b.clone());
    }
    fs
}

fn two_shards() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "/m/model-00001-of-00002.safetensors",
            shard(&[("a", &[1.0, 2.0]), ("b", &[3.0])]),
        ),
        (
            "/m/model-00002-of-00002.safetensors",
            shard(&[("c", &[4.0, 5.0, 6.0])]),
        ),
    ]
}

const MAP: [(&str, &str); 3] = [
    ("a", "model-00001-of-00002.safetensors"),
    ("b", "model-00001-of-00002.safetensors"),
    ("c", "model-00002-of-00002.safetensors"),
];

fn rule(err: &Error) -> Rule {
    match err {
        Error::Format(f) => f.rule,
        other => panic!("not a format error: {other}"),
    }
}

#[test]
fn a_safetensors_index_opens_every_shard_as_one_model() {
    let mut files = two_shards();
    files.push(("/m/model.safetensors.index.json", index(&MAP)));
    let ledger = Ledger::new();
    let registry = Registry::with_os(ledger.track(fs_with(&files)));
    let m = Model::open(&registry, "/m/model.safetensors.index.json").unwrap();
    assert!(m.is_sharded());
    assert_eq!(m.format().name(), "safetensors");
    assert_eq!((m.tensor_count(), m.shards().len()), (3, 2));
    let names: Vec<&str> = m.tensors().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    for (name, file, values) in [
        ("a", "model-00001-of-00002.safetensors", &[1.0f32, 2.0][..]),
        (
            "c",
            "model-00002-of-00002.safetensors",
            &[4.0, 5.0, 6.0][..],
        ),
    ] {
        let t = m.tensor(name).unwrap();
        let got: Vec<f32> = t
            .bytes()
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(got, values);
        assert!(m.tensor_path(name).unwrap().ends_with(file));
    }
    assert!(m.tensor("d").is_none());
    drop(m);
    ledger.assert_balanced();
}

#[test]
#[cfg_attr(
    miri,
    ignore = "eight sharded opens; the shard logic runs under Miri in the other tests"
)]
fn an_index_that_disagrees_with_its_shards_is_refused() {
    let cases: Vec<(&str, Vec<u8>, Rule)> = vec![
        // Listed, but not in its shard.
        (
            "listed-missing",
            index(&[MAP[0], MAP[1], MAP[2], ("d", "model-00002-of-00002.safetensors")]),
            Rule::ShardMismatch,
        ),
        // In a shard, but not listed.
        ("unlisted", index(&[MAP[0], MAP[2]]), Rule::ShardMismatch),
        // Listed for the wrong shard.
        (
            "wrong-shard",
            index(&[MAP[0], ("b", "model-00002-of-00002.safetensors"), MAP[2]]),
            Rule::ShardMismatch,
        ),
        // A shard outside the index's directory.
        ("escape", index(&[("a", "../etc/model.safetensors")]), Rule::ShardPath),
        // Listed twice.
        (
            "twice",
            br#"{"weight_map": {"a": "model-00001-of-00002.safetensors", "a": "model-00002-of-00002.safetensors"}}"#.to_vec(),
            Rule::DuplicateKey,
        ),
    ];
    for (what, idx, expected) in cases {
        let mut files = two_shards();
        files.push(("/m/model.safetensors.index.json", idx));
        let ledger = Ledger::new();
        let registry = Registry::with_os(ledger.track(fs_with(&files)));
        let err = Model::open(&registry, "/m/model.safetensors.index.json").unwrap_err();
        assert_eq!(rule(&err), expected, "{what}: {err}");
        assert_eq!(
            err.path().unwrap(),
            std::path::Path::new("/m/model.safetensors.index.json"),
            "{what}"
        );
        ledger.assert_balanced();
    }
    // The same tensor in two shards (each listing consistent otherwise).
    let files = vec![
        ("/m/s1.safetensors", shard(&[("a", &[1.0])])),
        ("/m/s2.safetensors", shard(&[("a", &[2.0])])),
        (
            "/m/x.safetensors.index.json",
            index(&[("a", "s1.safetensors"), ("b", "s2.safetensors")]),
        ),
    ];
    let registry = Registry::with_os(fs_with(&files));
    let err = Model::open(&registry, "/m/x.safetensors.index.json").unwrap_err();
    assert_eq!(rule(&err), Rule::ShardMismatch, "{err}");
    // A missing shard is the registry's error, naming the shard.
    let files = vec![("/m/x.safetensors.index.json", index(&MAP))];
    let err = Model::open(
        &Registry::with_os(fs_with(&files)),
        "/m/x.safetensors.index.json",
    )
    .unwrap_err();
    assert!(
        err.path()
            .unwrap()
            .ends_with("model-00001-of-00002.safetensors"),
        "{err}"
    );
}

// ------------------------------------------------------------------ GGUF splits

fn gs(s: &str) -> Vec<u8> {
    let mut b = u64::try_from(s.len()).unwrap().to_le_bytes().to_vec();
    b.extend_from_slice(s.as_bytes());
    b
}

/// One split file: `split.no` / `split.count` (u16) and `split.tensors.count` (i32) as
/// gguf-split writes them, and `tensors` (name, f32 count).
fn split(no: u16, count: u16, total: i32, tensors: &[(&str, u64)]) -> Vec<u8> {
    let mut f = b"GGUF".to_vec();
    f.extend_from_slice(&3u32.to_le_bytes());
    f.extend_from_slice(&u64::try_from(tensors.len()).unwrap().to_le_bytes());
    f.extend_from_slice(&3u64.to_le_bytes());
    for (key, ty, value) in [
        ("split.no", 2u32, no.to_le_bytes().to_vec()),
        ("split.count", 2, count.to_le_bytes().to_vec()),
        ("split.tensors.count", 5, total.to_le_bytes().to_vec()),
    ] {
        f.extend(gs(key));
        f.extend_from_slice(&ty.to_le_bytes());
        f.extend(value);
    }
    let mut offset = 0u64;
    for (name, n) in tensors {
        f.extend(gs(name));
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&n.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&offset.to_le_bytes());
        offset += (n * 4).next_multiple_of(32);
    }
    f.resize(f.len().next_multiple_of(32), 0);
    let data = usize::try_from(offset).unwrap();
    f.resize(f.len() + data, 7);
    f
}

fn three_splits(second: Vec<u8>) -> MemoryOs {
    fs_with(&[
        (
            "/g/m-00001-of-00003.gguf",
            split(0, 3, 4, &[("a", 8), ("b", 4)]),
        ),
        ("/g/m-00002-of-00003.gguf", second),
        ("/g/m-00003-of-00003.gguf", split(2, 3, 4, &[("d", 16)])),
    ])
}

#[test]
fn a_gguf_split_opens_as_one_model() {
    let ledger = Ledger::new();
    let registry = Registry::with_os(ledger.track(three_splits(split(1, 3, 4, &[("c", 2)]))));
    let m = Model::open(&registry, "/g/m-00001-of-00003.gguf").unwrap();
    assert_eq!((m.tensor_count(), m.shards().len()), (4, 3));
    for (name, len, file) in [("a", 32, "00001"), ("c", 8, "00002"), ("d", 64, "00003")] {
        assert_eq!(m.tensor(name).unwrap().bytes().len(), len);
        assert!(
            m.tensor_path(name)
                .unwrap()
                .to_str()
                .unwrap()
                .contains(file)
        );
    }
    // Lenient rules reach every split too.
    let lenient = Model::open_with(
        &registry,
        "/g/m-00001-of-00003.gguf",
        &LoadOptions::new(),
        &ParseOptions::new().lenient(true),
    )
    .unwrap();
    assert_eq!(lenient.tensor_count(), 4);
    drop((m, lenient));
    ledger.assert_balanced();
}

#[test]
#[cfg_attr(
    miri,
    ignore = "seven split opens; the split logic runs under Miri in a_gguf_split_opens_as_one_model"
)]
fn a_split_that_disagrees_is_refused() {
    for (what, second) in [
        ("wrong number", split(2, 3, 4, &[("c", 2)])),
        ("wrong count", split(1, 4, 4, &[("c", 2)])),
        ("tensor total", split(1, 3, 4, &[("c", 2), ("e", 2)])),
        ("name twice", split(1, 3, 4, &[("a", 2)])),
    ] {
        let ledger = Ledger::new();
        let registry = Registry::with_os(ledger.track(three_splits(second)));
        let err = Model::open(&registry, "/g/m-00001-of-00003.gguf").unwrap_err();
        assert_eq!(rule(&err), Rule::ShardMismatch, "{what}: {err}");
        ledger.assert_balanced();
    }
    // Opening a later split names the first.
    let registry = Registry::with_os(three_splits(split(1, 3, 4, &[("c", 2)])));
    let err = Model::open(&registry, "/g/m-00002-of-00003.gguf").unwrap_err();
    assert!(err.to_string().contains("open the first split"), "{err}");
    // A first split whose name does not follow the pattern cannot name the others.
    let fs = fs_with(&[("/g/model.gguf", split(0, 3, 4, &[("a", 8)]))]);
    let err = Model::open(&Registry::with_os(fs), "/g/model.gguf").unwrap_err();
    assert_eq!(rule(&err), Rule::ShardPath, "{err}");
}

/// The ledger blames the user's line for what a model holds (issue 10: it used to name
/// loadguard's own `format/model.rs`), for every shard it opened.
#[test]
fn a_held_model_is_attributed_to_the_callers_line() {
    let mut files = two_shards();
    files.push(("/m/model.safetensors.index.json", index(&MAP)));
    let ledger = Ledger::new();
    let registry = Registry::with_os(ledger.track(fs_with(&files)));
    let m = Model::open(&registry, "/m/model.safetensors.index.json").unwrap();
    let leaks = ledger.check_balanced().unwrap_err().to_string();
    assert!(leaks.contains("formats_shards.rs"), "{leaks}");
    assert!(!leaks.contains("loader/src/"), "{leaks}");
    drop(m);
    ledger.assert_balanced();
}
