//! loadguard's own CLI under its own sweep: every call it makes on the model file, failed in
//! turn, must be handled (a typed error naming the call) or recovered from (a fallback with the
//! same output), and nothing may be held at exit that the clean run did not hold.
//!
//! `--only` keeps the sweep on the model file's calls: failing the Rust runtime's own start-up
//! `mmap` (its signal stack) aborts every Rust program before `main`, which says nothing about
//! loadguard.
//!
//! loadguard builds rustix with `use-libc`, so its own `pread`s, `statx`es and `mmap`s go
//! through the C library, where the sweep sees and fails them like any other loader's.

#![cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]

mod harness_support;

use harness_support::{json, loadguard, stderr};

/// A safetensors file with one F32 tensor of 4 values, as the format's writer lays it out.
fn safetensors(dir: &std::path::Path) -> std::path::PathBuf {
    let header = br#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
    let mut header = header.to_vec();
    while header.len() % 8 != 0 {
        header.push(b' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&header);
    for v in [1.0f32, 2.0, 3.0, 4.0] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    let path = dir.join("model.safetensors");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn sweep_is_clean(args: &[&str]) {
    let mut full = vec![
        "faults",
        "--sweep",
        "--only",
        "*model.safetensors",
        "--json",
        "--",
    ];
    let exe = env!("CARGO_BIN_EXE_loadguard");
    full.push(exe);
    full.extend_from_slice(args);
    let out = loadguard(&full);
    let report = json(&out);
    let runs = report["runs"].as_array().unwrap();
    assert!(!runs.is_empty(), "{report:#}");
    for r in runs {
        let outcome = r["outcome"].as_str().unwrap();
        assert!(
            outcome == "handled" || outcome == "recovered",
            "{} #{} ({}): {outcome}\n{r:#}",
            r["op"],
            r["nth"],
            r["fault"]
        );
        assert_eq!(r["leaked"].as_array().unwrap().len(), 0, "{r:#}");
    }
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn inspect_handles_or_recovers_from_every_failed_call() {
    let dir = tempfile::tempdir().unwrap();
    let model = safetensors(dir.path());
    sweep_is_clean(&["inspect", model.to_str().unwrap()]);
}

#[test]
fn sessions_in_read_mode_handle_or_recover_from_every_failed_call() {
    let dir = tempfile::tempdir().unwrap();
    let model = safetensors(dir.path());
    sweep_is_clean(&[
        "sessions",
        model.to_str().unwrap(),
        "-n",
        "2",
        "--mode",
        "read",
        "--json",
    ]);
}

#[test]
fn short_reads_and_interrupted_reads_are_retried() {
    // `sessions` prints timings, so its output differs run to run: check what it reports
    // instead (every session served by the read path), for every read and pread of the clean
    // run (which of the two the read path uses is loadguard's business).
    let dir = tempfile::tempdir().unwrap();
    let model = safetensors(dir.path());
    let exe = env!("CARGO_BIN_EXE_loadguard");
    let cmd = [
        exe,
        "sessions",
        model.to_str().unwrap(),
        "-n",
        "2",
        "--mode",
        "read",
        "--json",
    ];
    let mut count = vec![
        "faults",
        "--sweep",
        "--ops",
        "read,pread",
        "--only",
        "*model.safetensors",
        "--json",
        "--",
    ];
    count.extend_from_slice(&cmd);
    let clean = json(&loadguard(&count))["clean"]["calls"].clone();
    let mut injected = 0;
    for op in ["read", "pread"] {
        for nth in 1..=clean[op].as_u64().unwrap_or(0) {
            let nth = nth.to_string();
            for fault in ["--short-read", "--eintr"] {
                let mut args = vec![
                    "faults",
                    "--op",
                    op,
                    "--nth",
                    &nth,
                    fault,
                    "--only",
                    "*model.safetensors",
                    "--",
                ];
                args.extend_from_slice(&cmd);
                let out = loadguard(&args);
                assert!(
                    out.status.success(),
                    "{op} {fault} #{nth}: {}",
                    stderr(&out)
                );
                assert!(
                    stderr(&out).contains(&format!("failed {op} call #{nth}")),
                    "{}",
                    stderr(&out)
                );
                let report = json(&out);
                assert_eq!(report["sessions"], 2, "{report:#}");
                assert_eq!(report["mode_used"], "read", "{report:#}");
                injected += 1;
            }
        }
    }
    assert!(
        injected >= 2,
        "the read path made no read or pread of the model: {clean:#}"
    );
}
