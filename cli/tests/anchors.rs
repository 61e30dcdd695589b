//! The anchors the harness is measured against, on the same C loader: `strace -e inject=` fails
//! the same call and the loader must behave the same (exit status and message) as under
//! `loadguard faults`; `valgrind --track-fds=yes` must name the same leaked descriptor at the
//! same line as `loadguard trace`. What neither gives — the sweep of every call, the leak of a
//! failed call's error path, the outcome class — is what the other tests check.
//!
//! Needs `strace` and `valgrind` (installed by `ci/lib.sh`'s apt list; run by
//! `ci/stages/55-preload.sh` with `--ignored`).

#![cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]

mod harness_support;

use std::process::Command;

use harness_support::{cc, json, line_of, loadguard, models};

#[test]
#[ignore = "needs strace (ci/stages/55-preload.sh)"]
fn strace_injection_of_the_same_call_gives_the_same_failure() {
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "leaky_loader");
    let (good, _) = models(dir.path());
    let sweep = json(&loadguard(&[
        "faults",
        "--sweep",
        "--ops",
        "open,pread,mmap",
        "--json",
        "--",
        exe.to_str().unwrap(),
        good.to_str().unwrap(),
    ]));
    let runs = sweep["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "{sweep:#}");
    for r in runs {
        let (syscall, errno) = match r["op"].as_str().unwrap() {
            "open" => ("openat", "EACCES"),
            "pread" => ("pread64", "EIO"),
            _ => ("mmap", "ENOMEM"),
        };
        assert_eq!(r["fault"], errno);
        // -P: only the calls on the model file are traced, so `when=1` is its first one.
        let out = Command::new("strace")
            .args(["-qq", "-o", "/dev/null", "-P"])
            .arg(&good)
            .arg("-e")
            .arg(format!("inject={syscall}:error={errno}:when={}", r["nth"]))
            .arg(&exe)
            .arg(&good)
            .output()
            .expect("strace on PATH");
        assert_eq!(
            out.status.code().map(i64::from),
            r["exit"].as_i64(),
            "{syscall}: {r:#}"
        );
        let theirs = String::from_utf8_lossy(&out.stderr);
        let ours = r["stderr_tail"].as_str().unwrap();
        assert_eq!(theirs.trim(), ours.trim(), "{syscall}");
    }
    // strace cannot tell that one of those failures leaked the descriptor; the sweep does.
    assert!(
        runs.iter()
            .any(|r| r["op"] == "pread" && r["outcome"] == "leaked")
    );
}

#[test]
#[ignore = "needs valgrind (ci/stages/55-preload.sh)"]
fn valgrind_track_fds_names_the_same_descriptor_at_the_same_line() {
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "leaky_loader");
    let (_, bad) = models(dir.path());
    let out = Command::new("valgrind")
        .args(["--track-fds=yes", "-q"])
        .arg(&exe)
        .arg(&bad)
        .output()
        .expect("valgrind on PATH");
    let theirs = String::from_utf8_lossy(&out.stderr);
    let line = line_of("leaky_loader.c", "LEAKED-FD-OPEN");
    let open = format!("Open file descriptor 3: {}", bad.display());
    assert!(theirs.contains(&open), "{theirs}");
    assert!(
        theirs.contains(&format!("load_model (leaky_loader.c:{line})")),
        "{theirs}"
    );

    let report = json(&loadguard(&[
        "trace",
        "--json",
        "--",
        exe.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]));
    let leak = &report["leaked"][0];
    assert_eq!(leak["what"], bad.to_str().unwrap());
    assert!(
        leak["site"]
            .as_str()
            .unwrap()
            .ends_with(&format!("leaky_loader.c:{line}")),
        "{leak:#}"
    );
}
