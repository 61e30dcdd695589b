fn bad_operator() -> loadguard::Result<i32> {
    loadguard::os_call!(op: "read", path: "/m", fail_if: + 1, call: 0)
}

fn bad_word() -> loadguard::Result<*const u8> {
    loadguard::os_call!(op: "mmap", path: "/m", fail_if: is_nul, call: std::ptr::null::<u8>())
}

fn code_with_is_err() -> loadguard::Result<u8> {
    loadguard::os_call!(
        op: "read",
        path: "/m",
        fail_if: is_err,
        code: returned,
        call: Ok::<u8, std::io::Error>(1),
    )
}

fn bad_code() -> loadguard::Result<i32> {
    loadguard::os_call!(op: "read", path: "/m", fail_if: != 0, code: status, call: 0)
}

fn main() {
    let _ = (bad_operator(), bad_word(), code_with_is_err(), bad_code());
}
