use loadguard::dylib::ApiTable;

type InitFn = unsafe extern "C" fn() -> i32;

#[derive(ApiTable)]
struct Driver {
    count: u32,
    callback: Box<dyn Fn()>,
    aliased: InitFn,
    maybe: Option<u32>,
}

fn main() {}
