//! `loadguard faults` end to end on C loaders built from `preload/fixtures/`: the sweep finds
//! the one (op, n) whose failure leaks the descriptor, names crashes and hangs, and bad input
//! exits 2.

#![cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]

mod harness_support;

use harness_support::{cc, json, line_of, loadguard, models, stderr};
use serde_json::Value;

fn runs(report: &Value) -> &Vec<Value> {
    report["runs"].as_array().unwrap()
}

fn run<'a>(report: &'a Value, op: &str, nth: u64) -> &'a Value {
    runs(report)
        .iter()
        .find(|r| r["op"] == op && r["nth"] == nth)
        .unwrap_or_else(|| panic!("no run {op}#{nth}: {report:#}"))
}

#[test]
fn the_sweep_finds_the_leaking_call_and_classifies_every_other() {
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "leaky_loader");
    let (good, _) = models(dir.path());
    let out = loadguard(&[
        "faults",
        "--sweep",
        "--json",
        "--",
        exe.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    // A leak is a finding: exit 1.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["clean"]["exit"], 0);
    let calls = &report["clean"]["calls"];
    assert_eq!(
        (
            calls["open"].as_u64(),
            calls["pread"].as_u64(),
            calls["mmap"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    for r in runs(&report) {
        for key in [
            "op",
            "nth",
            "fault",
            "outcome",
            "exit",
            "signal",
            "stderr_tail",
        ] {
            assert!(r.get(key).is_some(), "{key} missing: {r:#}");
        }
    }
    // The failed pread takes the header-check path, which forgets to close the descriptor.
    let pread = run(&report, "pread", 1);
    assert_eq!(pread["outcome"], "leaked", "{pread:#}");
    assert_eq!(pread["fault"], "EIO");
    let open_line = line_of("leaky_loader.c", "LEAKED-FD-OPEN");
    let leak = &pread["leaked"][0];
    assert_eq!(
        (leak["kind"].as_str(), leak["count"].as_u64()),
        (Some("fd"), Some(1))
    );
    assert!(
        leak["site"]
            .as_str()
            .unwrap()
            .ends_with(&format!("leaky_loader.c:{open_line}")),
        "{leak:#}"
    );
    // Every other failure is reported and releases everything.
    assert_eq!(run(&report, "open", 1)["outcome"], "handled");
    let mmap = run(&report, "mmap", 1);
    assert_eq!(mmap["outcome"], "handled");
    let mmap_line = line_of("leaky_loader.c", "MODEL-MMAP");
    assert!(
        mmap["site"]
            .as_str()
            .unwrap()
            .ends_with(&format!("leaky_loader.c:{mmap_line}")),
        "{mmap:#}"
    );
    assert!(
        mmap["stderr_tail"]
            .as_str()
            .unwrap()
            .contains("Cannot allocate memory")
    );
    // A failed madvise is only advice: same exit, same output.
    assert_eq!(run(&report, "madvise", 1)["outcome"], "recovered");
    // The table and progress went to stderr.
    let err = stderr(&out);
    assert!(err.contains("[1/") && err.contains("leaked"), "{err}");
}

#[test]
fn one_fault_reports_where_it_was_injected_and_what_was_held() {
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "leaky_loader");
    let (good, _) = models(dir.path());
    let out = loadguard(&[
        "faults",
        "--op",
        "pread",
        "--nth",
        "1",
        "--short-read",
        "--json",
        "--",
        exe.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let r = json(&out);
    assert_eq!(
        (r["op"].as_str(), r["nth"].as_u64(), r["fault"].as_str()),
        (Some("pread"), Some(1), Some("short"))
    );
    assert_eq!(r["injected"], true);
    assert_eq!(r["leaked"][0]["kind"], "fd");
    // A call number past the last call injects nothing, and the program runs as usual.
    let out = loadguard(&[
        "faults",
        "--op",
        "mmap",
        "--nth",
        "9",
        "--",
        exe.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("never happened"), "{}", stderr(&out));
}

#[test]
fn crashes_and_hangs_are_named_and_sarif_points_at_the_lines() {
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "unchecked_mmap");
    let (good, _) = models(dir.path());
    let out = loadguard(&[
        "faults",
        "--sweep",
        "--ops",
        "mmap",
        "--sarif",
        "--",
        exe.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let sarif = json(&out);
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{sarif:#}");
    assert_eq!(results[0]["ruleId"], "crashed");
    assert!(
        results[0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("signal 11")
    );
    let region = &results[0]["locations"][0]["physicalLocation"];
    // The failing call is the mmap the line before the unchecked read.
    assert_eq!(
        usize::try_from(region["region"]["startLine"].as_u64().unwrap()).unwrap(),
        line_of("unchecked_mmap.c", "UNCHECKED-READ") - 2
    );
    assert!(
        region["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("unchecked_mmap.c")
    );

    // A program that waits forever when its read fails: hung, killed at the timeout. (The
    // shell's `read` builtin reads a byte at a time: "x\n" is two reads.)
    let line = dir.path().join("line.txt");
    std::fs::write(&line, "x\n").unwrap();
    let script = format!("read x < {} || sleep 1000; echo $x", line.display());
    let started = std::time::Instant::now();
    let out = loadguard(&[
        "faults",
        "--sweep",
        "--ops",
        "read",
        "--only",
        "*line.txt",
        "--timeout",
        "2",
        "--json",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    let report = json(&out);
    assert_eq!(
        report["clean"]["calls"]["read"].as_u64(),
        Some(2),
        "{report:#}"
    );
    assert_eq!(run(&report, "read", 1)["outcome"], "hung");
    assert_eq!(run(&report, "read", 2)["outcome"], "hung");
    // Killed at the timeout, the sleeping shell and its child with it.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn only_restricts_counting_and_jobs_run_in_parallel() {
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "leaky_loader");
    let (good, _) = models(dir.path());
    // The shell opens and reads plenty of its own files; --only leaves them alone.
    let script = format!(
        "cat /etc/passwd > /dev/null; {} {}",
        exe.display(),
        good.display()
    );
    let sweep = |jobs: &str| {
        json(&loadguard(&[
            "faults", "--sweep", "--only", "*.lgm", "--jobs", jobs, "--json", "--", "sh", "-c",
            &script,
        ]))
    };
    let one = sweep("1");
    assert_eq!(one["clean"]["calls"]["open"].as_u64(), Some(1), "{one:#}");
    let two = sweep("2");
    let outcomes = |r: &Value| {
        runs(r)
            .iter()
            .map(|r| format!("{}#{}={}", r["op"], r["nth"], r["outcome"]))
            .collect::<Vec<_>>()
    };
    assert_eq!(outcomes(&one), outcomes(&two));
    assert!(outcomes(&one).iter().any(|o| o.contains("leaked")));
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let cases: [(&[&str], &str); 8] = [
        (
            &["faults", "--op", "mmpa", "--nth", "1", "--", "true"],
            "unknown op `mmpa`",
        ),
        (
            &["faults", "--op", "close", "--nth", "1", "--", "true"],
            "`close` is counted but never failed",
        ),
        (
            &[
                "faults", "--op", "mmap", "--nth", "1", "--errno", "ENOPE", "--", "true",
            ],
            "unknown errno `ENOPE`",
        ),
        (
            &[
                "faults",
                "--op",
                "mmap",
                "--nth",
                "1",
                "--short-read",
                "--",
                "true",
            ],
            "short read only applies to read and pread",
        ),
        (
            &["faults", "--op", "mmap", "--nth", "0", "--", "true"],
            "count from 1",
        ),
        (
            &[
                "faults",
                "--sweep",
                "--ops",
                "mmap",
                "--short-read",
                "--",
                "true",
            ],
            "--short-read applies to read and pread",
        ),
        (
            &["faults", "--sweep", "--", "/nonexistent/loader"],
            "cannot start `/nonexistent/loader`",
        ),
        (
            &["faults", "--sweep", "--timeout", "0", "--", "true"],
            "--timeout",
        ),
    ];
    for (args, needle) in cases {
        let out = loadguard(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    for args in [
        &["faults", "--sweep", "true"][..],
        &["faults", "--", "true"],
        &["faults", "--op", "mmap", "--", "true"],
    ] {
        let out = loadguard(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}
