//! `loadguard inspect` end to end: exit codes, stdout/stderr split, JSON shape.

use std::path::PathBuf;
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../loader/tests/fixtures")
        .join(name)
}

fn inspect(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_loadguard"))
        .arg("inspect")
        .args(args)
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap_or(-1),
        text(out.stdout),
        text(out.stderr),
    )
}

#[test]
fn valid_files_print_a_table_or_json_and_exit_zero() {
    for (name, format) in [
        ("basic.safetensors", "safetensors"),
        ("basic.gguf", "gguf"),
        ("basic.pte", "pte"),
    ] {
        let path = fixture(name);
        let path = path.to_str().unwrap();
        let (code, stdout, _) = inspect(&[path]);
        assert_eq!(code, 0, "{name}");
        assert!(stdout.contains(&format!("format:   {format}")), "{stdout}");
        let (code, stdout, _) = inspect(&[path, "--json"]);
        assert_eq!(code, 0);
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["format"], format);
        assert!(v["tensors"].is_array() && v["metadata"].is_object());
    }
    // Detection is by bytes: a GGUF file under another extension is still GGUF.
    let dir = tempfile::tempdir().unwrap();
    let renamed = dir.path().join("model.bin");
    std::fs::copy(fixture("basic.gguf"), &renamed).unwrap();
    let (_, stdout, _) = inspect(&[renamed.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["format"], "gguf");
    assert_eq!(v["tensors"][2]["dtype"], "Q8_0");
    assert_eq!(v["tensors"][2]["dims"], serde_json::json!([32, 2]));
}

#[test]
fn malformed_files_exit_non_zero_with_the_error() {
    let path = fixture("gg_overlap.gguf");
    let path = path.to_str().unwrap();
    let (code, stdout, stderr) = inspect(&[path]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("gg_overlap.gguf") && stderr.contains("tensors overlap"),
        "{stderr}"
    );
    let (code, stdout, _) = inspect(&[path, "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["error"]["rule"], "Overlap");
    assert_eq!(v["error"]["format"], "gguf");
    assert!(v["error"]["offset"].is_u64());
    let (code, _, stderr) = inspect(&["/nonexistent/model.gguf"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("/nonexistent/model.gguf"), "{stderr}");
}
