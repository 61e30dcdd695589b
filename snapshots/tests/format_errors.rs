//! Snapshots of every format error kind: one hand-broken fixture per rule, its Display (what
//! `inspect` prints on stderr) and its JSON `error` object (what `inspect --json` prints).

use std::fmt::Write as _;
use std::path::Path;

use loadguard::format::{self, Format, gguf, pte, report, safetensors};

#[allow(dead_code)]
mod fixtures {
    include!("../../loader/tests/fixtures/table.rs");
}

fn parse_as(fmt: &str, name: &str, bytes: &[u8]) -> loadguard::Error {
    let path = Path::new(name);
    let res = match fmt {
        "safetensors" => safetensors::parse(path, bytes),
        "gguf" => gguf::parse(path, bytes),
        "pte" => pte::parse(path, bytes),
        other => panic!("{other}"),
    };
    res.expect_err(name).into()
}

#[test]
fn every_error_kind_displays_file_offset_and_rule() {
    let mut text = String::new();
    for (name, fmt, bytes, _, _) in fixtures::BROKEN {
        let err = parse_as(fmt, name, bytes);
        writeln!(text, "{}", report::error_text(&err)).unwrap();
    }
    insta::assert_snapshot!("errors_text", text);
}

#[test]
fn every_error_kind_as_json() {
    let all: Vec<String> = fixtures::BROKEN
        .iter()
        .map(|(name, fmt, bytes, _, _)| report::error_json(&parse_as(fmt, name, bytes)).pretty())
        .collect();
    let text = format!("[\n{}\n]", all.join(",\n"));
    let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (e, (_, _, _, rule, offset)) in parsed.as_array().unwrap().iter().zip(fixtures::BROKEN) {
        assert_eq!(e["error"]["rule"], *rule);
        assert_eq!(e["error"]["offset"], *offset);
    }
    insta::assert_snapshot!("errors_json", text);
}

#[test]
fn detection_of_every_fixture() {
    let mut text = String::new();
    for (name, _, bytes) in fixtures::VALID {
        writeln!(text, "{name}: {}", format::detect(bytes)).unwrap();
    }
    for (name, _, bytes, _, _) in fixtures::BROKEN {
        writeln!(text, "{name}: {}", format::detect(bytes)).unwrap();
    }
    assert_ne!(format::detect(b"GGUF"), Format::Raw);
    insta::assert_snapshot!("detected_formats", text);
}
