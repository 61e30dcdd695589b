// Unknown, repeated and missing keys, an empty op and a repeated argument, all in one pass.
fn main() {
    let _ = loadguard::os_call!(
        op: "",
        path: "/m",
        path: "/n",
        args: { len: 1, len: 2 },
        flags: 3,
    );
}
