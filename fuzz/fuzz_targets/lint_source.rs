//! `lint_source`: arbitrary source text never panics the analyzer, and every report format
//! renders whatever it finds.
//!
//! Lossy UTF-8 decoding keeps every input useful (the walker reads files the same way).
//! `analyze_source` runs on its own large-stack thread and re-raises any panic here, where
//! libFuzzer reports it as a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadguard_lint::report::{Format, Totals, render};
use loadguard_lint::{Config, analyze_source};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let findings = analyze_source("fuzz.rs", &text, &Config::default());
    for finding in &findings {
        assert!(finding.line >= 1 && finding.column >= 1, "{finding:?}");
    }
    for format in [Format::Human, Format::Json, Format::Sarif] {
        let _ = render(format, &findings, Totals { files: 1 });
    }
});
