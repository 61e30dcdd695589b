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
        ("executorch/linear_xnnpack.pte", "pte"),
        ("executorch/linear_external.ptd", "ptd"),
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
        stderr.contains("gg_overlap.gguf") && stderr.contains("tensor data out of order"),
        "{stderr}"
    );
    // The lenient rules accept ggml's layout rule away, and still refuse the overlap.
    let (code, _, stderr) = inspect(&[path, "--lenient"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("tensors overlap"), "{stderr}");
    let (code, stdout, _) = inspect(&[path, "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["error"]["rule"], "TensorOrder");
    assert_eq!(v["error"]["format"], "gguf");
    assert!(v["error"]["offset"].is_u64());
    let (code, _, stderr) = inspect(&["/nonexistent/model.gguf"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("/nonexistent/model.gguf"), "{stderr}");
}

#[test]
fn non_models_are_errors_unless_raw_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let lfs = dir.path().join("model.safetensors");
    std::fs::write(
        &lfs,
        "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 1024\n",
    )
    .unwrap();
    let lfs = lfs.to_str().unwrap();
    let (code, stdout, stderr) = inspect(&[lfs]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(stderr.contains("Git LFS pointer"), "{stderr}");
    let (_, stdout, _) = inspect(&[lfs, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["error"]["rule"], "Unrecognized");
    assert_eq!(v["error"]["looks_like"], "GitLfsPointer");
    assert_eq!(v["error"]["expected"], "safetensors");
    let (code, stdout, _) = inspect(&[lfs, "--format", "raw", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["format"], "raw");
    let empty = dir.path().join("empty.gguf");
    std::fs::write(&empty, b"").unwrap();
    let (code, _, stderr) = inspect(&[empty.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("an empty file"), "{stderr}");
}

/// A safetensors file whose one tensor has a 70,000-character name with a terminal escape
/// sequence in it: the report neither panics (a column width past what `format!` allows) nor
/// prints the escape raw.
#[test]
fn hostile_names_are_escaped_and_never_panic() {
    let name = format!("\u{1b}]0;pwned\u{7}{}", "n".repeat(70_000));
    let header = format!(
        r#"{{{}:{{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}}}"#,
        serde_json::to_string(&name).unwrap()
    );
    let mut file = u64::try_from(header.len()).unwrap().to_le_bytes().to_vec();
    file.extend_from_slice(header.as_bytes());
    file.push(0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.safetensors");
    std::fs::write(&path, file).unwrap();
    let (code, stdout, stderr) = inspect(&[path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
        "raw escape printed"
    );
    assert!(
        stdout.contains("\\u{1b}]0;pwned\\u{7}"),
        "{}",
        &stdout[..400]
    );
    assert!(stdout.lines().all(|l| l.chars().count() < 400));
    let (code, stdout, _) = inspect(&[path.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["tensors"][0]["name"], name.as_str());
}

/// Every file of the adversarial corpus, rendered as `inspect` renders it: no panic, no raw
/// control character from the file in the human report, JSON that parses.
#[test]
fn the_adversarial_corpus_renders() {
    use loadguard::os::MemoryOs;
    use loadguard::{Model, Registry};
    use loadguard_cli::report;
    let dir = fixture("adversarial");
    let mut rendered = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "py" || e == "txt") {
            continue;
        }
        let fs = MemoryOs::new();
        fs.write(&path, std::fs::read(&path).unwrap());
        let (text, json) = match Model::open(&Registry::with_os(fs), &path) {
            Ok(m) => (report::to_text(&m), report::pretty(&report::to_json(&m))),
            Err(e) => (
                report::error_text("inspect", &e),
                report::pretty(&report::error_json(&e)),
            ),
        };
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{}: raw control character",
            path.display()
        );
        serde_json::from_str::<serde_json::Value>(&json).unwrap();
        rendered += 1;
    }
    assert!(rendered >= 100, "{rendered}");
}

/// A safetensors shard index: every tensor of every shard in `tensors` (with its `file`), and
/// `shards` listing each shard with its tensor count; the human form lists the shards.
#[test]
fn a_shard_index_lists_every_shard() {
    let dir = tempfile::tempdir().unwrap();
    let shard = |name: &str| {
        let header = format!(r#"{{"{name}":{{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}}}"#);
        let mut f = u64::try_from(header.len()).unwrap().to_le_bytes().to_vec();
        f.extend_from_slice(header.as_bytes());
        f.extend_from_slice(&[1, 2]);
        f
    };
    std::fs::write(dir.path().join("s-1.safetensors"), shard("a")).unwrap();
    std::fs::write(dir.path().join("s-2.safetensors"), shard("b")).unwrap();
    let index = dir.path().join("m.safetensors.index.json");
    std::fs::write(
        &index,
        r#"{"metadata": {"total_size": 4}, "weight_map": {"a": "s-1.safetensors", "b": "s-2.safetensors"}}"#,
    )
    .unwrap();
    let index = index.to_str().unwrap();
    let (code, stdout, stderr) = inspect(&[index, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["format"], "safetensors");
    assert_eq!(v["tensors"][1]["name"], "b");
    assert_eq!(v["tensors"][1]["file"], "s-2.safetensors");
    assert_eq!(v["shards"].as_array().unwrap().len(), 2);
    assert_eq!(v["shards"][0]["tensors"], 1);
    assert!(
        v["shards"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("s-1.safetensors")
    );
    let (code, stdout, _) = inspect(&[index]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("shards:   2") && stdout.contains("s-2.safetensors (1 tensors)"),
        "{stdout}"
    );
}
