//! loom models of the registry: every interleaving of concurrent opens and drops of one file.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p loom-tests --release`.
//! The file system is the in-memory OS seam, whose locks are loom's too.
#![cfg(loom)]

use loadguard::os::MemoryOs;
use loadguard::testing::Ledger;
use loadguard::{LoadOptions, Registry};
use loom::thread;

/// A registry over one in-memory file, its handles and mappings counted in the ledger every
/// model ends by checking.
fn registry_with_file() -> (Ledger, Registry) {
    let os = MemoryOs::new();
    os.write("/m.bin", vec![7u8; 64]);
    let ledger = Ledger::new();
    (ledger.clone(), Registry::with_os(ledger.track(os)))
}

/// Three threads open the same file at once: exactly one load, and all share it.
#[test]
fn concurrent_first_opens_load_once() {
    loom::model(|| {
        let (ledger, registry) = registry_with_file();
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let registry = registry.clone();
                thread::spawn(move || registry.open("/m.bin", &LoadOptions::new()).unwrap())
            })
            .collect();
        let mine = registry.open("/m.bin", &LoadOptions::new()).unwrap();
        for handle in handles {
            let theirs = handle.join().unwrap();
            assert!(theirs.shares_with(&mine));
        }
        assert_eq!(registry.loads(), 1);
        drop(mine);
        ledger.assert_balanced();
    });
}

/// One thread drops the last session while another opens the file: the opener either joins
/// the live entry or starts a fresh one, never a half-removed one, and when everything is
/// dropped no entry is left behind.
#[test]
fn drop_of_last_session_races_with_open() {
    loom::model(|| {
        let (ledger, registry) = registry_with_file();
        let first = registry.open("/m.bin", &LoadOptions::new()).unwrap();
        let other = registry.clone();
        let opener = thread::spawn(move || {
            let session = other.open("/m.bin", &LoadOptions::new()).unwrap();
            assert_eq!(session.bytes(), &[7u8; 64][..]);
            session
        });
        drop(first);
        let session = opener.join().unwrap();
        assert_eq!(registry.live_files(), 1);
        let loads = registry.loads();
        assert!(
            loads == 1 || loads == 2,
            "one load, or a reload after the entry died: {loads}"
        );
        drop(session);
        assert_eq!(registry.live_files(), 0);
        ledger.assert_balanced();
    });
}

/// Three threads each open and drop the same file: the count never goes wrong, so no entry
/// outlives its sessions and no session sees a removed entry.
#[test]
fn three_threads_open_and_drop() {
    loom::model(|| {
        let (ledger, registry) = registry_with_file();
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let registry = registry.clone();
                thread::spawn(move || {
                    let session = registry.open("/m.bin", &LoadOptions::new()).unwrap();
                    let clone = session.clone();
                    drop(session);
                    assert_eq!(clone.len(), 64);
                })
            })
            .collect();
        drop(registry.open("/m.bin", &LoadOptions::new()).unwrap());
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(registry.live_files(), 0);
        ledger.assert_balanced();
    });
}
