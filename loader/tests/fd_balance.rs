//! The file handle is closed before `open` returns, for a mapping and for a copy alike: the
//! process's open fd count does not grow per file held, nor over 1,000 open/drop cycles.
//! Alone in its own test binary so no other test opens files while the counts are taken.
#![cfg(all(target_os = "linux", not(miri)))]

use loadguard::{LoadMode, LoadOptions, Registry};

fn open_fds() -> usize {
    // Minus one: the directory handle read_dir itself holds while we count.
    std::fs::read_dir("/proc/self/fd").unwrap().count() - 1
}

#[test]
fn fd_count_is_unchanged_by_mapping_and_by_1000_open_drop_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = (0..10)
        .map(|i| {
            let path = dir.path().join(format!("m{i}.bin"));
            std::fs::write(&path, vec![u8::try_from(i).unwrap(); 10_000]).unwrap();
            path
        })
        .collect();
    let registry = Registry::new();
    let before = open_fds();

    // Ten distinct files mapped, then copied, and held, twice each: still no extra descriptor.
    // SAFETY: the files are in a fresh private temporary directory that nothing else writes.
    let mapped = unsafe { LoadOptions::new().mode(LoadMode::Map).assume_immutable() };
    for opts in [mapped, LoadOptions::new().mode(LoadMode::Read)] {
        let held: Vec<_> = paths
            .iter()
            .chain(&paths)
            .map(|p| registry.open(p, &opts).unwrap())
            .collect();
        assert_eq!(registry.live_files(), 10);
        assert_eq!(
            open_fds(),
            before,
            "{opts:?}: a held file kept its handle open"
        );
        drop(held);
    }

    for i in 0..1000 {
        let session = registry
            .open(&paths[i % paths.len()], &LoadOptions::new())
            .unwrap();
        assert_eq!(session.bytes()[0], u8::try_from(i % paths.len()).unwrap());
    }
    // Failed opens release what they acquired, too.
    for _ in 0..100 {
        registry
            .open(dir.path().join("missing"), &LoadOptions::new())
            .unwrap_err();
    }
    assert_eq!(open_fds(), before);
    assert_eq!(registry.live_files(), 0);
}
