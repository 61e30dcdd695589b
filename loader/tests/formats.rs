//! Strict format parsers against fixtures written by the reference writers (`safetensors`,
//! `gguf` from PyPI, ExecuTorch's own serializer) and hand-broken variants, one per rule (see
//! `fixtures/generate.py` and `fixtures/executorch/export.py`).
//!
//! Fixtures are compiled in with `include_bytes!` and models open over `MemoryOs`, so
//! everything except the registry tests on real files runs under Miri.

use std::path::Path;

use loadguard::format::{
    self, CastError, DType, Details, Format, FormatError, LooksLike, ModelInfo, ParseOptions, Rule,
    gguf, safetensors,
};
use loadguard::os::MemoryOs;
use loadguard::testing::formats::{check, check_info};
use loadguard::{LoadOptions, Model, Registry, TensorView};

#[allow(dead_code)]
mod fixtures {
    include!("fixtures/table.rs");
}

/// The format and options a table entry names.
fn options_of(name: &str) -> (Format, ParseOptions) {
    let (fmt, lenient) = match name {
        "gguf-lenient" => ("gguf", true),
        other => (other, false),
    };
    let format = match fmt {
        "safetensors" => Format::Safetensors,
        "gguf" => Format::Gguf,
        "pte" => Format::Pte,
        "ptd" => Format::Ptd,
        other => panic!("unknown format {other}"),
    };
    (format, ParseOptions::new().format(format).lenient(lenient))
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

/// `bytes` at an 8-aligned address (Miri's byte allocations need not be aligned; a real heap's
/// are), so typed views can be checked everywhere.
fn aligned(bytes: &[u8]) -> bytes::Bytes {
    let mut buf = vec![0u8; bytes.len() + 8];
    let shift = (8 - buf.as_ptr().addr() % 8) % 8;
    buf[shift..shift + bytes.len()].copy_from_slice(bytes);
    // `Bytes::from` keeps the vector's allocation (its capacity is its length).
    let out = bytes::Bytes::from(buf).slice(shift..shift + bytes.len());
    assert_eq!(out.as_ptr().addr() % 8, 0);
    out
}

/// A model of `bytes` opened through a registry over a heap-backed file system.
fn model(name: &str, bytes: &[u8]) -> Model {
    let fs = MemoryOs::new();
    let path = format!("/{name}");
    fs.write(&path, aligned(bytes));
    Model::open(&Registry::with_os(fs), &path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_valid_fixture_parses_and_is_detected() {
    for (name, fmt, bytes) in fixtures::VALID {
        let (format, _) = options_of(fmt);
        assert_eq!(format::detect(bytes), Some(format), "{name}");
        let info = format::parse(Path::new(name), bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(info.format(), format);
        check_info(&info, bytes).unwrap();
    }
}

#[test]
fn every_broken_fixture_names_its_rule_and_offset() {
    assert!(fixtures::BROKEN.len() >= 70);
    for (name, fmt, bytes, rule, offset) in fixtures::BROKEN {
        let (format, opts) = options_of(fmt);
        let err = format::parse_with(Path::new(name), bytes, &opts).expect_err(name);
        assert_eq!(err.rule.name(), *rule, "{name}: {err}");
        if *offset != u64::MAX {
            assert_eq!(err.offset, *offset, "{name}: {err}");
        }
        assert!(
            err.offset <= u64::try_from(bytes.len()).unwrap(),
            "{name}: {err}"
        );
        assert_eq!(err.path, Path::new(name));
        assert_eq!(err.format, format);
        let shown = err.to_string();
        assert!(
            shown.contains(name) && shown.contains(&format!("offset {}", err.offset)),
            "{shown}"
        );
        // Through detection too: the same error, or "not a model" — never a panic or a model.
        let detected = format::parse(Path::new(name), bytes).expect_err(name);
        assert!(
            detected.rule == err.rule
                || opts.is_lenient()
                || matches!(detected.rule, Rule::Unrecognized { .. }),
            "{name}: {detected}"
        );
        let top: loadguard::Error = err.into();
        assert_eq!(top.path(), Some(Path::new(*name)));
    }
}

#[test]
fn every_rule_has_a_broken_fixture() {
    let rules = [
        "Truncated",
        "BadMagic",
        "UnsupportedVersion",
        "HeaderTooLarge",
        "HeaderStart",
        "InvalidUtf8",
        "Json",
        "Schema",
        "DuplicateKey",
        "EmptyKey",
        "BadName",
        "CountTooLarge",
        "UnknownType",
        "TooManyDims",
        "ZeroDim",
        "SizeOverflow",
        "ByteLength",
        "SubByteMisaligned",
        "BadOffsets",
        "Overlap",
        "Gap",
        "TensorOrder",
        "TrailingBytes",
        "OutOfFile",
        "BlockSize",
        "Misaligned",
        "BadAlignment",
        "BadValue",
        "NestingTooDeep",
        "RootOffset",
        "HeaderLength",
        "ProgramSize",
        "SegmentOverlap",
        "Flatbuffer",
        "IndexOutOfRange",
    ];
    for rule in rules {
        assert!(
            fixtures::BROKEN.iter().any(|f| f.3 == rule),
            "no fixture breaks {rule}"
        );
    }
}

#[test]
fn duplicate_keys_say_duplicate() {
    for (name, fmt, bytes, rule, _) in fixtures::BROKEN {
        if *rule == "DuplicateKey" {
            let (_, opts) = options_of(fmt);
            let err = format::parse_with(Path::new(name), bytes, &opts).unwrap_err();
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
    assert_eq!(w.shape(), [2, 3]);
    assert!(info.tensor("nope").is_none());
    let Details::Safetensors {
        metadata: Some(meta),
        data_offset,
    } = info.details()
    else {
        panic!("{:?}", info.details());
    };
    assert_eq!(*data_offset, data);
    let mut meta = meta.clone();
    meta.sort();
    assert_eq!(
        meta,
        [
            ("author".into(), "loadguard tests".into()),
            ("format".into(), "np".into())
        ]
    );

    // Views come from a model, which owns the bytes (a heap copy: aligned for any element).
    let m = model("basic.safetensors", fixture("basic.safetensors"));
    let view = m.tensor("weight").unwrap();
    assert_eq!(view.range(), data + 24..data + 48);
    let base = m.session().bytes().as_ptr();
    assert_eq!(
        view.bytes().as_ptr(),
        base.wrapping_add(usize::try_from(data + 24).unwrap()),
        "zero-copy"
    );
    if cfg!(target_endian = "little") {
        assert_eq!(
            view.as_slice::<f32>().unwrap(),
            &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        );
        assert_eq!(
            m.tensor("ids").unwrap().as_slice::<i32>().unwrap(),
            &[1, -2, 3]
        );
        assert_eq!(
            m.tensor("wide").unwrap().as_slice::<f64>().unwrap(),
            &[1.5, -2.5]
        );
        assert_eq!(m.tensor("step").unwrap().as_slice::<i64>().unwrap(), &[7]);
        assert_eq!(
            m.tensor("mask").unwrap().as_slice::<u8>().unwrap(),
            &[1, 0, 1, 1]
        );
        assert!(
            m.tensor("empty")
                .unwrap()
                .as_slice::<f32>()
                .unwrap()
                .is_empty()
        );
        // F16 through the half crate, and as raw bits.
        let bias = m.tensor("bias").unwrap();
        let h: Vec<f32> = bias
            .as_slice::<half::f16>()
            .unwrap()
            .iter()
            .map(|x| x.to_f32())
            .collect();
        assert_eq!(h, [1.0, 2.0, 3.0]);
        assert_eq!(bias.as_slice::<u16>().unwrap().len(), 3);
        assert!(matches!(
            bias.as_slice::<half::bf16>(),
            Err(CastError::Dtype {
                dtype: "F16",
                wanted: "bf16"
            })
        ));
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
}

#[test]
fn bf16_views_through_half() {
    let info = parse("subbyte.safetensors");
    assert_eq!(info.tensor("f4").unwrap().len, 2);
    assert_eq!(info.tensor("f6").unwrap().len, 3);
    assert_eq!(
        info.tensor("b").unwrap().dtype,
        DType::Safetensors(safetensors::Dtype::BF16)
    );
    let m = model("subbyte.safetensors", fixture("subbyte.safetensors"));
    let b = m.tensor("b").unwrap();
    if cfg!(target_endian = "little") && b.bytes().as_ptr().addr() % 2 == 0 {
        let values = b.as_slice::<half::bf16>().unwrap();
        assert_eq!(values.len() * 2, b.bytes().len());
        let decoded: Vec<f32> = values.iter().map(|v| v.to_f32()).collect();
        let expect: Vec<f32> = b
            .bytes()
            .chunks(2)
            .map(|c| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16))
            .collect();
        assert_eq!(decoded, expect);
    }
    assert!(parse("empty.safetensors").tensors().is_empty());
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
    // ne[0] first in file order, reversed in the row-major shape.
    assert_eq!(
        (q.dtype.name(), &q.dims[..], q.offset, q.len),
        ("Q8_0", &[32, 2][..], 2048, 68)
    );
    assert_eq!(q.shape(), [2, 32]);
    assert_eq!(
        h.get("general.architecture"),
        Some(&gguf::GgufValue::String("llama".into()))
    );
    assert_eq!(h.get("test.u8"), Some(&gguf::GgufValue::U8(200)));
    assert_eq!(h.get("test.i64"), Some(&gguf::GgufValue::I64(-(1 << 40))));
    assert_eq!(h.get("test.bool"), Some(&gguf::GgufValue::Bool(true)));
    let m = model("basic.gguf", fixture("basic.gguf"));
    let Details::Gguf(h) = m.info().details() else {
        panic!()
    };
    let Some(gguf::GgufValue::Array(tokens)) = h.get("tokenizer.ggml.tokens") else {
        panic!()
    };
    assert_eq!(
        (tokens.item_type, tokens.len),
        (gguf::ValueType::String, 100)
    );
    let first: Vec<_> = m
        .gguf_array(tokens)
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
    assert_eq!(m.gguf_array(tokens).count(), 100);
    if cfg!(target_endian = "little") {
        let v = m.tensor("token_embd.weight").unwrap();
        assert_eq!(
            v.as_slice::<f32>().unwrap(),
            &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
        );
        let norm = m.tensor("output_norm.weight").unwrap();
        assert!(
            norm.as_slice::<half::f16>()
                .unwrap()
                .iter()
                .all(|x| x.to_f32() == 1.0)
        );
    }
    // Quantized blocks have no element type: bytes only.
    assert!(
        m.tensor("blk.0.attn_q.weight")
            .unwrap()
            .as_slice::<u8>()
            .is_err()
    );
}

#[test]
fn gguf_v2_as_ggml_accepts_it() {
    let v2 = parse("minimal_v2.gguf");
    let v3 = parse("minimal.gguf");
    let (Details::Gguf(a), Details::Gguf(b)) = (v2.details(), v3.details()) else {
        panic!()
    };
    assert_eq!((a.version, b.version), (2, 3));
    assert_eq!(v2.tensors(), v3.tensors());
}

#[test]
fn gguf_lenient_rules_accept_what_only_ggml_refuses() {
    for name in [
        "gg_empty_key.gguf",
        "gg_long_name.gguf",
        "gg_zero_dim.gguf",
        "gg_order.gguf",
        "gg_gap.gguf",
    ] {
        let bytes = fixtures::BROKEN.iter().find(|f| f.0 == name).unwrap().2;
        assert!(gguf::parse(Path::new(name), bytes).is_err(), "{name}");
        let lenient = ParseOptions::new().lenient(true);
        let info = format::parse_with(Path::new(name), bytes, &lenient)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        check_info(&info, bytes).unwrap();
    }
    // NUL in a name stays refused: ggml would cut the name there.
    let nul = fixtures::BROKEN
        .iter()
        .find(|f| f.0 == "gg_nul_name.gguf")
        .unwrap()
        .2;
    let lenient = ParseOptions::new().lenient(true);
    assert_eq!(
        format::parse_with(Path::new("n"), nul, &lenient)
            .unwrap_err()
            .rule,
        Rule::BadName
    );
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
fn detection_never_guesses() {
    let lfs = b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 1024\n";
    let html = b"<!DOCTYPE html>\n<html><head><title>404</title></head></html>\n";
    let mut bom = 13u64.to_le_bytes().to_vec();
    bom.extend_from_slice(b"\xEF\xBB\xBF{\"a\": 1}  ");
    let cases: [(&str, &[u8], LooksLike, Option<Format>); 5] = [
        (
            "model.safetensors",
            lfs,
            LooksLike::GitLfsPointer,
            Some(Format::Safetensors),
        ),
        ("model.gguf", html, LooksLike::Html, Some(Format::Gguf)),
        ("empty.pte", b"", LooksLike::Empty, Some(Format::Pte)),
        ("blob", &[0u8; 64], LooksLike::Binary, None),
        ("notes.txt", b"just some text\n", LooksLike::Text, None),
    ];
    for (name, bytes, looks, expected) in cases {
        let err = format::parse(Path::new(name), bytes).unwrap_err();
        assert_eq!(
            err.rule,
            Rule::Unrecognized {
                looks_like: looks,
                expected
            },
            "{name}: {err}"
        );
        let shown = err.to_string();
        assert!(shown.contains(looks.describe()), "{shown}");
        if let Some(f) = expected {
            assert!(shown.contains(f.expected_start()), "{shown}");
        }
        // Only an explicit Raw gives opaque bytes.
        let raw = format::parse_with(
            Path::new(name),
            bytes,
            &ParseOptions::new().format(Format::Raw),
        )
        .unwrap();
        assert_eq!((raw.format(), raw.tensors().len()), (Format::Raw, 0));
    }
    // A byte order mark before a safetensors header is the safetensors parser's clear error.
    let err = format::parse(Path::new("bom.safetensors"), &bom).unwrap_err();
    assert_eq!(
        (err.format, err.rule, err.offset),
        (Format::Safetensors, Rule::HeaderStart, 8)
    );
    assert!(err.to_string().contains("byte order mark"), "{err}");
}

/// Every prefix of every valid file parses or fails cleanly, through the shared checker. Under
/// Miri one file per format and a stride of prefixes, to keep it fast.
#[test]
fn truncations_keep_the_invariants() {
    // Under Miri and valgrind (20-50x slower) a stride of prefixes; natively all of them.
    let slow = std::env::var_os("LOADGUARD_UNDER_VALGRIND").is_some();
    let stride = if cfg!(miri) {
        509
    } else if slow {
        13
    } else {
        1
    };
    let miri_set = [
        "basic.safetensors",
        "basic.gguf",
        "executorch/linear_xnnpack.pte",
        "executorch/linear_external.ptd",
    ];
    for (name, fmt, bytes) in fixtures::VALID {
        if cfg!(miri) && !miri_set.contains(name) {
            continue;
        }
        let (format, _) = options_of(fmt);
        for len in (0..bytes.len()).step_by(stride) {
            check(Some(format), &bytes[..len]).unwrap_or_else(|e| panic!("{name}[..{len}]: {e}"));
        }
    }
}

/// Every single-bit flip in the headers of the valid files parses or fails cleanly.
#[test]
#[cfg_attr(miri, ignore = "thousands of parses: too slow under Miri")]
fn bit_flips_keep_the_invariants() {
    // Under valgrind (20-50x slower) the first 128 bytes of each file: the headers.
    let bytes_flipped = if std::env::var_os("LOADGUARD_UNDER_VALGRIND").is_some() {
        128
    } else {
        1024
    };
    for (name, _, bytes) in fixtures::VALID {
        let mut copy = bytes.to_vec();
        for i in 0..copy.len().min(bytes_flipped) {
            for bit in 0..8 {
                copy[i] ^= 1 << bit;
                if let Ok(info) = format::parse(Path::new(name), &copy) {
                    check_info(&info, &copy)
                        .unwrap_or_else(|e| panic!("{name} byte {i} bit {bit}: {e}"));
                }
                copy[i] ^= 1 << bit;
            }
        }
    }
}

/// Opened through the registry on real files, tensor views point into the session's shared
/// bytes, and owned views keep them alive after the model is gone.
#[test]
#[cfg_attr(miri, ignore = "opens files")]
fn model_open_shares_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new();
    for (name, fmt, bytes) in fixtures::VALID {
        let path = dir.path().join(name.replace('/', "_"));
        std::fs::write(&path, bytes).unwrap();
        let m = Model::open(&registry, &path).unwrap();
        assert_eq!(m.format(), options_of(fmt).0);
        let second = Model::open(&registry, &path).unwrap();
        assert!(m.session().shares_with(second.session()), "{name}");
        let base = m.session().bytes().as_ptr_range();
        let mut owned: Vec<TensorView<'static>> = Vec::new();
        for t in m.tensors() {
            let view = m.tensor(&t.name).unwrap();
            assert_eq!(view.bytes().len(), usize::try_from(t.len).unwrap());
            let p = view.bytes().as_ptr();
            assert!(base.start <= p && p <= base.end, "{name}/{}", t.name);
            owned.push(view.into_owned().unwrap());
        }
        let copies: Vec<Vec<u8>> = m
            .tensors()
            .map(|t| m.tensor(&t.name).unwrap().bytes().to_vec())
            .collect();
        drop((m, second));
        let back = std::thread::spawn(move || {
            owned.iter().map(|v| v.bytes().to_vec()).collect::<Vec<_>>()
        })
        .join()
        .unwrap();
        assert_eq!(back, copies, "{name}");
    }
    let bad = dir.path().join("bad.safetensors");
    let overlap = fixtures::BROKEN
        .iter()
        .find(|f| f.0 == "st_overlap.safetensors")
        .unwrap();
    std::fs::write(&bad, overlap.2).unwrap();
    let err = Model::open(&registry, &bad).unwrap_err();
    assert!(matches!(err, loadguard::Error::Format(_)), "{err}");
    assert_eq!(err.path(), Some(bad.as_path()));
    // An empty file opens as a session, but it is not a model.
    let empty = dir.path().join("empty.gguf");
    std::fs::write(&empty, b"").unwrap();
    let err = Model::open(&registry, &empty).unwrap_err();
    assert!(err.to_string().contains("an empty file"), "{err}");
}

#[test]
fn format_errors_display_file_offset_and_rule() {
    let e = format::parse(Path::new("m.gguf"), b"GGUF\x01\0\0\0").unwrap_err();
    assert_eq!(
        e.to_string(),
        "m.gguf: invalid gguf at offset 4: unsupported version: GGUF v1 (32-bit counts and lengths) is no longer supported; ggml reads v2 and v3"
    );
    let _: &FormatError = &e;
}

/// In `LoadMode::Read` the bytes are one aligned heap copy: typed views work there too.
#[test]
#[cfg_attr(miri, ignore = "opens files")]
fn model_in_read_mode_views_the_heap_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("basic.safetensors");
    std::fs::write(&path, fixture("basic.safetensors")).unwrap();
    let registry = Registry::new();
    let opts = LoadOptions::new().mode(loadguard::LoadMode::Read);
    let m = Model::open_with(&registry, &path, &opts, &ParseOptions::new()).unwrap();
    let view = m.tensor("weight").unwrap();
    let base = m.session().bytes().as_ptr_range();
    assert!(base.contains(&view.bytes().as_ptr()));
    if cfg!(target_endian = "little") {
        assert_eq!(
            view.as_slice::<f32>().unwrap(),
            &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        );
    }
}
