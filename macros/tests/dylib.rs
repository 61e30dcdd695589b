//! `Api<T>`, `#[derive(ApiTable)]` and `Lifecycle` against a real shared library: the cdylib in
//! `tests/fake-driver/`, built here with cargo on first use. Each test loads its own copy of
//! the library file, so each has its own instance and counters.

#![cfg(not(miri))] // Miri cannot dlopen; loader/src/dylib/tests.rs covers the runtime under Miri.

use std::collections::HashMap;
use std::ffi::{CStr, c_void};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, OnceLock};

use loadguard::dylib::{Api, ApiTable, Library, Lifecycle, Resolver, SymbolSource};
use loadguard::{Error, OsError};

#[derive(ApiTable)]
struct FakeDriver {
    #[api(symbol = "fd_init")]
    init: unsafe extern "C" fn(status: *mut i32) -> i32,
    #[api(symbol = "fd_deinit")]
    deinit: unsafe extern "C" fn(),
    fd_add: unsafe extern "C" fn(a: i32, b: i32) -> i32,
    fd_count: unsafe extern "C" fn(which: u32) -> usize,
    fd_fail_next_inits: unsafe extern "C" fn(n: usize),
    #[api(optional)]
    fd_version: Option<unsafe extern "C" fn() -> u32>,
    #[api(optional, symbol = "fd_not_in_this_release")]
    newer: Option<unsafe extern "C" fn()>,
}

#[derive(ApiTable)]
struct NeedsMissing {
    #[api(symbol = "fd_add")]
    _add: unsafe extern "C" fn(a: i32, b: i32) -> i32,
    #[api(symbol = "fd_missing")]
    _missing: unsafe extern "C" fn(),
}

/// Builds the fake driver once per test process and returns the built file.
fn built_driver() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake-driver/Cargo.toml");
        let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fake-driver");
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target_dir)
            // The outer run's flags (e.g. a cross --target's linker) are not for this build.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .status()
            .expect("run cargo to build tests/fake-driver");
        assert!(status.success(), "building tests/fake-driver failed");
        let file = format!(
            "{}loadguard_fake_driver{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        );
        target_dir.join("debug").join(file)
    })
}

/// A private copy of the driver (its own instance and counters), in `dir`.
fn driver_copy(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join(built_driver().file_name().unwrap());
    std::fs::copy(built_driver(), &path).unwrap();
    path
}

#[track_caller]
fn open<T: ApiTable>(path: &Path) -> loadguard::Result<Api<T>> {
    // SAFETY: the fake driver's initialisers are Rust statics only, and every table in this
    // file declares each symbol with the signature `tests/fake-driver/src/lib.rs` exports.
    unsafe { Api::open(path) }
}

/// Counts lookups per symbol on the way to a real library.
struct Counting<'a> {
    library: &'a Library,
    lookups: Mutex<HashMap<String, usize>>,
}

impl SymbolSource for Counting<'_> {
    fn path(&self) -> &Path {
        self.library.path()
    }

    fn lookup(&self, name: &CStr) -> Result<Option<NonNull<c_void>>, OsError> {
        *self
            .lookups
            .lock()
            .unwrap()
            .entry(name.to_string_lossy().into_owned())
            .or_default() += 1;
        self.library.lookup(name)
    }
}

const INIT: u32 = 0;
const DEINIT: u32 = 1;
const ADD: u32 = 2;
const VIOLATIONS: u32 = 3;

fn count(api: &FakeDriver, which: u32) -> usize {
    // SAFETY: `fd_count` only reads atomics.
    unsafe { (api.fd_count)(which) }
}

#[test]
fn each_symbol_is_resolved_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = driver_copy(&dir);
    // SAFETY: as in `open`.
    let library = unsafe { Library::open(&path) }.unwrap();
    let counting = Counting {
        library: &library,
        lookups: Mutex::default(),
    };
    // SAFETY: as in `open`; the table is dropped before `library`.
    let table = unsafe { FakeDriver::load(&mut Resolver::new(&counting)) }.unwrap();
    let lookups = counting.lookups.into_inner().unwrap();
    let expected: HashMap<String, usize> = FakeDriver::SYMBOLS
        .iter()
        .map(|s| (s.name().to_string_lossy().into_owned(), 1))
        .collect();
    assert_eq!(lookups, expected);
    // The resolved pointers reach the library.
    // SAFETY: `fd_add` is a plain function of two ints.
    assert_eq!(unsafe { (table.fd_add)(2, 3) }, 5);
    assert_eq!(count(&table, ADD), 1);
}

#[test]
fn api_owns_library_and_table_and_derefs_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = driver_copy(&dir);
    let api: Api<FakeDriver> = open(&path).unwrap();
    assert_eq!(api.path(), path);
    // SAFETY: plain functions.
    unsafe {
        assert_eq!((api.fd_add)(40, 2), 42);
        assert_eq!((api.fd_add)(-1, 1), 0);
    }
    assert_eq!(count(&api, ADD), 2);
}

#[test]
fn optional_symbols_are_some_when_exported_and_none_when_not() {
    let dir = tempfile::tempdir().unwrap();
    let api: Api<FakeDriver> = open(&driver_copy(&dir)).unwrap();
    let version = api.fd_version.expect("fd_version is exported");
    // SAFETY: a plain function.
    assert_eq!(unsafe { version() }, 3);
    assert!(
        api.newer.is_none(),
        "fd_not_in_this_release is not exported"
    );
}

#[test]
fn missing_required_symbol_names_symbol_library_and_loader_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = driver_copy(&dir);
    let line = line!() + 1;
    let err: Error = open::<NeedsMissing>(&path).expect_err("fd_missing is not exported");
    let failure = err.os_failure().expect("an OS failure");
    assert_eq!(failure.path, path);
    assert_eq!(failure.args, [("symbol", "fd_missing".to_owned())]);
    let at = failure.location.expect("a user's call site");
    assert_eq!(at.file(), file!());
    assert_eq!(at.line(), line, "located at the caller of Api::open");
    let shown = err.to_string();
    eprintln!("{shown}");
    assert!(
        shown.contains("fd_missing") && shown.contains(&*path.to_string_lossy()),
        "{shown}"
    );
    if cfg!(windows) {
        assert_eq!(failure.op, "GetProcAddress");
        assert_eq!(
            failure.os.code(),
            Some(127),
            "ERROR_PROC_NOT_FOUND: {shown}"
        );
    } else {
        assert_eq!(failure.op, "dlsym");
        // dlerror's own words, which name the library and the symbol once more.
        assert!(failure.os.text().contains("fd_missing"), "{shown}");
        assert!(
            failure.os.text().contains(&*path.to_string_lossy()),
            "{shown}"
        );
    }
}

#[test]
fn open_failure_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("libnot-there.so");
    let err = open::<FakeDriver>(&path).expect_err("no such file");
    let failure = err.os_failure().unwrap();
    assert_eq!(
        failure.op,
        if cfg!(windows) {
            "LoadLibraryExW"
        } else {
            "dlopen"
        }
    );
    assert_eq!(failure.path, path);
    assert!(!failure.os.text().is_empty());
}

/// A lifecycle calling the driver's init (status read only on success) and deinit.
fn lifecycle(api: &Arc<Api<FakeDriver>>) -> Lifecycle<i32> {
    let for_init = Arc::clone(api);
    let for_deinit = Arc::clone(api);
    Lifecycle::new(
        move || {
            // SAFETY: `fd_init` writes its status whenever it returns 0.
            let status =
                unsafe { loadguard::dylib::with_out_param(|s| (for_init.init)(s), |&rc| rc == 0) }?;
            assert_eq!(status, 7);
            Ok(())
        },
        // SAFETY: `Lifecycle` calls this only after a successful init.
        move || unsafe { (for_deinit.deinit)() },
    )
}

const THREADS: usize = 8;
const SESSIONS: usize = 2_000;
const CHURN_ROUNDS: usize = 300;

#[test]
fn init_and_deinit_run_exactly_once_under_8_threads_of_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let api = Arc::new(open::<FakeDriver>(&driver_copy(&dir)).unwrap());
    let lifecycle = lifecycle(&api);
    let barrier = std::sync::Barrier::new(THREADS);
    std::thread::scope(|scope| {
        let first = lifecycle.acquire().unwrap();
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    for _ in 0..SESSIONS {
                        let _session = lifecycle.acquire().unwrap();
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(count(&api, INIT), 1);
        assert_eq!(count(&api, DEINIT), 0, "a session is still live");
        drop(first);
    });
    assert_eq!((count(&api, INIT), count(&api, DEINIT)), (1, 1));
    assert_eq!(count(&api, VIOLATIONS), 0);
    assert_eq!(lifecycle.sessions(), 0);
}

#[test]
fn churning_sessions_pair_every_init_with_one_deinit() {
    let dir = tempfile::tempdir().unwrap();
    let api = Arc::new(open::<FakeDriver>(&driver_copy(&dir)).unwrap());
    let lifecycle = lifecycle(&api);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let lifecycle = &lifecycle;
            scope.spawn(move || {
                for round in 0..CHURN_ROUNDS {
                    drop(lifecycle.acquire().unwrap());
                    // Time outside any session, varied per thread and round, so the session
                    // count keeps falling to zero: every such moment is a deinit racing the
                    // next acquire's init.
                    let pause = 1 + (thread * 7 + round * 13) % 40;
                    std::thread::sleep(std::time::Duration::from_micros(pause as u64));
                }
            });
        }
    });
    let (inits, deinits) = (count(&api, INIT), count(&api, DEINIT));
    assert!(
        inits > THREADS,
        "the run must re-initialise often to mean anything: {inits} inits"
    );
    assert_eq!(inits, deinits, "every init has one deinit");
    assert_eq!(
        count(&api, VIOLATIONS),
        0,
        "init/deinit overlapped or repeated"
    );
}

#[test]
fn failed_init_reports_status_and_leaves_library_uninitialised() {
    let dir = tempfile::tempdir().unwrap();
    let api = Arc::new(open::<FakeDriver>(&driver_copy(&dir)).unwrap());
    let lifecycle = lifecycle(&api);
    // SAFETY: sets an atomic.
    unsafe { (api.fd_fail_next_inits)(1) };
    assert_eq!(lifecycle.acquire().err(), Some(-5));
    assert_eq!(lifecycle.sessions(), 0);
    let session = lifecycle.acquire().expect("the next init succeeds");
    drop(session);
    assert_eq!(
        (count(&api, INIT), count(&api, DEINIT)),
        (2, 1),
        "no deinit for the failed init"
    );
    assert_eq!(count(&api, VIOLATIONS), 0);
}
