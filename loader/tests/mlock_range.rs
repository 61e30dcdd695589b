//! mlock applies to exactly the pages of the requested range, each page stays locked while any
//! live lock needs it, and the last lock's drop unlocks it. Read from
//! /proc/self/status VmLck; alone in its own test binary so no other test locks memory.
#![cfg(all(target_os = "linux", not(miri)))]

use loadguard::data::{DataLoader, MappedLoader};
use loadguard::data::{SegmentInfo, SegmentKind};
use loadguard::{LoadMode, LoadOptions, LockPolicy, Registry};

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

#[cfg_attr(
    loadguard_asan,
    ignore = "needs a real mlock: AddressSanitizer turns mlock into a no-op"
)]
#[test]
fn lock_covers_exactly_the_requested_pages_and_is_released_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.bin");
    std::fs::write(&path, vec![3u8; 64 * 4096]).unwrap();
    let registry = Registry::new();
    let before = locked_kib();
    // SAFETY: `m.bin` is in a fresh private temporary directory that nothing else writes.
    let mapped = unsafe { LoadOptions::new().mode(LoadMode::Map).assume_immutable() };
    for base in [mapped, LoadOptions::new().mode(LoadMode::Read)] {
        let mode = base.mode;
        let opts = base.lock(LockPolicy::Lock);
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
        assert_eq!(
            seg.as_ptr().addr() % 4096,
            0,
            "{mode:?}: mappings and copies start on a page"
        );
        assert_eq!(locked_kib() - before, 16, "{mode:?}");
        // An overlapping range locks only the pages not locked yet (pages 11..13: one more),
        // and dropping the first keeps the pages the second still needs.
        let seg2 = loader.load(11 * 4096, 2 * 4096, &info).unwrap();
        assert_eq!(locked_kib() - before, 20, "{mode:?}");
        drop(seg);
        assert_eq!(
            locked_kib() - before,
            8,
            "{mode:?}: pages 11 and 12 stay locked"
        );
        drop(seg2);
        assert_eq!(locked_kib(), before, "{mode:?}: the last segment unlocks");
        // A session opened with the lock policy locks the whole file while it lives.
        let session = registry.open(&path, &opts).unwrap();
        assert_eq!(locked_kib() - before, 64 * 4, "{mode:?}");
        let clone = session.clone();
        drop(session);
        assert_eq!(
            locked_kib() - before,
            64 * 4,
            "{mode:?}: the clone keeps the lock"
        );
        drop(clone);
        assert_eq!(locked_kib(), before, "{mode:?}");
        drop(loader);
        assert_eq!(
            locked_kib(),
            before,
            "{mode:?}: the lock outlived its region"
        );
    }
}
