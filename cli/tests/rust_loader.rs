//! A Rust loader that knows nothing of loadguard (`preload/fixtures/rust-loader`: memmap2 for
//! the weights, libloading for libm), traced and swept unmodified — including through
//! `cargo test`, the documented use on a crate's own tests.

#![cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]

mod harness_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use harness_support::{fixture, json, loadguard, stderr};
use serde_json::Value;

fn manifest() -> PathBuf {
    fixture("rust-loader/Cargo.toml")
}

/// Where the fixture builds: `<target dir>/preload-fixtures`.
fn target_dir() -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_loadguard"));
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("preload-fixtures")
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Builds the fixture's binary and its test binary once.
fn rust_loader() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        for args in [&["build"][..], &["test", "--no-run", "--test", "loading"]] {
            let status = cargo()
                .args(args)
                .args(["--locked", "--manifest-path"])
                .arg(manifest())
                .arg("--target-dir")
                .arg(target_dir())
                .status()
                .unwrap();
            assert!(status.success(), "building the rust-loader fixture failed");
        }
        target_dir().join("debug/rust-loader")
    })
}

fn weights(dir: &Path) -> PathBuf {
    let path = dir.join("weights.bin");
    std::fs::write(&path, (1u8..=16).collect::<Vec<_>>()).unwrap();
    path
}

fn line_of(marker: &str) -> usize {
    let text = std::fs::read_to_string(fixture("rust-loader/src/lib.rs")).unwrap();
    text.lines().position(|l| l.contains(marker)).unwrap() + 1
}

fn run<'a>(report: &'a Value, op: &str, nth: u64) -> &'a Value {
    report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["op"] == op && r["nth"] == nth)
        .unwrap_or_else(|| panic!("{op}#{nth}: {report:#}"))
}

#[test]
fn trace_sees_the_memmap2_mapping_and_the_libloading_library() {
    let dir = tempfile::tempdir().unwrap();
    let weights = weights(dir.path());
    let out = loadguard(&[
        "trace",
        "--json",
        "--",
        rust_loader().to_str().unwrap(),
        weights.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("checksum 136 cos0 1"));
    let report = json(&out);
    let acquired = report["acquired"].as_array().unwrap();
    let has = |kind: &str, via: &str, what: &str| {
        acquired
            .iter()
            .any(|a| a["kind"] == kind && a["via"] == via && a["what"] == what)
    };
    assert!(
        has("fd", "open", weights.to_str().unwrap()),
        "{acquired:#?}"
    );
    assert!(
        has("mapping", "mmap", weights.to_str().unwrap()),
        "{acquired:#?}"
    );
    assert!(has("library", "dlopen", "libm.so.6"), "{acquired:#?}");
    // Mmap, File and Library were all dropped before exit.
    let leaked = report["leaked"].as_array().unwrap();
    assert!(
        !leaked
            .iter()
            .any(|l| l["what"] == weights.to_str().unwrap() || l["what"] == "libm.so.6"),
        "{leaked:#?}"
    );
}

#[test]
fn the_sweep_fails_each_call_at_its_line_in_the_loader() {
    let dir = tempfile::tempdir().unwrap();
    let weights = weights(dir.path());
    let exe = rust_loader().to_str().unwrap();
    let out = loadguard(&[
        "faults",
        "--sweep",
        "--only",
        "*weights.bin",
        "--json",
        "--",
        exe,
        weights.to_str().unwrap(),
    ]);
    let report = json(&out);
    assert!(out.status.success(), "{report:#}");
    for (op, marker, message) in [
        ("open", "WEIGHTS-OPEN", "Permission denied"),
        ("mmap", "WEIGHTS-MAP", "Cannot allocate memory"),
    ] {
        let r = run(&report, op, 1);
        assert_eq!(r["outcome"], "handled", "{r:#}");
        assert!(
            r["stderr_tail"].as_str().unwrap().contains(message),
            "{r:#}"
        );
        // memmap2's and std's frames are skipped: the site is the fixture's own line.
        let site = r["site"].as_str().unwrap();
        assert!(
            site.ends_with(&format!("rust-loader/src/lib.rs:{}", line_of(marker))),
            "{site}"
        );
    }
    let out = loadguard(&[
        "faults",
        "--sweep",
        "--ops",
        "dlopen,dlsym",
        "--only",
        "libm*",
        "--json",
        "--",
        exe,
        weights.to_str().unwrap(),
    ]);
    let report = json(&out);
    assert!(out.status.success(), "{report:#}");
    let dlopen = run(&report, "dlopen", 1);
    assert_eq!(dlopen["outcome"], "handled");
    // libloading reports dlerror(): the preload made the failure a real one, with a message.
    assert!(
        dlopen["stderr_tail"]
            .as_str()
            .unwrap()
            .contains("loadguard-preload-injected-fault/libm.so.6"),
        "{dlopen:#}"
    );
    assert!(dlopen["site"].as_str().unwrap().ends_with(&format!(
        "rust-loader/src/lib.rs:{}",
        line_of("VENDOR-DLOPEN")
    )));
    let dlsym = run(&report, "dlsym", 1);
    assert_eq!(dlsym["outcome"], "handled");
    assert!(
        dlsym["stderr_tail"]
            .as_str()
            .unwrap()
            .contains("undefined symbol"),
        "{dlsym:#}"
    );
}

#[test]
fn a_sweep_through_cargo_test_follows_the_test_binary() {
    let dir = tempfile::tempdir().unwrap();
    let weights = weights(dir.path());
    let _ = rust_loader();
    let manifest = manifest();
    let target = target_dir();
    // `cargo test` runs the test binary as its child: the shared counters see its calls, and
    // --only keeps cargo's own file traffic out of the sweep.
    let out = Command::new(env!("CARGO_BIN_EXE_loadguard"))
        .args([
            "faults",
            "--sweep",
            "--only",
            "*weights.bin",
            "--json",
            "--",
        ])
        .arg(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["test", "--locked", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .args(["--test", "loading", "--", "--test-threads=1"])
        .env("LOADGUARD_PRELOAD", harness_support::preload())
        .env("RUST_LOADER_WEIGHTS", &weights)
        .output()
        .unwrap();
    let report = json(&out);
    assert_eq!(report["clean"]["exit"], 0, "{report:#}\n{}", stderr(&out));
    assert_eq!(report["clean"]["calls"]["open"], 1, "{report:#}");
    let open = run(&report, "open", 1);
    // The test fails (exit 101) and its panic message carries the OS error.
    assert_eq!(
        (open["outcome"].as_str(), open["exit"].as_i64()),
        (Some("handled"), Some(101)),
        "{open:#}"
    );
    assert!(out.status.success(), "{report:#}");
}
