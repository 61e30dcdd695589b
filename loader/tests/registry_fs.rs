//! Registry behaviour on real files and real mappings (not under Miri, which cannot map files).
#![cfg(not(miri))]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use loadguard::os::RealOs;
use loadguard::testing::{Fault, FaultOp, FaultPlan, FaultyOs};
use loadguard::{Error, LoadMode, LoadOptions, LoadPath, ReadReason, Registry};

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect()
}

#[test]
fn mapped_session_reads_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(100_000);
    let path = write_file(dir.path(), "m.bin", &data);
    let reg = Registry::new();
    let s = reg
        .open(&path, &LoadOptions::new().mode(LoadMode::Map))
        .unwrap();
    assert!(matches!(s.load_path(), LoadPath::Mapped));
    assert_eq!(s.bytes(), &data[..]);
    assert_eq!(&*s.segment(99_990, 10).unwrap(), &data[99_990..]);
}

#[cfg(unix)]
#[test]
fn symlink_hard_link_and_relative_path_share_one_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "model.bin", &pattern(8192));
    let link = dir.path().join("hard.bin");
    fs::hard_link(&path, &link).unwrap();
    let sym = dir.path().join("sym.bin");
    std::os::unix::fs::symlink(&path, &sym).unwrap();
    // A relative path to the same file, from the current directory.
    let cwd = std::env::current_dir().unwrap();
    let relative = pathdiff(&path, &cwd);
    assert!(relative.is_relative());

    let reg = Registry::new();
    let opts = LoadOptions::new();
    let sessions: Vec<_> = [&path, &link, &sym, &relative]
        .iter()
        .map(|p| reg.open(p, &opts).unwrap())
        .collect();
    assert!(sessions.iter().all(|s| s.shares_with(&sessions[0])));
    assert_eq!(reg.loads(), 1);
    assert_eq!(reg.live_files(), 1);
}

/// `target` relative to `base` through enough `..` to reach the root (tempdir and cwd may sit
/// anywhere).
#[cfg(unix)]
fn pathdiff(target: &Path, base: &Path) -> PathBuf {
    let mut rel = PathBuf::new();
    for _ in base.components().skip(1) {
        rel.push("..");
    }
    rel.join(target.strip_prefix("/").unwrap())
}

// Windows refuses to rename over a file that is mapped (a mapped file cannot be deleted), so
// the old-mapping-stays-readable half of this promise cannot arise there.
#[cfg(unix)]
#[test]
fn replace_by_rename_gives_a_new_mapping_and_the_old_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "m.bin", b"first version");
    let reg = Registry::new();
    let opts = LoadOptions::new();
    let old = reg.open(&path, &opts).unwrap();
    let staged = write_file(dir.path(), "m.bin.tmp", b"second version!");
    fs::rename(&staged, &path).unwrap();
    let new = reg.open(&path, &opts).unwrap();
    assert!(!old.shares_with(&new));
    assert_eq!(old.bytes(), b"first version");
    assert_eq!(new.bytes(), b"second version!");
    assert_eq!(reg.loads(), 2);
    drop(old);
    assert_eq!(reg.live_files(), 1);
}

#[test]
fn empty_file_maps_to_an_empty_region() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "empty.bin", b"");
    for mode in [LoadMode::Auto, LoadMode::Map, LoadMode::Read] {
        let s = Registry::new()
            .open(&path, &LoadOptions::new().mode(mode))
            .unwrap();
        assert!(s.is_empty());
        assert!(matches!(s.load_path(), LoadPath::Empty));
    }
}

#[test]
fn concurrent_opens_create_exactly_one_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "m.bin", &pattern(1 << 20));
    let reg = Registry::new();
    let barrier = std::sync::Barrier::new(8);
    let sessions: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    reg.open(&path, &LoadOptions::new()).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(reg.loads(), 1);
    assert!(sessions.iter().all(|s| s.shares_with(&sessions[0])));
}

#[test]
fn read_mode_reads_into_an_aligned_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(70_000);
    let path = write_file(dir.path(), "m.bin", &data);
    let align = loadguard::Alignment::new(4096).unwrap();
    let opts = LoadOptions::new().mode(LoadMode::Read).alignment(align);
    let s = Registry::new().open(&path, &opts).unwrap();
    assert!(matches!(
        s.load_path(),
        LoadPath::Read(ReadReason::Requested)
    ));
    assert_eq!(s.bytes().as_ptr().addr() % 4096, 0);
    assert_eq!(s.bytes(), &data[..]);
}

#[test]
fn auto_falls_back_to_reading_when_mapping_fails_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(5000);
    let path = write_file(dir.path(), "m.bin", &data);
    // Every mmap fails with ENODEV (19 on Linux), like a file system without mmap support.
    let plan = FaultPlan::new().every(FaultOp::Mmap, Fault::Errno(19));
    let reg = Registry::with_os(FaultyOs::new(RealOs, plan));
    let s = reg.open(&path, &LoadOptions::new()).unwrap();
    match s.load_path() {
        LoadPath::Read(ReadReason::MapFailed(err)) => {
            assert_eq!(err.op(), Some("mmap"));
            assert_eq!(err.os_code(), Some(19));
        }
        other => panic!("expected a read fallback, got {other:?}"),
    }
    assert_eq!(s.bytes(), &data[..]);
    assert!(
        s.load_path()
            .to_string()
            .starts_with("read (mapping failed: mmap ")
    );
    // Map mode does not fall back: the error is the caller's.
    let err = reg
        .open(&path, &LoadOptions::new().mode(LoadMode::Map))
        .unwrap_err();
    assert_eq!(err.op(), Some("mmap"));
    assert_eq!(err.os_code(), Some(19));
}

#[test]
fn sparse_file_larger_than_the_address_space_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparse.bin");
    let five_gib = 5u64 << 30;
    let file = fs::File::create(&path).unwrap();
    file.set_len(five_gib).unwrap();
    drop(file);
    let reg = Registry::new();
    let result = reg.open(&path, &LoadOptions::new());
    if usize::BITS == 32 {
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::Size { source: loadguard::size::SizeError::TooLarge { value, bits: 32, .. }, .. } if *value == five_gib),
            "{err}"
        );
        assert!(
            err.to_string().contains("5368709120 bytes does not fit"),
            "{err}"
        );
        assert_eq!(reg.live_files(), 0);
    } else if cfg!(unix) {
        // On 64-bit targets the sparse file maps whole (no page is touched).
        let s = result.unwrap();
        assert_eq!(s.len(), five_gib);
        assert_eq!(s.bytes()[usize::try_from(five_gib).unwrap() - 1], 0);
    }
}

#[test]
fn open_error_names_op_path_os_error_and_call_site() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.bin");
    let err = Registry::new()
        .open(&path, &LoadOptions::new())
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.op(), Some("open"));
    assert!(err.os_code().is_some());
    assert!(
        text.starts_with(&format!("open {}: ", path.display())),
        "{text}"
    );
    assert!(text.contains("(os error "), "{text}");
    assert!(text.contains(" at loader"), "{text}");
}

#[test]
fn will_need_and_lock_apply_to_mapped_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = fs::File::create(dir.path().join("m.bin")).unwrap();
    f.write_all(&pattern(64 * 1024)).unwrap();
    drop(f);
    let opts = LoadOptions::new()
        .mode(LoadMode::Map)
        .will_need(true)
        .prefault(true)
        .lock(loadguard::LockPolicy::LockIgnoreErrors);
    let s = Registry::new()
        .open(dir.path().join("m.bin"), &opts)
        .unwrap();
    assert_eq!(s.len(), 64 * 1024);
}
