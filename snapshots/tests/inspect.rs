//! Snapshots of `loadguard inspect` output (human report and JSON) for every valid fixture.
//!
//! The CLI prints exactly `loadguard_cli::report::{to_text, to_json}` of a `Model`; the
//! fixtures are the loader's (written by the reference writers and ExecuTorch's serializer, see
//! `loader/tests/fixtures/generate.py`), opened here over an in-memory file system.

use loadguard::os::MemoryOs;
use loadguard::{Model, Registry};
use loadguard_cli::report;

#[allow(dead_code)]
mod fixtures {
    include!("../../loader/tests/fixtures/table.rs");
}

fn model(name: &str, bytes: &[u8]) -> Model {
    let fs = MemoryOs::new();
    let path = format!("/fixtures/{name}");
    fs.write(&path, bytes.to_vec());
    Model::open(&Registry::with_os(fs), &path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn inspect_text_and_json_of_every_fixture() {
    for (name, _, bytes) in fixtures::VALID {
        let m = model(name, bytes);
        let slug = name.replace(['.', '/'], "_");
        insta::assert_snapshot!(format!("text_{slug}"), report::to_text(&m));
        insta::assert_snapshot!(format!("json_{slug}"), report::pretty(&report::to_json(&m)));
    }
}

#[test]
fn json_report_has_the_documented_fields() {
    for (name, fmt, bytes) in fixtures::VALID {
        let v = report::to_json(&model(name, bytes));
        assert_eq!(v["format"], *fmt);
        assert_eq!(v["size"], bytes.len());
        for t in v["tensors"].as_array().unwrap() {
            for key in ["name", "dtype", "dims", "shape", "offset", "len"] {
                assert!(t.get(key).is_some(), "{name}: {key}");
            }
        }
        assert!(v["metadata"].is_object());
        if *fmt == "gguf" {
            for (k, value) in v["metadata"].as_object().unwrap() {
                assert!(value["type"].is_string(), "{name}: {k}");
                assert!(
                    value.get("value").is_some() || value.get("head").is_some(),
                    "{name}: {k}"
                );
            }
        }
        if *fmt == "pte" {
            assert!(v["program"]["len"].is_u64());
            assert!(v.get("segment_data").is_some());
            for plan in v["plans"].as_array().unwrap() {
                for key in ["name", "inputs", "outputs", "delegates"] {
                    assert!(plan.get(key).is_some(), "{name}: {key}");
                }
            }
            for s in v["segments"].as_array().unwrap() {
                assert!(s["offset"].is_u64() && s["len"].is_u64());
            }
            for c in v["constants"].as_array().unwrap() {
                assert!(c["index"].is_u64() && c["offset"].is_u64() && c["len"].is_u64());
            }
        }
    }
}
