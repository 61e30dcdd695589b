// Negative fixture for `double_lifecycle`.

struct Runtime {
    ctx: Option<*mut Context>,
}

impl Runtime {
    // Two constructors: each makes a new instance.
    pub fn new() -> Result<Self, Error> {
        unsafe { nrt_init(0) };
        Ok(Runtime { ctx: None })
    }

    pub fn with_options(o: Options) -> Result<Self, Error> {
        unsafe { nrt_init(o.flags) };
        Ok(Runtime { ctx: None })
    }

    // Guarded by state: only one of `close` and `drop` can shut down.
    pub fn close(&mut self) {
        if let Some(ctx) = self.ctx.take() {
            unsafe { backend_shutdown(ctx) };
        }
    }

    // Delegates to its own method: not a second call site of the FFI.
    pub fn finish(&mut self) {
        self.close();
    }

    // Consumes `self` and forgets it, so `Drop` does not run.
    pub fn into_raw(self) -> *mut Context {
        let ctx = self.ctx.unwrap_or(null_mut());
        unsafe { backend_shutdown(ctx) };
        std::mem::forget(self);
        ctx
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(ctx) = self.ctx.take() {
            unsafe { backend_shutdown(ctx) };
        }
    }
}

// Per-platform implementations of one method.
struct Sockets;

impl Sockets {
    #[cfg(windows)]
    pub fn new() -> Sockets {
        unsafe { WSAStartup(0x202, &mut data()) };
        Sockets
    }

    #[cfg(windows)]
    pub fn reopen(&self) {
        if !self.ready() {
            unsafe { WSAStartup(0x202, &mut data()) };
        }
    }
}
