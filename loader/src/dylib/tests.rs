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

use super::{
    Api, ApiTable, Library, Lifecycle, Linker, Resolver, Symbol, SymbolSource, with_out_param,
};
use crate::error::{Error, OsError};
use crate::testing::{Fault, FaultOp, FaultPlan, FaultyLinker, Ledger, ResourceKind};

/// The address of a Rust function standing in for an export.
#[derive(Clone, Copy)]
struct Export(NonNull<c_void>);

// SAFETY: an `Export` is the address of a function item (code, never data): nothing is
// reachable through it that could be raced, from any thread.
unsafe impl Send for Export {}
// SAFETY: as above.
unsafe impl Sync for Export {}

/// A symbol table of Rust functions, counting lookups per name.
struct FakeLibrary {
    path: PathBuf,
    symbols: HashMap<&'static CStr, Option<Export>>,
    lookups: std::sync::Mutex<HashMap<String, usize>>,
}

impl FakeLibrary {
    fn new(symbols: &[(&'static CStr, *mut c_void)]) -> Self {
        Self {
            path: PathBuf::from("/fake/libdriver.so"),
            symbols: symbols
                .iter()
                .map(|&(name, address)| (name, NonNull::new(address).map(Export)))
                .collect(),
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

    fn lookup(&self, name: &CStr) -> Result<Option<NonNull<c_void>>, OsError> {
        *self
            .lookups
            .lock()
            .unwrap()
            .entry(name.to_string_lossy().into_owned())
            .or_default() += 1;
        self.symbols
            .get(name)
            .map(|export| export.map(|e| e.0))
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

#[derive(Clone, Copy, ApiTable)]
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

#[derive(ApiTable)]
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
        // Exported at null, as an undefined weak symbol is.
        (c"drv_weak", std::ptr::null_mut()),
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
    let line = line!() + 1;
    let Err(err) = open_api::<NeedsMissing>(&FakeLinker, "/fake/libdriver.so") else {
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
        at(failure.location),
        Some((file!(), line)),
        "located where the load was asked for"
    );
    let shown = err.chain().to_string();
    assert!(
        shown.starts_with(
            "dlsym /fake/libdriver.so (symbol=drv_gone) failed at loader/src/dylib/tests.rs:"
        ) && shown.ends_with(": /fake/libdriver.so: undefined symbol: drv_gone")
            || cfg!(windows),
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
    let owned = shared.acquire_owned().unwrap();
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

#[derive(ApiTable)]
struct NeedsWeak {
    #[api(symbol = "drv_weak")]
    _weak: unsafe extern "C" fn(),
}

#[derive(ApiTable)]
struct MaybeWeak {
    #[api(optional)]
    drv_weak: Option<unsafe extern "C" fn()>,
}

#[test]
fn dylib_null_symbol_is_a_typed_error_when_required_and_none_when_optional() {
    let library = fake_library();
    let line = line!() + 1;
    let Err(err) = open_api::<NeedsWeak>(&FakeLinker, "/fake/libdriver.so") else {
        panic!("drv_weak is exported at null")
    };
    let Error::NullSymbol {
        library: path,
        symbol,
        location,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(path, Path::new("/fake/libdriver.so"));
    assert_eq!(symbol, "drv_weak");
    assert_eq!(at(*location), Some((file!(), line)));
    assert_eq!(err.path(), Some(Path::new("/fake/libdriver.so")));
    assert!(
        err.to_string()
            .starts_with("/fake/libdriver.so: symbol drv_weak resolves to a null address at "),
        "{err}"
    );
    let maybe: MaybeWeak = load(&library).unwrap();
    assert!(maybe.drv_weak.is_none());
}

/// A linker whose every library is `fake_library()` under the path asked for, or nothing
/// for a path under `/missing/`.
struct FakeLinker;

impl Linker for FakeLinker {
    unsafe fn open(&self, path: &Path) -> crate::Result<Box<dyn SymbolSource>> {
        if path.starts_with("/missing") {
            return Err(Error::from_io(
                "dlopen",
                path,
                &std::io::Error::from_raw_os_error(2),
            ));
        }
        let mut library = fake_library();
        library.path = path.to_path_buf();
        Ok(Box::new(library))
    }
}

/// A location as (file, line), for comparing with `file!()` and `line!()`.
fn at(location: Option<&'static std::panic::Location<'static>>) -> Option<(&'static str, u32)> {
    location.map(|l| (l.file(), l.line()))
}

#[track_caller]
fn open_api<T: ApiTable>(linker: &dyn Linker, path: &str) -> crate::Result<Api<T>> {
    // SAFETY: the fake linker runs no initialisers, and every symbol of `fake_library` is
    // registered with its field's exact signature.
    unsafe { Api::open_with(linker, path) }
}

#[test]
fn dylib_api_over_a_stand_in_linker_is_ledgered_until_dropped() {
    let ledger = Ledger::new();
    let linker = ledger.track_linker(FakeLinker);
    let line = line!() + 1;
    let api: Api<Driver> = open_api(&linker, "/vendor/libdriver.so").unwrap();
    assert_eq!(api.path(), Path::new("/vendor/libdriver.so"));
    assert_eq!(api.library().path(), api.path());
    let held = ledger.outstanding();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].kind, ResourceKind::Library);
    assert_eq!(held[0].label, "/vendor/libdriver.so");
    assert_eq!(
        (held[0].site.file(), held[0].site.line()),
        (file!(), line),
        "the user's call of Api::open_with"
    );
    assert!(format!("{api:?}").contains("Driver"));
    drop(api);
    ledger.assert_balanced();
    assert_eq!(ledger.acquired(ResourceKind::Library), 1);
}

#[test]
fn dylib_every_injected_open_and_lookup_failure_releases_the_library() {
    let symbols = Driver::SYMBOLS.len();
    // The open, then each lookup in turn; the last round injects nothing.
    let faults = std::iter::once((FaultOp::Dlopen, 1))
        .chain((1..=symbols).map(|n| (FaultOp::Dlsym, n)))
        .chain(std::iter::once((FaultOp::Dlsym, symbols + 1)));
    for (op, n) in faults {
        let ledger = Ledger::new();
        let plan = FaultPlan::new().nth(op, n, Fault::Errno(5));
        let linker = FaultyLinker::new(ledger.track_linker(FakeLinker), plan.clone());
        let line = line!() + 1;
        match open_api::<Driver>(&linker, "/vendor/libdriver.so") {
            Ok(api) => {
                // Either nothing was injected, or the failed lookup was an optional symbol's,
                // which leaves its field `None` instead of failing the load.
                let hit = Driver::SYMBOLS.get(n - 1).filter(|_| op == FaultOp::Dlsym);
                assert!(
                    plan.injected() == 0 || hit.is_some_and(Symbol::is_optional),
                    "{op:?} {n}"
                );
                if hit.map(Symbol::name) == Some(c"drv_trace") {
                    assert!(api.drv_trace.is_none(), "drv_trace's lookup failed");
                }
                assert_eq!(ledger.live(ResourceKind::Library), 1);
                drop(api);
            }
            Err(err) => {
                assert_eq!(plan.injected(), 1, "{op:?} {n}: {err}");
                assert_eq!(err.os_code(), Some(5), "{err}");
                let failure = err.os_failure().unwrap();
                let expected_op = match op {
                    // The harness names an injected open as the real linker would.
                    FaultOp::Dlopen if cfg!(windows) => "LoadLibraryExW",
                    FaultOp::Dlopen => "dlopen",
                    _ if cfg!(windows) => "GetProcAddress",
                    _ => "dlsym",
                };
                assert_eq!(failure.op, expected_op);
                assert_eq!(at(failure.location), Some((file!(), line)), "{err}");
            }
        }
        ledger.assert_balanced();
    }
}

#[test]
fn dylib_open_failure_is_located_at_the_caller_and_acquires_nothing() {
    let ledger = Ledger::new();
    let linker = ledger.track_linker(FakeLinker);
    let line = line!() + 2;
    // SAFETY: the fake linker runs nothing.
    let err = unsafe { Library::open_with(&linker, "/missing/libdriver.so") }.unwrap_err();
    let failure = err.os_failure().unwrap();
    assert_eq!((failure.op, failure.os.code()), ("dlopen", Some(2)));
    assert_eq!(at(failure.location), Some((file!(), line)));
    assert_eq!(ledger.acquired(ResourceKind::Library), 0);
}
