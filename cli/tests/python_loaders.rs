//! Third-party loaders from a package registry, traced and swept unmodified: the Python
//! `safetensors` package's `safe_open` (Rust, memory-mapped) and `gguf`'s `GGUFReader` (numpy
//! memmap), on small files written by the same packages (`preload/fixtures/py_loaders.py`).
//!
//! They need a Python with `safetensors`, `gguf` and `numpy`: `ci/stages/55-preload.sh`
//! installs them into a venv and runs these with `LOADGUARD_PYTHON` set to its interpreter.

#![cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]

mod harness_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use harness_support::{fixture, json, loadguard, stderr};
use serde_json::Value;

fn python() -> String {
    std::env::var("LOADGUARD_PYTHON")
        .expect("LOADGUARD_PYTHON names a python with safetensors, gguf and numpy")
}

fn make_files() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(python())
        .arg(fixture("py_loaders.py"))
        .arg("make")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "writing the files with safetensors and gguf failed"
    );
    let st = dir.path().join("tiny.safetensors");
    let gg = dir.path().join("tiny.gguf");
    (dir, st, gg)
}

fn trace(mode: &str, file: &Path) -> Value {
    let script = fixture("py_loaders.py");
    let out = loadguard(&[
        "trace",
        "--json",
        "--only",
        "*tiny.*",
        "--",
        &python(),
        script.to_str().unwrap(),
        mode,
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("w 2016.0"), "{}", stderr(&out));
    json(&out)
}

fn sweep(mode: &str, file: &Path) -> Value {
    let script = fixture("py_loaders.py");
    let out = loadguard(&[
        "faults",
        "--sweep",
        "--ops",
        "mmap,open",
        "--only",
        "*tiny.*",
        "--timeout",
        "60",
        "--json",
        "--",
        &python(),
        script.to_str().unwrap(),
        mode,
        file.to_str().unwrap(),
    ]);
    let report = json(&out);
    let runs = report["runs"].as_array().unwrap();
    for op in ["open", "mmap"] {
        assert!(
            runs.iter().any(|r| r["op"] == op),
            "the clean run made no {op} on the file: {report:#}"
        );
    }
    for r in runs {
        // Only handled or recovered, or a crash / leak named with its evidence.
        match r["outcome"].as_str().unwrap() {
            "handled" | "recovered" => {}
            "crashed" => assert!(r["signal"].is_i64(), "{r:#}"),
            "leaked" => assert!(!r["leaked"].as_array().unwrap().is_empty(), "{r:#}"),
            other => panic!("{mode}: {}#{} {other}: {r:#}", r["op"], r["nth"]),
        }
    }
    eprintln!(
        "{mode}: {}",
        stderr(&out)
            .lines()
            .rev()
            .take_while(|l| !l.starts_with("op "))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    report
}

fn acquired<'a>(report: &'a Value, kind: &str, what: &Path) -> Option<&'a Value> {
    report["acquired"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == kind && a["what"] == what.to_str().unwrap())
}

#[test]
#[ignore = "needs LOADGUARD_PYTHON with safetensors, gguf and numpy (ci/stages/55-preload.sh)"]
fn safetensors_safe_open_maps_the_file_and_releases_it() {
    let (_dir, st, _) = make_files();
    let report = trace("safetensors", &st);
    assert!(acquired(&report, "fd", &st).is_some(), "{report:#}");
    assert!(
        acquired(&report, "mapping", &st).is_some(),
        "safe_open maps the file: {report:#}"
    );
    eprintln!("safetensors held at exit: {:#}", report["leaked"]);
    let report = sweep("safetensors", &st);
    assert_eq!(report["clean"]["exit"], 0);
}

#[test]
#[ignore = "needs LOADGUARD_PYTHON with safetensors, gguf and numpy (ci/stages/55-preload.sh)"]
fn gguf_reader_maps_the_file_and_releases_it() {
    let (_dir, _, gg) = make_files();
    let report = trace("gguf", &gg);
    assert!(acquired(&report, "fd", &gg).is_some(), "{report:#}");
    assert!(
        acquired(&report, "mapping", &gg).is_some(),
        "numpy.memmap maps the file: {report:#}"
    );
    eprintln!("gguf held at exit: {:#}", report["leaked"]);
    let report = sweep("gguf", &gg);
    assert_eq!(report["clean"]["exit"], 0);
}
