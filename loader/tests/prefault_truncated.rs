//! Truncation, honestly. The risky parts run in a child process (this test binary re-run with
//! an environment variable), so a regression kills the child and fails the parent, not the
//! suite.
//!
//! - On the safe path (no `assume_immutable`) an ordinary file is one shared copy: truncating
//!   the file cannot touch bytes a session holds, and reading them never raises SIGBUS.
//! - On the `unsafe` mapped path, `prefault` checks the pages when it runs and reports a file
//!   already shorter than its mapping as `Error::ShrunkUnderMapping` — nothing more.
#![cfg(all(target_os = "linux", not(miri)))]

use loadguard::data::{DataLoader, MappedLoader, SegmentInfo, SegmentKind};
use loadguard::{Error, LoadOptions, Registry};

const CHILD: &str = "LOADGUARD_TRUNCATION_CHILD";

/// Runs `test` again in a child with `path` and checks that it got to its end.
fn in_child(test: &str, path: &std::path::Path) {
    let out = loadguard::testing::child::self_command()
        .args(["--exact", test, "--nocapture"])
        .env(CHILD, path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child failed ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("CHILD-OK"),
        "child did not reach its check:\n{stdout}\n{stderr}"
    );
}

fn truncate(path: &str, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[test]
fn a_safe_session_survives_truncation_with_its_bytes_unchanged() {
    if let Ok(path) = std::env::var(CHILD) {
        let registry = Registry::new();
        // What the program did, with safe code only: prefault, truncate, read.
        let session = registry
            .open(&path, &LoadOptions::new().prefault(true))
            .unwrap();
        let bytes = session.bytes();
        truncate(&path, 0);
        assert_eq!(bytes[4096], 1, "the borrowed bytes did not change");
        assert_eq!(bytes.len(), 1 << 20);
        assert!(bytes.iter().all(|&b| b == 1));
        println!("CHILD-OK {}", session.load_path());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.bin");
    std::fs::write(&path, vec![1u8; 1 << 20]).unwrap();
    in_child(
        "a_safe_session_survives_truncation_with_its_bytes_unchanged",
        &path,
    );
}

/// qemu-user accepts `MADV_POPULATE_READ` and does nothing, so the check cannot work there; the
/// aarch64 CI stage builds with `--cfg loadguard_emulated`.
#[cfg_attr(
    loadguard_emulated,
    ignore = "needs a kernel that enforces MADV_POPULATE_READ; qemu-user ignores the advice"
)]
#[test]
fn prefault_of_a_mapping_longer_than_its_file_is_a_typed_error() {
    if let Ok(path) = std::env::var(CHILD) {
        child_prefault(&path);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.bin");
    std::fs::write(&path, vec![1u8; 1 << 20]).unwrap();
    in_child(
        "prefault_of_a_mapping_longer_than_its_file_is_a_typed_error",
        &path,
    );
}

fn child_prefault(path: &str) {
    let registry = Registry::new();
    // SAFETY: `path` is a private scratch file of this test. It is truncated below while the
    // mapping exists, which the contract forbids because a borrow of the vanished pages could
    // fault; this child never creates one after the truncation: it does not call `bytes()`, and
    // the loader's prefault hands the kernel the mapping's address (madvise), which reports the
    // missing pages instead of reading them. The only segment made afterwards is the first
    // page, which stays backed by the file's remaining 4096 bytes.
    let opts = unsafe { LoadOptions::new().assume_immutable() };
    let loader = MappedLoader::open(&registry, path, &opts).unwrap();
    assert!(loader.session().load_path().is_mapped());
    // Someone else truncates the file under our mapping.
    truncate(path, 4096);
    let loader = MappedLoader::from_session(loader.session().clone(), &opts.prefault(true));
    let info = SegmentInfo::new(SegmentKind::Constant, 0);
    let err = loader.load(0, 1 << 20, &info).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ShrunkUnderMapping {
                offset: 0,
                len: 1_048_576,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("shorter than its mapping"),
        "{err}"
    );
    // The first page is still backed and can be prefaulted.
    loader.load(0, 4096, &info).unwrap();
    println!("CHILD-OK {err}");
}
