//! Model-based fuzzing of the registry: an arbitrary sequence of opens (files changed between
//! steps, one file reachable by two names), segments, clones, drops and injected faults, checked
//! after every step against a reference model and the resource ledger
//! (`loadguard::testing::model`). A disagreement panics with the step and what differed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(disagreement) = loadguard::testing::model::check_registry(data) {
        panic!("registry disagrees with its model: {disagreement}");
    }
});
