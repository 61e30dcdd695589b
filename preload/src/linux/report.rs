//! Writes the ledger as a report (format: `loadguard_preload_api::Report`) without allocating:
//! into a caller's buffer, or through a small stack buffer into a file.

use core::sync::atomic::{AtomicU64, Ordering};

use libc::{c_int, c_void};
use loadguard_preload_api::{Event, Fault, Kind, MAGIC, Op, escape_into};

use super::guard::{SpinGuard, SpinLock};
use super::ledger::{Entry, Ledger};
use super::state::{self, Config, LOCAL_CALLS};
use super::sys::{self, Cursor};

pub trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

/// Fills a caller's buffer; counts the full length even past its end.
pub struct BufSink<'a> {
    pub buf: &'a mut [u8],
    pub total: usize,
}

impl Sink for BufSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if let Some(slot) = self.buf.get_mut(self.total) {
                *slot = b;
            }
            self.total += 1;
        }
    }
}

/// Buffers 1 KiB on the stack, then writes to `fd`.
pub struct FdSink {
    fd: c_int,
    buf: [u8; 1024],
    len: usize,
}

impl FdSink {
    pub fn new(fd: c_int) -> FdSink {
        FdSink {
            fd,
            buf: [0; 1024],
            len: 0,
        }
    }

    pub fn flush(&mut self) {
        sys::write_all(self.fd, self.buf.get(..self.len).unwrap_or_default());
        self.len = 0;
    }
}

impl Sink for FdSink {
    fn put(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.len == self.buf.len() {
                self.flush();
            }
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
    }
}

fn dec(sink: &mut impl Sink, n: u64) {
    let mut buf = [0u8; 20];
    let mut c = Cursor::new(&mut buf);
    c.put_dec(n);
    let len = c.len();
    sink.put(buf.get(..len).unwrap_or_default());
}

fn hex(sink: &mut impl Sink, n: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 16];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = DIGITS[usize::try_from(n & 15).unwrap_or(0)];
        }
        n >>= 4;
        if n == 0 || i == 0 {
            break;
        }
    }
    sink.put(buf.get(i..).unwrap_or_default());
}

fn text(sink: &mut impl Sink, bytes: &[u8]) {
    escape_into(bytes, &mut |part| sink.put(part));
}

// ---- loaded modules, for frames

const MODULE_CAP: usize = 512;

#[derive(Clone, Copy)]
struct Module {
    bias: u64,
    lo: u64,
    hi: u64,
    name: *const libc::c_char,
}

struct Modules {
    list: [Module; MODULE_CAP],
    len: usize,
}

impl Modules {
    fn find(&self, addr: u64) -> Option<(usize, &Module)> {
        self.list
            .get(..self.len)?
            .iter()
            .enumerate()
            .find(|(_, m)| m.lo <= addr && addr < m.hi)
    }
}

unsafe extern "C" fn on_module(
    info: *mut libc::dl_phdr_info,
    _size: usize,
    data: *mut c_void,
) -> c_int {
    // SAFETY: `data` is the `&mut Modules` passed to dl_iterate_phdr below, used by nothing
    // else during the iteration.
    let modules = unsafe { &mut *data.cast::<Modules>() };
    // SAFETY: dl_iterate_phdr passes a valid `dl_phdr_info` for the duration of the callback.
    let info = unsafe { &*info };
    let phdrs: &[libc::Elf64_Phdr] = if info.dlpi_phdr.is_null() {
        &[]
    } else {
        // SAFETY: `dlpi_phdr` points at `dlpi_phnum` program headers of a loaded module.
        unsafe { core::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) }
    };
    let (mut lo, mut hi) = (u64::MAX, 0u64);
    for ph in phdrs.iter().filter(|ph| ph.p_type == libc::PT_LOAD) {
        lo = lo.min(ph.p_vaddr);
        hi = hi.max(ph.p_vaddr.saturating_add(ph.p_memsz));
    }
    if lo < hi
        && let Some(slot) = modules.list.get_mut(modules.len)
    {
        *slot = Module {
            bias: info.dlpi_addr,
            lo: info.dlpi_addr.wrapping_add(lo),
            hi: info.dlpi_addr.wrapping_add(hi),
            name: info.dlpi_name,
        };
        modules.len += 1;
    }
    0
}

// SAFETY: the raw `name` pointers are the loader's module names, only read while the module
// list is locked and its modules are loaded; nothing else in `Modules` is thread-bound.
unsafe impl Send for Modules {}

/// The module list, in a static rather than on the stack (it is 16 KiB, and a report can be
/// written from an injection inside a signal handler running on a small alternate stack).
static MODULES: SpinLock<Modules> = SpinLock::new(Modules {
    list: [Module {
        bias: 0,
        lo: 0,
        hi: 0,
        name: core::ptr::null(),
    }; MODULE_CAP],
    len: 0,
});

/// The loaded modules, listed now.
fn modules() -> SpinGuard<'static, Modules> {
    let mut modules = MODULES.lock();
    modules.len = 0;
    // SAFETY: `on_module` matches the callback type and only writes into `modules`, which
    // outlives the call. dl_iterate_phdr takes the loader's (recursive) lock, never malloc.
    unsafe { libc::dl_iterate_phdr(Some(on_module), (&raw mut *modules).cast::<c_void>()) };
    modules
}

/// The address range of the module containing `addr`.
pub fn module_range(addr: usize) -> Option<(usize, usize)> {
    let modules = modules();
    let (_, m) = modules.find(u64::try_from(addr).ok()?)?;
    Some((usize::try_from(m.lo).ok()?, usize::try_from(m.hi).ok()?))
}

fn module_name(m: &Module, exe: &mut [u8; 1024]) -> usize {
    let name: &[u8] = if m.name.is_null() {
        &[]
    } else {
        // SAFETY: the loader's module names are NUL-terminated and live while the module is
        // loaded, which it is during this report.
        unsafe { core::ffi::CStr::from_ptr(m.name) }.to_bytes()
    };
    if name.is_empty() {
        // The main program's name is "" in the loader's list.
        return sys::readlink(b"/proc/self/exe\0", exe);
    }
    let n = name.len().min(exe.len());
    if let (Some(d), Some(s)) = (exe.get_mut(..n), name.get(..n)) {
        d.copy_from_slice(s);
    }
    n
}

fn frames(sink: &mut impl Sink, modules: &Modules, addrs: &[usize]) {
    if addrs.is_empty() {
        sink.put(b"-");
        return;
    }
    for (i, &addr) in addrs.iter().enumerate() {
        if i > 0 {
            sink.put(b",");
        }
        let addr = u64::try_from(addr).unwrap_or(0);
        match modules.find(addr) {
            Some((index, m)) => {
                hex(sink, u64::try_from(index).unwrap_or(0));
                sink.put(b".");
                hex(sink, addr.wrapping_sub(m.bias));
            }
            None => {
                sink.put(b"?.");
                hex(sink, addr);
            }
        }
    }
}

fn fault_text(sink: &mut impl Sink, fault: Fault) {
    let mut buf = [0u8; 32];
    let mut w = Cursor::new(&mut buf);
    match fault {
        Fault::Errno(n) => {
            w.put(b"errno:");
            w.put_dec(u64::try_from(n).unwrap_or(0));
        }
        Fault::ShortRead(Some(n)) => {
            w.put(b"short:");
            w.put_dec(u64::from(n));
        }
        Fault::ShortRead(None) => w.put(b"short"),
        _ => w.put(b"eintr"),
    }
    let n = w.len();
    sink.put(buf.get(..n).unwrap_or_default());
}

/// Whether a descriptor entry still names the descriptor it was acquired as (it may have
/// been closed, or closed and reused, by calls the preload does not see).
fn still_open(e: &Entry) -> Option<bool> {
    let fd = c_int::try_from(e.id).ok()?;
    let cloexec = sys::cloexec(fd)?;
    if e.ident != (0, 0) && sys::identity(fd) != Some(e.ident) {
        return None;
    }
    Some(cloexec)
}

fn live(sink: &mut impl Sink, modules: &Modules, e: &Entry, cloexec: bool) {
    sink.put(b"live ");
    dec(sink, e.seq);
    sink.put(b" ");
    sink.put(e.kind.kind().name().as_bytes());
    sink.put(b" ");
    sink.put(e.via.name().as_bytes());
    sink.put(b" 0x");
    hex(sink, e.id);
    sink.put(b" ");
    dec(sink, e.len);
    sink.put(if cloexec { b" 1" } else { b" 0" });
    sink.put(if e.only { b" 1 " } else { b" 0 " });
    text(sink, e.what.as_bytes());
    sink.put(b" ");
    frames(sink, modules, e.frames.as_slice());
    sink.put(b"\n");
}

/// Writes the whole report. `ledger` is `None` when its lock could not be had (a thread
/// frozen mid-update at exit): then only the header and counts are written.
pub fn write(sink: &mut impl Sink, ledger: Option<&Ledger>, event: Event) {
    sink.put(MAGIC.as_bytes());
    sink.put(b"\npid ");
    dec(sink, u64::from(sys::getpid()));
    sink.put(b" ");
    dec(sink, u64::from(sys::getppid()));
    sink.put(match event {
        Event::Exec => b"\nevent exec\nexe ",
        Event::Request => b"\nevent request\nexe ",
        _ => b"\nevent exit\nexe ",
    });
    let mut exe = [0u8; 1024];
    let n = sys::readlink(b"/proc/self/exe\0", &mut exe);
    text(sink, exe.get(..n).unwrap_or_default());
    sink.put(b"\ncalls");
    for op in Op::ALL {
        let n = LOCAL_CALLS
            .get(op.index())
            .map_or(0, |c| c.load(Ordering::Relaxed));
        if n > 0 {
            sink.put(b" ");
            sink.put(op.name().as_bytes());
            sink.put(b"=");
            dec(sink, n);
        }
    }
    sink.put(b"\n");
    let Some(l) = ledger else {
        sink.put(b"busy 1\nend\n");
        return;
    };
    sink.put(b"dropped ");
    dec(sink, l.dropped);
    sink.put(b"\nseq ");
    dec(sink, l.seq);
    sink.put(b"\n");
    let modules = modules();
    for (i, m) in modules.list.iter().take(modules.len).enumerate() {
        let mut name = [0u8; 1024];
        let n = module_name(m, &mut name);
        sink.put(b"module ");
        dec(sink, u64::try_from(i).unwrap_or(0));
        sink.put(b" 0x");
        hex(sink, m.bias);
        sink.put(b" ");
        text(sink, name.get(..n).unwrap_or_default());
        sink.put(b"\n");
    }
    for inj in l.inj.iter().take(l.ninj) {
        sink.put(b"injected ");
        let op = Op::ALL
            .get(usize::from(inj.op_index))
            .copied()
            .unwrap_or(Op::Open);
        sink.put(op.name().as_bytes());
        sink.put(b" ");
        dec(sink, inj.nth);
        sink.put(b" ");
        fault_text(sink, inj.fault());
        sink.put(b" ");
        frames(sink, &modules, inj.frames.as_slice());
        sink.put(b"\n");
    }
    for a in l.acq.iter().filter(|a| a.used) {
        sink.put(b"acquired ");
        sink.put(a.kind.kind().name().as_bytes());
        sink.put(b" ");
        sink.put(a.via.name().as_bytes());
        sink.put(b" ");
        dec(sink, a.count);
        sink.put(b" ");
        text(sink, a.what.as_bytes());
        sink.put(b"\n");
    }
    for (kind, &n) in Kind::ALL
        .iter()
        .zip(l.acq_other.iter())
        .filter(|(_, n)| **n > 0)
    {
        sink.put(b"acquired ");
        sink.put(kind.name().as_bytes());
        sink.put(b" - ");
        dec(sink, n);
        sink.put(b" (other)\n");
    }
    for e in l.fds.iter().take(l.fd_high).filter(|e| e.used) {
        match still_open(e) {
            Some(cloexec) if event != Event::Exec || !cloexec => live(sink, &modules, e, cloexec),
            _ => {}
        }
    }
    if event != Event::Exec {
        // exec ends every mapping, lock and library: only descriptors outlive it.
        for e in l
            .maps
            .iter()
            .take(l.nmaps)
            .chain(l.locks.iter().take(l.nlocks))
            .chain(l.libs.iter().take(l.nlibs))
        {
            live(sink, &modules, e, false);
        }
    }
    sink.put(b"end\n");
}

static REPORTS: AtomicU64 = AtomicU64::new(0);

/// Writes a report file into the report directory, if one is configured.
pub fn write_file(config: &Config, event: Event) {
    let Some(dir) = config.report_dir() else {
        return;
    };
    let mut path = [0u8; state::PATH_CAP + 80];
    let mut w = Cursor::new(&mut path);
    w.put(dir);
    w.put(b"/");
    w.put_dec(u64::from(sys::getpid()));
    w.put(b"-");
    w.put_dec(config.image);
    w.put(b"-");
    w.put_dec(REPORTS.fetch_add(1, Ordering::Relaxed));
    w.put(b".lgr\0");
    // SAFETY: `path` is NUL-terminated (the cursor wrote the NUL, or the zeroed tail is one).
    let fd = unsafe {
        sys::openat(
            libc::AT_FDCWD,
            path.as_ptr().cast(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
            0o600,
        )
    };
    if fd < 0 {
        return;
    }
    let mut sink = FdSink::new(fd);
    // At exit a thread may be frozen inside a table update forever: wait a little, then
    // report without the tables rather than hang the exit.
    match state::LEDGER.try_lock_for(10_000) {
        Some(ledger) => write(&mut sink, Some(&ledger), event),
        None => write(&mut sink, None, event),
    }
    sink.flush();
    sys::close(fd);
}
