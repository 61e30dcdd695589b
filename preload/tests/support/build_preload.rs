//! Builds `libloadguard_preload.so` for tests and benchmarks, with the cargo that runs them and
//! the same target directory (the outer cargo holds no lock while tests run). Needed because
//! cargo builds no cdylib for another package's tests, nor for a cdylib-only package's own.
//! Included with `#[path]` by every test that runs programs under the preload.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Builds the preload (`--release` when `release`) and returns the path of the `.so`.
pub fn build_preload(release: bool) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["build", "-p", "loadguard-preload", "--message-format=json"]);
    if release {
        command.arg("--release");
    }
    let out = command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo build -p loadguard-preload");
    assert!(
        out.status.success(),
        "cargo build -p loadguard-preload failed"
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| {
            m["reason"] == "compiler-artifact" && m["target"]["name"] == "loadguard_preload"
        })
        .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .find(|f| f.extension().is_some_and(|e| e == "so"))
        .expect("the build names libloadguard_preload.so")
}
