//! The preload's process-wide state: its configuration (read once from the environment), the
//! ledger, the call counters, and the decision whether a call gets a fault.

use core::cell::UnsafeCell;
use core::ffi::CStr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, Ordering};

use loadguard_preload_api::{
    COUNTER_SLOTS, COUNTERS_ENV, DEPTH_ENV, Fault, INJECTED_SLOT, ONLY_ENV, Op, PLAN_ENV, Plan,
    REPORT_DIR_ENV, path_matches,
};

use super::backtrace;
use super::guard::SpinLock;
use super::ledger::Ledger;
use super::sys;

/// The ledger. All-zero, so it lives in `.bss` and exists before any initializer has run.
pub static LEDGER: SpinLock<Ledger> = SpinLock::new(Ledger::new());

/// Calls per op made by this process (eligible ones: under `--only`, those on matching paths).
pub static LOCAL_CALLS: [AtomicU64; COUNTER_SLOTS] = [const { AtomicU64::new(0) }; COUNTER_SLOTS];

/// The pid the ledger belongs to: a process that sees another pid is a `vfork` or raw-`clone`
/// child sharing (or holding a stale copy of) the tables, and passes every call through.
pub static OWNER_PID: AtomicU32 = AtomicU32::new(0);

/// Whether this process has written the report of its first injected fault.
pub static FIRST_INJECTION_REPORTED: AtomicBool = AtomicBool::new(false);

/// The counter file shared by the process tree (`LOADGUARD_PRELOAD_COUNTERS`), null if none.
static SHARED: AtomicPtr<AtomicU64> = AtomicPtr::new(core::ptr::null_mut());

const UNINIT: u8 = 0;
const INITIALIZING: u8 = 1;
const READY: u8 = 2;
static STATE: AtomicU8 = AtomicU8::new(UNINIT);

pub const PATH_CAP: usize = 1024;

pub struct Config {
    pub plan: Plan,
    only: [u8; PATH_CAP],
    only_len: usize,
    pub has_only: bool,
    report_dir: [u8; PATH_CAP],
    report_dir_len: usize,
    /// Tells reports of successive images of one pid apart (exec keeps the pid).
    pub image: u64,
}

impl Config {
    const fn new() -> Config {
        Config {
            plan: Plan::new(),
            only: [0; PATH_CAP],
            only_len: 0,
            has_only: false,
            report_dir: [0; PATH_CAP],
            report_dir_len: 0,
            image: 0,
        }
    }

    /// Whether a call on `path` is counted and failed.
    pub fn matches(&self, path: &[u8]) -> bool {
        !self.has_only || path_matches(self.only.get(..self.only_len).unwrap_or_default(), path)
    }

    pub fn report_dir(&self) -> Option<&[u8]> {
        (self.report_dir_len > 0).then(|| {
            self.report_dir
                .get(..self.report_dir_len)
                .unwrap_or_default()
        })
    }
}

struct ConfigCell(UnsafeCell<Config>);

// SAFETY: the config is written only by the one thread that moved STATE from UNINIT to
// INITIALIZING, and read only after STATE is READY (release/acquire), never written again.
unsafe impl Sync for ConfigCell {}

static CONFIG: ConfigCell = ConfigCell(UnsafeCell::new(Config::new()));

/// The configuration, initializing it on first use. `None` while another thread (or an
/// outer frame of this one) is initializing: that call passes through uncounted.
pub fn config() -> Option<&'static Config> {
    match STATE.load(Ordering::Acquire) {
        READY => {}
        UNINIT => init(),
        _ => return None,
    }
    if STATE.load(Ordering::Acquire) != READY {
        return None;
    }
    // SAFETY: READY was published with Release after the last write to CONFIG, and CONFIG is
    // never written again, so shared references are sound from here on.
    Some(unsafe { &*CONFIG.0.get() })
}

/// Whether this process owns the ledger (see `OWNER_PID`).
pub fn own_process() -> bool {
    OWNER_PID.load(Ordering::Relaxed) == sys::getpid()
}

fn env(name: &str) -> Option<&'static [u8]> {
    let mut key = [0u8; 64];
    let mut w = sys::Cursor::new(&mut key);
    w.put(name.as_bytes());
    w.put(b"\0");
    let key = CStr::from_bytes_until_nul(&key).ok()?;
    // SAFETY: `key` is NUL-terminated. getenv returns a pointer into the environment, which
    // the preload only reads during initialization (before the program can change it, or
    // while it does not: a `setenv` racing this is the program's own data race).
    let value = unsafe { libc::getenv(key.as_ptr()) };
    if value.is_null() {
        return None;
    }
    // SAFETY: getenv's result is a NUL-terminated string that stays valid until the
    // environment changes; the bytes are copied out before this initialization ends.
    Some(unsafe { CStr::from_ptr(value) }.to_bytes())
}

fn copy_into(dst: &mut [u8; PATH_CAP], src: &[u8]) -> usize {
    let n = src.len().min(PATH_CAP);
    if let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) {
        d.copy_from_slice(s);
    }
    n
}

fn init() {
    if STATE
        .compare_exchange(UNINIT, INITIALIZING, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        return;
    }
    // SAFETY: this thread won UNINIT -> INITIALIZING, so it is the only writer, and no reader
    // looks before READY.
    let config = unsafe { &mut *CONFIG.0.get() };
    if let Some(text) = env(PLAN_ENV) {
        match core::str::from_utf8(text).map(Plan::parse) {
            Ok(Ok(plan)) => config.plan = plan,
            Ok(Err(err)) => complain(PLAN_ENV, &err),
            Err(_) => complain(PLAN_ENV, &"not UTF-8"),
        }
    }
    if let Some(only) = env(ONLY_ENV) {
        config.only_len = copy_into(&mut config.only, only);
        config.has_only = true;
    }
    if let Some(dir) = env(REPORT_DIR_ENV) {
        config.report_dir_len = copy_into(&mut config.report_dir, dir);
    }
    if let Some(depth) = env(DEPTH_ENV).and_then(|d| core::str::from_utf8(d).ok()?.parse().ok()) {
        backtrace::DEPTH.store(depth, Ordering::Relaxed);
    }
    if let Some(path) = env(COUNTERS_ENV) {
        map_counters(path);
    }
    config.image = sys::now_ns();
    let pid = sys::getpid();
    // SAFETY: sysconf has no memory preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    {
        let mut ledger = LEDGER.lock();
        ledger.pid = pid;
        ledger.page = u64::try_from(page).unwrap_or(4096);
    }
    OWNER_PID.store(pid, Ordering::Relaxed);
    STATE.store(READY, Ordering::Release);
}

fn complain(what: &str, err: &dyn core::fmt::Display) {
    use core::fmt::Write;
    let mut buf = [0u8; 512];
    let mut w = sys::Cursor::new(&mut buf);
    let _ = writeln!(
        FmtCursor(&mut w),
        "loadguard-preload: ignoring {what}: {err}"
    );
    let n = w.len();
    sys::write_all(2, buf.get(..n).unwrap_or_default());
}

struct FmtCursor<'a, 'b>(&'a mut sys::Cursor<'b>);

impl core::fmt::Write for FmtCursor<'_, '_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.put(s.as_bytes());
        Ok(())
    }
}

fn map_counters(path: &[u8]) {
    let mut buf = [0u8; PATH_CAP + 1];
    let n = path.len().min(PATH_CAP);
    if let (Some(d), Some(s)) = (buf.get_mut(..n), path.get(..n)) {
        d.copy_from_slice(s);
    }
    // SAFETY: `buf` is NUL-terminated (zero-filled past `n`).
    let fd = unsafe {
        sys::openat(
            libc::AT_FDCWD,
            buf.as_ptr().cast(),
            libc::O_RDWR | libc::O_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        complain(COUNTERS_ENV, &"cannot open the counter file");
        return;
    }
    let len = COUNTER_SLOTS * 8;
    // SAFETY: a fresh shared mapping of the file the parent created with at least `len`
    // bytes; the kernel picks the address.
    let ptr = unsafe {
        sys::mmap(
            core::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        )
    };
    sys::close(fd);
    if ptr == libc::MAP_FAILED {
        complain(COUNTERS_ENV, &"cannot map the counter file");
        return;
    }
    SHARED.store(ptr.cast(), Ordering::Release);
}

fn shared_slot(i: usize) -> Option<&'static AtomicU64> {
    let base = SHARED.load(Ordering::Acquire);
    if base.is_null() || i >= COUNTER_SLOTS {
        return None;
    }
    // SAFETY: `base` maps COUNTER_SLOTS page-aligned u64 slots for the rest of the process
    // (never unmapped); `i` is in bounds; the slots are only accessed atomically, by every
    // process sharing the file.
    Some(unsafe { &*base.add(i) })
}

/// Counts one call of `op` (if `eligible`) and returns its number and the fault it gets.
pub fn next(config: &Config, op: Op, eligible: bool) -> Option<(u64, Fault)> {
    if !eligible {
        return None;
    }
    let i = op.index();
    let local = LOCAL_CALLS.get(i)?.fetch_add(1, Ordering::Relaxed) + 1;
    let nth = shared_slot(i).map_or(local, |slot| slot.fetch_add(1, Ordering::Relaxed) + 1);
    let fault = config.plan.fault_for(op, nth)?;
    if let Some(slot) = LOCAL_CALLS.get(INJECTED_SLOT) {
        slot.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(slot) = shared_slot(INJECTED_SLOT) {
        slot.fetch_add(1, Ordering::Relaxed);
    }
    Some((nth, fault))
}

/// A forked child: restart the local counts (the shared ones go on counting the tree).
pub fn reset_local_calls() {
    for c in &LOCAL_CALLS {
        c.store(0, Ordering::Relaxed);
    }
    FIRST_INJECTION_REPORTED.store(false, Ordering::Relaxed);
}
