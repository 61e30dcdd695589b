//! Snapshots of `loadguard inspect` output (human table and JSON) for every valid fixture.
//!
//! The CLI prints exactly `loadguard::format::report::{to_text, to_json}`; the fixtures are the
//! loader's (written by the reference writers, see `loader/tests/fixtures/generate.py`).

use std::path::Path;

use loadguard::format::{self, report};

#[allow(dead_code)]
mod fixtures {
    include!("../../loader/tests/fixtures/table.rs");
}

#[test]
fn inspect_text_and_json_of_every_fixture() {
    for (name, _, bytes) in fixtures::VALID {
        let path = Path::new(name);
        let info = format::parse(path, bytes).unwrap_or_else(|e| panic!("{e}"));
        let slug = name.replace('.', "_");
        insta::assert_snapshot!(format!("text_{slug}"), report::to_text(&info, path, bytes));
        insta::assert_snapshot!(
            format!("json_{slug}"),
            report::to_json(&info, path, bytes).pretty()
        );
    }
}

#[test]
fn json_report_is_valid_json_with_the_documented_fields() {
    for (name, fmt, bytes) in fixtures::VALID {
        let path = Path::new(name);
        let info = format::parse(path, bytes).unwrap();
        let text = report::to_json(&info, path, bytes).pretty();
        let v: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        assert_eq!(v["format"], *fmt);
        assert_eq!(v["size"], bytes.len());
        for t in v["tensors"].as_array().unwrap() {
            for key in ["name", "dtype", "dims", "offset", "len"] {
                assert!(t.get(key).is_some(), "{name}: {key}");
            }
        }
        assert!(v["metadata"].is_object());
        if *fmt == "pte" {
            assert!(v["program"]["len"].is_u64());
            assert!(v.get("segment_data").is_some());
        }
    }
}
