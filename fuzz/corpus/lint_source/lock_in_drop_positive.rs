// Positive fixture for `lock_in_drop`.
use std::sync::{Mutex, RwLock};

struct Session {
    state: Mutex<State>,
    views: RwLock<Vec<View>>,
}

// The real-loader shape: a destructor locking its own mutex.
impl Drop for Session {
    fn drop(&mut self) {
        let state = self.state.lock().unwrap(); //~ lock_in_drop
        state.release();
        self.views.write().unwrap().clear(); //~ lock_in_drop
    }
}

struct Cache(Mutex<Vec<u8>>);

impl Drop for Cache {
    fn drop(&mut self) {
        if let Ok(mut v) = self.0.lock() { //~ lock_in_drop
            v.clear();
        }
    }
}
