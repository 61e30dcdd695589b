//! The read path survives short reads and EINTR and reports a file that shrank. Uses a
//! misbehaving OS seam over the in-memory OS, so it runs under Miri too.

use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use loadguard::data::{DataLoader, FileLoader, SegmentInfo, SegmentKind};
use loadguard::os::{
    Advice, FileKey, FileKind, Immutable, Mapping, MemoryOs, Os, OsFile, Prefault,
};
use loadguard::testing::{Fault, FaultOp, FaultPlan, FaultyOs};
use loadguard::{Alignment, Error, LoadMode, LoadOptions, Registry};

/// Every `read_at` returns at most 7 bytes, every third call fails with EINTR, and the file can
/// claim to be longer than its bytes (a file truncated after it was opened).
struct Flaky {
    inner: MemoryOs,
    claimed_extra: u64,
}

struct FlakyFile {
    inner: Box<dyn OsFile>,
    calls: AtomicUsize,
    claimed_extra: u64,
}

impl Os for Flaky {
    fn open(&self, path: &Path) -> loadguard::Result<Box<dyn OsFile>> {
        let inner = self.inner.open(path)?;
        Ok(Box::new(FlakyFile {
            inner,
            calls: AtomicUsize::new(0),
            claimed_extra: self.claimed_extra,
        }))
    }
    fn stat(&self, path: &Path) -> loadguard::Result<FileKey> {
        let mut key = self.inner.stat(path)?;
        key.len += self.claimed_extra;
        Ok(key)
    }
    fn advise(&self, map: &Mapping, advice: Advice, range: Range<usize>) -> io::Result<Prefault> {
        self.inner.advise(map, advice, range)
    }
    fn lock(&self, bytes: &[u8]) -> io::Result<()> {
        self.inner.lock(bytes)
    }
    fn unlock(&self, bytes: &[u8]) -> io::Result<()> {
        self.inner.unlock(bytes)
    }
    fn page_size(&self) -> usize {
        self.inner.page_size()
    }
}

impl OsFile for FlakyFile {
    fn path(&self) -> &Path {
        self.inner.path()
    }
    fn key(&self) -> FileKey {
        let mut key = self.inner.key();
        key.len += self.claimed_extra;
        key
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if self.calls.fetch_add(1, Ordering::Relaxed) % 3 == 2 {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(7);
        self.inner.read_at(&mut buf[..n], offset)
    }
    fn kind(&self) -> FileKind {
        self.inner.kind()
    }
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
    fn map_immutable(&self, _len: usize) -> loadguard::Result<Option<(Mapping, Immutable)>> {
        Err(Error::os(
            "mmap",
            self.path(),
            loadguard::OsError::from_code(12),
        ))
    }
    unsafe fn map_assumed(&self, len: usize) -> loadguard::Result<Mapping> {
        self.map_immutable(len)
            .map(|_| unreachable!("map_immutable always fails here"))
    }
}

fn flaky(bytes: &[u8], claimed_extra: u64) -> Flaky {
    let inner = MemoryOs::new();
    inner.write("/f", bytes.to_vec());
    Flaky {
        inner,
        claimed_extra,
    }
}

#[test]
fn short_reads_and_eintr_are_retried() {
    let data: Vec<u8> = (0..200u8).collect();
    let os = flaky(&data, 0);
    let loader = FileLoader::open_with(&os, "/f", Alignment::DEFAULT).unwrap();
    let info = SegmentInfo::new(SegmentKind::Program, 0);
    let seg = loader.load(5, 150, &info).unwrap();
    assert_eq!(&*seg, &data[5..155]);
    assert_eq!(
        seg.as_ptr().addr() % 64,
        0,
        "segments of the read path are aligned"
    );
    let mut buf = [0u8; 33];
    loader.load_into(100, &mut buf, &info).unwrap();
    assert_eq!(&buf[..], &data[100..133]);
    // Auto mode falls back from the failing mmap to the same loop.
    let reg = Registry::with_os(os);
    let s = reg
        .open("/f", &LoadOptions::new().mode(LoadMode::Auto))
        .unwrap();
    assert_eq!(s.bytes(), &data[..]);
}

#[test]
fn a_file_that_shrank_after_open_is_a_truncation_error() {
    let os = flaky(&[9u8; 100], 28);
    let loader = FileLoader::open_with(&os, "/f", Alignment::DEFAULT).unwrap();
    assert_eq!(loader.size().unwrap(), 128);
    let err = loader
        .load(0, 128, &SegmentInfo::new(SegmentKind::Program, 0))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Truncated {
                offset: 100,
                file_size: 128,
                ..
            }
        ),
        "{err}"
    );
    let reg = Registry::with_os(os);
    let err = reg
        .open("/f", &LoadOptions::new().mode(LoadMode::Read))
        .unwrap_err();
    assert!(matches!(err, Error::Truncated { offset: 100, .. }), "{err}");
    assert_eq!(reg.live_files(), 0, "a failed load leaves no entry behind");
}

#[test]
fn read_errors_name_pread_offset_and_len() {
    let mem = MemoryOs::new();
    mem.write("/m/w.bin", vec![0u8; 64]);
    let plan = FaultPlan::new().every(FaultOp::Pread, Fault::Errno(5));
    let os = FaultyOs::new(mem, plan);
    let loader = FileLoader::open_with(&os, "/m/w.bin", Alignment::DEFAULT).unwrap();
    let err = loader
        .load(16, 8, &SegmentInfo::new(SegmentKind::Constant, 1))
        .unwrap_err();
    assert_eq!(err.op(), Some("pread"));
    assert_eq!(err.os_code(), Some(5));
    assert!(
        err.to_string()
            .starts_with("pread /m/w.bin (offset=16, len=8) failed at "),
        "{err}"
    );
    assert!(
        err.chain().to_string().ends_with("(os error 5)"),
        "{}",
        err.chain()
    );
}
