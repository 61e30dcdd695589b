//! How much of the C/C++ parse budget real files use (the measurement behind
//! `lint/src/front/budget.rs`).
//!
//! ```text
//! cargo run --release -p loadguard-lint --example parse_ticks -- FILE...
//! ```
//!
//! For each file (`.c` with the C grammar, the rest with C++), one tab-separated line: path,
//! bytes, tree-sitter progress ticks (one per ~100 parser operations), seconds, and the largest
//! number of ticks used beyond one per 16 bytes read at any point of the parse. The budget
//! allows 16 beyond it, so a file with more than 16 in the last column would be parsed in
//! pieces. Ends with the totals on stderr. Unparsable paths are reported on stderr and skipped.

use std::time::Instant;

use tree_sitter::{ParseOptions, ParseState, Parser};

fn main() {
    let (mut files, mut bytes, mut ticks_total, mut worst) = (0u64, 0u64, 0u64, 0u64);
    for path in std::env::args().skip(1) {
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("parse_ticks: {path}: {e}");
                continue;
            }
        };
        let language: tree_sitter::Language = if path.ends_with(".c") {
            tree_sitter_c::LANGUAGE.into()
        } else {
            tree_sitter_cpp::LANGUAGE.into()
        };
        let mut parser = Parser::new();
        if let Err(e) = parser.set_language(&language) {
            eprintln!("parse_ticks: {e}");
            return;
        }
        let mut ticks = 0u64;
        let mut beyond = 0u64;
        let mut progress = |state: &ParseState| {
            ticks += 1;
            let earned = u64::try_from(state.current_byte_offset() / 16).unwrap_or(u64::MAX);
            beyond = beyond.max(ticks.saturating_sub(earned));
            false
        };
        let start = Instant::now();
        let _tree = parser.parse_with_options(
            &mut |offset, _| text.get(offset..).unwrap_or_default(),
            None,
            Some(ParseOptions::new().progress_callback(&mut progress)),
        );
        let seconds = start.elapsed().as_secs_f64();
        println!("{path}\t{}\t{ticks}\t{seconds:.6}\t{beyond}", text.len());
        files += 1;
        bytes += u64::try_from(text.len()).unwrap_or(u64::MAX);
        ticks_total += ticks;
        worst = worst.max(beyond);
    }
    eprintln!(
        "parse_ticks: {files} files, {bytes} bytes, {ticks_total} ticks, at most {worst} beyond one per 16 bytes read"
    );
}
