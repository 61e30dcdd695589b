// Positive fixture for `duplicate_symbol`.

// The real-loader shape: the same API symbol loaded twice.
fn load(lib: &Library) -> Result<Api, Error> {
    let init: Symbol<InitFn> = unsafe { lib.get(b"nrt_init\0")? };
    let load: Symbol<LoadFn> = unsafe { lib.get(b"nrt_load\0")? };
    let init_again: Symbol<InitFn> = unsafe { lib.get(b"nrt_init\0")? }; //~ duplicate_symbol
    Ok(Api { init: *init, load: *load, init2: *init_again })
}

unsafe fn resolve(handle: *mut c_void) -> Table {
    let open = dlsym(handle, c"model_open".as_ptr());
    let close = dlsym(handle, c"model_close".as_ptr());
    let open2 = dlsym(handle, c"model_open".as_ptr()); //~ duplicate_symbol
    Table { open, close, open2 }
}

struct Backend {
    lib: Library,
}

// Across the methods of one impl.
impl Backend {
    fn init(&self) -> Result<(), Error> {
        let f: Symbol<InitFn> = unsafe { self.lib.get(b"backend_init")? };
        Ok(())
    }

    fn reinit(&self) -> Result<(), Error> {
        let f: Symbol<InitFn> = unsafe { self.lib.get(b"backend_init")? }; //~ duplicate_symbol
        Ok(())
    }
}

fn windows(module: HMODULE) -> Table {
    let a = unsafe { GetProcAddress(module, s!("QnnInterface_getProviders")) };
    let b = unsafe { GetProcAddress(module, s!("QnnInterface_getProviders")) }; //~ duplicate_symbol
    Table { a, b }
}
