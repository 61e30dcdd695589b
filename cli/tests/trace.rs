//! `loadguard trace` end to end, on a C loader nobody here ships as a library: built with
//! `cc -g` from `preload/fixtures/leaky_loader.c`, which leaks its descriptor when the header
//! check fails. The leak must be reported at the `open` line, from the fixture's debug info.

#![cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]

mod harness_support;

use harness_support::{cc, json, line_of, loadguard, models, stderr};

#[test]
fn the_leaked_descriptor_is_reported_at_its_open_line() {
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "leaky_loader");
    let (_, bad) = models(dir.path());
    let out = loadguard(&[
        "trace",
        "--json",
        "--",
        exe.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    // The traced program's status is loadguard's.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["exit"], 1);
    assert_eq!(report["signal"], serde_json::Value::Null);
    // Its stderr still reaches ours.
    assert!(stderr(&out).contains("not a model file"));
    let leaked = report["leaked"].as_array().unwrap();
    assert_eq!(leaked.len(), 1, "{leaked:#?}");
    let leak = &leaked[0];
    assert_eq!(leak["kind"], "fd");
    assert_eq!(leak["via"], "open");
    assert_eq!(leak["count"], 1);
    assert_eq!(leak["what"], bad.to_str().unwrap());
    let line = line_of("leaky_loader.c", "LEAKED-FD-OPEN");
    let site = leak["site"].as_str().unwrap();
    assert!(
        site.ends_with(&format!("leaky_loader.c:{line}")),
        "{site} (expected line {line})"
    );
    let backtrace: Vec<&str> = leak["backtrace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(backtrace[0].starts_with("load_model at "), "{backtrace:?}");
    assert!(
        backtrace.iter().any(|f| f.starts_with("main at ")),
        "{backtrace:?}"
    );
    let acquired = report["acquired"].as_array().unwrap();
    assert!(
        acquired
            .iter()
            .any(|a| a["kind"] == "fd" && a["what"] == bad.to_str().unwrap() && a["count"] == 1)
    );
}

#[test]
fn a_clean_load_holds_nothing_and_lists_its_descriptor_and_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "leaky_loader");
    let (good, _) = models(dir.path());
    let out = loadguard(&[
        "trace",
        "--json",
        "--",
        exe.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["exit"], 0);
    assert_eq!(report["leaked"].as_array().unwrap().len(), 0, "{report:#}");
    let acquired = report["acquired"].as_array().unwrap();
    for kind in ["fd", "mapping"] {
        assert!(
            acquired
                .iter()
                .any(|a| a["kind"] == kind && a["what"] == good.to_str().unwrap()),
            "{kind}: {acquired:#?}"
        );
    }
    // With --json the program's stdout goes to stderr, so stdout is one JSON document.
    assert!(stderr(&out).contains("sum 136"));
}

#[test]
fn the_human_report_names_the_leak_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "leaky_loader");
    let (_, bad) = models(dir.path());
    let out = loadguard(&["trace", "--", exe.to_str().unwrap(), bad.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = line_of("leaky_loader.c", "LEAKED-FD-OPEN");
    assert!(text.contains("held at exit:"), "{text}");
    assert!(text.contains(&format!("leaky_loader.c:{line}")), "{text}");
    assert!(text.contains("exited with 1"), "{text}");
}

#[test]
fn children_are_followed_and_signals_are_passed_on() {
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "leaky_loader");
    let (_, bad) = models(dir.path());
    let script = format!("{} {} ; exit 0", exe.display(), bad.display());
    let out = loadguard(&["trace", "--json", "--", "sh", "-c", &script]);
    assert!(out.status.success());
    let report = json(&out);
    // The loader ran as the shell's child; its leak is in the report.
    assert!(
        report["leaked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["what"] == bad.to_str().unwrap()),
        "{report:#}"
    );

    // A closed stdout does not make loadguard panic.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} trace --json -- {} {} | head -c 1 >/dev/null; echo ${{PIPESTATUS:-}}",
            env!("CARGO_BIN_EXE_loadguard"),
            exe.display(),
            bad.display()
        ))
        .env("LOADGUARD_PRELOAD", harness_support::preload())
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));

    // A command killed by a signal: loadguard reports it, says why nothing was reported, and
    // exits 128 + the signal.
    let out = loadguard(&["trace", "--json", "--", "sh", "-c", "kill -SEGV $$"]);
    assert_eq!(out.status.code(), Some(128 + 11));
    assert_eq!(json(&out)["signal"], 11);
    assert_eq!(json(&out)["processes"], 0);
    assert!(
        stderr(&out).contains("no process of `sh -c kill -SEGV $$` reported"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let cases: [(&[&str], &str); 3] = [
        (&["trace", "true"], "--"),
        (
            &["trace", "--", "/nonexistent/program"],
            "cannot start `/nonexistent/program`",
        ),
        (&["trace", "--depth", "0", "--", "true"], "depth"),
    ];
    for (args, needle) in cases {
        let out = loadguard(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadguard"))
        .args(["trace", "--", "true"])
        .env("LOADGUARD_PRELOAD", "/nonexistent/lib.so")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("LOADGUARD_PRELOAD=/nonexistent/lib.so is not a file"));
}
