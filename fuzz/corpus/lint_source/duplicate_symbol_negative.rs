// Negative fixture for `duplicate_symbol`.

fn load(lib: &Library) -> Result<Api, Error> {
    let init: Symbol<InitFn> = unsafe { lib.get(b"nrt_init\0")? };
    let load: Symbol<LoadFn> = unsafe { lib.get(b"nrt_load\0")? };
    Ok(Api { init: *init, load: *load })
}

// The same name from two different libraries.
fn two_libs(a: &Library, b: &Library) -> Result<(), Error> {
    let _x: Symbol<InitFn> = unsafe { a.get(b"init\0")? };
    let _y: Symbol<InitFn> = unsafe { b.get(b"init\0")? };
    Ok(())
}

// One name per platform: two builds, not two loads.
fn per_platform(lib: &Handle) -> *mut c_void {
    #[cfg(unix)]
    let f = unsafe { dlsym(lib.raw, c"model_open".as_ptr()) };
    #[cfg(windows)]
    let f = unsafe { GetProcAddress(lib.raw, s!("model_open")) };
    f
}

// A map lookup with a string key is not a symbol load.
fn config(map: &HashMap<&str, u32>) -> Option<u32> {
    let a = map.get("threads").copied();
    let b = map.get("threads").copied();
    a.or(b)
}
