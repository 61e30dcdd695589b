use loadguard::dylib::ApiTable;

#[derive(ApiTable)]
struct Driver {
    safe_c: extern "C" fn(),
    rust_abi: unsafe fn(),
    plain: fn(),
    other_abi: unsafe extern "Rust" fn(),
}

fn main() {}
