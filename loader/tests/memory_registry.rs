//! Registry behaviour over the in-memory OS seam. No file system and no mapping: these run
//! under Miri (on little- and big-endian targets) as well as natively.

use std::path::Path;
use std::sync::Arc;

use loadguard::data::{DataLoader, MappedLoader, MemoryLoader, SegmentInfo, SegmentKind};
use loadguard::os::MemoryOs;
use loadguard::{Error, LoadMode, LoadOptions, LoadPath, ReadReason, Registry};

fn fs_with(files: &[(&str, &[u8])]) -> Registry {
    let os = MemoryOs::new();
    for (path, bytes) in files {
        os.write(*path, bytes.to_vec());
    }
    Registry::with_os(os)
}

const OPTS: LoadOptions = LoadOptions::DEFAULT;

#[test]
fn sessions_of_one_file_share_one_load() {
    let reg = fs_with(&[("/m/a.bin", b"hello world")]);
    let a = reg.open("/m/a.bin", &OPTS).unwrap();
    let b = reg.open("/m/a.bin", &OPTS).unwrap();
    assert!(a.shares_with(&b));
    assert_eq!(a.bytes().as_ptr(), b.bytes().as_ptr());
    assert_eq!(reg.loads(), 1);
    assert_eq!(reg.live_files(), 1);
    assert_eq!(a.bytes(), b"hello world");
}

#[test]
fn two_names_of_one_file_share_but_two_files_do_not() {
    let os = MemoryOs::new();
    os.write("/m/a.bin", b"same".to_vec());
    os.write("/m/c.bin", b"same".to_vec());
    assert!(os.link(Path::new("/m/a.bin"), "/m/b.bin"));
    let reg = Registry::with_os(os);
    let a = reg.open("/m/a.bin", &OPTS).unwrap();
    let b = reg.open("/m/b.bin", &OPTS).unwrap();
    let c = reg.open("/m/c.bin", &OPTS).unwrap();
    assert!(a.shares_with(&b), "hard link must share");
    assert!(!a.shares_with(&c), "equal contents are not the same file");
    assert_eq!(reg.loads(), 2);
}

#[test]
fn replaced_file_gets_a_new_load_and_the_old_stays_readable() {
    let os = Arc::new(MemoryOs::new());
    os.write("/m/a.bin", b"old contents".to_vec());
    let reg = Registry::with_os(os.clone());
    let old = reg.open("/m/a.bin", &OPTS).unwrap();
    os.write("/m/a.bin", b"new contents!".to_vec());
    let new = reg.open("/m/a.bin", &OPTS).unwrap();
    assert!(!old.shares_with(&new));
    assert_eq!(old.bytes(), b"old contents");
    assert_eq!(new.bytes(), b"new contents!");
    assert_eq!(reg.loads(), 2);
}

#[test]
fn file_modified_in_place_gets_a_new_load() {
    let os = Arc::new(MemoryOs::new());
    os.write("/m/a.bin", b"v1".to_vec());
    let reg = Registry::with_os(os.clone());
    let v1 = reg.open("/m/a.bin", &OPTS).unwrap();
    assert!(os.modify(Path::new("/m/a.bin"), b"v2".to_vec()));
    let v2 = reg.open("/m/a.bin", &OPTS).unwrap();
    assert_eq!(v1.key().inode, v2.key().inode, "same file");
    assert!(
        !v1.shares_with(&v2),
        "but a new modification time means a new load"
    );
    assert_eq!(v2.bytes(), b"v2");
}

#[test]
fn entries_are_removed_when_the_last_session_drops() {
    let reg = fs_with(&[("/a", b"1"), ("/b", b"2")]);
    let a1 = reg.open("/a", &OPTS).unwrap();
    let a2 = a1.clone();
    let b = reg.open("/b", &OPTS).unwrap();
    assert_eq!(reg.live_files(), 2);
    drop(a1);
    assert_eq!(reg.live_files(), 2, "a2 still holds /a");
    drop(a2);
    drop(b);
    assert_eq!(reg.live_files(), 0);
    // A new open after everything dropped loads again: nothing was kept alive.
    let _a = reg.open("/a", &OPTS).unwrap();
    assert_eq!(reg.loads(), 3);
}

#[test]
fn a_segment_outlives_its_session_without_copying() {
    let reg = fs_with(&[("/m", b"0123456789")]);
    let session = reg.open("/m", &OPTS).unwrap();
    let base = session.bytes().as_ptr();
    let seg = session.segment(2, 5).unwrap();
    drop(session);
    assert_eq!(reg.live_files(), 0);
    assert_eq!(&*seg, b"23456");
    assert_eq!(seg.offset(), 2);
    let bytes = seg.into_bytes();
    assert_eq!(
        bytes.as_ptr(),
        base.wrapping_add(2),
        "into_bytes must not copy"
    );
}

#[test]
fn read_mode_shares_one_aligned_heap_copy() {
    let reg = fs_with(&[("/m", &[7u8; 1000])]);
    let opts = LoadOptions::new().mode(LoadMode::Read);
    let a = reg.open("/m", &opts).unwrap();
    let b = reg.open("/m", &opts).unwrap();
    assert!(a.shares_with(&b));
    assert!(matches!(
        a.load_path(),
        LoadPath::Read(ReadReason::Requested)
    ));
    assert_eq!(a.bytes().as_ptr().addr() % 64, 0);
    assert_eq!(a.bytes(), &[7u8; 1000][..]);
    // A mapped session of the same file is a different load: read mode never hands out a
    // mapping and map mode never a heap copy.
    let m = reg
        .open("/m", &LoadOptions::new().mode(LoadMode::Map))
        .unwrap();
    assert!(!m.shares_with(&a));
    assert!(matches!(m.load_path(), LoadPath::Mapped(_)));
}

#[test]
fn empty_file_gives_an_empty_region() {
    let reg = fs_with(&[("/empty", b"")]);
    let s = reg.open("/empty", &OPTS).unwrap();
    assert!(s.is_empty());
    assert!(matches!(s.load_path(), LoadPath::Empty));
    assert_eq!(&*s.segment(0, 0).unwrap(), b"");
    assert!(matches!(
        s.segment(0, 1),
        Err(Error::OutOfRange {
            offset: 0,
            len: 1,
            file_size: 0,
            ..
        })
    ));
}

#[test]
fn missing_file_is_an_open_error_naming_the_path() {
    let reg = fs_with(&[]);
    let err = reg.open("/nope.bin", &OPTS).unwrap_err();
    assert_eq!(err.op(), Some("open"));
    assert_eq!(err.path(), Some(Path::new("/nope.bin")));
    assert!(
        err.to_string().starts_with("open /nope.bin failed at "),
        "{err}"
    );
    assert_eq!(reg.live_files(), 0);
}

#[test]
fn segments_are_bounds_checked_with_checked_arithmetic() {
    let reg = fs_with(&[("/m", b"0123456789")]);
    let s = reg.open("/m", &OPTS).unwrap();
    for (offset, len) in [(0, 11), (10, 1), (11, 0), (u64::MAX, 1), (1, u64::MAX)] {
        let err = s.segment(offset, len).unwrap_err();
        assert!(
            matches!(err, Error::OutOfRange { offset: o, len: l, file_size: 10, .. } if o == offset && l == len),
            "{offset}+{len}: {err}"
        );
    }
    assert_eq!(&*s.segment(10, 0).unwrap(), b"");
}

#[test]
fn concurrent_opens_of_one_file_load_it_once() {
    let reg = fs_with(&[("/m", &[1u8; 4096])]);
    let threads = if cfg!(miri) { 3 } else { 8 };
    let barrier = std::sync::Barrier::new(threads);
    let sessions: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    reg.open("/m", &OPTS).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(reg.loads(), 1);
    assert!(sessions.iter().all(|s| s.shares_with(&sessions[0])));
    drop(sessions);
    assert_eq!(reg.live_files(), 0);
}

#[test]
fn data_loaders_agree_and_check_bounds() {
    let data: Vec<u8> = (0..=255).collect();
    let reg = fs_with(&[("/m", &data)]);
    let mapped = MappedLoader::open(&reg, "/m", &OPTS).unwrap();
    let memory = MemoryLoader::new(data.clone());
    let info = SegmentInfo::new(SegmentKind::Constant, 0);
    for loader in [&mapped as &dyn DataLoader, &memory] {
        assert_eq!(loader.size().unwrap(), 256);
        assert_eq!(&*loader.load(10, 4, &info).unwrap(), &[10, 11, 12, 13]);
        let mut buf = [0u8; 3];
        loader.load_into(253, &mut buf, &info).unwrap();
        assert_eq!(buf, [253, 254, 255]);
        assert!(matches!(
            loader.load(250, 7, &info),
            Err(Error::OutOfRange { .. })
        ));
        assert!(matches!(
            loader.load(u64::MAX, 2, &info),
            Err(Error::OutOfRange { .. })
        ));
        assert!(matches!(
            loader.load_into(255, &mut buf, &info),
            Err(Error::OutOfRange { .. })
        ));
    }
}
