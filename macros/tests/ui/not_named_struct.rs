use loadguard::dylib::ApiTable;

#[derive(ApiTable)]
struct Tuple(unsafe extern "C" fn());

#[derive(ApiTable)]
struct Unit;

#[derive(ApiTable)]
enum Choice {
    A,
}

#[derive(ApiTable)]
union Raw {
    f: unsafe extern "C" fn(),
}

fn main() {}
