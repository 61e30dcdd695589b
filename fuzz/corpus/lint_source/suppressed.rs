// loadguard: allow(unowned_handle) reason
fn f() { let fd = unsafe { open(p) }; g()?; }
