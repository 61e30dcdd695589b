lazy_static! { static ref X: Mutex<File> = m(); }
static Y: &str = "é€";
fn g() { let s = "\t\u{1F600}"; }
