//! loom models of `loadguard::shm::Pool` with the heap provider: every interleaving of
//! concurrent alloc, find, seal, free and retain, one race per test. The pool's read-mostly
//! lock and id counter are loom's under `--cfg loom`, so these explore the code that ships;
//! each model ends with a balanced ledger (the harness's `TrackedShm` around the real seam).
//!
//! Run:
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p loom-tests --release --test pool`
#![cfg(loom)]

use loadguard::shm::{BufferId, Pool, PoolOptions, Provider, RealShm};
use loadguard::testing::{Ledger, TrackedShm};
use loom::sync::Arc;
use loom::thread::{self, JoinHandle};

/// A heap-provider pool whose buffers are counted in `ledger`, which every model ends by
/// checking.
fn heap_pool(ledger: &Ledger) -> Arc<Pool> {
    Arc::new(Pool::with_shm(
        TrackedShm::new(RealShm, ledger),
        PoolOptions::new().providers([Provider::Heap]),
    ))
}

/// A thread that asks `pool` which buffer holds `[addr, addr + len)` (by address only, so no
/// pointer crosses threads) and returns the id and offset found.
fn spawn_find(pool: &Arc<Pool>, addr: usize, len: usize) -> JoinHandle<Option<(BufferId, usize)>> {
    let pool = Arc::clone(pool);
    thread::spawn(move || {
        let ptr = std::ptr::without_provenance::<u8>(addr);
        pool.find(ptr, len).map(|f| (f.id, f.offset))
    })
}

/// Two threads allocate at once: distinct ids, each finds its own buffer, frees leave the pool
/// empty.
#[test]
fn concurrent_allocs_get_distinct_ids_and_find_their_own_buffer() {
    loom::model(|| {
        let ledger = Ledger::new();
        let pool = heap_pool(&ledger);
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let pool = Arc::clone(&pool);
                thread::spawn(move || {
                    let buf = pool.alloc(32).unwrap();
                    let found = pool.find(buf.as_ptr().wrapping_add(8), 24).unwrap();
                    assert_eq!((found.id, found.offset), (buf.id(), 8));
                    buf.id()
                })
            })
            .collect();
        let ids: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_ne!(ids[0], ids[1]);
        assert!(pool.is_empty());
        ledger.assert_balanced();
    });
}

/// A lookup racing the free of the buffer it asks about sees that buffer or nothing — never a
/// stale record after the free completed, never a wrong offset.
#[test]
fn find_racing_free_sees_the_buffer_or_nothing() {
    loom::model(|| {
        let ledger = Ledger::new();
        let pool = heap_pool(&ledger);
        let owner = Arc::clone(&pool);
        let buf = owner.alloc(16).unwrap();
        let (addr, id) = (buf.as_ptr(), buf.id());
        let finder = spawn_find(&pool, addr.addr() + 4, 4);
        drop(buf);
        assert_eq!(pool.find(addr, 1), None, "freed buffer still registered");
        let seen = finder.join().unwrap();
        assert!(seen.is_none() || seen == Some((id, 4)), "{seen:?}");
        assert!(pool.is_empty());
        ledger.assert_balanced();
    });
}

/// Free, alloc (which may reuse the freed address) and find race: the lookup answers with the
/// freed buffer, the new one (at the right offset), or nothing.
#[test]
fn free_alloc_and_find_race_without_a_wrong_answer() {
    loom::model(|| {
        let ledger = Ledger::new();
        let pool = heap_pool(&ledger);
        let owner = Arc::clone(&pool);
        let old = owner.alloc(64).unwrap();
        let (old_id, old_addr) = (old.id(), old.as_ptr().addr());
        let allocator = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || {
                let new = pool.alloc(64).unwrap().seal().unwrap();
                let range = (new.as_ptr().addr(), new.len());
                // Hand the buffer to the pool so it stays put for the check below.
                (new.into_pool(), range)
            })
        };
        let finder = spawn_find(&pool, old_addr, 8);
        // This thread frees the old buffer while the others allocate and look up.
        drop(old);
        let (new_id, (new_start, new_len)) = allocator.join().unwrap();
        match finder.join().unwrap() {
            None => {}
            Some((id, offset)) if id == old_id => assert_eq!(offset, 0),
            Some((id, offset)) => {
                assert_eq!(id, new_id.id());
                assert!(new_start <= old_addr && old_addr + 8 <= new_start + new_len);
                assert_eq!(offset, old_addr - new_start);
            }
        }
        assert_eq!(pool.len(), 1);
        assert!(pool.retained(new_id).is_some());
        drop((owner, pool));
        ledger.assert_balanced();
    });
}

/// Buffers retained by several threads are all still owned by the pool afterwards, and the
/// last `Arc` dropping the pool releases them (the drop takes no lock: it has `&mut`).
#[test]
fn retained_buffers_from_threads_are_released_with_the_pool() {
    loom::model(|| {
        let ledger = Ledger::new();
        let pool = heap_pool(&ledger);
        let threads: Vec<_> = (0..2)
            .map(|i| {
                let pool = Arc::clone(&pool);
                thread::spawn(move || {
                    let mut buf = pool.alloc(8).unwrap();
                    buf[0] = i;
                    buf.seal().unwrap().into_pool()
                })
            })
            .collect();
        let ids: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(pool.len(), 2);
        for (i, id) in (0u8..).zip(&ids) {
            assert_eq!(pool.retained(*id).map(|b| b[0]), Some(i));
        }
        drop(pool);
        ledger.assert_balanced();
    });
}

/// A lookup racing the seal of the buffer it asks about sees that buffer (at the right
/// offset) or nothing — the record is out of the table while the seal runs — and never
/// another buffer; after the seal the buffer is found again and reads what was written.
#[test]
fn find_racing_seal_sees_the_buffer_or_nothing() {
    loom::model(|| {
        let ledger = Ledger::new();
        let pool = heap_pool(&ledger);
        let owner = Arc::clone(&pool);
        let mut buf = owner.alloc(16).unwrap();
        buf[4] = 9;
        let id = buf.id();
        let finder = spawn_find(&pool, buf.as_ptr().addr() + 4, 4);
        let sealed = buf.seal().unwrap();
        let seen = finder.join().unwrap();
        assert!(seen.is_none() || seen == Some((id, 4)), "{seen:?}");
        let found = pool.find(sealed.as_ptr().wrapping_add(4), 1).map(|f| f.id);
        assert_eq!(found, Some(id));
        assert_eq!(sealed[4], 9);
        drop(sealed);
        assert!(pool.is_empty());
        drop((owner, pool));
        ledger.assert_balanced();
    });
}

/// Two threads look up at once while a third frees: shared lookups do not exclude each other,
/// and both see the buffer or nothing.
#[test]
fn concurrent_finds_share_the_lock_while_a_free_runs() {
    loom::model(|| {
        let ledger = Ledger::new();
        let pool = heap_pool(&ledger);
        let owner = Arc::clone(&pool);
        let buf = owner.alloc(8).unwrap();
        let (addr, id) = (buf.as_ptr().addr(), buf.id());
        let finders = [spawn_find(&pool, addr, 8), spawn_find(&pool, addr, 8)];
        drop(buf);
        for finder in finders {
            let seen = finder.join().unwrap();
            assert!(seen.is_none() || seen == Some((id, 0)), "{seen:?}");
        }
        assert!(pool.is_empty());
        drop((owner, pool));
        ledger.assert_balanced();
    });
}

/// A thread that looked a buffer up (and so caches the pool's index) and then learns of the
/// buffer's free from another thread no longer finds it: the free's epoch bump, which it
/// synchronises with, makes it refresh its snapshot.
#[test]
fn a_cached_lookup_sees_a_free_it_synchronised_with() {
    use loom::sync::atomic::{AtomicBool, Ordering};
    loom::model(|| {
        let ledger = Ledger::new();
        let pool = heap_pool(&ledger);
        let owner = Arc::clone(&pool);
        let buf = owner.alloc(8).unwrap();
        let (addr_bits, id) = (buf.as_ptr().addr(), buf.id());
        let freed = Arc::new(AtomicBool::new(false));
        let finder = {
            let (pool, freed) = (Arc::clone(&pool), Arc::clone(&freed));
            thread::spawn(move || {
                let ptr = std::ptr::without_provenance::<u8>(addr_bits);
                let first = pool.find(ptr, 8).map(|f| f.id);
                while !freed.load(Ordering::Acquire) {
                    thread::yield_now();
                }
                (first, pool.find(ptr, 8).map(|f| f.id))
            })
        };
        drop(buf);
        freed.store(true, Ordering::Release);
        let (first, after) = finder.join().unwrap();
        assert!(first.is_none() || first == Some(id), "{first:?}");
        assert_eq!(after, None, "a stale snapshot answered after the free");
        drop((owner, pool));
        ledger.assert_balanced();
    });
}
