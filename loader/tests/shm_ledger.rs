//! Pool buffers in the resource ledger: every buffer is an acquisition from its allocation to
//! its free, with the user's call site; leaked handles are released by the pool's drop.
//! Heap provider only, so this runs under Miri too.

use loadguard::shm::{Pool, PoolOptions, Provider};
use loadguard::testing::{Ledger, ResourceKind};

fn heap_pool(ledger: &Ledger) -> Pool {
    Pool::with_options(
        PoolOptions::new()
            .providers([Provider::Heap])
            .ledger(ledger.clone()),
    )
}

#[test]
fn buffers_are_counted_from_alloc_to_free() {
    let ledger = Ledger::new();
    let pool = heap_pool(&ledger);
    let a = pool.alloc(100).unwrap();
    let b = pool.alloc(200).unwrap();
    assert_eq!(ledger.live(ResourceKind::PoolBuffer), 2);
    let leaks = ledger.check_balanced().unwrap_err();
    let first = &leaks.0[0];
    assert!(first.label.starts_with("heap buffer #"), "{first}");
    assert!(first.label.ends_with("of 100 bytes"), "{first}");
    assert!(
        first.site.file().ends_with("shm_ledger.rs"),
        "the user's alloc call: {first}"
    );
    drop(a);
    assert_eq!(ledger.live(ResourceKind::PoolBuffer), 1);
    drop(b);
    ledger.assert_balanced();
    drop(pool);
}

#[test]
fn a_forgotten_buffer_stays_counted_until_the_pool_drops() {
    let ledger = Ledger::new();
    let pool = heap_pool(&ledger);
    std::mem::forget(pool.alloc(64).unwrap());
    let retained = pool.alloc(64).unwrap().into_pool();
    assert_eq!(ledger.live(ResourceKind::PoolBuffer), 2);
    assert!(pool.retained(retained).is_some());
    drop(pool);
    ledger.assert_balanced();
}
