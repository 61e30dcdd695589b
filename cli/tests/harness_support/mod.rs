//! Shared by the `loadguard trace` / `loadguard faults` tests: the preload (built fresh with a
//! nested cargo, since cargo builds no cdylib for another package's tests), the C fixtures from
//! `preload/fixtures/` (built with `cc -g`), and running the CLI with the preload named.

#![allow(dead_code)] // each test file uses part of it

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

#[path = "../../../preload/tests/support/build_preload.rs"]
mod build;

/// `libloadguard_preload.so`, built with the same cargo and target directory as these tests.
pub fn preload() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| build::build_preload(false))
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../preload/fixtures")
        .join(name)
}

/// Builds `preload/fixtures/<name>.c` into `dir` with debug info.
pub fn cc(dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("cc")
        .args(["-g", "-O0", "-o"])
        .arg(&out)
        .arg(fixture(&format!("{name}.c")))
        .status()
        .expect("cc (the C compiler) on PATH");
    assert!(status.success(), "cc {name}.c failed");
    out
}

/// The 1-based line of `fixtures/<file>` that contains `marker`.
pub fn line_of(file: &str, marker: &str) -> usize {
    let text = std::fs::read_to_string(fixture(file)).unwrap();
    text.lines().position(|l| l.contains(marker)).expect(marker) + 1
}

/// `loadguard ARGS…` with the preload named in the environment.
pub fn loadguard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loadguard"))
        .args(args)
        .env("LOADGUARD_PRELOAD", preload())
        .output()
        .unwrap()
}

pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A valid model for `leaky_loader` (payload 1..=16) and a file that is not one.
pub fn models(dir: &Path) -> (PathBuf, PathBuf) {
    let good = dir.join("good.lgm");
    let mut bytes = b"LGM1".to_vec();
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend(1u8..=16);
    std::fs::write(&good, bytes).unwrap();
    let bad = dir.join("bad.lgm");
    std::fs::write(&bad, b"GGUF not ours").unwrap();
    (good, bad)
}
