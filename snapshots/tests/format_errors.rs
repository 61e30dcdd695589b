//! Snapshots of every format error kind: one hand-broken fixture per rule, its Display (what
//! `inspect` prints on stderr) and its JSON `error` object (what `inspect --json` prints), and
//! what detection says about every fixture and about files that are no model.

use std::fmt::Write as _;
use std::path::Path;

use loadguard::format::{self, Format, ParseOptions};
use loadguard_cli::report;

#[allow(dead_code)]
mod fixtures {
    include!("../../loader/tests/fixtures/table.rs");
}

fn parse_as(fmt: &str, name: &str, bytes: &[u8]) -> loadguard::Error {
    let (format, lenient) = match fmt {
        "safetensors" => (Format::Safetensors, false),
        "gguf" => (Format::Gguf, false),
        "gguf-lenient" => (Format::Gguf, true),
        "pte" => (Format::Pte, false),
        "ptd" => (Format::Ptd, false),
        other => panic!("{other}"),
    };
    let opts = ParseOptions::new().format(format).lenient(lenient);
    format::parse_with(Path::new(name), bytes, &opts)
        .expect_err(name)
        .into()
}

#[test]
fn every_error_kind_displays_file_offset_and_rule() {
    let mut text = String::new();
    for (name, fmt, bytes, _, _) in fixtures::BROKEN {
        let err = parse_as(fmt, name, bytes);
        writeln!(text, "{}", report::error_text("inspect", &err)).unwrap();
    }
    insta::assert_snapshot!("errors_text", text);
}

#[test]
fn every_error_kind_as_json() {
    let all: Vec<serde_json::Value> = fixtures::BROKEN
        .iter()
        .map(|(name, fmt, bytes, _, _)| report::error_json(&parse_as(fmt, name, bytes)))
        .collect();
    for (e, (_, _, _, rule, offset)) in all.iter().zip(fixtures::BROKEN) {
        assert_eq!(e["error"]["rule"], *rule);
        if *offset != u64::MAX {
            assert_eq!(e["error"]["offset"], *offset);
        }
    }
    insta::assert_snapshot!(
        "errors_json",
        report::pretty(&serde_json::Value::Array(all))
    );
}

#[test]
fn detection_of_every_fixture_and_of_non_models() {
    let mut text = String::new();
    let name = |f: Option<Format>| f.map_or("none", Format::name);
    for (file, _, bytes) in fixtures::VALID {
        writeln!(text, "{file}: {}", name(format::detect(bytes))).unwrap();
    }
    for (file, _, bytes, _, _) in fixtures::BROKEN {
        writeln!(text, "{file}: {}", name(format::detect(bytes))).unwrap();
    }
    let lfs = b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 1024\n";
    for (file, bytes) in [
        ("model.safetensors", &lfs[..]),
        (
            "model.gguf",
            b"<!DOCTYPE html><html><body>Not found</body></html>",
        ),
        ("model.pte", b""),
        ("weights.bin", &[0u8; 32]),
    ] {
        let err = format::parse(Path::new(file), bytes).unwrap_err();
        writeln!(
            text,
            "{}",
            report::error_text("inspect", &loadguard::Error::from(err))
        )
        .unwrap();
    }
    insta::assert_snapshot!("detected_formats", text);
}
