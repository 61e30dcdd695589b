//! Fuzzes the ptd parser through the shared format checker (`loadguard::testing::formats`,
//! also run over the committed corpus by `loader/tests/fuzz_regressions.rs`): any input parses
//! or fails with a typed error inside the input, never a panic, an out-of-bounds read or an
//! allocation the header cannot pay for; whatever parses keeps every parser invariant, and
//! every tensor view of the model lies inside its bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadguard::format::Format;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = loadguard::testing::formats::check(Some(Format::Ptd), data) {
        panic!("invariant broken: {violation}");
    }
});
