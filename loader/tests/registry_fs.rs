//! Registry behaviour on real files and real mappings (not under Miri, which cannot map files).
#![cfg(not(miri))]

use std::fs;
use std::path::{Path, PathBuf};

use loadguard::os::RealOs;
use loadguard::testing::{Fault, FaultOp, FaultPlan, FaultyOs};
use loadguard::{Error, LoadMode, LoadOptions, LoadPath, MapReason, ReadReason, Registry};

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect()
}

/// Options that map ordinary files. Every caller passes files of its own fresh temporary
/// directory, which nothing else writes.
fn mapped(mode: LoadMode) -> LoadOptions {
    // SAFETY: see above: the tests' files are private and written only before they are opened.
    unsafe { LoadOptions::new().mode(mode).assume_immutable() }
}

#[test]
fn mapped_session_reads_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(100_000);
    let path = write_file(dir.path(), "m.bin", &data);
    let reg = Registry::new();
    let s = reg.open(&path, &mapped(LoadMode::Map)).unwrap();
    assert!(matches!(
        s.load_path(),
        LoadPath::Mapped(MapReason::Assumed)
    ));
    assert_eq!(s.load_path().to_string(), "map (assumed immutable)");
    assert_eq!(s.bytes(), &data[..]);
    assert_eq!(&*s.segment(99_990, 10).unwrap(), &data[99_990..]);
}

#[test]
fn the_safe_default_shares_one_copy_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(10_000);
    let path = write_file(dir.path(), "m.bin", &data);
    let reg = Registry::new();
    let a = reg.open(&path, &LoadOptions::new()).unwrap();
    let b = reg.open(&path, &LoadOptions::new()).unwrap();
    assert!(a.shares_with(&b));
    assert_eq!(reg.loads(), 1);
    assert!(matches!(
        a.load_path(),
        LoadPath::Read(ReadReason::MayChange)
    ));
    assert!(
        a.load_path()
            .to_string()
            .starts_with("read (the file could change")
    );
    assert_eq!(a.bytes(), &data[..]);
    // A safe caller is never handed a mapping made on someone else's promise.
    let m = reg.open(&path, &mapped(LoadMode::Auto)).unwrap();
    assert!(m.load_path().is_mapped());
    assert!(!m.shares_with(&a));
    // Map mode without the promise refuses, with a typed error.
    let err = reg
        .open(&path, &LoadOptions::new().mode(LoadMode::Map))
        .unwrap_err();
    assert!(
        matches!(&err, Error::MapRefused { path: p } if *p == path),
        "{err}"
    );
    assert!(err.to_string().contains("assume_immutable"), "{err}");
}

/// The first program, with safe code only: write the file in place through std while
/// a session's bytes are borrowed. The borrowed bytes do not change.
#[cfg(unix)]
#[test]
fn writing_the_file_in_place_does_not_change_a_safe_sessions_bytes() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "m.bin", &[1u8; 8192]);
    let reg = Registry::new();
    for mode in [LoadMode::Auto, LoadMode::Read] {
        let session = reg.open(&path, &LoadOptions::new().mode(mode)).unwrap();
        let bytes = session.bytes();
        let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all_at(&[2u8; 100], 4000).unwrap();
        assert_eq!(bytes[4000], 1, "{mode:?}: the borrowed byte changed");
        assert!(bytes.iter().all(|&b| b == 1));
        // The next open sees the new contents (a new identity: size or times changed).
        let fresh = reg.open(&path, &LoadOptions::new().mode(mode)).unwrap();
        assert_eq!(fresh.bytes()[4000], 2, "{mode:?}");
        file.write_all_at(&[1u8; 100], 4000).unwrap();
    }
}

/// A memfd sealed against writes and shrinking maps without any promise; an unsealed one is
/// copied. Reached through `/proc/self/fd/N`, as the third program did.
#[cfg(target_os = "linux")]
#[test]
fn sealed_memfds_map_safely_and_unsealed_ones_are_copied() {
    use std::io::Write;
    use std::os::fd::AsRawFd;

    use rustix::fs::{MemfdFlags, SealFlags};
    let make = |seals: SealFlags| {
        let fd =
            rustix::fs::memfd_create("t", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
        let mut file = fs::File::from(fd);
        file.write_all(&pattern(20_000)).unwrap();
        rustix::fs::fcntl_add_seals(&file, seals).unwrap();
        file
    };
    let reg = Registry::new();
    let sealed = make(SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL);
    let path = format!("/proc/self/fd/{}", sealed.as_raw_fd());
    let s = reg
        .open(&path, &LoadOptions::new().mode(LoadMode::Map))
        .unwrap();
    assert!(matches!(
        s.load_path(),
        LoadPath::Mapped(MapReason::Immutable(loadguard::os::Immutable::SealedMemfd))
    ));
    assert_eq!(s.load_path().to_string(), "map (sealed memfd)");
    assert_eq!(s.bytes(), &pattern(20_000)[..]);
    // Sealed against shrinking only: writes could still change it, so it is copied.
    let unsealed = make(SealFlags::SHRINK);
    let path = format!("/proc/self/fd/{}", unsealed.as_raw_fd());
    let c = reg.open(&path, &LoadOptions::new()).unwrap();
    assert!(matches!(
        c.load_path(),
        LoadPath::Read(ReadReason::MayChange)
    ));
    let bytes = c.bytes();
    std::os::unix::fs::FileExt::write_all_at(&unsealed, &[0u8; 10], 0).unwrap();
    assert_eq!(&bytes[..10], &pattern(10)[..], "the copy did not change");
}

#[cfg(unix)]
#[test]
fn symlink_hard_link_and_relative_path_share_one_load() {
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
    for opts in [LoadOptions::new(), mapped(LoadMode::Auto)] {
        let sessions: Vec<_> = [&path, &link, &sym, &relative]
            .iter()
            .map(|p| reg.open(p, &opts).unwrap())
            .collect();
        assert!(sessions.iter().all(|s| s.shares_with(&sessions[0])));
        assert_eq!(reg.live_files(), 1);
    }
    assert_eq!(reg.loads(), 2);
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
fn replace_by_rename_gives_a_new_load_and_the_old_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "m.bin", b"first version");
    let reg = Registry::new();
    for opts in [LoadOptions::new(), mapped(LoadMode::Auto)] {
        fs::write(&path, b"first version").unwrap();
        let old = reg.open(&path, &opts).unwrap();
        let staged = write_file(dir.path(), "m.bin.tmp", b"second version!");
        fs::rename(&staged, &path).unwrap();
        let new = reg.open(&path, &opts).unwrap();
        assert!(!old.shares_with(&new));
        assert_eq!(old.bytes(), b"first version");
        assert_eq!(new.bytes(), b"second version!");
        drop(old);
        assert_eq!(reg.live_files(), 1);
    }
}

/// The race the issue measured: replace a file by renaming another over it, with the same size
/// and modification time (what `tar x`, `cp -p` and reproducible builds produce), while a
/// session of the old one lives. ext4 hands a freed inode number to the next new file (here
/// every other round); the registry must never serve the old bytes for a new file, in read or
/// map mode.
#[cfg(unix)]
#[test]
fn a_replaced_file_with_the_same_size_and_mtime_is_never_the_old_one() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.bin");
    let mtime = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    let write = |p: &Path, round: u8| {
        let f = fs::File::create(p).unwrap();
        use std::io::Write;
        (&f).write_all(&[round; 4096]).unwrap();
        f.set_modified(mtime).unwrap();
    };
    let reg = Registry::new();
    for opts in [
        LoadOptions::new().mode(LoadMode::Read),
        mapped(LoadMode::Map),
    ] {
        write(&path, 0);
        let first = reg.open(&path, &opts).unwrap();
        let first_inode = fs::metadata(&path).unwrap().ino();
        let mut reused = 0;
        for round in 1..=200u8 {
            let staged = dir.path().join("m.bin.tmp");
            write(&staged, round);
            fs::rename(&staged, &path).unwrap();
            reused += usize::from(fs::metadata(&path).unwrap().ino() == first_inode);
            let fresh = reg.open(&path, &opts).unwrap();
            assert_eq!(
                fresh.bytes()[0],
                round,
                "{:?}: round {round} got old bytes",
                opts.mode
            );
            assert!(!fresh.shares_with(&first));
        }
        // The registry pins the first file (its copy with a PROT_NONE page of it, its mapping by
        // itself), so its number cannot come back while its session lives.
        assert_eq!(
            reused, 0,
            "{:?}: the held file's inode was reused",
            opts.mode
        );
        assert_eq!(first.bytes(), &[0u8; 4096][..]);
        drop(first);
        assert_eq!(reg.live_files(), 0);
    }
}

#[test]
fn empty_file_maps_to_an_empty_region() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "empty.bin", b"");
    for opts in [
        LoadOptions::new(),
        mapped(LoadMode::Map),
        LoadOptions::new().mode(LoadMode::Read),
    ] {
        let s = Registry::new().open(&path, &opts).unwrap();
        assert!(s.is_empty());
        assert!(matches!(s.load_path(), LoadPath::Empty));
    }
}

#[test]
fn concurrent_opens_create_exactly_one_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "m.bin", &pattern(1 << 20));
    for opts in [LoadOptions::new(), mapped(LoadMode::Map)] {
        let reg = Registry::new();
        let barrier = std::sync::Barrier::new(8);
        let sessions: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        reg.open(&path, &opts).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(reg.loads(), 1);
        assert!(sessions.iter().all(|s| s.shares_with(&sessions[0])));
    }
}

#[test]
fn read_mode_reads_into_an_aligned_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(70_000);
    let path = write_file(dir.path(), "m.bin", &data);
    let align = loadguard::Alignment::new(1 << 16).unwrap();
    let opts = LoadOptions::new().mode(LoadMode::Read).alignment(align);
    let s = Registry::new().open(&path, &opts).unwrap();
    assert!(matches!(
        s.load_path(),
        LoadPath::Read(ReadReason::Requested)
    ));
    assert_eq!(s.bytes().as_ptr().addr() % (1 << 16), 0);
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
    let s = reg.open(&path, &mapped(LoadMode::Auto)).unwrap();
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
    let err = reg.open(&path, &mapped(LoadMode::Map)).unwrap_err();
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
    // On 64-bit targets only the mapping is tried: a copy would read 5 GiB of zeros.
    let all = [LoadOptions::new(), mapped(LoadMode::Auto)];
    let tried = if usize::BITS == 32 {
        &all[..]
    } else {
        &all[1..]
    };
    for &opts in tried {
        let result = reg.open(&path, &opts);
        if usize::BITS == 32 {
            let err = result.unwrap_err();
            assert!(
                matches!(&err, Error::Size { error: loadguard::SizeError::TooLarge { value, bits: 32, .. }, .. } if *value == five_gib),
                "{err}"
            );
            assert!(
                err.to_string().contains("5368709120 bytes does not fit"),
                "{err}"
            );
            assert_eq!(reg.live_files(), 0);
        } else if cfg!(unix) && opts.is_assumed_immutable() {
            // On 64-bit targets the sparse file maps whole (no page is touched).
            let s = result.unwrap();
            assert_eq!(s.len(), five_gib);
            assert_eq!(s.bytes()[usize::try_from(five_gib).unwrap() - 1], 0);
        }
    }
}

#[test]
fn open_error_names_op_path_os_error_and_the_users_call_site() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.bin");
    let registry = Registry::new();
    let line = line!() + 1;
    let err = registry.open(&path, &LoadOptions::new()).unwrap_err();
    let text = err.chain().to_string();
    assert_eq!(err.op(), Some("open"));
    assert!(err.os_code().is_some());
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(
        text.starts_with(&format!("open {} failed at ", path.display())),
        "{text}"
    );
    assert!(
        text.ends_with("(os error 2)"),
        "the OS error is the cause: {text}"
    );
    // Its own Display leaves the cause to source(), as thiserror's convention has it.
    assert!(!err.to_string().contains("os error"), "{err}");
    let source = std::error::Error::source(&err).expect("the OS error");
    assert_eq!(source.to_string(), err.os_failure().unwrap().os.to_string());
    assert!(
        text.contains(&format!(" at loader/tests/registry_fs.rs:{line}:")),
        "the user's line, never loadguard's: {text}"
    );
}

/// A user's own `os_call!` is located at its line.
#[cfg(unix)]
#[test]
fn a_users_os_call_is_located_at_its_line() {
    let line = line!() + 1;
    let result = loadguard::os_call!(op: "open", path: "/nonexistent/x", fail_if: is_err, call: fs::File::open("/nonexistent/x"));
    let err = result.unwrap_err();
    let at = err.os_failure().unwrap().location.unwrap();
    assert_eq!(
        (at.file(), at.line()),
        ("loader/tests/registry_fs.rs", line)
    );
}

#[cfg(unix)]
#[test]
fn only_regular_files_and_never_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
        0,
    )
    .unwrap();
    let reg = Registry::new();
    let cases: [(&Path, &str); 4] = [
        (&fifo, "a FIFO"),
        (Path::new("/dev/null"), "a character device"),
        (dir.path(), "a directory"),
        #[cfg(target_os = "linux")]
        (Path::new("/proc/self/status"), "a procfs pseudo-file"),
        #[cfg(not(target_os = "linux"))]
        (Path::new("/dev/zero"), "a character device"),
    ];
    for (path, what) in cases {
        let err = reg.open(path, &LoadOptions::new()).unwrap_err();
        assert!(
            matches!(&err, Error::NotRegularFile { .. }),
            "{}: {err}",
            path.display()
        );
        assert!(
            err.to_string()
                .contains(&format!("not a regular file but {what}")),
            "{err}"
        );
        assert_eq!(reg.live_files(), 0);
    }
    // Asked for, a FIFO without writers is read at once as empty, and /dev/zero up to a limit.
    let opts = LoadOptions::new().read_streams(1 << 20);
    let s = reg.open(&fifo, &opts).unwrap();
    assert!(s.is_empty());
    assert_eq!(s.load_path().name(), "stream");
    let err = reg.open("/dev/zero", &opts).unwrap_err();
    assert!(
        matches!(
            err,
            Error::StreamTooLong {
                limit: 1_048_576,
                ..
            }
        ),
        "{err}"
    );
    #[cfg(target_os = "linux")]
    {
        let status = reg.open("/proc/self/status", &opts).unwrap();
        assert!(status.bytes().starts_with(b"Name:"));
        assert_eq!(reg.live_files(), 0, "streams are never shared");
    }
}

/// Reading a pipe given by a child process, as a stream.
#[cfg(target_os = "linux")]
#[test]
fn a_pipe_is_read_to_its_end_when_streams_are_allowed() {
    use std::os::fd::AsRawFd;
    let mut child = std::process::Command::new("sh")
        .args(["-c", "printf 'hello '; sleep 0.2; printf world"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = child.stdout.take().unwrap();
    let path = format!("/proc/self/fd/{}", pipe.as_raw_fd());
    let reg = Registry::new();
    let s = reg
        .open(&path, &LoadOptions::new().read_streams(1024))
        .unwrap();
    assert_eq!(s.bytes(), b"hello world");
    child.wait().unwrap();
}

/// Advice, prefault and lock act on the mapped range: observed in `/proc/self/smaps` (resident
/// and locked sizes of the mapping), not only by the call's success.
#[cfg(target_os = "linux")]
#[cfg_attr(
    loadguard_asan,
    ignore = "needs a real mlock: AddressSanitizer turns mlock into a no-op"
)]
#[test]
fn will_need_prefault_and_lock_apply_to_the_mapped_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "m.bin", &pattern(64 * 1024));
    let reg = Registry::new();
    let opts = mapped(LoadMode::Map)
        .will_need(true)
        .prefault(true)
        .lock(loadguard::LockPolicy::Lock);
    let s = reg.open(&path, &opts).unwrap();
    let addr2 = s.bytes().as_ptr().addr();
    let (rss, locked) = smaps_of(addr2);
    assert_eq!(rss, 64, "prefault made every page resident (KiB)");
    assert_eq!(locked, 64, "the whole mapping is locked (KiB)");
    drop(s);
    // A fresh mapping opened without the options: nothing locked.
    let again = reg.open(&path, &mapped(LoadMode::Map)).unwrap();
    let (_, locked) = smaps_of(again.bytes().as_ptr().addr());
    assert_eq!(locked, 0);
}

/// `Rss` and `Locked` (KiB) of the mapping starting at `addr`, from `/proc/self/smaps`.
#[cfg(target_os = "linux")]
fn smaps_of(addr: usize) -> (u64, u64) {
    let smaps = fs::read_to_string("/proc/self/smaps").unwrap();
    let mut lines = smaps.lines();
    while let Some(line) = lines.next() {
        let Some((range, _)) = line.split_once(' ') else {
            continue;
        };
        let Some((start, _)) = range.split_once('-') else {
            continue;
        };
        if usize::from_str_radix(start, 16) != Ok(addr) {
            continue;
        }
        let (mut rss, mut locked) = (None, None);
        for field in lines.by_ref() {
            let kib = |name: &str| {
                field.strip_prefix(name).map(|v| {
                    v.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .unwrap()
                })
            };
            rss = rss.or(kib("Rss:"));
            locked = locked.or(kib("Locked:"));
            if rss.is_some() && locked.is_some() {
                return (rss.unwrap_or(0), locked.unwrap_or(0));
            }
        }
    }
    panic!("no mapping at {addr:#x} in /proc/self/smaps");
}

/// A registry hit is one `stat` of the path and a live entry of that identity. While another
/// thread keeps replacing the file, every open must return one whole version (never a mix, never
/// a stale one): versions seen by one opener only move forward, and each session's bytes are
/// the version its identity names.
#[cfg(unix)]
#[test]
fn opens_racing_with_replacement_see_one_version_moving_forward() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.bin");
    let write = |p: &Path, version: u8| fs::write(p, [version; 8192]).unwrap();
    write(&path, 0);
    let reg = Registry::new();
    for opts in [LoadOptions::new(), mapped(LoadMode::Map)] {
        write(&path, 0);
        let keep = reg.open(&path, &opts).unwrap(); // every later open of version 0 is a hit
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                for version in 1..=100u8 {
                    let staged = dir.path().join(format!("m.{version}.tmp"));
                    write(&staged, version);
                    fs::rename(&staged, &path).unwrap();
                }
                done.store(true, std::sync::atomic::Ordering::Release);
            });
            let mut last = 0u8;
            let mut held = Vec::new();
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                let s = reg.open(&path, &opts).unwrap();
                let version = s.bytes()[0];
                assert!(s.bytes().iter().all(|&b| b == version), "a torn version");
                assert!(
                    version >= last,
                    "{:?}: version {version} after {last}",
                    opts.mode
                );
                last = version;
                held.push(s); // keep entries alive so later opens can hit them
            }
        });
        let last = reg.open(&path, &opts).unwrap();
        assert_eq!(last.bytes()[0], 100);
        assert_eq!(keep.bytes()[0], 0);
    }
}
