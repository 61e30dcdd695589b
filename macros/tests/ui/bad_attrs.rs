use loadguard::dylib::ApiTable;

#[derive(ApiTable)]
#[api(symbol = "Driver")]
struct Driver {
    #[api(name = "x")]
    unknown_key: unsafe extern "C" fn(),
    #[api(symbol = 5)]
    not_a_string: unsafe extern "C" fn(),
    #[api(symbol = "")]
    empty: unsafe extern "C" fn(),
    #[api(symbol = "a\0b")]
    nul: unsafe extern "C" fn(),
    #[api(symbol = "One", symbol = "Two")]
    twice: unsafe extern "C" fn(),
    #[api(optional = true)]
    valued_optional: Option<unsafe extern "C" fn()>,
}

fn main() {}
