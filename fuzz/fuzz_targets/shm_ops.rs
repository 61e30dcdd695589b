//! Arbitrary alloc / write / seal / lease / reclaim / retain / free / find sequences against
//! `loadguard::shm::Pool` (heap provider, through the harness's ledger and fault plan),
//! checked against a model: a plain list of live buffers with their bytes, searched linearly.
//! Every `find` must agree with the model exactly — the containing buffer and offset, or
//! `None` for a range that straddles buffers, sticks out of one or lies in no buffer — every
//! read must see the model's bytes, an injected seal failure must give the buffer back
//! unchanged, and the ledger must balance once the pool is gone.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use loadguard::shm::{
    BufferId, DeviceLease, Pool, PoolOptions, Provider, RealShm, RetainedId, SealedBuffer,
    SharedBuffer,
};
use loadguard::testing::{Fault, FaultOp, FaultPlan, FaultyShm, Ledger, TrackedShm};

#[derive(Arbitrary, Debug)]
enum Op {
    Alloc {
        len: u16,
    },
    Write {
        slot: u8,
        at: u16,
        byte: u8,
    },
    Seal {
        slot: u8,
        fail: bool,
    },
    Lease {
        slot: u8,
    },
    CopyIn {
        slot: u8,
        at: u16,
        bytes: [u8; 4],
    },
    CopyOut {
        slot: u8,
        at: u16,
        len: u8,
    },
    Reclaim {
        slot: u8,
    },
    Retain {
        slot: u8,
    },
    Read {
        slot: u8,
        at: u16,
    },
    Free {
        slot: u8,
    },
    /// A query relative to some buffer's start (may run off either end).
    FindNear {
        slot: u8,
        delta: i16,
        len: u16,
    },
}

enum Handle<'p> {
    Writable(SharedBuffer<'p>),
    Sealed(SealedBuffer<'p>),
    Leased(DeviceLease<'p>),
    Retained(RetainedId),
    /// Only while an operation moves the handle out.
    Gone,
}

/// A buffer as the model sees it.
struct Entry<'p> {
    handle: Handle<'p>,
    id: BufferId,
    start: usize,
    bytes: Vec<u8>,
}

fn model_find(entries: &[Entry<'_>], addr: usize, len: usize) -> Option<(BufferId, usize)> {
    let end = addr.checked_add(len.max(1))?;
    entries
        .iter()
        .find(|e| e.start <= addr && end <= e.start + e.bytes.len())
        .map(|e| (e.id, addr - e.start))
}

fn pick(len: usize, slot: u8) -> Option<usize> {
    (len > 0).then(|| usize::from(slot) % len)
}

fuzz_target!(|ops: Vec<Op>| {
    let ledger = Ledger::new();
    let plan = FaultPlan::new();
    let shm = TrackedShm::new(FaultyShm::new(RealShm, plan.clone()), &ledger);
    let pool = Pool::with_shm(shm, PoolOptions::new().providers([Provider::Heap]));
    let mut entries: Vec<Entry<'_>> = Vec::new();
    let mut seals = 0usize;
    for op in ops.into_iter().take(512) {
        match op {
            Op::Alloc { len } => {
                if entries.len() >= 64 {
                    continue;
                }
                let len = 1 + usize::from(len % 4096);
                let buf = pool.alloc(len).expect("heap allocation");
                assert!(buf.iter().all(|&b| b == 0));
                entries.push(Entry {
                    id: buf.id(),
                    start: buf.as_ptr().addr(),
                    bytes: vec![0; len],
                    handle: Handle::Writable(buf),
                });
            }
            Op::Write { slot, at, byte } => {
                let Some(i) = pick(entries.len(), slot) else {
                    continue;
                };
                let e = &mut entries[i];
                if let Handle::Writable(buf) = &mut e.handle {
                    let at = usize::from(at) % buf.len();
                    buf[at] = byte;
                    e.bytes[at] = byte;
                }
            }
            Op::Seal { slot, fail } => {
                let Some(i) = pick(entries.len(), slot) else {
                    continue;
                };
                if !matches!(entries[i].handle, Handle::Writable(_)) {
                    continue;
                }
                seals += 1;
                if fail {
                    // Clones share the plan: the pool's seam sees this rule.
                    let _ = plan.clone().nth(FaultOp::ShmSeal, seals, Fault::Errno(12));
                }
                let e = &mut entries[i];
                let Handle::Writable(buf) = std::mem::replace(&mut e.handle, Handle::Gone) else {
                    unreachable!()
                };
                match buf.try_seal() {
                    Ok(sealed) => {
                        assert!(!fail, "the injected failure was not seen");
                        assert_eq!(&sealed[..], &e.bytes[..]);
                        assert_eq!(sealed.as_ptr().addr(), e.start, "the heap seals in place");
                        e.handle = Handle::Sealed(sealed);
                    }
                    Err(err) => {
                        assert!(fail, "unexpected seal failure: {}", err.error());
                        let buf = err
                            .into_buffer()
                            .expect("an injected failure changes nothing");
                        assert_eq!(&buf[..], &e.bytes[..]);
                        e.handle = Handle::Writable(buf);
                    }
                }
            }
            Op::Lease { slot } => {
                let Some(i) = pick(entries.len(), slot) else {
                    continue;
                };
                let e = &mut entries[i];
                if matches!(e.handle, Handle::Writable(_)) {
                    let Handle::Writable(buf) = std::mem::replace(&mut e.handle, Handle::Gone)
                    else {
                        unreachable!()
                    };
                    e.handle = Handle::Leased(buf.lease());
                }
            }
            Op::CopyIn { slot, at, bytes } => {
                let Some(i) = pick(entries.len(), slot) else {
                    continue;
                };
                let e = &mut entries[i];
                if let Handle::Leased(lease) = &mut e.handle {
                    let at = usize::from(at);
                    let fits = at + bytes.len() <= e.bytes.len();
                    assert_eq!(lease.copy_in(at, &bytes).is_ok(), fits);
                    if fits {
                        e.bytes[at..at + 4].copy_from_slice(&bytes);
                    }
                }
            }
            Op::CopyOut { slot, at, len } => {
                let Some(i) = pick(entries.len(), slot) else {
                    continue;
                };
                let e = &entries[i];
                if let Handle::Leased(lease) = &e.handle {
                    let (at, len) = (usize::from(at), usize::from(len));
                    let mut out = vec![0u8; len];
                    let fits = at + len <= e.bytes.len();
                    assert_eq!(lease.copy_out(at, &mut out).is_ok(), fits);
                    if fits {
                        assert_eq!(out, e.bytes[at..at + len]);
                    }
                }
            }
            Op::Reclaim { slot } => {
                let Some(i) = pick(entries.len(), slot) else {
                    continue;
                };
                let e = &mut entries[i];
                if matches!(e.handle, Handle::Leased(_)) {
                    let Handle::Leased(lease) = std::mem::replace(&mut e.handle, Handle::Gone)
                    else {
                        unreachable!()
                    };
                    // SAFETY: a heap buffer has no fd; only this loop wrote it, through the lease.
                    let buf = unsafe { lease.reclaim() };
                    assert_eq!(&buf[..], &e.bytes[..]);
                    e.handle = Handle::Writable(buf);
                }
            }
            Op::Retain { slot } => {
                let Some(i) = pick(entries.len(), slot) else {
                    continue;
                };
                let e = &mut entries[i];
                if matches!(e.handle, Handle::Sealed(_)) {
                    let Handle::Sealed(sealed) = std::mem::replace(&mut e.handle, Handle::Gone)
                    else {
                        unreachable!()
                    };
                    let kept = sealed.into_pool();
                    assert_eq!(kept.id(), e.id);
                    e.handle = Handle::Retained(kept);
                }
            }
            Op::Read { slot, at } => {
                let Some(i) = pick(entries.len(), slot) else {
                    continue;
                };
                let e = &entries[i];
                let at = usize::from(at) % e.bytes.len();
                let seen = match &e.handle {
                    Handle::Writable(buf) => Some(buf[at]),
                    Handle::Sealed(sealed) => Some(sealed[at]),
                    Handle::Retained(kept) => pool.retained(*kept).map(|b| b[at]),
                    Handle::Leased(_) | Handle::Gone => None,
                };
                if let Some(byte) = seen {
                    assert_eq!(byte, e.bytes[at]);
                }
            }
            Op::Free { slot } => {
                let Some(i) = pick(entries.len(), slot) else {
                    continue;
                };
                if matches!(entries[i].handle, Handle::Retained(_)) {
                    continue; // released with the pool
                }
                let e = entries.swap_remove(i);
                drop(e.handle);
                let ptr = std::ptr::without_provenance(e.start);
                assert_ne!(pool.find(ptr, 1).map(|f| f.id), Some(e.id));
            }
            Op::FindNear { slot, delta, len } => {
                let Some(i) = pick(entries.len(), slot) else {
                    continue;
                };
                let Some(addr) = entries[i].start.checked_add_signed(isize::from(delta)) else {
                    continue;
                };
                let len = usize::from(len);
                let got = pool
                    .find(std::ptr::without_provenance(addr), len)
                    .map(|f| (f.id, f.offset));
                assert_eq!(got, model_find(&entries, addr, len), "find {addr:#x}+{len}");
            }
        }
        assert_eq!(pool.len(), entries.len());
    }
    let retained = entries
        .iter()
        .filter(|e| matches!(e.handle, Handle::Retained(_)))
        .count();
    drop(entries);
    assert_eq!(pool.len(), retained);
    // The pool's drop releases the retained buffers: the ledger proves it.
    drop(pool);
    ledger.assert_balanced();
});
