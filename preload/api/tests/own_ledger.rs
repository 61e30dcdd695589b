//! A test reading the ledger of its own process: the parent test re-runs this binary under the
//! preload (as `loadguard trace -- cargo test` would) and the child checks what it holds.

use loadguard_preload_api::{Kind, NotPreloaded, Op, Snapshot};

#[test]
fn a_snapshot_exists_exactly_when_the_preload_is_loaded() {
    let preloaded = std::env::var_os("LD_PRELOAD")
        .is_some_and(|p| p.to_string_lossy().contains("loadguard_preload"));
    match Snapshot::take() {
        Ok(snapshot) => assert!(preloaded && snapshot.report().complete),
        Err(err) => assert!(!preloaded && err == NotPreloaded::Absent, "{err}"),
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]
#[path = "../../tests/support/build_preload.rs"]
mod build;

#[cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]
#[test]
fn a_test_under_the_preload_reads_its_own_ledger() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "child_reads_its_own_ledger",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("LD_PRELOAD", build::build_preload(false))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "run by a_test_under_the_preload_reads_its_own_ledger, in a child process under LD_PRELOAD"]
fn child_reads_its_own_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weights.bin");
    std::fs::write(&path, [7u8; 4096]).unwrap();

    let before = Snapshot::take().expect("this child runs under the preload");
    let file = std::fs::File::open(&path).unwrap(); // OPEN-UNDER-TEST
    let after = Snapshot::take().unwrap();
    let held = after.held_since(&before);
    assert_eq!(held.len(), 1, "{}", after.describe(&held));
    assert_eq!(held[0].kind, Kind::Fd);
    assert_eq!(held[0].what, path.to_str().unwrap());
    assert_eq!(after.calls(Op::Open), before.calls(Op::Open) + 1);
    let line = include_str!("own_ledger.rs")
        .lines()
        .position(|l| l.contains("// OPEN-UNDER-") && l.contains("std::fs::File::open"))
        .unwrap()
        + 1;
    let site = after.site_of(held[0]).unwrap();
    assert!(site.ends_with(&format!("own_ledger.rs:{line}")), "{site}");
    assert!(
        after.describe(&held).contains("weights.bin"),
        "{}",
        after.describe(&held)
    );

    drop(file);
    let end = Snapshot::take().unwrap();
    assert!(
        end.held_since(&before).is_empty(),
        "{}",
        end.describe(&end.held_since(&before))
    );
}
