//! loadguard's parse of real files, cross-checked against the reference readers' dumps of the
//! same files (committed beside them):
//! - ExecuTorch programs exported by ExecuTorch 1.5.1's serializer, against
//!   `_program_flatbuffer_to_json` (ExecuTorch's own reader) and, for `.ptd`, `flatc --json`
//!   with the package's schema (`fixtures/executorch/export.py`);
//! - llama.cpp's `models/ggml-vocab-*.gguf` (from the `llama-cpp-python` sdist), against
//!   gguf-py's `GGUFReader` (`fixtures/gguf-vocab/dump.py`).
//!
//! Two vocab files are committed; `all_real_gguf_files_match_gguf_py` checks every other one
//! (the held-out set, GGUF v2 included) when `LOADGUARD_REAL_GGUF` names a directory of files
//! and dumps, as `ci/stages/85-formats-real.sh` prepares it.

use std::path::{Path, PathBuf};

use loadguard::format::gguf::{GgufValue, ValueType};
use loadguard::format::{self, Details, ModelInfo};
use loadguard::os::MemoryOs;
use loadguard::{Model, Registry};
use serde_json::Value;

fn dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(sub)
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn model(path: &Path) -> Model {
    let fs = MemoryOs::new();
    fs.write(path, std::fs::read(path).unwrap());
    Model::open(&Registry::with_os(fs), path).unwrap_or_else(|e| panic!("{e}"))
}

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_u64().unwrap()).collect())
        .unwrap_or_default()
}

// ------------------------------------------------------------------ ExecuTorch

/// Every number the runtime trusts, as ExecuTorch's own reader dumped it, against our parse.
fn check_program(name: &str) {
    let pte = dir("executorch").join(format!("{name}.pte"));
    let theirs = json(&dir("executorch").join(format!("{name}.json")));
    let bytes = std::fs::read(&pte).unwrap();
    let info = format::parse(&pte, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let Details::Pte(p) = info.details() else {
        panic!("{name}: not a program")
    };
    assert_eq!(
        u64::from(p.version),
        theirs["version"].as_u64().unwrap(),
        "{name}"
    );
    let base = p.segment_data.as_ref().map_or(0, |r| r.start);
    let segs = theirs["segments"].as_array().unwrap();
    assert_eq!(p.segments.len(), segs.len(), "{name}");
    for (ours, t) in p.segments.iter().zip(segs) {
        assert_eq!(ours.offset, base + t["offset"].as_u64().unwrap(), "{name}");
        assert_eq!(ours.len, t["size"].as_u64().unwrap(), "{name}");
    }
    let offsets = u64s(&theirs["constant_segment"]["offsets"]);
    assert_eq!(p.constants.len(), offsets.len(), "{name}");
    if let Some(seg) = offsets.first().map(|_| {
        let i = usize::try_from(
            theirs["constant_segment"]["segment_index"]
                .as_u64()
                .unwrap(),
        )
        .unwrap();
        p.segments[i]
    }) {
        for (c, off) in p.constants.iter().zip(&offsets) {
            assert_eq!(c.offset, seg.offset + off, "{name}");
        }
    }
    let plans = theirs["execution_plan"].as_array().unwrap();
    assert_eq!(p.plans.len(), plans.len(), "{name}");
    for (ours, t) in p.plans.iter().zip(plans) {
        assert_eq!(ours.name, t["name"].as_str().unwrap(), "{name}");
        let ins: Vec<u64> = ours.inputs.iter().map(|&i| u64::from(i)).collect();
        let outs: Vec<u64> = ours.outputs.iter().map(|&i| u64::from(i)).collect();
        assert_eq!(ins, u64s(&t["inputs"]), "{name}");
        assert_eq!(outs, u64s(&t["outputs"]), "{name}");
        let ids: Vec<&str> = t["delegates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap())
            .collect();
        assert_eq!(ours.delegates, ids, "{name}");
        assert_eq!(
            ours.values as usize,
            t["values"].as_array().unwrap().len(),
            "{name}"
        );
        assert_eq!(
            ours.operators as usize,
            t["operators"].as_array().unwrap().len(),
            "{name}"
        );
        let instructions: usize = t["chains"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["instructions"].as_array().unwrap().len())
            .sum();
        assert_eq!(ours.instructions as usize, instructions, "{name}");
    }
    let named: Vec<(String, u32)> = theirs["named_data"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|n| {
                    (
                        n["key"].as_str().unwrap().to_owned(),
                        u32::try_from(n["segment_index"].as_u64().unwrap()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(p.named_data, named, "{name}");
    // Constant tensors: each inside its constant slot, with the bytes its shape needs.
    for t in info.tensors() {
        assert!(
            p.constants
                .iter()
                .any(|c| c.offset == t.offset && c.len >= t.len),
            "{name}: {}",
            t.name
        );
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "serde_json over the dumps is slow under Miri; the parsers run under Miri in formats.rs"
)]
fn programs_match_executorchs_own_reader() {
    for name in [
        "add_portable",
        "linear_portable",
        "linear_xnnpack",
        "linear_external",
    ] {
        check_program(name);
    }
    // The XNNPACK program delegates its whole graph; its blob is a segment.
    let info = format::parse(
        Path::new("x.pte"),
        &std::fs::read(dir("executorch").join("linear_xnnpack.pte")).unwrap(),
    )
    .unwrap();
    let Details::Pte(p) = info.details() else {
        panic!()
    };
    assert_eq!(p.plans[0].delegates, ["XnnpackBackend"]);
}

#[test]
fn portable_constants_are_tensors_of_the_right_bytes() {
    let path = dir("executorch").join("linear_portable.pte");
    let m = model(&path);
    let weights: Vec<_> = m.tensors().cloned().collect();
    assert_eq!(weights.len(), 2, "{weights:?}");
    let shapes: Vec<Vec<u64>> = weights.iter().map(|t| t.shape()).collect();
    assert!(
        shapes.contains(&vec![3, 4]) && shapes.contains(&vec![3]),
        "{shapes:?}"
    );
    for t in &weights {
        let view = m.tensor(&t.name).unwrap();
        assert_eq!(view.dtype().name(), "Float");
        if cfg!(target_endian = "little") && view.bytes().as_ptr().addr() % 4 == 0 {
            assert!(
                view.as_slice::<f32>()
                    .unwrap()
                    .iter()
                    .all(|x| x.is_finite())
            );
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "serde_json over the dumps is slow under Miri")]
fn named_data_matches_flatc_and_lists_tensors() {
    let path = dir("executorch").join("linear_external.ptd");
    let theirs = json(&dir("executorch").join("linear_external.ptd.json"));
    let m = model(&path);
    let Details::Ptd(p) = m.info().details() else {
        panic!()
    };
    let base = p.segment_data.offset;
    let segs = theirs["segments"].as_array().unwrap();
    assert_eq!(p.segments.len(), segs.len());
    for (ours, t) in p.segments.iter().zip(segs) {
        assert_eq!(ours.offset, base + t["offset"].as_u64().unwrap());
        assert_eq!(ours.len, t["size"].as_u64().unwrap());
    }
    for entry in theirs["named_data"].as_array().unwrap() {
        let key = entry["key"].as_str().unwrap();
        let t = m.tensor(key).unwrap_or_else(|| panic!("{key}"));
        let seg = usize::try_from(entry["segment_index"].as_u64().unwrap()).unwrap();
        assert_eq!(t.range().start, p.segments[seg].offset, "{key}");
        assert_eq!(
            t.dims(),
            &u64s(&entry["tensor_layout"]["sizes"])[..],
            "{key}"
        );
        assert_eq!(t.dtype().name(), "Float");
    }
    // The program that uses it names the same keys.
    let program = format::parse(
        Path::new("p.pte"),
        &std::fs::read(dir("executorch").join("linear_external.pte")).unwrap(),
    )
    .unwrap();
    let pte_json = json(&dir("executorch").join("linear_external.json"));
    let fqns: Vec<&str> = pte_json["execution_plan"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["val"]["extra_tensor_info"]["fully_qualified_name"].as_str())
        .collect();
    assert!(!fqns.is_empty());
    for fqn in fqns {
        assert!(m.tensor(fqn).is_some(), "{fqn} not in the .ptd");
    }
    assert!(
        program.tensors().is_empty(),
        "external weights are not in the program"
    );
}

// ------------------------------------------------------------------ GGUF

fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::U8 => "uint8",
        ValueType::I8 => "int8",
        ValueType::U16 => "uint16",
        ValueType::I16 => "int16",
        ValueType::U32 => "uint32",
        ValueType::I32 => "int32",
        ValueType::F32 => "float32",
        ValueType::Bool => "bool",
        ValueType::String => "string",
        ValueType::Array => "array",
        ValueType::U64 => "uint64",
        ValueType::I64 => "int64",
        ValueType::F64 => "float64",
        _ => "?",
    }
}

fn value_json(v: &GgufValue) -> Value {
    match v {
        GgufValue::U8(x) => (*x).into(),
        GgufValue::I8(x) => (*x).into(),
        GgufValue::U16(x) => (*x).into(),
        GgufValue::I16(x) => (*x).into(),
        GgufValue::U32(x) => (*x).into(),
        GgufValue::I32(x) => (*x).into(),
        GgufValue::U64(x) => (*x).into(),
        GgufValue::I64(x) => (*x).into(),
        GgufValue::F32(x) => f64::from(*x).into(),
        GgufValue::F64(x) => (*x).into(),
        GgufValue::Bool(x) => (*x).into(),
        GgufValue::String(s) => s.clone().into(),
        _ => Value::Null,
    }
}

/// Our parse of one GGUF file against gguf-py's dump: version, every key in order with its
/// type and value (arrays: item type, length, first and last item), every tensor.
fn check_gguf(path: &Path, dump: &Value) {
    let m = model(path);
    let info: &ModelInfo = m.info();
    let Details::Gguf(h) = info.details() else {
        panic!()
    };
    let name = path.display();
    assert_eq!(
        u64::from(h.version),
        dump["version"].as_u64().unwrap(),
        "{name}"
    );
    let kvs = dump["kv"].as_array().unwrap();
    assert_eq!(h.kvs.len(), kvs.len(), "{name}");
    for (kv, t) in h.kvs.iter().zip(kvs) {
        assert_eq!(kv.key, t["key"].as_str().unwrap(), "{name}");
        assert_eq!(
            type_name(kv.value.value_type()),
            t["type"].as_str().unwrap(),
            "{name}: {}",
            kv.key
        );
        match &kv.value {
            GgufValue::Array(a) => {
                assert_eq!(
                    type_name(a.item_type),
                    t["item_type"].as_str().unwrap(),
                    "{name}: {}",
                    kv.key
                );
                assert_eq!(a.len, t["len"].as_u64().unwrap(), "{name}: {}", kv.key);
                if a.len > 0 {
                    let first = m.gguf_array(a).next().unwrap().unwrap();
                    let last = m.gguf_array(a).last().unwrap().unwrap();
                    assert_eq!(value_json(&first), t["first"], "{name}: {}", kv.key);
                    assert_eq!(value_json(&last), t["last"], "{name}: {}", kv.key);
                }
            }
            v => assert_eq!(value_json(v), t["value"], "{name}: {}", kv.key),
        }
    }
    let tensors = dump["tensors"].as_array().unwrap();
    assert_eq!(info.tensors().len(), tensors.len(), "{name}");
    for (ours, t) in info.tensors().iter().zip(tensors) {
        assert_eq!(ours.name, t["name"].as_str().unwrap());
        assert_eq!(ours.dtype.name(), t["type"].as_str().unwrap());
        assert_eq!(ours.dims, u64s(&t["dims"]));
        assert_eq!(ours.offset, t["offset"].as_u64().unwrap());
        assert_eq!(ours.len, t["len"].as_u64().unwrap());
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "two vocabularies of 30,000 strings: minutes under Miri"
)]
fn committed_vocab_files_match_gguf_py() {
    for name in ["ggml-vocab-bert-bge.gguf", "ggml-vocab-llama-spm.gguf"] {
        let path = dir("gguf-vocab").join(name);
        check_gguf(
            &path,
            &json(&dir("gguf-vocab").join(format!("{name}.json"))),
        );
    }
}

/// The held-out set: every `*.gguf` in `$LOADGUARD_REAL_GGUF` with its `*.gguf.json` dump.
#[test]
#[ignore = "needs LOADGUARD_REAL_GGUF=<dir of .gguf files and dump.py dumps> (ci/stages/85-formats-real.sh)"]
fn all_real_gguf_files_match_gguf_py() {
    let root = PathBuf::from(std::env::var("LOADGUARD_REAL_GGUF").expect("LOADGUARD_REAL_GGUF"));
    let mut seen = 0;
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "gguf"))
        .collect();
    files.sort();
    for path in files {
        let dump = PathBuf::from(format!("{}.json", path.display()));
        check_gguf(&path, &json(&dump));
        println!("match: {}", path.display());
        seen += 1;
    }
    assert!(seen > 0, "no .gguf files in {}", root.display());
    println!("{seen} real GGUF files match gguf-py");
}

/// Programs exported after the parser was final (`held_*`, export.py's `held_out`): a conv
/// with batch norm (portable and XNNPACK) and a program with two methods. Never tuned against.
#[test]
#[cfg_attr(miri, ignore = "serde_json over the dumps is slow under Miri")]
fn held_out_programs_match_executorchs_own_reader() {
    let mut names: Vec<String> = std::fs::read_dir(dir("executorch"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("held_") && n.ends_with(".pte"))
        .map(|n| n.trim_end_matches(".pte").to_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 3, "{names:?}");
    for name in &names {
        check_program(name);
        println!("held-out program matches: {name}");
    }
}
