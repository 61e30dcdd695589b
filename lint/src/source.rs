//! Turning source text into a syntax tree, without ever panicking or overflowing the stack.

use std::fmt;

/// Deepest bracket nesting the analyzer accepts. `syn` and the rules recurse once per level;
/// real code stays far below this, and generated or adversarial input above it is reported as
/// not analyzed instead of risking a stack overflow.
pub const MAX_NESTING: usize = 256;

/// Why a file could not be analyzed, and where.
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

/// The 1-based line `n` of `text` (without its line ending), or `""` past the end.
#[must_use]
pub fn line_of(text: &str, n: usize) -> &str {
    text.lines()
        .nth(n.saturating_sub(1))
        .unwrap_or("")
        .trim_end_matches('\r')
}

/// Parses a whole Rust file, refusing input nested deeper than [`MAX_NESTING`].
///
/// # Errors
/// A [`ParseFailure`] naming the first syntax error, or the place the nesting limit was hit.
pub fn parse(text: &str) -> Result<syn::File, ParseFailure> {
    if let Some((line, column)) = too_deep(text) {
        return Err(ParseFailure {
            line,
            column,
            message: format!("nesting deeper than {MAX_NESTING} levels; not analyzed"),
        });
    }
    syn::parse_file(text).map_err(|e| {
        let start = e.span().start();
        let mut message = e.to_string();
        if message == "cannot parse string into token stream" {
            // proc-macro2's lexer error says nothing more; this is what it means.
            message = "unbalanced delimiters or an invalid token".to_owned();
        }
        ParseFailure {
            line: start.line.max(1),
            column: start.column + 1,
            message,
        }
    })
}

/// Where the bracket nesting (or a run of prefix operators / keywords that `syn` parses
/// recursively) first exceeds [`MAX_NESTING`], if it does. Strings and comments are skipped
/// roughly; the check only has to be conservative, not exact.
fn too_deep(text: &str) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let mut prefix_run = 0usize;
    // `|` since the last `;`, `,`, `=`, brace: closure chains (`|a| |b| |c| x`) recurse.
    let mut pipe_run = 0usize;
    let (mut line, mut column) = (1usize, 0usize);
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        column += 1;
        if c == '\n' {
            line += 1;
            column = 0;
        }
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                    column += 1;
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        column = 0;
                        break;
                    }
                }
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        // `!!!!x`, `&&&&x`, `- - - x`, `return return x`, `|a| |b| x`, `..`: each level is one
        // more recursion in the expression parser.
        if matches!(c, '!' | '&' | '*' | '-' | '|' | '.' | '<' | '>') {
            prefix_run += 1;
        } else if !c.is_whitespace() {
            prefix_run = 0;
        }
        match c {
            '|' => pipe_run += 1,
            ';' | ',' | '=' | '{' | '}' => pipe_run = 0,
            _ => {}
        }
        if depth > MAX_NESTING || prefix_run > MAX_NESTING * 4 || pipe_run > MAX_NESTING * 4 {
            return Some((line, column));
        }
    }
    if keyword_chain(text) > MAX_NESTING {
        return Some((1, 1));
    }
    None
}

/// The longest run of words that `syn` parses by recursion (`return return return x`).
fn keyword_chain(text: &str) -> usize {
    let mut best = 0;
    let mut run = 0;
    for word in text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
    {
        if matches!(
            word,
            "return"
                | "break"
                | "box"
                | "yield"
                | "move"
                | "async"
                | "static"
                | "mut"
                | "ref"
                | "dyn"
                | "impl"
                | "const"
                | "unsafe"
                | "let"
                | "in"
                | "if"
                | "else"
                | "loop"
                | "while"
                | "match"
        ) {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}
