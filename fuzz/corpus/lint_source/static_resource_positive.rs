// Positive fixture for `static_resource`.
use std::fs::File;
use std::sync::{LazyLock, Mutex, OnceLock};

static LOG: OnceLock<File> = OnceLock::new(); //~ static_resource

static MAPS: LazyLock<Mutex<HashMap<PathBuf, Mmap>>> = LazyLock::new(Default::default); //~ static_resource

static mut BACKEND: Option<Library> = None; //~ static_resource

struct Session {
    fd: i32,
}

impl Drop for Session {
    fn drop(&mut self) {
        unsafe { libc::close(self.fd) };
    }
}

static DEFAULT_SESSION: Mutex<Option<Session>> = Mutex::new(None); //~ static_resource

lazy_static! {
    static ref CACHE: Mutex<Vec<OwnedFd>> = Mutex::new(Vec::new()); //~ static_resource
}
