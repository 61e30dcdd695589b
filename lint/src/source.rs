//! A file's text with its line index: byte offsets to 1-based lines and character columns and
//! back, in O(1) for ASCII lines and O(log lines) to find a line. Built once per file, so
//! findings and suppressions never rescan the text.

use std::fmt;

pub use crate::lex::{MAX_DEPTH, MAX_NESTING};

/// Why a file (or a part of it) could not be analyzed, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFailure {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// What the parser said.
    pub message: String,
}

impl fmt::Display for ParseFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Line starts of a text.
pub struct LineIndex<'t> {
    text: &'t str,
    /// Byte offset of each line's first byte.
    starts: Vec<usize>,
    /// Whether each line is pure ASCII (then byte and character columns agree).
    ascii: Vec<bool>,
}

impl<'t> LineIndex<'t> {
    /// Indexes `text` in one pass.
    #[must_use]
    pub fn new(text: &'t str) -> Self {
        let mut starts = vec![0];
        let mut ascii = Vec::new();
        let mut line_ascii = true;
        for (i, b) in text.bytes().enumerate() {
            if b >= 0x80 {
                line_ascii = false;
            }
            if b == b'\n' {
                starts.push(i + 1);
                ascii.push(line_ascii);
                line_ascii = true;
            }
        }
        ascii.push(line_ascii);
        LineIndex {
            text,
            starts,
            ascii,
        }
    }

    /// The 1-based line and 0-based character column of byte `offset`.
    #[must_use]
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1) - 1;
        let start = self.starts[line];
        let column = if self.ascii[line] {
            offset - start
        } else {
            let mut end = offset;
            while !self.text.is_char_boundary(end) {
                end -= 1;
            }
            self.text.get(start..end).map_or(0, |s| s.chars().count())
        };
        (line + 1, column)
    }

    /// The byte offset of 1-based `line`, 0-based character `column` (clamped to the text).
    #[must_use]
    pub fn offset(&self, line: usize, column: usize) -> usize {
        let Some(&start) = self.starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        if self.ascii.get(line.saturating_sub(1)) == Some(&true) {
            return (start + column).min(self.text.len());
        }
        let rest = self.text.get(start..).unwrap_or("");
        start
            + rest
                .char_indices()
                .nth(column)
                .map_or(rest.len(), |(i, _)| i)
    }

    /// The text of 1-based line `n` without its line ending ("" past the end).
    #[must_use]
    pub fn line(&self, n: usize) -> &'t str {
        let Some(&start) = self.starts.get(n.saturating_sub(1)) else {
            return "";
        };
        let end = self
            .starts
            .get(n)
            .map_or(self.text.len(), |&e| e.saturating_sub(1));
        self.text
            .get(start..end.max(start))
            .unwrap_or("")
            .trim_end_matches('\r')
    }

    /// How many lines the text has.
    #[must_use]
    pub fn lines(&self) -> usize {
        self.starts.len()
    }
}

/// The 1-based line `n` of `text` (without its line ending), or `""` past the end.
#[must_use]
pub fn line_of(text: &str, n: usize) -> &str {
    text.lines()
        .nth(n.saturating_sub(1))
        .unwrap_or("")
        .trim_end_matches('\r')
}
