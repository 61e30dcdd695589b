use loadguard::dylib::ApiTable;

#[derive(ApiTable)]
struct Driver<F: Copy> {
    init: F,
}

#[derive(ApiTable)]
struct Borrowed<'a> {
    name: &'a str,
}

fn main() {}
