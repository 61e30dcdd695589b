//! mlock applies to exactly the requested range and is released with the region. Read from
//! /proc/self/status VmLck; alone in its own test binary so no other test locks memory.
#![cfg(all(target_os = "linux", not(miri)))]

use loadguard::{DataLoader, LoadMode, LoadOptions, LockPolicy, MappedLoader, Registry};
use loadguard::{SegmentInfo, SegmentKind};

fn locked_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmLck:")).unwrap();
    line.trim_start_matches("VmLck:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn lock_covers_exactly_the_requested_pages_and_is_released_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.bin");
    std::fs::write(&path, vec![3u8; 64 * 4096]).unwrap();
    let registry = Registry::new();
    let before = locked_kib();
    for mode in [LoadMode::Map, LoadMode::Read] {
        let opts = LoadOptions::new().mode(mode).lock(LockPolicy::Lock);
        let loader = MappedLoader::open(&registry, &path, &opts).unwrap();
        assert_eq!(
            locked_kib(),
            before,
            "{mode:?}: opening alone must lock nothing"
        );
        let info = SegmentInfo::new(SegmentKind::Constant, 0);
        // Pages 8..12 of the file, asked for as 3 whole pages plus one byte of the next: the
        // kernel locks the whole pages the range touches (4 here: 16 KiB) — not the whole file, and not the
        // `size` bytes from the wrong base that ExecuTorch's MmapDataLoader locks.
        let seg = loader.load(8 * 4096, 3 * 4096 + 1, &info).unwrap();
        let first_page_offset = u64::try_from(seg.as_ptr().addr() % 4096).unwrap();
        let expected = (first_page_offset + 3 * 4096 + 1).div_ceil(4096) * 4;
        assert_eq!(locked_kib() - before, expected, "{mode:?}");
        drop(seg);
        drop(loader);
        assert_eq!(
            locked_kib(),
            before,
            "{mode:?}: the lock outlived its region"
        );
    }
}
