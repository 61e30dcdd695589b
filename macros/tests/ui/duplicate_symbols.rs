// Two groups of fields resolve the same symbol, and one field is not a function pointer:
// every problem is reported in one pass, with one error at each duplicate field's symbol
// ("first resolved here", then "resolved again here" for each later one).
use loadguard::dylib::ApiTable;

#[derive(ApiTable)]
struct Driver {
    EnnInitialize: unsafe extern "C" fn() -> i32,
    #[api(symbol = "EnnInitialize")]
    init_again: unsafe extern "C" fn() -> i32,
    buffer_size: usize,
    #[api(symbol = "EnnRelease")]
    release: unsafe extern "C" fn(),
    #[api(symbol = "EnnRelease")]
    release2: unsafe extern "C" fn(),
    EnnRelease: unsafe extern "C" fn(),
}

fn main() {}
