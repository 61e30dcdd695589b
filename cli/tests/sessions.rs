//! `loadguard sessions` end to end: the JSON report's promised fields and what they must say.

use std::process::Command;

use serde_json::Value;

fn loadguard(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_loadguard"))
        .args(args)
        .output()
        .unwrap()
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn n_sessions_share_one_mapping_and_leave_no_fd_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.bin");
    std::fs::write(&path, vec![5u8; 3 << 20]).unwrap();
    let report = json_of(&loadguard(&[
        "sessions",
        path.to_str().unwrap(),
        "-n",
        "3",
        "--compare",
        "--json",
    ]));
    assert_eq!(report["sessions"], 3);
    assert_eq!(report["size"], 3 << 20);
    assert_eq!(report["mappings_created"], 1);
    assert_eq!(report["mode_used"], "map");
    assert!(report["open_ns"]["first"].is_u64());
    assert!(report["open_ns"]["median_rest"].is_u64());
    for field in ["rss_anon_kib", "rss_file_kib"] {
        assert!(report[field]["before"].is_u64(), "{field}");
        assert!(report[field]["after"].is_u64(), "{field}");
    }
    let fds = &report["fds"];
    assert_eq!(
        fds["before"], fds["after_open"],
        "the mapping must not keep its file open"
    );
    assert_eq!(fds["before"], fds["after_close"]);
    let compare = &report["compare"];
    assert_eq!(compare["memmap2_per_session"]["mappings_created"], 3);
    assert_eq!(compare["read_per_session"]["mode_used"], "read");
    // Three heap copies of 3 MiB show up as anonymous memory; loadguard's mapping does not.
    let grew = |run: &Value| {
        run["rss_anon_kib"]["after"].as_u64().unwrap()
            - run["rss_anon_kib"]["before"].as_u64().unwrap()
    };
    assert!(
        grew(&compare["read_per_session"]) >= 3 * 3 * 1024,
        "{report}"
    );
    assert!(grew(&report) < 3 * 1024, "{report}");
}

#[test]
fn read_mode_shares_one_heap_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.bin");
    std::fs::write(&path, vec![1u8; 1 << 20]).unwrap();
    let report = json_of(&loadguard(&[
        "sessions",
        path.to_str().unwrap(),
        "-n",
        "4",
        "--mode",
        "read",
        "--json",
    ]));
    assert_eq!(report["mappings_created"], 1);
    assert_eq!(report["mode_used"], "read");
    assert!(report.get("compare").is_none());
}

#[test]
fn demo_runs_on_a_sample_and_removes_it() {
    let report = json_of(&loadguard(&["sessions", "--demo", "-n", "2", "--json"]));
    assert_eq!(report["size"].as_u64().unwrap() >> 20, 256);
    assert_eq!(report["mappings_created"], 1);
    let file = report["file"].as_str().unwrap();
    assert!(
        !std::path::Path::new(file).exists(),
        "demo file {file} was left behind"
    );
}

#[test]
fn a_missing_file_is_an_error_on_stderr_with_a_failing_exit() {
    let out = loadguard(&["sessions", "/definitely/not/here.bin", "--json"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("open /definitely/not/here.bin: "),
        "{stderr}"
    );
    assert!(stderr.contains("(os error 2)"), "{stderr}");
}

#[cfg(target_os = "linux")]
#[test]
fn into_memfd_loads_once_and_hands_each_session_an_fd() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.bin");
    std::fs::write(&path, vec![3u8; 4 << 20]).unwrap();
    let report = json_of(&loadguard(&[
        "sessions",
        path.to_str().unwrap(),
        "-n",
        "3",
        "--into",
        "memfd",
        "--json",
    ]));
    assert_eq!(report["mode_used"], "memfd");
    assert_eq!(
        report["mappings_created"], 1,
        "one buffer for every session"
    );
    let fds = &report["fds"];
    let (before, open) = (
        fds["before"].as_u64().unwrap(),
        fds["after_open"].as_u64().unwrap(),
    );
    // The pool's memfd plus one handed-out fd per session, all closed again afterwards.
    assert_eq!(open, before + 1 + 3, "{report}");
    assert_eq!(fds["after_close"], fds["before"]);
    let shmem = &report["rss_shmem_kib"];
    let grew = shmem["after"].as_u64().unwrap() - shmem["before"].as_u64().unwrap();
    assert!(
        grew >= 4 * 1024,
        "the buffer lives in shared memory: {report}"
    );
}

#[test]
fn an_unknown_provider_is_a_usage_error() {
    let out = loadguard(&["sessions", "x.bin", "--into", "tape"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown shm provider \"tape\""));
}

#[test]
fn the_table_names_every_strategy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.bin");
    std::fs::write(&path, vec![1u8; 64 << 10]).unwrap();
    let out = loadguard(&["sessions", path.to_str().unwrap(), "-n", "2", "--compare"]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    for name in [
        "loadguard",
        "memmap2_per_session",
        "read_per_session",
        "RssAnon",
        "RssFile",
    ] {
        assert!(table.contains(name), "{name} missing from:\n{table}");
    }
}

/// `--cold` reports every loader; the memory figures show what one shared mapping saves: one
/// page-cache copy in PSS for every strategy but the per-session read, and one set of page
/// tables instead of one per session — for a file cached in small pages.
///
/// Page tables depend on how the page cache holds the file: Linux 6.x maps a cached 2 MiB folio
/// with one PMD entry and no page table, so a file written in one 8 MiB `write` (large folios)
/// costs every mapping ~0 KiB of page tables (measured: 0 vs 0). Written 4 KiB at a time, it is
/// cached in 4 KiB folios and every mapping of it needs its own 16 KiB (measured: 16 vs 64).
#[cfg(target_os = "linux")]
#[test]
fn cold_loads_and_the_memory_that_sharing_saves() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.bin");
    let data: Vec<u8> = (0..8u32 << 20).map(|i| i.to_le_bytes()[1]).collect();
    let mut file = std::fs::File::create(&path).unwrap();
    for page in data.chunks(4096) {
        file.write_all(page).unwrap();
    }
    drop(file);
    let report = json_of(&loadguard(&[
        "sessions",
        path.to_str().unwrap(),
        "-n",
        "4",
        "--compare",
        "--cold",
        "--rounds",
        "1",
        "--json",
    ]));
    let cold = &report["cold"];
    for name in ["loadguard_map", "loadguard_read", "naive_mmap", "fs_read"] {
        assert!(cold[name]["gbps"].as_f64().unwrap() > 0.0, "{name}: {cold}");
        assert_eq!(cold[name]["rounds"], 1, "{name}");
    }
    // O_DIRECT needs file system support: measured, or a stated reason.
    assert!(cold["direct"]["gbps"].is_f64() || cold["direct"]["error"].is_string());
    let grew = |run: &Value, field: &str| {
        run[field]["after"].as_u64().unwrap() - run[field]["before"].as_u64().unwrap()
    };
    let (shared, mmap, read) = (
        &report,
        &report["compare"]["memmap2_per_session"],
        &report["compare"]["read_per_session"],
    );
    for run in [shared, mmap, read] {
        assert!(run["touch_ns"]["first"].is_u64() && run["touch_ns"]["median_rest"].is_u64());
        assert!(run["open_plus_touch_ns"].is_u64());
    }
    let size_kib = 8 * 1024;
    assert!(grew(shared, "pss_kib") < size_kib * 3 / 2, "{shared}");
    assert!(grew(read, "pss_kib") >= 4 * size_kib, "{read}");
    // 8 MiB of 4 KiB pages needs 16 KiB of page tables per mapping.
    assert!(
        grew(shared, "page_tables_kib") * 2 <= grew(mmap, "page_tables_kib"),
        "one mapping's page tables against four: {} vs {}",
        grew(shared, "page_tables_kib"),
        grew(mmap, "page_tables_kib")
    );
}
