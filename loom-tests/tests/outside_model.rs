//! loom stays inside: a `--cfg loom` build of loadguard keeps every public signature a user
//! calls outside `loom::model`.
//!
//! `user` below stands for an ordinary module of a user's crate: it names loadguard's types
//! with std's `Arc` and never mentions loom. This file is built by the README's test command
//! (no loom) and by CI's loom stage (`--cfg loom`, `ci/stages/50-loom.sh`), unchanged, so a
//! signature that changes with the flag — as `Lifecycle::acquire_owned` once took loom's
//! `Arc` — fails the loom stage's build, and so does a public type that stops being `Send`
//! or `Sync` there.
//!
//! In a loom build loadguard's locks, atomics and call-site record are loom's, which work only
//! inside a model: the tests run `user`'s code inside `loom::model` there and directly
//! otherwise, and call only loadguard's pure helpers outside any model (TESTING.md, "A loom
//! build of your crate").

/// A user's backend: a vendor library behind a stand-in linker, its init/deinit paired by a
/// `Lifecycle` shared through std's `Arc`, and model files opened through a registry.
mod user {
    use std::ffi::{CStr, c_void};
    use std::path::{Path, PathBuf};
    use std::ptr::NonNull;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use loadguard::dylib::{
        Api, ApiTable, Lifecycle, LifecycleGuard, Linker, OwnedLifecycleGuard, SymbolSource,
    };
    use loadguard::os::MemoryOs;
    use loadguard::testing::Ledger;
    use loadguard::{LoadOptions, OsError, Registry, Session};

    /// The driver's init and deinit calls, counted process-wide (one counter per test below).
    pub struct Counts {
        pub inits: AtomicUsize,
        pub deinits: AtomicUsize,
    }

    pub static COUNTS: Counts = Counts {
        inits: AtomicUsize::new(0),
        deinits: AtomicUsize::new(0),
    };

    unsafe extern "C" fn vendor_init() -> i32 {
        COUNTS.inits.fetch_add(1, Ordering::SeqCst);
        0
    }

    unsafe extern "C" fn vendor_deinit() {
        COUNTS.deinits.fetch_add(1, Ordering::SeqCst);
    }

    #[derive(ApiTable)]
    pub struct Vendor {
        vendor_init: unsafe extern "C" fn() -> i32,
        vendor_deinit: unsafe extern "C" fn(),
    }

    /// A linker whose one library exports the two functions above.
    pub struct InProcess;

    struct InProcessLibrary(PathBuf);

    impl Linker for InProcess {
        unsafe fn open(&self, path: &Path) -> loadguard::Result<Box<dyn SymbolSource>> {
            Ok(Box::new(InProcessLibrary(path.to_path_buf())))
        }
    }

    impl SymbolSource for InProcessLibrary {
        fn path(&self) -> &Path {
            &self.0
        }

        fn lookup(&self, name: &CStr) -> Result<Option<NonNull<c_void>>, OsError> {
            let init: unsafe extern "C" fn() -> i32 = vendor_init;
            let deinit: unsafe extern "C" fn() = vendor_deinit;
            match name.to_bytes() {
                b"vendor_init" => Ok(NonNull::new(init as *mut c_void)),
                b"vendor_deinit" => Ok(NonNull::new(deinit as *mut c_void)),
                _ => Err(OsError::from_io(&std::io::Error::other("undefined symbol"))),
            }
        }
    }

    pub struct Backend {
        pub device: Arc<Lifecycle<i32>>,
        pub registry: Registry,
    }

    /// One loaded model: it keeps the device initialised while it lives.
    pub struct Loaded {
        _device: OwnedLifecycleGuard<i32>,
        pub session: Session,
    }

    impl Backend {
        pub fn new(fs: MemoryOs, ledger: &Ledger) -> loadguard::Result<Self> {
            // SAFETY: the stand-in linker runs no initialisers, and both symbols have exactly
            // the signatures of their fields.
            let api: Arc<Api<Vendor>> = Arc::new(unsafe { Api::open_with(&InProcess, "vendor") }?);
            let (for_init, for_deinit) = (Arc::clone(&api), Arc::clone(&api));
            let device = Arc::new(Lifecycle::new(
                // SAFETY: a plain function.
                move || match unsafe { (for_init.vendor_init)() } {
                    0 => Ok(()),
                    status => Err(status),
                },
                // SAFETY: called only after a successful init.
                move || unsafe { (for_deinit.vendor_deinit)() },
            ));
            Ok(Self {
                device,
                registry: Registry::with_os(ledger.track(fs)),
            })
        }

        /// Both spellings of an owned acquire, on std's `Arc`.
        pub fn load(&self, path: &str) -> loadguard::Result<Loaded> {
            let device: OwnedLifecycleGuard<i32> = match self.device.acquire_owned() {
                Ok(guard) => guard,
                Err(status) => {
                    return Err(loadguard::Error::LibraryInit {
                        library: "vendor".into(),
                        call: "vendor_init",
                        status: status.into(),
                    });
                }
            };
            let again: Result<OwnedLifecycleGuard<i32>, i32> =
                Lifecycle::acquire_owned(&self.device);
            drop(again);
            let session = self.registry.open(path, &LoadOptions::new())?;
            Ok(Loaded {
                _device: device,
                session,
            })
        }

        pub fn borrow_device(&self) -> Result<LifecycleGuard<'_, i32>, i32> {
            self.device.acquire()
        }
    }
}

/// Runs `f` as a loom model in a loom build, once otherwise.
fn model(f: impl Fn() + Send + Sync + 'static) {
    #[cfg(loom)]
    loom::model(f);
    #[cfg(not(loom))]
    f();
}

/// Every public type a user is likely to put in a struct or hand to a thread stays `Send` and
/// `Sync` in both builds (checked when this file compiles).
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<loadguard::Registry>();
    send_sync::<loadguard::Session>();
    send_sync::<loadguard::Segment>();
    send_sync::<loadguard::LoadOptions>();
    send_sync::<loadguard::Error>();
    send_sync::<loadguard::Model>();
    send_sync::<loadguard::data::MappedLoader>();
    send_sync::<loadguard::os::MemoryOs>();
    send_sync::<loadguard::os::RealOs>();
    send_sync::<loadguard::shm::Pool>();
    send_sync::<loadguard::shm::SharedBuffer>();
    send_sync::<loadguard::shm::PoolOptions>();
    send_sync::<loadguard::dylib::Api<user::Vendor>>();
    send_sync::<loadguard::dylib::Library>();
    send_sync::<loadguard::dylib::SystemLinker>();
    send_sync::<loadguard::dylib::Lifecycle<i32>>();
    send_sync::<loadguard::dylib::LifecycleGuard<'static, i32>>();
    send_sync::<loadguard::dylib::OwnedLifecycleGuard<i32>>();
    send_sync::<loadguard::testing::Ledger>();
    send_sync::<loadguard::testing::Receipt>();
    send_sync::<loadguard::testing::FaultPlan>();
    send_sync::<loadguard::testing::TrackedOs<loadguard::os::MemoryOs>>();
    send_sync::<loadguard::testing::TrackedLinker<loadguard::dylib::SystemLinker>>();
    send_sync::<loadguard::testing::FaultyLinker<loadguard::dylib::SystemLinker>>();
};

#[test]
fn a_backend_written_against_std_types_runs_in_a_model() {
    use std::sync::atomic::Ordering;
    model(|| {
        let (inits, deinits) = (
            user::COUNTS.inits.load(Ordering::SeqCst),
            user::COUNTS.deinits.load(Ordering::SeqCst),
        );
        let fs = loadguard::os::MemoryOs::new();
        fs.write("/m.bin", vec![7u8; 64]);
        let ledger = loadguard::testing::Ledger::new();
        let backend = user::Backend::new(fs, &ledger).unwrap();
        let loaded = backend.load("/m.bin").unwrap();
        assert_eq!(loaded.session.len(), 64);
        assert_eq!(backend.device.sessions(), 1);
        drop(backend.borrow_device().unwrap());
        drop(loaded);
        assert_eq!(backend.device.sessions(), 0);
        assert_eq!(user::COUNTS.inits.load(Ordering::SeqCst) - inits, 1);
        assert_eq!(user::COUNTS.deinits.load(Ordering::SeqCst) - deinits, 1);
        drop(backend);
        ledger.assert_balanced();
    });
}

#[test]
fn pure_helpers_run_outside_any_model() {
    use loadguard::dylib::{Symbol, with_out_param};
    const INIT: Symbol = Symbol::required(b"vendor_init\0");
    assert_eq!(INIT.to_string(), "vendor_init");
    unsafe extern "C" fn get(out: *mut u32) -> i32 {
        // SAFETY: the caller passes storage for one u32.
        unsafe { out.write(5) };
        0
    }
    // SAFETY: `get` writes its out-parameter whenever it returns 0.
    assert_eq!(unsafe { with_out_param(|p| get(p), |&rc| rc == 0) }, Ok(5));
    let err = loadguard::Error::LibraryInit {
        library: "vendor".into(),
        call: "vendor_init",
        status: -3,
    };
    assert_eq!(err.to_string(), "vendor: vendor_init failed with status -3");
}

/// What TESTING.md tells a user about a loom build: loadguard's objects need a model there.
#[cfg(loom)]
#[test]
fn loadguard_objects_need_a_model_in_a_loom_build() {
    let outside = std::panic::catch_unwind(loadguard::Registry::new);
    let message = outside
        .err()
        .expect("a registry outside a model panics under loom");
    let text = message
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| message.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(text.contains("outside a Loom model"), "{text}");
}
