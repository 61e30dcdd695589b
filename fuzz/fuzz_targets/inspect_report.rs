//! Fuzzes what `loadguard inspect` prints: any input, detected or not, opened as a model over a
//! heap-backed file system and rendered by `loadguard_cli::report` (human and JSON), or its
//! error rendered. Never a panic (a column width past what `format!` allows, a slice at a
//! non-char boundary), never a raw control character from the file in the human report, and
//! the JSON always serializes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadguard::os::MemoryOs;
use loadguard::{Model, Registry};
use loadguard_cli::report;

/// Whether `text` holds a control character other than the newlines the report writes.
fn raw_control(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\n')
}

fuzz_target!(|data: &[u8]| {
    for name in ["/f.safetensors", "/f.gguf", "/f.pte", "/f.bin"] {
        let fs = MemoryOs::new();
        fs.write(name, data.to_vec());
        match Model::open(&Registry::with_os(fs), name) {
            Ok(model) => {
                let text = report::to_text(&model);
                assert!(!raw_control(&text), "raw control character in:\n{text}");
                let json = report::pretty(&report::to_json(&model));
                assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());
            }
            Err(err) => {
                let text = report::error_text("inspect", &err);
                assert!(!raw_control(&text), "raw control character in: {text}");
                let json = report::pretty(&report::error_json(&err));
                assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());
            }
        }
    }
});
