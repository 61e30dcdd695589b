//! Arbitrary alloc / free / retain / find sequences against `loadguard::shm::Pool` (heap
//! provider), checked against a model: a plain list of live ranges searched linearly. Every
//! `find` must agree with the model exactly — the containing buffer and offset, or `None` for a
//! range that straddles buffers, sticks out of one or lies in no buffer.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use loadguard::shm::{BufferId, Pool, PoolOptions, Provider, SharedBuffer};

#[derive(Arbitrary, Debug)]
enum Op {
    Alloc {
        len: u16,
    },
    Free {
        slot: u8,
    },
    Retain {
        slot: u8,
    },
    /// A query relative to a live or retained buffer's start (may run off either end).
    FindNear {
        slot: u8,
        delta: i16,
        len: u16,
    },
    Write {
        slot: u8,
        at: u16,
        byte: u8,
    },
}

/// A buffer as the model sees it.
#[derive(Clone, Copy)]
struct Range {
    id: BufferId,
    start: usize,
    len: usize,
}

fn model_find(ranges: &[Range], addr: usize, len: usize) -> Option<(BufferId, usize)> {
    let end = addr.checked_add(len.max(1))?;
    ranges
        .iter()
        .find(|r| r.start <= addr && end <= r.start + r.len)
        .map(|r| (r.id, addr - r.start))
}

fuzz_target!(|ops: Vec<Op>| {
    let pool = Pool::with_options(PoolOptions::new().providers([Provider::Heap]));
    let mut live: Vec<(SharedBuffer<'_>, Range)> = Vec::new();
    let mut retained: Vec<Range> = Vec::new();
    for op in ops.into_iter().take(512) {
        match op {
            Op::Alloc { len } => {
                if live.len() + retained.len() >= 64 {
                    continue;
                }
                let len = 1 + usize::from(len % 4096);
                let buf = pool.alloc(len).expect("heap allocation");
                assert!(buf.iter().all(|&b| b == 0));
                let range = Range {
                    id: buf.id(),
                    start: buf.as_ptr().addr(),
                    len,
                };
                live.push((buf, range));
            }
            Op::Free { slot } => {
                if !live.is_empty() {
                    let i = usize::from(slot) % live.len();
                    let (buf, range) = live.swap_remove(i);
                    drop(buf);
                    assert_eq!(
                        pool.find(std::ptr::without_provenance(range.start), 1),
                        None
                    );
                }
            }
            Op::Retain { slot } => {
                if !live.is_empty() {
                    let i = usize::from(slot) % live.len();
                    let (buf, range) = live.swap_remove(i);
                    let id = buf.into_pool();
                    assert_eq!(id, range.id);
                    assert_eq!(pool.retained(id).map(<[u8]>::len), Some(range.len));
                    retained.push(range);
                }
            }
            Op::FindNear { slot, delta, len } => {
                let all: Vec<Range> = live
                    .iter()
                    .map(|(_, r)| *r)
                    .chain(retained.iter().copied())
                    .collect();
                if all.is_empty() {
                    continue;
                }
                let base = all[usize::from(slot) % all.len()].start;
                let Some(addr) = base.checked_add_signed(isize::from(delta)) else {
                    continue;
                };
                let len = usize::from(len);
                let got = pool
                    .find(std::ptr::without_provenance(addr), len)
                    .map(|f| (f.id, f.offset));
                assert_eq!(got, model_find(&all, addr, len), "find {addr:#x}+{len}");
            }
            Op::Write { slot, at, byte } => {
                if !live.is_empty() {
                    let i = usize::from(slot) % live.len();
                    let (buf, _) = &mut live[i];
                    let at = usize::from(at) % buf.len();
                    buf[at] = byte;
                    assert_eq!(buf[at], byte);
                }
            }
        }
        assert_eq!(pool.len(), live.len() + retained.len());
    }
    drop(live);
    assert_eq!(pool.len(), retained.len());
    // The pool's drop releases the retained buffers (ASan reports a leak otherwise).
});
