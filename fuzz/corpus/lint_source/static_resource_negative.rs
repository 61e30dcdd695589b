// Negative fixture for `static_resource`.
use std::sync::{LazyLock, Mutex, OnceLock, Weak};

static COUNT: AtomicUsize = AtomicUsize::new(0);
static NAMES: LazyLock<Mutex<Vec<String>>> = LazyLock::new(Default::default);
// Weak references own nothing.
static REGISTRY: OnceLock<Weak<Registry>> = OnceLock::new();
// A reference owns nothing.
static STDERR: &str = "stderr";

thread_local! {
    // Dropped at thread exit.
    static SCRATCH: RefCell<Option<File>> = RefCell::new(None);
}

struct Plain {
    len: usize,
}

static PLAIN: Mutex<Option<Plain>> = Mutex::new(None);
