//! The ledger: fixed-size tables of what the process holds, each entry with its acquire
//! backtrace. Plain data updated under one spinlock (see `state::LEDGER`); nothing here
//! allocates, so it can be updated from any interposed call, signal handlers included. A
//! table that is full counts the entry as `dropped` (the report says so) instead of growing.

use loadguard_preload_api::{Fault, Kind, Op};

pub const FD_CAP: usize = 16384;
pub const MAP_CAP: usize = 4096;
pub const LOCK_CAP: usize = 1024;
pub const LIB_CAP: usize = 1024;
pub const ACQ_CAP: usize = 4096;
const ACQ_PROBES: usize = 32;
pub const INJ_CAP: usize = 64;
pub const WHAT_CAP: usize = 240;
pub const FRAMES_CAP: usize = 32;

/// The acquiring calls, by index (`Via` stores the index so a zeroed entry is valid).
pub const VIA_NAMES: [&str; 12] = [
    "open",
    "openat",
    "creat",
    "fopen",
    "dup",
    "fcntl",
    "memfd_create",
    "dma_heap_alloc",
    "mmap",
    "mremap",
    "mlock",
    "dlopen",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Via(u8);

impl Via {
    pub const OPEN: Via = Via(0);
    pub const OPENAT: Via = Via(1);
    pub const CREAT: Via = Via(2);
    pub const FOPEN: Via = Via(3);
    pub const DUP: Via = Via(4);
    pub const FCNTL: Via = Via(5);
    pub const MEMFD: Via = Via(6);
    pub const DMA_HEAP: Via = Via(7);
    pub const MMAP: Via = Via(8);
    pub const MREMAP: Via = Via(9);
    pub const MLOCK: Via = Via(10);
    pub const DLOPEN: Via = Via(11);

    pub fn name(self) -> &'static str {
        VIA_NAMES.get(usize::from(self.0)).copied().unwrap_or("?")
    }
}

/// A path or name, truncated to `WHAT_CAP` bytes.
#[derive(Clone, Copy)]
pub struct What {
    len: u16,
    bytes: [u8; WHAT_CAP],
}

impl What {
    pub const EMPTY: What = What {
        len: 0,
        bytes: [0; WHAT_CAP],
    };

    pub fn new(parts: &[&[u8]]) -> What {
        let mut what = What::EMPTY;
        for part in parts {
            what.push(part);
        }
        what
    }

    pub fn push(&mut self, part: &[u8]) {
        for &b in part {
            let len = usize::from(self.len);
            if let Some(slot) = self.bytes.get_mut(len) {
                *slot = b;
                self.len = self.len.saturating_add(1);
            }
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

/// An acquire backtrace: return addresses, innermost first.
#[derive(Clone, Copy)]
pub struct Frames {
    pub len: u8,
    pub addrs: [usize; FRAMES_CAP],
}

impl Frames {
    pub const EMPTY: Frames = Frames {
        len: 0,
        addrs: [0; FRAMES_CAP],
    };

    pub fn as_slice(&self) -> &[usize] {
        self.addrs.get(..usize::from(self.len)).unwrap_or_default()
    }
}

/// One held resource.
#[derive(Clone, Copy)]
pub struct Entry {
    pub used: bool,
    /// Counted and failed under `--only` (its path matched).
    pub only: bool,
    pub kind: KindCode,
    pub via: Via,
    pub seq: u64,
    /// fd number, mapping / lock address, or library handle.
    pub id: u64,
    pub len: u64,
    /// `(st_dev, st_ino)` of a descriptor when it was acquired, to tell it from a later
    /// descriptor of the same number the preload did not see.
    pub ident: (u64, u64),
    pub what: What,
    pub frames: Frames,
}

/// `Kind` as a zero-valid code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct KindCode(u8);

impl KindCode {
    pub const FD: KindCode = KindCode(0);
    pub const MAPPING: KindCode = KindCode(1);
    pub const LOCK: KindCode = KindCode(2);
    pub const LIBRARY: KindCode = KindCode(3);

    pub fn kind(self) -> Kind {
        match self.0 {
            1 => Kind::Mapping,
            2 => Kind::Lock,
            3 => Kind::Library,
            _ => Kind::Fd,
        }
    }
}

impl Entry {
    pub const EMPTY: Entry = Entry {
        used: false,
        only: false,
        kind: KindCode::FD,
        via: Via::OPEN,
        seq: 0,
        id: 0,
        len: 0,
        ident: (0, 0),
        what: What::EMPTY,
        frames: Frames::EMPTY,
    };

    fn end(&self, page: u64) -> u64 {
        self.id.saturating_add(round_up(self.len, page))
    }
}

fn round_up(len: u64, page: u64) -> u64 {
    // 0 until the preload has asked the system (the static stays all-zero, in .bss).
    let page = if page == 0 { 4096 } else { page };
    len.div_ceil(page).saturating_mul(page)
}

/// How often one (kind, via, what) was acquired.
#[derive(Clone, Copy)]
pub struct Acq {
    pub used: bool,
    pub kind: KindCode,
    pub via: Via,
    pub count: u64,
    pub what: What,
}

impl Acq {
    const EMPTY: Acq = Acq {
        used: false,
        kind: KindCode::FD,
        via: Via::OPEN,
        count: 0,
        what: What::EMPTY,
    };
}

/// One injected fault.
#[derive(Clone, Copy)]
pub struct Inj {
    pub op_index: u8,
    pub nth: u64,
    /// The fault as (code, argument) so an empty slot is all zero: 1 errno, 2 eintr, 3 short
    /// read (argument 0 = half).
    pub fault_code: u8,
    pub fault_arg: u32,
    pub frames: Frames,
}

impl Inj {
    const EMPTY: Inj = Inj {
        op_index: 0,
        nth: 0,
        fault_code: 0,
        fault_arg: 0,
        frames: Frames::EMPTY,
    };

    pub fn fault(&self) -> Fault {
        match self.fault_code {
            2 => Fault::Interrupted,
            3 => Fault::ShortRead(if self.fault_arg == 0 {
                None
            } else {
                Some(self.fault_arg)
            }),
            _ => Fault::Errno(i32::try_from(self.fault_arg).unwrap_or(0)),
        }
    }
}

fn encode(fault: Fault) -> (u8, u32) {
    match fault {
        Fault::Errno(n) => (1, u32::try_from(n).unwrap_or(0)),
        Fault::Interrupted => (2, 0),
        Fault::ShortRead(n) => (3, n.unwrap_or(0)),
        _ => (2, 0),
    }
}

/// Everything the process holds, plus its own call counts.
pub struct Ledger {
    /// The process the tables belong to (a `vfork` child sees its parent's tables and a
    /// different pid, and leaves them alone).
    pub pid: u32,
    pub seq: u64,
    pub dropped: u64,
    /// The page size (0 = not asked yet, taken as 4096).
    pub page: u64,
    pub fds: [Entry; FD_CAP],
    pub fd_high: usize,
    pub maps: [Entry; MAP_CAP],
    pub nmaps: usize,
    pub locks: [Entry; LOCK_CAP],
    pub nlocks: usize,
    pub libs: [Entry; LIB_CAP],
    pub nlibs: usize,
    pub acq: [Acq; ACQ_CAP],
    pub acq_other: [u64; 4],
    pub inj: [Inj; INJ_CAP],
    pub ninj: usize,
}

impl Ledger {
    pub const fn new() -> Ledger {
        Ledger {
            pid: 0,
            seq: 0,
            dropped: 0,
            page: 0,
            fds: [Entry::EMPTY; FD_CAP],
            fd_high: 0,
            maps: [Entry::EMPTY; MAP_CAP],
            nmaps: 0,
            locks: [Entry::EMPTY; LOCK_CAP],
            nlocks: 0,
            libs: [Entry::EMPTY; LIB_CAP],
            nlibs: 0,
            acq: [Acq::EMPTY; ACQ_CAP],
            acq_other: [0; 4],
            inj: [Inj::EMPTY; INJ_CAP],
            ninj: 0,
        }
    }

    fn next_seq(&mut self) -> u64 {
        let seq = self.seq;
        self.seq = self.seq.saturating_add(1);
        seq
    }

    fn acquired(&mut self, kind: KindCode, via: Via, what: &What) {
        let bytes = what.as_bytes();
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(kind.0) ^ (u64::from(via.0) << 8);
        for &b in bytes {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let start = usize::try_from(hash % ACQ_CAP as u64).unwrap_or(0);
        // A bounded probe: once the table is crowded, a new thing is counted as `(other)` in
        // constant time instead of scanning every slot.
        for probe in 0..ACQ_PROBES {
            let Some(slot) = self.acq.get_mut((start + probe) % ACQ_CAP) else {
                break;
            };
            if !slot.used {
                *slot = Acq {
                    used: true,
                    kind,
                    via,
                    count: 1,
                    what: *what,
                };
                return;
            }
            if slot.kind == kind && slot.via == via && slot.what.as_bytes() == bytes {
                slot.count = slot.count.saturating_add(1);
                return;
            }
        }
        if let Some(other) = self.acq_other.get_mut(usize::from(kind.0)) {
            *other = other.saturating_add(1);
        }
    }

    #[allow(clippy::too_many_arguments)] // one per field of the entry it builds
    fn entry(
        &mut self,
        kind: KindCode,
        via: Via,
        id: u64,
        len: u64,
        only: bool,
        what: &What,
        frames: &Frames,
    ) -> Entry {
        self.acquired(kind, via, what);
        Entry {
            used: true,
            only,
            kind,
            via,
            seq: self.next_seq(),
            id,
            len,
            ident: (0, 0),
            what: *what,
            frames: *frames,
        }
    }

    // ---- descriptors

    #[allow(clippy::too_many_arguments)]
    pub fn fd_open(
        &mut self,
        fd: i32,
        via: Via,
        len: u64,
        only: bool,
        ident: (u64, u64),
        what: &What,
        frames: &Frames,
    ) {
        let id = u64::try_from(fd).unwrap_or(0);
        let mut entry = self.entry(KindCode::FD, via, id, len, only, what, frames);
        entry.ident = ident;
        match usize::try_from(fd)
            .ok()
            .and_then(|i| self.fds.get_mut(i).map(|s| (i, s)))
        {
            Some((i, slot)) => {
                *slot = entry;
                self.fd_high = self.fd_high.max(i + 1);
            }
            None => self.dropped = self.dropped.saturating_add(1),
        }
    }

    pub fn fd(&self, fd: i32) -> Option<&Entry> {
        let slot = self.fds.get(usize::try_from(fd).ok()?)?;
        slot.used.then_some(slot)
    }

    pub fn fd_close(&mut self, fd: i32) -> Option<Entry> {
        let slot = self.fds.get_mut(usize::try_from(fd).ok()?)?;
        if !slot.used {
            return None;
        }
        let old = *slot;
        slot.used = false;
        Some(old)
    }

    pub fn fd_close_range(&mut self, first: u32, last: u32) {
        let first = usize::try_from(first).unwrap_or(usize::MAX);
        let last = usize::try_from(last).unwrap_or(usize::MAX);
        let end = self.fd_high.min(last.saturating_add(1));
        for slot in self.fds.iter_mut().take(end).skip(first) {
            slot.used = false;
        }
    }

    // ---- mappings and locks

    #[allow(clippy::too_many_arguments)]
    pub fn map_add(
        &mut self,
        kind: KindCode,
        via: Via,
        addr: u64,
        len: u64,
        only: bool,
        what: &What,
        frames: &Frames,
    ) {
        let entry = self.entry(kind, via, addr, len, only, what, frames);
        let (table, n): (&mut [Entry], &mut usize) = if kind == KindCode::LOCK {
            (&mut self.locks, &mut self.nlocks)
        } else {
            (&mut self.maps, &mut self.nmaps)
        };
        match table.get_mut(*n) {
            Some(slot) => {
                *slot = entry;
                *n += 1;
            }
            None => self.dropped = self.dropped.saturating_add(1),
        }
    }

    /// The mapping overlapping `[addr, addr+len)`, if any.
    pub fn mapping_over(&self, addr: u64, len: u64) -> Option<&Entry> {
        let end = addr.saturating_add(round_up(len.max(1), self.page));
        self.maps
            .get(..self.nmaps)?
            .iter()
            .find(|m| m.id < end && addr < m.end(self.page))
    }

    /// Removes `[addr, addr+len)` from the mappings (and the locks, which an unmap ends),
    /// splitting entries it cuts through. Returns whether any mapping was touched.
    pub fn unmap(&mut self, addr: u64, len: u64) -> bool {
        let touched = cut(
            &mut self.maps,
            &mut self.nmaps,
            addr,
            len,
            self.page,
            &mut self.dropped,
        );
        cut(
            &mut self.locks,
            &mut self.nlocks,
            addr,
            len,
            self.page,
            &mut self.dropped,
        );
        touched
    }

    pub fn unlock(&mut self, addr: u64, len: u64) {
        cut(
            &mut self.locks,
            &mut self.nlocks,
            addr,
            len,
            self.page,
            &mut self.dropped,
        );
    }

    /// `mremap` moved or resized `[old, old+old_len)` to `[new, new+new_len)`.
    pub fn remap(&mut self, old: u64, old_len: u64, new: u64, new_len: u64, frames: &Frames) {
        let Some(src) = self.mapping_over(old, old_len).copied() else {
            return;
        };
        self.unmap(old, old_len);
        self.map_add(
            KindCode::MAPPING,
            Via::MREMAP,
            new,
            new_len,
            src.only,
            &src.what,
            frames,
        );
    }

    // ---- libraries

    pub fn lib_add(&mut self, handle: u64, only: bool, what: &What, frames: &Frames) {
        let entry = self.entry(
            KindCode::LIBRARY,
            Via::DLOPEN,
            handle,
            0,
            only,
            what,
            frames,
        );
        match self.libs.get_mut(self.nlibs) {
            Some(slot) => {
                *slot = entry;
                self.nlibs += 1;
            }
            None => self.dropped = self.dropped.saturating_add(1),
        }
    }

    pub fn lib(&self, handle: u64) -> Option<&Entry> {
        self.libs
            .get(..self.nlibs)?
            .iter()
            .rev()
            .find(|l| l.id == handle)
    }

    /// Drops the most recent reference to `handle`.
    pub fn lib_close(&mut self, handle: u64) {
        let Some(libs) = self.libs.get_mut(..self.nlibs) else {
            return;
        };
        if let Some(i) = libs.iter().rposition(|l| l.id == handle) {
            libs.copy_within(i + 1.., i);
            self.nlibs -= 1;
        }
    }

    // ---- injections

    pub fn injected(&mut self, op: Op, nth: u64, fault: Fault, frames: &Frames) {
        let op_index = u8::try_from(op.index()).unwrap_or(0);
        let (fault_code, fault_arg) = encode(fault);
        // The first INJ_CAP injections are listed (a plan failing every call makes thousands;
        // the counters count them all). They are not resources, so not `dropped`.
        if let Some(slot) = self.inj.get_mut(self.ninj) {
            *slot = Inj {
                op_index,
                nth,
                fault_code,
                fault_arg,
                frames: *frames,
            };
            self.ninj += 1;
        }
    }

    /// A child right after `fork`: what the parent holds is the parent's to release; the child
    /// starts with an empty ledger of its own (only the used part is cleared, so the child
    /// touches no more pages than the parent did).
    pub fn reset_for_child(&mut self, pid: u32) {
        self.pid = pid;
        let high = self.fd_high;
        for slot in self.fds.iter_mut().take(high) {
            slot.used = false;
        }
        self.nmaps = 0;
        self.nlocks = 0;
        self.nlibs = 0;
        self.ninj = 0;
        for slot in &mut self.acq {
            slot.used = false;
        }
        self.acq_other = [0; 4];
        self.dropped = 0;
    }
}

/// Cuts `[addr, addr+len)` out of a compact table of ranges.
fn cut(
    table: &mut [Entry],
    n: &mut usize,
    addr: u64,
    len: u64,
    page: u64,
    dropped: &mut u64,
) -> bool {
    let end = addr.saturating_add(round_up(len, page));
    let mut touched = false;
    let mut i = 0;
    while i < *n {
        let Some(e) = table.get(i).copied() else {
            break;
        };
        let e_end = e.end(page);
        if e.id >= end || addr >= e_end {
            i += 1;
            continue;
        }
        touched = true;
        let left = (e.id < addr).then(|| (e.id, addr - e.id));
        let right = (end < e_end).then(|| (end, e_end - end));
        match left {
            Some((start, l)) => {
                if let Some(slot) = table.get_mut(i) {
                    slot.id = start;
                    slot.len = l;
                }
                i += 1;
            }
            None => {
                // Swap-remove; the entry moved into `i` is examined next.
                *n -= 1;
                let last = table.get(*n).copied();
                if let (Some(slot), Some(last)) = (table.get_mut(i), last) {
                    *slot = last;
                }
            }
        }
        if let Some((start, l)) = right {
            match table.get_mut(*n) {
                Some(slot) => {
                    *slot = Entry {
                        id: start,
                        len: l,
                        ..e
                    };
                    *n += 1;
                }
                None => *dropped = dropped.saturating_add(1),
            }
        }
    }
    touched
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Box<Ledger> {
        // The tables are megabytes: build on the heap (all-zero is `Ledger::new()`'s value).
        let layout = std::alloc::Layout::new::<Ledger>();
        // SAFETY: the layout is non-zero-sized; every field of `Ledger` is an integer, a bool
        // or an array / struct of those, for all of which all-zero is a valid value (the same
        // value `Ledger::new()` builds).
        let mut l = unsafe { Box::from_raw(std::alloc::alloc_zeroed(layout).cast::<Ledger>()) };
        l.page = 4096;
        l
    }

    fn what(s: &str) -> What {
        What::new(&[s.as_bytes()])
    }

    #[test]
    fn descriptors_open_close_and_count_acquisitions() {
        let mut l = ledger();
        for _ in 0..3 {
            l.fd_open(5, Via::OPEN, 0, true, (1, 2), &what("/m"), &Frames::EMPTY);
            assert!(l.fd(5).is_some());
            assert!(l.fd_close(5).is_some());
        }
        assert!(l.fd_close(5).is_none());
        let acq = l.acq.iter().find(|a| a.used).unwrap();
        assert_eq!((acq.count, acq.what.as_bytes()), (3, &b"/m"[..]));
        l.fd_open(
            70_000,
            Via::OPEN,
            0,
            false,
            (0, 0),
            &what("/big"),
            &Frames::EMPTY,
        );
        assert_eq!(l.dropped, 1);
        l.fd_open(3, Via::DUP, 0, false, (0, 0), &what("/x"), &Frames::EMPTY);
        l.fd_open(9, Via::DUP, 0, false, (0, 0), &what("/y"), &Frames::EMPTY);
        l.fd_close_range(4, u32::MAX);
        assert!(l.fd(3).is_some() && l.fd(9).is_none());
    }

    #[test]
    fn acquisitions_past_the_table_are_counted_as_other() {
        let mut l = ledger();
        for i in 0..2 * ACQ_CAP {
            l.fd_open(
                3,
                Via::OPEN,
                0,
                true,
                (0, 0),
                &what(&format!("/f{i}")),
                &Frames::EMPTY,
            );
        }
        let distinct = l.acq.iter().filter(|a| a.used).count();
        let counted: u64 = l
            .acq
            .iter()
            .filter(|a| a.used)
            .map(|a| a.count)
            .sum::<u64>()
            + l.acq_other[0];
        assert_eq!(counted, 2 * ACQ_CAP as u64);
        assert!(
            distinct > ACQ_CAP / 2 && l.acq_other[0] > 0,
            "{distinct} {}",
            l.acq_other[0]
        );
    }

    #[test]
    fn unmapping_splits_and_ends_locks() {
        let mut l = ledger();
        let p = 4096;
        l.map_add(
            KindCode::MAPPING,
            Via::MMAP,
            10 * p,
            4 * p,
            false,
            &what("/f"),
            &Frames::EMPTY,
        );
        l.map_add(
            KindCode::LOCK,
            Via::MLOCK,
            11 * p,
            p,
            false,
            &what("/f"),
            &Frames::EMPTY,
        );
        assert!(l.unmap(11 * p, p));
        assert_eq!(l.nmaps, 2);
        let mut ranges: Vec<_> = l.maps[..2].iter().map(|m| (m.id / p, m.len / p)).collect();
        ranges.sort();
        assert_eq!(ranges, vec![(10, 1), (12, 2)]);
        assert_eq!(l.nlocks, 0);
        assert!(!l.unmap(100 * p, p));
        l.unmap(0, 1000 * p);
        assert_eq!(l.nmaps, 0);
        // Lengths that are not page multiples still cover their last page.
        l.map_add(
            KindCode::MAPPING,
            Via::MMAP,
            10 * p,
            100,
            false,
            &what("/g"),
            &Frames::EMPTY,
        );
        assert!(l.mapping_over(10 * p + 200, 1).is_some());
        l.unmap(10 * p, 100);
        assert_eq!(l.nmaps, 0);
    }

    #[test]
    fn remap_moves_and_keeps_what() {
        let mut l = ledger();
        let p = 4096;
        l.map_add(
            KindCode::MAPPING,
            Via::MMAP,
            p,
            p,
            true,
            &what("/f"),
            &Frames::EMPTY,
        );
        l.remap(p, p, 50 * p, 3 * p, &Frames::EMPTY);
        assert_eq!(l.nmaps, 1);
        let m = l.maps[0];
        assert_eq!(
            (m.id, m.len, m.only, m.what.as_bytes(), m.via),
            (50 * p, 3 * p, true, &b"/f"[..], Via::MREMAP)
        );
    }

    #[test]
    fn libraries_are_references() {
        let mut l = ledger();
        l.lib_add(0x10, false, &what("libm.so.6"), &Frames::EMPTY);
        l.lib_add(0x10, false, &what("libm.so.6"), &Frames::EMPTY);
        l.lib_close(0x10);
        assert_eq!(l.nlibs, 1);
        l.lib_close(0x99);
        assert_eq!(l.nlibs, 1);
        l.lib_close(0x10);
        assert_eq!(l.nlibs, 0);
    }

    #[test]
    fn a_dma_buf_descriptor_is_a_descriptor_with_a_length() {
        // The DMA heap path (no /dev/dma_heap on the CI machines) books the buffer's fd this way.
        let mut l = ledger();
        l.fd_open(
            8,
            Via::DMA_HEAP,
            1 << 20,
            false,
            (0, 0),
            &what("dma-buf from /dev/dma_heap/system"),
            &Frames::EMPTY,
        );
        let e = l.fd(8).unwrap();
        assert_eq!(
            (e.kind.kind(), e.len, e.via.name()),
            (Kind::Fd, 1 << 20, "dma_heap_alloc")
        );
    }

    #[test]
    fn a_child_starts_empty() {
        let mut l = ledger();
        l.fd_open(4, Via::OPEN, 0, false, (0, 0), &what("/p"), &Frames::EMPTY);
        l.injected(Op::Open, 1, Fault::Interrupted, &Frames::EMPTY);
        l.reset_for_child(77);
        assert!(l.fd(4).is_none());
        assert_eq!(
            (l.pid, l.ninj, l.acq.iter().filter(|a| a.used).count()),
            (77, 0, 0)
        );
    }
}
