//! Strict format parsers against fixtures written by the reference writers (`safetensors`,
//! `gguf` from PyPI) and hand-broken variants, one per rule (see `fixtures/generate.py`).
//!
//! Fixtures are compiled in with `include_bytes!`, so everything except the registry tests runs
//! under Miri without filesystem access.

use std::path::Path;

use loadguard::format::{
    self, CastError, DType, Details, Format, FormatError, ModelInfo, Rule, gguf, pte, safetensors,
};

#[allow(dead_code)]
mod fixtures {
    include!("fixtures/table.rs");
}

fn format_of(name: &str) -> Format {
    match name {
        "safetensors" => Format::Safetensors,
        "gguf" => Format::Gguf,
        "pte" => Format::Pte,
        other => panic!("unknown format {other}"),
    }
}

/// Parses with the named format's own parser (no detection).
fn parse_as(format: Format, name: &str, bytes: &[u8]) -> Result<ModelInfo, FormatError> {
    let path = Path::new(name);
    match format {
        Format::Safetensors => safetensors::parse(path, bytes),
        Format::Gguf => gguf::parse(path, bytes),
        Format::Pte => pte::parse(path, bytes),
        _ => Ok(format::parse(path, bytes)?),
    }
}

fn fixture(name: &str) -> &'static [u8] {
    fixtures::VALID
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, b)| *b)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

fn parse(name: &str) -> ModelInfo {
    format::parse(Path::new(name), fixture(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// A copy of `bytes` that starts at an 8-aligned address, so typed views can be tested.
fn aligned_copy(bytes: &[u8]) -> (Vec<u8>, usize) {
    let mut buf = vec![0u8; bytes.len() + 8];
    let shift = (8 - buf.as_ptr().addr() % 8) % 8;
    buf[shift..shift + bytes.len()].copy_from_slice(bytes);
    (buf, shift)
}

#[test]
fn every_valid_fixture_parses_and_is_detected() {
    for (name, fmt, bytes) in fixtures::VALID {
        assert_eq!(format::detect(bytes), format_of(fmt), "{name}");
        let info = format::parse(Path::new(name), bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(info.format(), format_of(fmt));
        info.check_invariants().unwrap();
    }
}

#[test]
fn every_broken_fixture_names_its_rule_and_offset() {
    assert!(fixtures::BROKEN.len() >= 50);
    for (name, fmt, bytes, rule, offset) in fixtures::BROKEN {
        let err = parse_as(format_of(fmt), name, bytes).expect_err(name);
        assert_eq!(format!("{:?}", err.rule), *rule, "{name}: {err}");
        assert_eq!(err.offset, *offset, "{name}: {err}");
        assert_eq!(err.path, Path::new(name));
        assert_eq!(err.format, format_of(fmt));
        let shown = err.to_string();
        assert!(
            shown.contains(name) && shown.contains(&format!("offset {offset}")),
            "{shown}"
        );
        // Through detection too: either the same error, or another format / raw, never a panic.
        if let Err(e) = format::parse(Path::new(name), bytes) {
            assert_eq!(e.rule, err.rule, "{name}");
        }
        // And as the crate's error type, which says where.
        let top: loadguard::Error = err.into();
        assert_eq!(top.path(), Some(Path::new(*name)));
    }
}

#[test]
fn duplicate_keys_say_duplicate() {
    for (name, fmt, bytes, rule, _) in fixtures::BROKEN {
        if *rule == "DuplicateKey" {
            let err = parse_as(format_of(fmt), name, bytes).unwrap_err();
            assert!(err.to_string().contains("duplicate"), "{err}");
        }
    }
}

#[test]
fn safetensors_table_metadata_and_views() {
    let info = parse("basic.safetensors");
    let names: Vec<_> = info.tensors().iter().map(|t| t.name.as_str()).collect();
    // Sorted by data offset, as the file lays them out.
    assert_eq!(
        names,
        ["step", "wide", "empty", "weight", "ids", "bias", "mask"]
    );
    let data = 8 + 472;
    let w = info.tensor("weight").unwrap();
    assert_eq!(
        (w.dtype.name(), &w.dims[..], w.offset, w.len),
        ("F32", &[2, 3][..], data + 24, 24)
    );
    let step = info.tensor("step").unwrap();
    assert!(step.dims.is_empty() && step.len == 8);
    assert_eq!(info.tensor("empty").unwrap().len, 0);
    assert!(info.tensor("nope").is_none());
    let Details::Safetensors {
        metadata: Some(meta),
        data_offset,
    } = info.details()
    else {
        panic!("{:?}", info.details());
    };
    assert_eq!(*data_offset, data);
    // The reference writer stores the map in hash order; compare as a set.
    let mut meta = meta.clone();
    meta.sort();
    assert_eq!(
        meta,
        [
            ("author".into(), "loadguard tests".into()),
            ("format".into(), "np".into())
        ]
    );

    let (buf, shift) = aligned_copy(fixture("basic.safetensors"));
    let bytes = &buf[shift..shift + fixture("basic.safetensors").len()];
    let view = info.view(bytes, "weight").unwrap();
    assert_eq!(view.range(), data + 24..data + 48);
    assert_eq!(
        view.bytes().as_ptr(),
        bytes[usize::try_from(data + 24).unwrap()..].as_ptr(),
        "zero-copy"
    );
    if cfg!(target_endian = "little") {
        assert_eq!(
            view.as_slice::<f32>().unwrap(),
            &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        );
        assert_eq!(
            info.view(bytes, "ids").unwrap().as_slice::<i32>().unwrap(),
            &[1, -2, 3]
        );
        assert_eq!(
            info.view(bytes, "wide").unwrap().as_slice::<f64>().unwrap(),
            &[1.5, -2.5]
        );
        assert_eq!(
            info.view(bytes, "step").unwrap().as_slice::<i64>().unwrap(),
            &[7]
        );
        assert_eq!(
            info.view(bytes, "mask").unwrap().as_slice::<u8>().unwrap(),
            &[1, 0, 1, 1]
        );
        assert_eq!(
            info.view(bytes, "empty")
                .unwrap()
                .as_slice::<f32>()
                .unwrap(),
            &[] as &[f32]
        );
        assert_eq!(
            info.view(bytes, "bias")
                .unwrap()
                .as_slice::<u16>()
                .unwrap()
                .len(),
            3
        );
        // Misaligned memory is refused, not read unaligned.
        let (buf2, shift2) = aligned_copy(&[&[0u8][..], fixture("basic.safetensors")].concat());
        let odd = &buf2[shift2 + 1..shift2 + 1 + bytes.len()];
        let e = info
            .view(odd, "weight")
            .unwrap()
            .as_slice::<f32>()
            .unwrap_err();
        assert_eq!(e, CastError::Misaligned { align: 4 });
    } else {
        assert_eq!(view.as_slice::<f32>().unwrap_err(), CastError::Endianness);
    }
    assert!(matches!(
        view.as_slice::<i32>(),
        Err(CastError::Dtype {
            dtype: "F32",
            wanted: "i32"
        })
    ));
    // Bytes of another file are refused.
    assert!(info.view(&bytes[1..], "weight").is_none());
}

#[test]
fn safetensors_sub_byte_and_empty() {
    let info = parse("subbyte.safetensors");
    assert_eq!(info.tensor("f4").unwrap().len, 2);
    assert_eq!(info.tensor("f6").unwrap().len, 3);
    assert_eq!(
        info.tensor("b").unwrap().dtype,
        DType::Safetensors(safetensors::Dtype::BF16)
    );
    let empty = parse("empty.safetensors");
    assert!(empty.tensors().is_empty());
    assert_eq!(safetensors::Dtype::ALL.len(), 22);
}

#[test]
fn gguf_tensors_types_and_metadata() {
    let info = parse("basic.gguf");
    let Details::Gguf(h) = info.details() else {
        panic!()
    };
    assert_eq!((h.version, h.alignment), (3, 32));
    assert_eq!(h.data_offset, 1984);
    let q = info.tensor("blk.0.attn_q.weight").unwrap();
    // ne[0] first, ggml's type names.
    assert_eq!(
        (q.dtype.name(), &q.dims[..], q.offset, q.len),
        ("Q8_0", &[32, 2][..], 2048, 68)
    );
    let e = info.tensor("token_embd.weight").unwrap();
    assert_eq!((&e.dims[..], e.offset, e.len), (&[4, 2][..], 1984, 32));
    assert_eq!(
        h.get("general.architecture"),
        Some(&gguf::GgufValue::String("llama".into()))
    );
    assert_eq!(h.get("test.u8"), Some(&gguf::GgufValue::U8(200)));
    assert_eq!(h.get("test.i64"), Some(&gguf::GgufValue::I64(-(1 << 40))));
    assert_eq!(h.get("test.bool"), Some(&gguf::GgufValue::Bool(true)));
    let Some(gguf::GgufValue::Array(tokens)) = h.get("tokenizer.ggml.tokens") else {
        panic!()
    };
    assert_eq!(
        (tokens.item_type, tokens.len),
        (gguf::ValueType::String, 100)
    );
    let bytes = fixture("basic.gguf");
    let first: Vec<_> = tokens
        .items(Path::new("basic.gguf"), bytes)
        .take(2)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        first,
        [
            gguf::GgufValue::String("tok0".into()),
            gguf::GgufValue::String("tok1".into())
        ]
    );
    assert_eq!(tokens.items(Path::new("x"), bytes).count(), 100);
    let Some(gguf::GgufValue::Array(ints)) = h.get("test.ints") else {
        panic!()
    };
    let ints: Vec<_> = ints
        .items(Path::new("x"), bytes)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        ints,
        [
            gguf::GgufValue::I32(1),
            gguf::GgufValue::I32(2),
            gguf::GgufValue::I32(3)
        ]
    );

    let (buf, shift) = aligned_copy(bytes);
    let bytes = &buf[shift..shift + bytes.len()];
    if cfg!(target_endian = "little") {
        let v = info.view(bytes, "token_embd.weight").unwrap();
        assert_eq!(
            v.as_slice::<f32>().unwrap(),
            &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
        );
        assert_eq!(
            info.view(bytes, "ids").unwrap().as_slice::<i32>().unwrap(),
            &[1, 2, 3]
        );
    }
    // Quantized blocks have no element type: bytes only.
    assert!(
        info.view(bytes, "blk.0.attn_q.weight")
            .unwrap()
            .as_slice::<u8>()
            .is_err()
    );
}

#[test]
fn gguf_alignment_and_vocab_only() {
    let info = parse("aligned64.gguf");
    let Details::Gguf(h) = info.details() else {
        panic!()
    };
    assert_eq!(h.alignment, 64);
    for t in info.tensors() {
        assert_eq!(t.offset % 64, 0, "{}", t.name);
    }
    let vocab = parse("vocab_only.gguf");
    assert!(vocab.tensors().is_empty());
    let Details::Gguf(h) = vocab.details() else {
        panic!()
    };
    let Some(gguf::GgufValue::Array(tokens)) = h.get("tokenizer.ggml.tokens") else {
        panic!()
    };
    assert_eq!(tokens.len, 300);
}

#[test]
fn ggml_type_table_matches_ggml() {
    use loadguard::format::ggml;
    let expect = [
        ("F32", 1, 4),
        ("F16", 1, 2),
        ("Q4_0", 32, 18),
        ("Q4_1", 32, 20),
        ("Q5_0", 32, 22),
        ("Q5_1", 32, 24),
        ("Q8_0", 32, 34),
        ("Q8_1", 32, 36),
        ("Q2_K", 256, 84),
        ("Q3_K", 256, 110),
        ("Q4_K", 256, 144),
        ("Q5_K", 256, 176),
        ("Q6_K", 256, 210),
        ("Q8_K", 256, 292),
        ("IQ2_XXS", 256, 66),
        ("IQ2_XS", 256, 74),
        ("IQ3_XXS", 256, 98),
        ("IQ1_S", 256, 50),
        ("IQ4_NL", 32, 18),
        ("IQ3_S", 256, 110),
        ("IQ2_S", 256, 82),
        ("IQ4_XS", 256, 136),
        ("I8", 1, 1),
        ("I16", 1, 2),
        ("I32", 1, 4),
        ("I64", 1, 8),
        ("F64", 1, 8),
        ("IQ1_M", 256, 56),
        ("BF16", 1, 2),
        ("TQ1_0", 256, 54),
        ("TQ2_0", 256, 66),
        ("MXFP4", 32, 17),
    ];
    for (name, block, size) in expect {
        let t = ggml::by_name(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!((t.block_size, t.type_size), (block, size), "{name}");
    }
}

#[test]
fn pte_layouts() {
    let info = parse("basic.pte");
    let Details::Pte(l) = info.details() else {
        panic!()
    };
    assert_eq!((l.identifier.as_str(), l.root_offset), ("ET12", 48));
    assert_eq!(
        (l.program.clone(), l.segment_data.clone()),
        (0..128, Some(128..192))
    );
    let Details::Pte(l) = parse("no_extended.pte").details().clone() else {
        panic!()
    };
    assert_eq!(
        (l.extended, l.program, l.segment_data),
        (None, 0..128, None)
    );
    let Details::Pte(l) = parse("short_header.pte").details().clone() else {
        panic!()
    };
    assert_eq!((l.program, l.segment_data), (0..96, Some(128..160)));
    assert_eq!(l.extended.unwrap().segment_data_size, None);
}

#[test]
fn raw_files_have_no_tensors() {
    for bytes in [&b""[..], b"hello", &[0u8; 64]] {
        let info = format::parse(Path::new("raw"), bytes).unwrap();
        assert_eq!((info.format(), info.tensors().len()), (Format::Raw, 0));
    }
}

/// Every prefix of every valid file parses or fails cleanly; never a panic. Under Miri only a
/// stride of prefixes, to keep it fast.
#[test]
fn truncations_never_panic() {
    let stride = if cfg!(miri) { 193 } else { 1 };
    for (name, fmt, bytes) in fixtures::VALID {
        for len in (0..bytes.len()).step_by(stride) {
            let prefix = &bytes[..len];
            if let Ok(info) = parse_as(format_of(fmt), name, prefix) {
                info.check_invariants().unwrap();
            }
            let _ = format::parse(Path::new(name), prefix);
        }
    }
}

/// Every single-bit flip in the headers of the valid files parses or fails cleanly.
#[test]
#[cfg_attr(miri, ignore = "thousands of parses: too slow under Miri")]
fn bit_flips_never_panic() {
    for (name, _, bytes) in fixtures::VALID {
        let mut copy = bytes.to_vec();
        for i in 0..copy.len().min(2048) {
            for bit in 0..8 {
                copy[i] ^= 1 << bit;
                if let Ok(info) = format::parse(Path::new(name), &copy) {
                    info.check_invariants()
                        .unwrap_or_else(|e| panic!("{name} byte {i} bit {bit}: {e}"));
                }
                copy[i] ^= 1 << bit;
            }
        }
    }
}

/// Opened through the registry, tensor views point into the session's shared bytes.
#[test]
#[cfg_attr(miri, ignore = "opens files")]
fn model_open_shares_the_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let registry = loadguard::Registry::new();
    for (name, fmt, bytes) in fixtures::VALID {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let model = format::Model::open(&registry, &path).unwrap();
        assert_eq!(model.format(), format_of(fmt));
        let second = format::Model::open(&registry, &path).unwrap();
        assert!(model.session().shares_with(second.session()), "{name}");
        let base = model.session().bytes().as_ptr_range();
        for t in model.tensors() {
            let view = model.tensor(&t.name).unwrap();
            assert_eq!(view.bytes().len(), usize::try_from(t.len).unwrap());
            let p = view.bytes().as_ptr();
            assert!(base.start <= p && p <= base.end, "{name}/{}", t.name);
        }
    }
    let bad = dir.path().join("bad.safetensors");
    let overlap = fixtures::BROKEN
        .iter()
        .find(|f| f.0 == "st_overlap.safetensors")
        .unwrap();
    std::fs::write(&bad, overlap.2).unwrap();
    let err = format::Model::open(&registry, &bad).unwrap_err();
    assert!(matches!(err, loadguard::Error::Format(_)), "{err}");
    assert_eq!(err.path(), Some(bad.as_path()));
}

#[test]
fn rules_are_distinct_and_described() {
    let e = FormatError {
        path: "m.gguf".into(),
        format: Format::Gguf,
        offset: 7,
        rule: Rule::DuplicateKey,
        detail: "duplicate key \"a\"".into(),
    };
    assert_eq!(
        e.to_string(),
        "m.gguf: invalid gguf at offset 7: duplicate key: duplicate key \"a\""
    );
}

/// In `LoadMode::Read` the bytes are one aligned heap copy: typed views work there too, and
/// point into it.
#[test]
#[cfg_attr(miri, ignore = "opens files")]
fn model_in_read_mode_views_the_heap_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("basic.safetensors");
    std::fs::write(&path, fixture("basic.safetensors")).unwrap();
    let registry = loadguard::Registry::new();
    let opts = loadguard::LoadOptions::new().mode(loadguard::LoadMode::Read);
    let model = format::Model::open_with(&registry, &path, &opts).unwrap();
    let view = model.tensor("weight").unwrap();
    let base = model.session().bytes().as_ptr_range();
    assert!(base.contains(&view.bytes().as_ptr()));
    if cfg!(target_endian = "little") {
        assert_eq!(
            view.as_slice::<f32>().unwrap(),
            &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        );
    }
}

/// Every rule has at least one hand-broken fixture.
#[test]
fn every_rule_has_a_broken_fixture() {
    let rules = [
        Rule::Truncated,
        Rule::BadMagic,
        Rule::UnsupportedVersion,
        Rule::HeaderTooLarge,
        Rule::HeaderStart,
        Rule::InvalidUtf8,
        Rule::Json,
        Rule::Schema,
        Rule::DuplicateKey,
        Rule::CountTooLarge,
        Rule::UnknownType,
        Rule::TooManyDims,
        Rule::SizeOverflow,
        Rule::ByteLength,
        Rule::SubByteMisaligned,
        Rule::BadOffsets,
        Rule::Overlap,
        Rule::Gap,
        Rule::TrailingBytes,
        Rule::OutOfFile,
        Rule::BlockSize,
        Rule::Misaligned,
        Rule::BadAlignment,
        Rule::BadValue,
        Rule::NestingTooDeep,
        Rule::RootOffset,
        Rule::HeaderLength,
        Rule::SegmentOverlap,
    ];
    for rule in rules {
        let name = format!("{rule:?}");
        assert!(
            fixtures::BROKEN.iter().any(|f| f.3 == name),
            "no fixture breaks {name}"
        );
    }
}
