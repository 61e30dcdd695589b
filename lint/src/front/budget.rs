//! tree-sitter parses under a work budget, so no input costs more than linear time.
//!
//! tree-sitter's error recovery is superlinear on some broken input: `a = )` repeated to
//! 16 KiB takes 10 s to parse, 32 KiB takes 68 s, and one 256 KiB program from the fuzzer's
//! generator took 8.7 s under ASan. tree-sitter calls a progress callback once per ~100 parser
//! operations (a *tick*). Real code needs one tick per 140 bytes on average. At no point of any
//! file had a parse used more ticks than a 16th of the bytes it had read: not in the 30 MB of
//! C and C++ in the benchmark corpus (1,628 files, which the budget was chosen on), nor in
//! 127 MB held out from that choice (7,657 files: every C/C++ source in the local cargo
//! registry, tree-sitter-cpp's own 17 MB `parser.c` among them, and `/usr/include`). The
//! quadratic inputs above use 1.6 to 13 ticks per byte. `lint/examples/parse_ticks.rs` measures
//! this for any files.
//!
//! So a parse may use [`BASE_TICKS`] plus one tick per [`BYTES_PER_TICK`] bytes read so far
//! ([`budget`]), checked at every tick. A file that runs out is parsed again in [`pieces`], cut
//! after a line that begins with a closing brace (the end of a top-level function or class),
//! each under its own budget by the same rule. A piece that runs out too is skipped and
//! reported; the pieces around it are analyzed. Since every piece holds at least [`MIN_PIECE`]
//! bytes (or is the last), the two passes together use at most `n / 16 + n / 16 + 16 · n / 256`
//! ticks for `n` bytes, `3n / 16`: linear in the file's size. The price of that floor: code
//! shorter than [`MIN_PIECE`] between two closing braces shares its piece with what follows,
//! and is lost with it when that is the junk. Tick counts, unlike clocks, do not depend on the
//! machine, so what the tick budget cuts is the same everywhere.
//!
//! Ticks do not count all of tree-sitter's work, though: on a run of char literals such as
//! `'"''"''"'…` its recovery does quadratic work between ticks (98 KB took 18 s on 2,839
//! ticks), so a second budget bounds the time: [`BASE_TIME`] plus [`TIME_PER_BYTE`] per byte
//! read. Real code parses at 0.15–0.6 µs per byte in release builds and about 2.5× slower in
//! debug builds, so this clock only stops parses that have already gone superlinear; on such
//! input what is analyzed can differ between machines, and the note says so.

use std::ops::Range;
use std::time::{Duration, Instant};

use tree_sitter::{ParseOptions, ParseState, Parser, Point, Tree};

/// Progress ticks every parse may use, however little it has read.
pub const BASE_TICKS: u64 = 16;

/// Bytes read that earn one more tick.
pub const BYTES_PER_TICK: u64 = 16;

/// Time every parse may take, however little it has read.
pub const BASE_TIME: Duration = Duration::from_millis(20);

/// Time each byte read earns.
pub const TIME_PER_BYTE: Duration = Duration::from_micros(5);

/// Largest piece a file that ran out of budget is parsed in again.
pub const MAX_PIECE: usize = 16 << 10;

/// Smallest piece cut at a closing brace, so the [`BASE_TICKS`] of each piece stay a small
/// part of the second pass's budget.
pub const MIN_PIECE: usize = 256;

/// Most skipped pieces named one by one; the rest are counted in one note.
const NAMED_SKIPS: usize = 8;

/// What [`parse`] got: trees over the file (one, or one per piece that parsed) and notes on
/// what was not analyzed, each at a byte offset.
pub struct Parsed {
    /// Syntax trees; node offsets are offsets into the whole file.
    pub trees: Vec<Tree>,
    /// `(offset, message)` for each region left out.
    pub notes: Vec<(u32, String)>,
}

/// The ticks a parse may have used once it has read `len` bytes.
#[must_use]
pub fn budget(len: usize) -> u64 {
    BASE_TICKS + u64::try_from(len).unwrap_or(u64::MAX) / BYTES_PER_TICK
}

/// The time a parse may have taken once it has read `len` bytes.
#[must_use]
pub fn time_budget(len: usize) -> Duration {
    BASE_TIME.saturating_add(TIME_PER_BYTE.saturating_mul(u32::try_from(len).unwrap_or(u32::MAX)))
}

/// Parses `text` with `parser` (its language already set) within the budget, falling back to
/// pieces as the module docs say.
pub fn parse(parser: &mut Parser, text: &str) -> Parsed {
    let mut notes = Vec::new();
    let stopped = match parse_range(parser, text, None) {
        Ok(tree) => {
            return Parsed {
                trees: vec![tree],
                notes,
            };
        }
        Err(stopped) => stopped,
    };
    let pieces = pieces(text);
    notes.push((
        offset(stopped),
        format!(
            "tree-sitter's error recovery ran over its budget ({BASE_TICKS} steps plus one per \
             {BYTES_PER_TICK} bytes read, or {} ms plus {} µs per byte) here, so this file was \
             parsed again in {} pieces of at most {} KiB; a function cut at a piece boundary is \
             analyzed in part",
            BASE_TIME.as_millis(),
            TIME_PER_BYTE.as_micros(),
            pieces.len(),
            MAX_PIECE >> 10
        ),
    ));
    let mut trees = Vec::with_capacity(pieces.len());
    let mut skipped = 0usize;
    let mut rows = Rows::default();
    for piece in pieces {
        let (start, end) = (rows.point(text, piece.start), rows.point(text, piece.end));
        let range = tree_sitter::Range {
            start_byte: piece.start,
            end_byte: piece.end,
            start_point: start,
            end_point: end,
        };
        match parse_range(parser, text, Some(range)) {
            Ok(tree) => trees.push(tree),
            Err(stopped) => {
                skipped += 1;
                if skipped <= NAMED_SKIPS {
                    notes.push((
                        offset(stopped),
                        format!(
                            "tree-sitter's error recovery ran over its budget here too, so \
                             bytes {}..{} (lines {}..{}) were not analyzed",
                            piece.start,
                            piece.end,
                            start.row + 1,
                            end.row + 1
                        ),
                    ));
                }
            }
        }
    }
    if skipped > NAMED_SKIPS {
        notes.push((
            offset(stopped),
            format!(
                "{} more pieces of this file ran over their budget and were not analyzed",
                skipped - NAMED_SKIPS
            ),
        ));
    }
    Parsed { trees, notes }
}

fn offset(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

/// One parse of `text` (or of `range` of it) that gives up once it has used its budget;
/// `Err` holds the byte offset it had reached.
fn parse_range(
    parser: &mut Parser,
    text: &str,
    range: Option<tree_sitter::Range>,
) -> Result<Tree, usize> {
    let (start, end) = range.map_or((0, text.len()), |r| (r.start_byte, r.end_byte));
    let ranges: &[tree_sitter::Range] = match &range {
        Some(r) => std::slice::from_ref(r),
        None => &[],
    };
    // An empty slice means the whole document; one range inside the text is always valid.
    parser.set_included_ranges(ranges).map_err(|_| start)?;
    let mut ticks = 0u64;
    let mut reached = start;
    // The budget grows with the bytes read so far, so a parse that goes quadratic is cut off
    // soon after the junk starts instead of at the end of the file: error recovery's cost per
    // tick grows with the junk it has piled up (35 µs per tick over 1 MB of it, 46 µs over
    // 5 MB), so stopping late would cost more than linear time.
    let started = Instant::now();
    let mut progress = |state: &ParseState| {
        ticks += 1;
        reached = state.current_byte_offset().clamp(start, end);
        ticks > budget(reached - start) || started.elapsed() > time_budget(reached - start)
    };
    let bytes = text.as_bytes();
    let tree = parser.parse_with_options(
        &mut |offset, _| bytes.get(offset..).unwrap_or_default(),
        None,
        Some(ParseOptions::new().progress_callback(&mut progress)),
    );
    // A cancelled parse leaves state behind that the next parse would resume.
    parser.reset();
    tree.ok_or(reached)
}

/// Byte ranges that cover `text` in order: each ends after a line beginning with `}` once it
/// holds at least [`MIN_PIECE`] bytes, and none is longer than [`MAX_PIECE`] (a longer run is
/// cut at a line start, or inside a very long line on a `char` boundary).
#[must_use]
pub fn pieces(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let end = pos + line.len();
        while end - start > MAX_PIECE {
            let cut = if pos > start {
                pos
            } else {
                let mut cut = start + MAX_PIECE;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                cut
            };
            out.push(start..cut);
            start = cut;
        }
        if line.starts_with('}') && line.ends_with('\n') && end - start >= MIN_PIECE {
            out.push(start..end);
            start = end;
        }
        pos = end;
    }
    if start < text.len() || out.is_empty() {
        out.push(start..text.len());
    }
    out
}

/// Turns byte offsets, visited in increasing order, into tree-sitter points in one pass.
#[derive(Default)]
struct Rows {
    offset: usize,
    row: usize,
    line_start: usize,
}

impl Rows {
    fn point(&mut self, text: &str, offset: usize) -> Point {
        let seen = &text.as_bytes()[self.offset..offset];
        for (i, &b) in seen.iter().enumerate() {
            if b == b'\n' {
                self.row += 1;
                self.line_start = self.offset + i + 1;
            }
        }
        self.offset = offset;
        Point::new(self.row, offset - self.line_start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_text_in_order_and_cut_after_a_closing_brace() {
        let f = "int f() {\n  return 0;\n}\n";
        let text = f.repeat(MAX_PIECE / f.len() * 3);
        let pieces = pieces(&text);
        assert_eq!(pieces[0].start, 0);
        assert_eq!(pieces.last().unwrap().end, text.len());
        for w in pieces.windows(2) {
            assert_eq!(w[0].end, w[1].start);
        }
        for p in &pieces {
            let piece = &text[p.clone()];
            assert!(
                piece.starts_with("int f()") && piece.ends_with("}\n"),
                "{piece:?}"
            );
        }
        for p in &pieces[..pieces.len() - 1] {
            assert!(
                (MIN_PIECE..MIN_PIECE + f.len()).contains(&p.len()),
                "{}",
                p.len()
            );
        }
    }

    #[test]
    fn a_long_run_without_a_closing_brace_is_cut_at_line_starts() {
        let text = "x;\n".repeat(MAX_PIECE);
        let pieces = pieces(&text);
        assert_eq!(pieces.len(), 4);
        for p in &pieces {
            assert!(p.len() <= MAX_PIECE && p.start % 3 == 0, "{p:?}");
        }
    }

    #[test]
    fn pieces_of_one_long_line_are_cut_on_char_boundaries() {
        let text = "é".repeat(MAX_PIECE);
        let pieces = pieces(&text);
        assert_eq!(pieces.iter().map(Range::len).sum::<usize>(), text.len());
        for p in &pieces {
            assert!(!p.is_empty() && p.len() <= MAX_PIECE);
            assert!(text.is_char_boundary(p.start) && text.is_char_boundary(p.end));
        }
        assert_eq!(super::pieces(""), vec![0..0]);
    }

    #[test]
    fn rows_count_lines_across_calls() {
        let text = "a\nbc\n\nd";
        let mut rows = Rows::default();
        assert_eq!(rows.point(text, 0), Point::new(0, 0));
        assert_eq!(rows.point(text, 3), Point::new(1, 1));
        assert_eq!(rows.point(text, 7), Point::new(3, 1));
    }
}
