// Attribute, shape and duplicate-symbol errors from one struct arrive together.
use loadguard::dylib::ApiTable;

#[derive(ApiTable)]
struct Driver<T> {
    #[api(sym = "EnnInit")]
    EnnInit: unsafe extern "C" fn(),
    #[api(symbol = "EnnInit")]
    init: unsafe extern "C" fn(),
    marker: T,
}

fn main() {}
