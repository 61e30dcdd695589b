use loadguard::dylib::ApiTable;

#[derive(ApiTable)]
struct Driver {
    #[api(optional)]
    required_shape: unsafe extern "C" fn(),
    unmarked_option: Option<unsafe extern "C" fn()>,
}

fn main() {}
