//! A file truncated while mapped: prefault reports it as an error instead of the process dying
//! of SIGBUS. The risky part runs in a child process (this test binary re-run with an
//! environment variable), so a regression kills the child and fails the parent, not the suite.
#![cfg(all(target_os = "linux", not(miri)))]

use std::process::Command;

use loadguard::{LoadMode, LoadOptions, Registry};

const CHILD: &str = "LOADGUARD_PREFAULT_CHILD";

/// Linux ≥ 5.14 is needed for MADV_POPULATE_READ; older kernels only get a hint, and then
/// nothing can be promised.
fn kernel_has_populate_read() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (5, 14)
}

#[test]
fn prefault_of_a_truncated_mapping_is_an_error_not_sigbus() {
    if let Ok(path) = std::env::var(CHILD) {
        child(&path);
        return;
    }
    if !kernel_has_populate_read() {
        eprintln!("skipped: kernel lacks MADV_POPULATE_READ (Linux < 5.14)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.bin");
    std::fs::write(&path, vec![1u8; 1 << 20]).unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
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
