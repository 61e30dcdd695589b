//! Fault injection through the OS seam, checked against the resource ledger: every injected
//! failure either is survived (fallback, retry) or surfaces as an error naming the operation
//! and errno, and either way nothing acquired stays acquired. Over the in-memory OS, so these
//! run under Miri too; the real-OS variant is at the end.

use loadguard::data::{DataLoader, FileLoader, MappedLoader, SegmentInfo, SegmentKind};
use loadguard::os::MemoryOs;
use loadguard::testing::{Fault, FaultOp, FaultPlan, FaultyOs, Ledger, ResourceKind};
use loadguard::{Alignment, Error, LoadMode, LoadOptions, LockPolicy, Registry};

const ENOMEM: i32 = 12;
const ENODEV: i32 = 19;
const EIO: i32 = 5;
const EAGAIN: i32 = 11;

/// The model file's size: smaller under Miri, which interprets every byte copied and compared.
const LEN: usize = if cfg!(miri) { 2_000 } else { 10_000 };

fn memory_fs() -> MemoryOs {
    let fs = MemoryOs::new();
    fs.write(
        "/m/model.bin",
        (0..=255u8).cycle().take(LEN).collect::<Vec<_>>(),
    );
    fs
}

fn setup(plan: &FaultPlan) -> (Ledger, Registry) {
    let ledger = Ledger::new();
    let registry = Registry::with_os(ledger.track(FaultyOs::new(memory_fs(), plan.clone())));
    (ledger, registry)
}

#[test]
fn a_failed_map_falls_back_to_read_and_leaks_nothing() {
    let plan = FaultPlan::new().nth(FaultOp::Mmap, 1, Fault::Errno(ENODEV));
    let (ledger, registry) = setup(&plan);
    let session = registry.open("/m/model.bin", &LoadOptions::new()).unwrap();
    assert_eq!(session.load_path().name(), "read");
    assert_eq!(session.bytes()[300], 44);
    assert_eq!(plan.injected(), 1);
    assert_eq!(
        ledger.live(ResourceKind::FileHandle),
        0,
        "handle closed after load"
    );
    assert_eq!(
        ledger.live(ResourceKind::Mapping),
        0,
        "the failed map left nothing"
    );
    // The next open of a fresh registry maps: the fault was the first call only.
    drop(session);
    let session = registry.open("/m/model.bin", &LoadOptions::new()).unwrap();
    assert_eq!(session.load_path().name(), "map");
    assert_eq!(ledger.live(ResourceKind::Mapping), 1);
    drop(session);
    ledger.assert_balanced();
}

/// A hit costs one `stat` and no `open`; with nothing live there is nothing to hit, so an open
/// into an empty registry skips the `stat` and opens straight away.
#[test]
fn a_hit_is_one_stat_and_an_empty_registry_skips_it() {
    let plan = FaultPlan::new();
    let (ledger, registry) = setup(&plan);
    let calls = || (plan.calls(FaultOp::Stat), plan.calls(FaultOp::Open));
    let opts = LoadOptions::new();
    let first = registry.open("/m/model.bin", &opts).unwrap();
    assert_eq!(calls(), (0, 1), "(stats, opens) of the first open");
    let second = registry.open("/m/model.bin", &opts).unwrap();
    assert_eq!(calls(), (1, 1), "(stats, opens) after a hit");
    assert_eq!(registry.loads(), 1);
    assert_eq!(second.bytes(), first.bytes());
    drop((first, second));
    let third = registry.open("/m/model.bin", &opts).unwrap();
    assert_eq!(calls(), (1, 2), "nothing was live: no stat before the open");
    drop(third);
    ledger.assert_balanced();
}

#[test]
fn eintr_and_short_reads_are_retried() {
    let plan = FaultPlan::new()
        .nth(FaultOp::Pread, 1, Fault::Interrupted)
        .nth(FaultOp::Pread, 3, Fault::Interrupted)
        .every(FaultOp::Pread, Fault::ShortRead(999));
    let (ledger, registry) = setup(&plan);
    let session = registry
        .open("/m/model.bin", &LoadOptions::new().mode(LoadMode::Read))
        .unwrap();
    assert_eq!(session.bytes().len(), LEN);
    assert!(
        session
            .bytes()
            .iter()
            .enumerate()
            .all(|(i, &b)| usize::from(b) == i % 256)
    );
    // 2 interrupted calls + one short read per 999 bytes.
    assert_eq!(plan.calls(FaultOp::Pread), 2 + LEN.div_ceil(999));
    drop(session);
    ledger.assert_balanced();
}

/// Every operation, failing at every call it could be asked to make, for every mode: the open
/// either succeeds (the fault was survived) or fails naming the operation and errno; and in
/// both cases, once the session is gone, the ledger is balanced.
#[test]
fn every_error_path_releases_what_it_acquired() {
    let ops = [
        (FaultOp::Open, "open"),
        (FaultOp::Mmap, "mmap"),
        (FaultOp::Pread, "pread"),
        (FaultOp::Madvise, "madvise(MADV_WILLNEED)"),
        (FaultOp::Mlock, "mlock"),
    ];
    let mut failures = 0;
    for mode in [LoadMode::Auto, LoadMode::Map, LoadMode::Read] {
        for (op, op_name) in ops {
            for n in 1..=2 {
                let plan = FaultPlan::new().nth(op, n, Fault::Errno(EIO));
                let (ledger, registry) = setup(&plan);
                let opts = LoadOptions::new()
                    .mode(mode)
                    .will_need(true)
                    .lock(LockPolicy::Lock);
                let result = registry.open("/m/model.bin", &opts);
                if plan.injected() == 1 {
                    let survived = op == FaultOp::Mmap && mode == LoadMode::Auto;
                    match (&result, survived) {
                        (Ok(session), true) => assert_eq!(session.load_path().name(), "read"),
                        (Err(err), false) => {
                            failures += 1;
                            assert_eq!(err.op(), Some(op_name), "{mode:?} {op:?}#{n}: {err}");
                            assert_eq!(err.os_code(), Some(EIO), "{err}");
                        }
                        (other, _) => panic!("{mode:?} {op:?}#{n}: unexpected {other:?}"),
                    }
                } else {
                    assert!(
                        result.is_ok(),
                        "{mode:?} {op:?}#{n}: nothing injected yet failed"
                    );
                }
                drop(result);
                assert_eq!(registry.live_files(), 0);
                ledger.assert_balanced();
            }
        }
    }
    assert!(
        failures >= 8,
        "the plan must actually have failed opens: {failures}"
    );
}

#[test]
fn lock_policy_ignore_errors_goes_on_unlocked() {
    let plan = FaultPlan::new().every(FaultOp::Mlock, Fault::Errno(EAGAIN));
    let (ledger, registry) = setup(&plan);
    let opts = LoadOptions::new().lock(LockPolicy::LockIgnoreErrors);
    let session = registry.open("/m/model.bin", &opts).unwrap();
    assert_eq!(ledger.live(ResourceKind::MemoryLock), 0);
    drop(session);
    let strict = registry.open("/m/model.bin", &LoadOptions::new().lock(LockPolicy::Lock));
    assert_eq!(strict.unwrap_err().os_code(), Some(EAGAIN));
    ledger.assert_balanced();
}

#[test]
fn locks_are_counted_and_released_with_the_region() {
    let (ledger, registry) = setup(&FaultPlan::new());
    let loader = MappedLoader::open(
        &registry,
        "/m/model.bin",
        &LoadOptions::new().lock(LockPolicy::Lock),
    )
    .unwrap();
    let info = SegmentInfo::new(SegmentKind::Constant, 0);
    let a = loader.load(0, 100, &info).unwrap();
    let b = loader
        .load(u64::try_from(LEN / 2).unwrap(), 100, &info)
        .unwrap();
    // Two ranges on distinct pages are two locks; under Miri the file is one page or two.
    let both = ledger.live(ResourceKind::MemoryLock);
    if LEN >= 3 * 4096 {
        assert_eq!(both, 2);
    } else {
        assert!((1..=2).contains(&both), "{both}");
    }
    // The same page again: counted, not locked twice.
    let again = loader.load(10, 20, &info).unwrap();
    assert_eq!(ledger.live(ResourceKind::MemoryLock), both);
    drop(a);
    assert_eq!(
        ledger.live(ResourceKind::MemoryLock),
        both,
        "the page stays locked while `again` needs it"
    );
    drop((b, again));
    assert_eq!(
        ledger.live(ResourceKind::MemoryLock),
        0,
        "a segment's lock lives as long as the segment"
    );
    // Loading over and over records nothing that outlives the segments.
    for _ in 0..1000 {
        drop(loader.load(0, 100, &info).unwrap());
    }
    assert_eq!(ledger.live(ResourceKind::MemoryLock), 0);
    drop(loader);
    ledger.assert_balanced();
}

#[test]
fn file_loader_errors_release_the_handle() {
    let ledger = Ledger::new();
    let plan = FaultPlan::new().nth(FaultOp::Pread, 2, Fault::Errno(ENOMEM));
    let os = ledger.track(FaultyOs::new(memory_fs(), plan));
    let loader = FileLoader::open_with(&os, "/m/model.bin", Alignment::DEFAULT).unwrap();
    assert_eq!(
        ledger.live(ResourceKind::FileHandle),
        1,
        "a file loader holds its handle"
    );
    let info = SegmentInfo::new(SegmentKind::Constant, 0);
    loader.load(0, 10, &info).unwrap();
    let err = loader.load(0, 10, &info).unwrap_err();
    assert_eq!(err.op(), Some("pread"));
    assert_eq!(err.os_code(), Some(ENOMEM));
    drop(loader);
    ledger.assert_balanced();
}

#[test]
fn a_leak_is_reported_with_its_kind_and_the_users_call_site() {
    let (ledger, registry) = setup(&FaultPlan::new());
    let session = registry.open("/m/model.bin", &LoadOptions::new()).unwrap();
    let leaks = ledger.check_balanced().unwrap_err();
    assert_eq!(leaks.0.len(), 1);
    let leak = &leaks.0[0];
    assert_eq!(leak.kind, ResourceKind::Mapping);
    assert_eq!(leak.label, "/m/model.bin");
    assert!(
        leak.site.file().ends_with("faults.rs"),
        "site is the test's open call: {leak}"
    );
    let text = leaks.to_string();
    assert!(
        text.starts_with("1 OS resource(s) leaked:\n  - Mapping /m/model.bin acquired at "),
        "{text}"
    );
    drop(session);
    ledger.assert_balanced();
}

#[test]
fn open_errors_carry_the_injected_errno() {
    let plan = FaultPlan::new().every(FaultOp::Open, Fault::Errno(ENOMEM));
    let (ledger, registry) = setup(&plan);
    let err = registry
        .open("/m/model.bin", &LoadOptions::new())
        .unwrap_err();
    assert!(matches!(&err, Error::Os(f) if f.op == "open" && f.os.code() == Some(ENOMEM)));
    assert!(
        err.to_string().starts_with("open /m/model.bin failed at "),
        "{err}"
    );
    assert!(
        err.chain().to_string().ends_with("(os error 12)"),
        "{}",
        err.chain()
    );
    ledger.assert_balanced();
}

/// The same ledger over the real OS: handles and mappings of real files.
#[cfg_attr(miri, ignore)]
#[test]
fn real_os_open_map_and_drop_balance() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.bin");
    std::fs::write(&path, vec![1u8; 8192]).unwrap();
    let ledger = Ledger::new();
    let plan = FaultPlan::new().nth(FaultOp::Mmap, 2, Fault::Errno(ENOMEM));
    let registry = Registry::with_os(ledger.track(FaultyOs::new(loadguard::os::RealOs, plan)));
    // SAFETY: `m.bin` is in a fresh private temporary directory; nothing writes it after this.
    let assumed = unsafe { LoadOptions::new().assume_immutable() };
    let mapped = registry.open(&path, &assumed).unwrap();
    assert_eq!(mapped.load_path().to_string(), "map (assumed immutable)");
    // Same file, another mode: another entry, so the second open maps again and meets the
    // injected ENOMEM.
    let failed = registry.open(&path, &assumed.mode(LoadMode::Map));
    assert_eq!(failed.unwrap_err().os_code(), Some(ENOMEM));
    assert_eq!(ledger.live(ResourceKind::FileHandle), 0);
    assert_eq!(ledger.live(ResourceKind::Mapping), 1);
    assert_eq!(ledger.acquired(ResourceKind::FileHandle), 2);
    // The safe default copies the ordinary file, closes its handle, and pins its identity.
    let copied = registry.open(&path, &LoadOptions::new()).unwrap();
    assert_eq!(copied.load_path().name(), "read");
    assert_eq!(ledger.live(ResourceKind::FileHandle), 0);
    assert_eq!(
        ledger.live(ResourceKind::IdentityPin),
        usize::from(cfg!(unix))
    );
    drop((mapped, copied));
    ledger.assert_balanced();
}
