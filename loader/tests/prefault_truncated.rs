//! A file truncated while mapped: prefault reports it as an error instead of the process dying
//! of SIGBUS. The risky part runs in a child process (this test binary re-run with an
//! environment variable), so a regression kills the child and fails the parent, not the suite.
#![cfg(all(target_os = "linux", not(miri)))]

use loadguard::{LoadMode, LoadOptions, Registry};

const CHILD: &str = "LOADGUARD_PREFAULT_CHILD";

/// Whether this system reports a page missing from a truncated mapping through
/// `MADV_POPULATE_READ`. Linux < 5.14 lacks it (EINVAL), and an emulator such as qemu-user
/// accepts the advice without doing anything; on both, nothing can be promised and the test is
/// skipped. The probe never touches the truncated page, so it cannot itself die of SIGBUS.
fn populate_read_reports_missing_pages(dir: &std::path::Path) -> bool {
    let path = dir.join("probe.bin");
    std::fs::write(&path, vec![0u8; 8192]).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    // SAFETY: a private scratch file of this test; it is truncated below on purpose, and the
    // mapping is only advised, never read.
    let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    map.advise_range(memmap2::Advice::PopulateRead, 0, 8192)
        .is_err()
}

#[test]
fn prefault_of_a_truncated_mapping_is_an_error_not_sigbus() {
    if let Ok(path) = std::env::var(CHILD) {
        child(&path);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    if !populate_read_reports_missing_pages(dir.path()) {
        eprintln!(
            "skipped: MADV_POPULATE_READ is missing or not enforced (Linux < 5.14, emulator)"
        );
        return;
    }
    let path = dir.path().join("m.bin");
    std::fs::write(&path, vec![1u8; 1 << 20]).unwrap();
    let out = loadguard::testing::child::self_command()
        .args([
            "--exact",
            "prefault_of_a_truncated_mapping_is_an_error_not_sigbus",
            "--nocapture",
        ])
        .env(CHILD, &path)
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

fn child(path: &str) {
    let registry = Registry::new();
    let session = registry
        .open(path, &LoadOptions::new().mode(LoadMode::Map))
        .unwrap();
    // Someone else truncates the file under our mapping.
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(4096)
        .unwrap();
    let opts = LoadOptions::new().mode(LoadMode::Map).prefault(true);
    // A second open sees a new size (a new key): prefault the *old* mapping through a loader
    // that shares the session instead.
    let loader = loadguard::MappedLoader::from_session(session, &opts);
    let info = loadguard::SegmentInfo::new(loadguard::SegmentKind::Constant, 0);
    use loadguard::DataLoader;
    let err = loader.load(0, 1 << 20, &info).unwrap_err();
    assert_eq!(err.op(), Some("madvise(MADV_POPULATE_READ)"), "{err}");
    assert_eq!(err.os_code(), Some(14), "EFAULT expected: {err}");
    assert!(err.to_string().contains("len=1048576"), "{err}");
    // The first page is still backed and can be prefaulted.
    loader.load(0, 4096, &info).unwrap();
    println!("CHILD-OK {err}");
}
