// Positive fixture for `double_lifecycle`.

struct Runtime {
    ctx: *mut Context,
}

// The real-loader shape: init in `new` and again in a public method.
impl Runtime {
    pub fn new() -> Result<Self, Error> {
        unsafe { nrt_init(NRT_FRAMEWORK_TYPE_NO_FW, c"".as_ptr(), c"".as_ptr()) };
        Ok(Runtime { ctx: null_mut() })
    }

    pub fn reset(&mut self) {
        unsafe { nrt_init(NRT_FRAMEWORK_TYPE_NO_FW, c"".as_ptr(), c"".as_ptr()) }; //~ double_lifecycle
    }

    pub fn close(&mut self) {
        unsafe { nrt_close() };
        unsafe { backend_shutdown(self.ctx) };
    }
}

// Deinit in `Drop` and in a public method.
impl Drop for Runtime {
    fn drop(&mut self) {
        unsafe { backend_shutdown(self.ctx) }; //~ double_lifecycle
    }
}

struct Com;

impl Com {
    pub fn start() -> Com {
        unsafe { CoInitializeEx(null(), COINIT_MULTITHREADED) };
        Com
    }

    pub fn restart(&self) {
        unsafe { CoInitializeEx(null(), COINIT_MULTITHREADED) }; //~ double_lifecycle
    }
}
