//! Fuzzes the pte parser: any input parses or fails with a typed error, never a panic, an
//! out-of-bounds read or an allocation larger than the input; whatever parses keeps the
//! parser's invariants (every tensor inside the file, names unique and indexed).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use loadguard::format::pte;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = pte::parse(Path::new("fuzz.pte"), data) {
        if let Err(e) = info.check_invariants() {
            panic!("invariant broken: {e}");
        }
        for t in info.tensors() {
            let view = info
                .view(data, &t.name)
                .expect("a parsed tensor has a view");
            assert_eq!(view.bytes().len() as u64, t.len);
        }
    }
    // Detection + parse, as `inspect` does it.
    let _ = loadguard::format::parse(Path::new("fuzz"), data);
});
