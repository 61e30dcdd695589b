//! The dylib runtime against a fake driver made of Rust functions, so it runs under Miri
//! (`cargo +nightly miri test -p loadguard dylib`), which cannot load real libraries.
//!
//! Some fake functions fail *without writing* their out-parameter: if any code path read that
//! status or handle, Miri would report a read of uninitialised memory and fail the test.

use std::collections::HashMap;
use std::ffi::{CStr, c_void};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

use super::{ApiTable, Lifecycle, Resolver, Symbol, SymbolSource, with_out_param};
use crate::error::{Error, OsError};

/// A symbol table of Rust functions, counting lookups per name.
struct FakeLibrary {
    path: PathBuf,
    symbols: HashMap<&'static CStr, *mut c_void>,
    lookups: std::sync::Mutex<HashMap<String, usize>>,
}

impl FakeLibrary {
    fn new(symbols: &[(&'static CStr, *mut c_void)]) -> Self {
        Self {
            path: PathBuf::from("/fake/libdriver.so"),
            symbols: symbols.iter().copied().collect(),
            lookups: std::sync::Mutex::default(),
        }
    }

    fn lookups(&self) -> HashMap<String, usize> {
        self.lookups.lock().unwrap().clone()
    }
}

impl SymbolSource for FakeLibrary {
    fn path(&self) -> &Path {
        &self.path
    }

    fn lookup(&self, name: &CStr) -> Result<NonNull<c_void>, OsError> {
        *self
            .lookups
            .lock()
            .unwrap()
            .entry(name.to_string_lossy().into_owned())
            .or_default() += 1;
        self.symbols
            .get(name)
            .and_then(|&p| NonNull::new(p))
            .ok_or_else(|| {
                OsError::from_io(&std::io::Error::other(format!(
                    "{}: undefined symbol: {}",
                    self.path.display(),
                    name.to_string_lossy()
                )))
            })
    }
}

const OK: i32 = 0;
const FAIL: i32 = -7;

/// The fake driver's state. One per test function (each test uses its own statics through
/// a distinct `Driver` generic would be heavier; tests that share these run serially below).
static INIT_CALLS: AtomicUsize = AtomicUsize::new(0);
static DEINIT_CALLS: AtomicUsize = AtomicUsize::new(0);
static FAIL_INITS: AtomicUsize = AtomicUsize::new(0);
static NEXT_HANDLE: AtomicI32 = AtomicI32::new(100);

/// `int init(int *status)`: writes `*status` only on success.
unsafe extern "C" fn fake_init(status: *mut i32) -> i32 {
    INIT_CALLS.fetch_add(1, Ordering::SeqCst);
    if FAIL_INITS.load(Ordering::SeqCst) > 0 {
        FAIL_INITS.fetch_sub(1, Ordering::SeqCst);
        return FAIL; // out-parameter left unwritten, as real drivers do
    }
    // SAFETY: the caller passes storage for one i32.
    unsafe { status.write(42) };
    OK
}

unsafe extern "C" fn fake_deinit() {
    DEINIT_CALLS.fetch_add(1, Ordering::SeqCst);
}

/// `int create(int size, int *handle)`: fails for a negative size without writing `*handle`.
unsafe extern "C" fn fake_create(size: i32, handle: *mut i32) -> i32 {
    if size < 0 {
        return FAIL;
    }
    // SAFETY: the caller passes storage for one i32.
    unsafe { handle.write(NEXT_HANDLE.fetch_add(1, Ordering::SeqCst)) };
    OK
}

unsafe extern "C" fn fake_trace(_level: u32) {}

#[derive(Clone, Copy, crate::ApiTable)]
struct Driver {
    #[api(symbol = "drv_init")]
    init: unsafe extern "C" fn(status: *mut i32) -> i32,
    #[api(symbol = "drv_deinit")]
    deinit: unsafe extern "C" fn(),
    drv_create: unsafe extern "C" fn(size: i32, handle: *mut i32) -> i32,
    #[api(optional)]
    drv_trace: Option<unsafe extern "C" fn(level: u32)>,
    #[api(optional, symbol = "drv_not_exported")]
    missing: Option<unsafe extern "C" fn()>,
}

#[derive(crate::ApiTable)]
struct NeedsMissing {
    #[api(symbol = "drv_init")]
    _init: unsafe extern "C" fn(status: *mut i32) -> i32,
    #[api(symbol = "drv_gone")]
    _gone: unsafe extern "C" fn(),
}

fn fake_library() -> FakeLibrary {
    let init: unsafe extern "C" fn(*mut i32) -> i32 = fake_init;
    let deinit: unsafe extern "C" fn() = fake_deinit;
    let create: unsafe extern "C" fn(i32, *mut i32) -> i32 = fake_create;
    let trace: unsafe extern "C" fn(u32) = fake_trace;
    FakeLibrary::new(&[
        (c"drv_init", init as *mut c_void),
        (c"drv_deinit", deinit as *mut c_void),
        (c"drv_create", create as *mut c_void),
        (c"drv_trace", trace as *mut c_void),
    ])
}

#[track_caller]
fn load<T: ApiTable>(library: &FakeLibrary) -> crate::Result<T> {
    // SAFETY: every symbol of `fake_library` is registered with its field's exact signature.
    unsafe { T::load(&mut Resolver::new(library)) }
}

#[test]
fn dylib_derive_lists_symbols_in_field_order() {
    let names: Vec<(&CStr, bool)> = Driver::SYMBOLS
        .iter()
        .map(|s| (s.name(), s.is_optional()))
        .collect();
    assert_eq!(
        names,
        [
            (c"drv_init", false),
            (c"drv_deinit", false),
            (c"drv_create", false),
            (c"drv_trace", true),
            (c"drv_not_exported", true),
        ]
    );
    assert_eq!(Symbol::required(b"x\0").to_string(), "x");
}

#[test]
fn dylib_each_symbol_is_looked_up_exactly_once() {
    let library = fake_library();
    let driver: Driver = load(&library).unwrap();
    let lookups = library.lookups();
    assert_eq!(lookups.len(), Driver::SYMBOLS.len(), "{lookups:?}");
    assert!(lookups.values().all(|&n| n == 1), "{lookups:?}");
    assert!(driver.drv_trace.is_some());
    assert!(
        driver.missing.is_none(),
        "an optional symbol the library lacks is None"
    );
}

#[test]
fn dylib_missing_required_symbol_names_symbol_library_and_text() {
    let library = fake_library();
    let line = line!() + 1;
    let Err(err) = load::<NeedsMissing>(&library) else {
        panic!("drv_gone is not exported")
    };
    let failure = err.os_failure().expect("an OS failure");
    assert_eq!(
        failure.op,
        if cfg!(windows) {
            "GetProcAddress"
        } else {
            "dlsym"
        }
    );
    assert_eq!(failure.path, Path::new("/fake/libdriver.so"));
    assert_eq!(failure.args, [("symbol", "drv_gone".to_owned())]);
    assert_eq!(
        failure.location.map(|l| l.line()),
        Some(line),
        "located where the load was asked for"
    );
    let shown = err.to_string();
    assert!(
        shown.starts_with(
            "dlsym /fake/libdriver.so (symbol=drv_gone): /fake/libdriver.so: undefined symbol: \
             drv_gone at loader/src/dylib/tests.rs:"
        ) || cfg!(windows),
        "{shown}"
    );
}

/// The status-out-parameter pattern: read only after the call reported success.
fn create(driver: &Driver, size: i32) -> Result<i32, i32> {
    // SAFETY: `drv_create` writes the handle whenever it returns OK.
    unsafe {
        with_out_param(
            |handle| (driver.drv_create)(size, handle),
            |&status| status == OK,
        )
    }
}

#[test]
fn dylib_failed_calls_leave_out_params_unread() {
    let library = fake_library();
    let driver: Driver = load(&library).unwrap();
    // Fails without writing: Miri would flag any read of the uninitialised handle.
    assert_eq!(create(&driver, -1), Err(FAIL));
    let first = create(&driver, 16).unwrap();
    let second = create(&driver, 16).unwrap();
    assert_eq!(second, first + 1);
}

/// Serialises the tests that count the fake driver's init and deinit calls.
static DRIVER_STATE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn lifecycle(driver: Driver) -> Lifecycle<i32> {
    Lifecycle::new(
        move || {
            // SAFETY: `drv_init` writes its status whenever it returns OK.
            let status = unsafe { with_out_param(|s| (driver.init)(s), |&rc| rc == OK) }?;
            assert_eq!(status, 42, "status read only after success");
            Ok(())
        },
        // SAFETY: deinit runs only after a successful init (Lifecycle's guarantee).
        move || unsafe { (driver.deinit)() },
    )
}

fn counts() -> (usize, usize) {
    (
        INIT_CALLS.load(Ordering::SeqCst),
        DEINIT_CALLS.load(Ordering::SeqCst),
    )
}

#[test]
fn dylib_lifecycle_failed_init_reports_status_and_stays_uninitialised() {
    let _serial = DRIVER_STATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let driver: Driver = load(&fake_library()).unwrap();
    let lifecycle = lifecycle(driver);
    let (init0, deinit0) = counts();

    FAIL_INITS.store(1, Ordering::SeqCst);
    assert_eq!(lifecycle.acquire().unwrap_err(), FAIL);
    assert_eq!(lifecycle.sessions(), 0);
    assert_eq!(
        counts(),
        (init0 + 1, deinit0),
        "no deinit after a failed init"
    );

    let a = lifecycle.acquire().unwrap();
    let b = lifecycle.acquire().unwrap();
    assert_eq!(
        counts(),
        (init0 + 2, deinit0),
        "second acquire shares the first init"
    );
    drop(a);
    assert_eq!(
        counts(),
        (init0 + 2, deinit0),
        "deinit waits for the last session"
    );
    drop(b);
    assert_eq!(counts(), (init0 + 2, deinit0 + 1));
    assert_eq!(lifecycle.sessions(), 0);

    // Owned guards (for session objects) count the same way and keep the lifecycle alive.
    let shared = std::sync::Arc::new(lifecycle);
    let owned = Lifecycle::acquire_owned(&shared).unwrap();
    let borrowed = shared.acquire().unwrap();
    assert_eq!(counts(), (init0 + 3, deinit0 + 1));
    drop(borrowed);
    drop(shared);
    assert_eq!(
        counts(),
        (init0 + 3, deinit0 + 1),
        "the owned guard keeps it initialised"
    );
    drop(owned);
    assert_eq!(counts(), (init0 + 3, deinit0 + 2));
}

#[test]
fn dylib_lifecycle_threads_share_one_init() {
    let _serial = DRIVER_STATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let driver: Driver = load(&fake_library()).unwrap();
    let lifecycle = lifecycle(driver);
    let (init0, deinit0) = counts();
    let rounds = if cfg!(miri) { 5 } else { 500 };
    {
        let outer = lifecycle.acquire().unwrap();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..rounds {
                        let _session = lifecycle.acquire().unwrap();
                    }
                });
            }
        });
        drop(outer);
    }
    assert_eq!(
        counts(),
        (init0 + 1, deinit0 + 1),
        "exactly one init and one deinit"
    );
}

#[cfg(unix)]
unsafe extern "C" {
    /// libc's `close`: `close(-1)` fails with EBADF and sets errno, a real failing OS call.
    fn close(fd: i32) -> i32;
}

/// A real OS call that fails, and the code it leaves in errno / `GetLastError`.
#[cfg(unix)]
const BAD_CLOSE_CODE: i32 = 9; // EBADF
#[cfg(windows)]
const BAD_CLOSE_CODE: i32 = 6; // ERROR_INVALID_HANDLE

#[test]
fn dylib_os_call_captures_errno_op_args_and_call_site() {
    fn failing() -> (u32, crate::Result<i32>) {
        #[cfg(unix)]
        let line = line!() + 2;
        #[cfg(unix)]
        let rc = crate::os_call!(
            op: "close",
            path: "/m/a.bin",
            args: { fd: -1, attempt: 1 },
            fail_if: == -1,
            // SAFETY: closing an invalid descriptor only fails.
            call: unsafe { close(-1) },
        );
        #[cfg(windows)]
        let line = line!() + 2;
        #[cfg(windows)]
        let rc = crate::os_call!(
            op: "close",
            path: "/m/a.bin",
            args: { fd: -1, attempt: 1 },
            fail_if: == 0,
            // SAFETY: closing a null handle only fails.
            call: unsafe { windows_sys::Win32::Foundation::CloseHandle(std::ptr::null_mut()) },
        );
        (line, rc)
    }
    let (line, rc) = failing();
    let err: Error = rc.unwrap_err();
    let failure = err.os_failure().unwrap();
    assert_eq!(failure.op, "close");
    assert_eq!(failure.os.code(), Some(BAD_CLOSE_CODE));
    // Built inside loadguard's own sources, outside any user operation: no location is shown
    // (a user's own os_call! is located at its line: loader/tests/registry_fs.rs).
    let _ = line;
    assert_eq!(failure.location, None);
    assert_eq!(
        err.to_string(),
        format!(
            "close /m/a.bin (fd=-1, attempt=1): {}",
            OsError::from_code(BAD_CLOSE_CODE)
        )
    );
}

#[test]
fn dylib_os_call_success_and_returned_codes() {
    let ok: crate::Result<i32> =
        crate::os_call!(op: "fsync", path: "/m", fail_if: != 0, code: returned, call: 0);
    assert_eq!(ok.unwrap(), 0);
    let err =
        crate::os_call!(op: "posix_fadvise", path: "/m", fail_if: != 0, code: returned, call: 22)
            .unwrap_err();
    assert_eq!(err.os_code(), Some(22));
    let null: crate::Result<*const u8> = crate::os_call!(
        op: "mmap", path: "/m", args: { len: 1 }, fail_if: is_null, call: std::ptr::null::<u8>(),
    );
    assert!(null.is_err());
    let closure: crate::Result<i64> =
        crate::os_call!(op: "lseek", path: "/m", fail_if: |r| *r < 0, call: 7_i64);
    assert_eq!(closure.unwrap(), 7);
    let io: crate::Result<u8> = crate::os_call!(
        op: "read", path: "/m", fail_if: is_err,
        call: Err::<u8, _>(std::io::Error::from_raw_os_error(4)),
    );
    assert_eq!(io.unwrap_err().os_code(), Some(4));
    let ok: crate::Result<u8> =
        crate::os_call!(op: "read", path: "/m", fail_if: is_err, call: Ok::<u8, std::io::Error>(3));
    assert_eq!(ok.unwrap(), 3);
}
