//! A Rust lexer just exact enough to bound the depth of the tree `syn` would build, and to
//! split a file into top-level items, in one linear pass.
//!
//! `syn`'s parser, its `Drop` and every visitor recurse once per level of the tree. Brackets
//! are levels, and so are operator chains (`a = a = …`, `1 + 1 + …`, `x.b.b…`, `x???…`,
//! `!!!…`, `return return …`): each operator or postfix makes the tree one level deeper. The
//! estimate here counts both, per statement, and skips what cannot nest: string, raw string,
//! byte and char literals (`'"'` included), lifetimes, line and (nested) block comments. It is
//! an upper bound, so input under the limit is safe to hand to `syn` on the analysis stack.

/// Deepest bracket nesting accepted.
pub const MAX_NESTING: usize = 256;

/// Largest estimated tree depth accepted: brackets count 4, operators and postfixes 1.
pub const MAX_DEPTH: usize = 1600;

/// What the lexer found.
#[derive(Debug, Default)]
pub struct Shape {
    /// Byte offset and why, where the depth limit was first exceeded.
    pub too_deep: Option<(usize, String)>,
    /// Byte offsets where top-level items end (after a `}` or `;` at depth 0).
    pub item_ends: Vec<usize>,
}

/// Scans `text` once.
#[must_use]
pub fn scan(text: &str) -> Shape {
    let b = text.as_bytes();
    let mut shape = Shape::default();
    // Operators counted at each open bracket level, and their sum.
    let mut levels: Vec<usize> = vec![0];
    let mut ops = 0usize;
    let mut i = 0usize;
    let n = b.len();
    let mut prev_ident = false;
    while i < n {
        let c = b[i];
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < n && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                while i < n {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'"' => {
                i = skip_string(b, i + 1);
                continue;
            }
            b'\'' => {
                i = skip_quote(b, i);
                continue;
            }
            b'r' | b'b' | b'c' if !prev_ident && literal_prefix(b, i).is_some() => {
                i = literal_prefix(b, i).unwrap_or(n);
                continue;
            }
            b'(' | b'[' | b'{' => {
                levels.push(0);
                if levels.len() - 1 > MAX_NESTING {
                    shape.too_deep = Some((i, format!("nesting deeper than {MAX_NESTING} levels")));
                    return shape;
                }
            }
            b')' | b']' | b'}' => {
                if levels.len() > 1 {
                    ops -= levels.pop().unwrap_or(0);
                }
                // A `}` that ends a statement or an item (no operator follows it) ends the
                // chain its level was counting; `{0} = {0} = …` keeps counting.
                if c == b'}' {
                    let next = b[i + 1..].iter().find(|x| !x.is_ascii_whitespace());
                    let continues = next.is_some_and(|x| b".?=+-*/%&|^!<>".contains(x));
                    if !continues {
                        let last = levels.last_mut().map_or(0, std::mem::take);
                        ops -= last;
                    }
                }
                if levels.len() == 1 && c != b')' && c != b']' {
                    shape.item_ends.push(i + 1);
                }
            }
            b';' | b',' => {
                let last = levels.last_mut().map_or(0, std::mem::take);
                ops -= last;
                if c == b';' && levels.len() == 1 {
                    shape.item_ends.push(i + 1);
                }
            }
            b'=' if b.get(i + 1) == Some(&b'>') => {
                let last = levels.last_mut().map_or(0, std::mem::take);
                ops -= last;
                i += 2;
                prev_ident = false;
                continue;
            }
            b'.' | b'?' | b'=' | b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^' | b'!'
            | b'<' | b'>' => {
                bump(&mut levels, &mut ops);
            }
            _ if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let start = i;
                while i < n && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80) {
                    i += 1;
                }
                if matches!(
                    &text.as_bytes()[start..i],
                    b"as"
                        | b"return"
                        | b"break"
                        | b"box"
                        | b"yield"
                        | b"move"
                        | b"async"
                        | b"static"
                        | b"mut"
                        | b"ref"
                        | b"dyn"
                        | b"impl"
                        | b"const"
                        | b"unsafe"
                        | b"let"
                        | b"in"
                        | b"if"
                        | b"else"
                        | b"loop"
                        | b"while"
                        | b"match"
                        | b"await"
                ) {
                    bump(&mut levels, &mut ops);
                }
                prev_ident = true;
                continue;
            }
            _ => {}
        }
        prev_ident = false;
        let depth = levels.len() - 1;
        if depth * 4 + ops > MAX_DEPTH {
            shape.too_deep = Some((
                i,
                format!(
                    "an expression nested deeper than {MAX_DEPTH} levels (brackets and chained operators)"
                ),
            ));
            return shape;
        }
        i += 1;
    }
    shape
}

/// If a string, raw string, byte or C-string literal starts at `i` (`r"`, `r#"`, `br"`, `b"`,
/// `c"`, `b'`), the index just after it.
fn literal_prefix(b: &[u8], i: usize) -> Option<usize> {
    let c = b[i];
    let mut j = i + 1;
    if c != b'r' && b.get(j) == Some(&b'r') {
        j += 1;
    }
    if c == b'r' || j > i + 1 {
        let hashes_start = j;
        while b.get(j) == Some(&b'#') {
            j += 1;
        }
        return (b.get(j) == Some(&b'"')).then(|| skip_raw(b, j + 1, j - hashes_start));
    }
    match b.get(j) {
        Some(b'"') => Some(skip_string(b, j + 1)),
        Some(b'\'') if c == b'b' => Some(skip_quote(b, j)),
        _ => None,
    }
}

fn bump(levels: &mut [usize], ops: &mut usize) {
    if let Some(last) = levels.last_mut() {
        *last += 1;
        *ops += 1;
    }
}

/// Skips a `"…"` body starting after the quote; returns the index after the closing quote.
fn skip_string(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// Skips a raw string body ending in `"` and `hashes` `#`s.
fn skip_raw(b: &[u8], mut i: usize, hashes: usize) -> usize {
    while i < b.len() {
        if b[i] == b'"'
            && b[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&h| h == b'#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    b.len()
}

/// Skips a char literal (`'x'`, `'\''`, `'"'`, `'\u{..}'`) or a lifetime / label (`'a`)
/// starting at the quote at `i`.
fn skip_quote(b: &[u8], i: usize) -> usize {
    let n = b.len();
    match b.get(i + 1) {
        Some(b'\\') => {
            // An escape: up to the closing quote (at most a few bytes away).
            let mut j = i + 3;
            while j < n && j < i + 16 && b[j] != b'\'' {
                j += 1;
            }
            (j + 1).min(n)
        }
        Some(_) => {
            // One character (maybe multi-byte) then a quote: a char literal.
            let mut j = i + 2;
            while j < n && (b[j] & 0xC0) == 0x80 {
                j += 1;
            }
            if b.get(j) == Some(&b'\'') {
                j + 1
            } else {
                // A lifetime or label: the quote alone; the identifier lexes as a word.
                i + 1
            }
        }
        None => n,
    }
}

#[cfg(test)]
mod tests {
    use super::scan;

    #[test]
    fn literals_do_not_confuse_the_count() {
        assert!(
            scan("fn f() { let c = '\"'; let d = '('; }")
                .too_deep
                .is_none()
        );
        assert!(
            scan("/* \" */ fn f<'a>(x: &'a u8) { let s = r#\"((\"#; }")
                .too_deep
                .is_none()
        );
        assert_eq!(scan("fn a() {}\nfn b() {}\n").item_ends.len(), 2);
    }

    #[test]
    fn chains_count() {
        for chain in ["a = ", "1 + ", ".b", "?", "!", "return "] {
            let text = format!("fn f() {{ let x = y{}; }}", chain.repeat(5000));
            assert!(scan(&text).too_deep.is_some(), "{chain}");
        }
        let ok = format!("fn f() {{ {} }}", "let x = a + b;".repeat(5000));
        assert!(scan(&ok).too_deep.is_none());
        // Many items with return types and generics, and statements ending in blocks.
        let items = "fn f() -> Result<Vec<u8>, E> { if a > b { c } else { d } }\n".repeat(5000);
        assert!(scan(&items).too_deep.is_none());
        let blocks = format!("fn f() {{ a = {}0; }}", "{ 0 } = ".repeat(3000));
        assert!(scan(&blocks).too_deep.is_some());
    }
}
