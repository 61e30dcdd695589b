//! Differential fuzzing against the `safetensors` crate (the reference implementation).
//!
//! - loadguard accepts ⇒ the reference accepts, with the same tensor table (names, dtypes,
//!   shapes, data offsets);
//! - the reference accepts but loadguard rejects ⇒ only for a rule where loadguard is stricter
//!   by design: duplicate keys (serde keeps the last), a header not starting with `{` (serde
//!   skips leading whitespace), unknown fields or a `null` `__metadata__` (serde ignores or
//!   accepts them).
//!
//! A panic of the reference (its debug build panics on an overflowing offset sum) is caught
//! and recorded on stderr once; it is the reference's finding, not ours.
#![no_main]

use std::cell::Cell;
use std::panic;
use std::path::Path;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use libfuzzer_sys::fuzz_target;
use loadguard::format::{Rule, safetensors as ours};

thread_local!(static IN_REFERENCE: Cell<bool> = const { Cell::new(false) });
static HOOK: Once = Once::new();
static REPORTED: AtomicBool = AtomicBool::new(false);

/// libfuzzer-sys's panic hook aborts the process; let panics of the reference unwind instead.
fn install_hook() {
    HOOK.call_once(|| {
        let fuzzer_hook = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if IN_REFERENCE.with(Cell::get) {
                if !REPORTED.swap(true, Ordering::Relaxed) {
                    eprintln!("reference finding: safetensors crate panicked: {info}");
                }
                return;
            }
            fuzzer_hook(info);
        }));
    });
}

type Table = Vec<(String, String, Vec<u64>, u64, u64)>;

fn reference(data: &[u8]) -> Option<Result<Table, String>> {
    IN_REFERENCE.with(|f| f.set(true));
    let result = panic::catch_unwind(|| {
        safetensors::SafeTensors::read_metadata(data).map(|(_, meta)| {
            let mut table: Table = meta
                .tensors()
                .into_iter()
                .map(|(name, info)| {
                    let shape = info.shape.iter().map(|&d| d as u64).collect();
                    let (s, e) = info.data_offsets;
                    (name, format!("{:?}", info.dtype), shape, s as u64, e as u64)
                })
                .collect();
            table.sort();
            table
        })
    });
    IN_REFERENCE.with(|f| f.set(false));
    result.ok().map(|r| r.map_err(|e| e.to_string()))
}

fuzz_target!(|data: &[u8]| {
    install_hook();
    let mine = ours::parse(Path::new("fuzz.safetensors"), data);
    let Some(theirs) = reference(data) else {
        return;
    };
    match (mine, theirs) {
        (Ok(info), Ok(table)) => {
            let data_offset = match info.details() {
                loadguard::format::Details::Safetensors { data_offset, .. } => *data_offset,
                _ => unreachable!(),
            };
            let mut mine: Table = info
                .tensors()
                .iter()
                .map(|t| {
                    let s = t.offset - data_offset;
                    (
                        t.name.clone(),
                        t.dtype.name().to_owned(),
                        t.dims.clone(),
                        s,
                        s + t.len,
                    )
                })
                .collect();
            mine.sort();
            assert_eq!(mine, table, "tensor tables differ");
        }
        (Ok(_), Err(e)) => panic!("loadguard accepted what the reference rejects: {e}"),
        (Err(e), Ok(_)) => assert!(
            matches!(
                e.rule,
                Rule::DuplicateKey | Rule::HeaderStart | Rule::Schema
            ),
            "loadguard rejected what the reference accepts: {e}"
        ),
        (Err(_), Err(_)) => {}
    }
});
