// Negative fixture for `lock_in_drop`.
use std::sync::{Arc, Mutex, PoisonError};

struct Session {
    state: Mutex<State>,
    // Shared with the registry: other owners may hold it, so the lock is needed.
    registry: Arc<Mutex<Registry>>,
    file: File,
}

impl Drop for Session {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        state.release();
        self.registry.lock().unwrap().forget(self.id);
        // `read` on a file is not a lock.
        let _ = self.file.read(&mut [0u8; 1]);
    }
}

impl Session {
    // Not a destructor.
    fn reset(&self) {
        self.state.lock().unwrap().reset();
    }
}
