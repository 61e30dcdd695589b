//! A small, strict JSON tokenizer for the safetensors header.
//!
//! The safetensors header has a fixed shape (an object of objects holding strings and arrays
//! of non-negative integers), so a tokenizer is all the parser needs; writing it here instead of
//! using `serde_json` gives every error an exact byte offset and makes duplicate keys an error
//! (`serde_json` keeps the last one). It follows RFC 8259 for what it accepts: strings with all
//! escapes (surrogate pairs checked), integers without leading zeros. Fractions, exponents and
//! signs are rejected where an integer is expected, because the format stores sizes there.

use std::borrow::Cow;

use super::{Ctx, FormatError, Rule};
use crate::size::to_u64;

/// A position in a JSON text that is itself at `base` in the file.
pub(crate) struct Json<'a> {
    src: &'a str,
    text: &'a [u8],
    pos: usize,
    base: u64,
    ctx: Ctx<'a>,
}

impl<'a> Json<'a> {
    /// Tokenizes `text`, which starts at file offset `base`. `text` must be valid UTF-8 (the
    /// caller checks the whole header once).
    pub(crate) fn new(text: &'a str, base: u64, ctx: Ctx<'a>) -> Self {
        Self {
            src: text,
            text: text.as_bytes(),
            pos: 0,
            base,
            ctx,
        }
    }

    /// The file offset of the current position.
    pub(crate) fn offset(&self) -> u64 {
        self.base.saturating_add(to_u64(self.pos))
    }

    /// An error at the current position.
    pub(crate) fn err(&self, rule: Rule, detail: impl Into<String>) -> FormatError {
        self.ctx.err(self.offset(), rule, detail)
    }

    /// The next byte, if any.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    /// Skips JSON whitespace (space, tab, newline, carriage return).
    pub(crate) fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Whether only whitespace remains.
    pub(crate) fn at_end(&mut self) -> bool {
        self.ws();
        self.pos >= self.text.len()
    }

    /// Consumes `byte` after optional whitespace, or fails naming what was expected.
    pub(crate) fn expect(&mut self, byte: u8, what: &str) -> Result<(), FormatError> {
        self.ws();
        match self.peek() {
            Some(b) if b == byte => {
                self.pos += 1;
                Ok(())
            }
            Some(b) => Err(self.err(
                Rule::Json,
                format!("expected {what}, found {:?}", char::from(b)),
            )),
            None => Err(self.err(
                Rule::Json,
                format!("expected {what}, found the end of the header"),
            )),
        }
    }

    /// Consumes `byte` if it comes next (after whitespace).
    pub(crate) fn eat(&mut self, byte: u8) -> bool {
        self.ws();
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Describes the value that starts here, for schema errors.
    pub(crate) fn value_kind(&mut self) -> &'static str {
        self.ws();
        match self.peek() {
            Some(b'"') => "a string",
            Some(b'{') => "an object",
            Some(b'[') => "an array",
            Some(b't' | b'f') => "a boolean",
            Some(b'n') => "null",
            Some(b'-' | b'0'..=b'9') => "a number",
            Some(_) => "an invalid token",
            None => "the end of the header",
        }
    }

    /// Reads a string (after whitespace), decoding escapes; borrowed from the text when it
    /// has none (the common case: no allocation).
    pub(crate) fn str(&mut self) -> Result<Cow<'a, str>, FormatError> {
        self.ws();
        if self.peek() != Some(b'"') {
            let kind = self.value_kind();
            return Err(self.err(Rule::Schema, format!("expected a string, found {kind}")));
        }
        self.pos += 1;
        let start = self.pos;
        self.pos += self.text[start..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            .unwrap_or(self.text.len() - start);
        if self.peek() == Some(b'"') {
            // Both ends are ASCII bytes of a `str`, so they are char boundaries.
            let s = self.src.get(start..self.pos).unwrap_or_default();
            self.pos += 1;
            return Ok(Cow::Borrowed(s));
        }
        let mut out = self.text[start..self.pos].to_vec();
        loop {
            match self.peek() {
                None => return Err(self.err(Rule::Json, "unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => return Err(self.err(Rule::Json, "control character in string")),
            }
            let from = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.extend_from_slice(&self.text[from..self.pos]);
        }
        // The input was UTF-8 and escapes push whole UTF-8 sequences, so this cannot fail;
        // map the impossible case to an error rather than a panic.
        String::from_utf8(out)
            .map(Cow::Owned)
            .map_err(|_| self.err(Rule::InvalidUtf8, "string is not UTF-8"))
    }

    /// Reads a string into an owned `String`.
    pub(crate) fn string(&mut self) -> Result<String, FormatError> {
        self.str().map(Cow::into_owned)
    }

    /// Walks the members of an object (after whitespace): `{`, then for each member its key
    /// (with the key's file offset) handed to `member`, which must consume the value; the
    /// commas and the closing `}` are checked here. The one copy of the key/colon/comma loop.
    pub(crate) fn members(
        &mut self,
        mut member: impl FnMut(&mut Self, Cow<'a, str>, u64) -> Result<(), FormatError>,
    ) -> Result<(), FormatError> {
        self.expect(b'{', "`{`")?;
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            self.ws();
            let at = self.offset();
            let key = self.str()?;
            self.expect(b':', "`:`")?;
            member(self, key, at)?;
            if self.eat(b'}') {
                return Ok(());
            }
            self.expect(b',', "`,` or `}`")?;
        }
    }

    /// Skips one value of any kind (after whitespace), checking its syntax. Nesting is bounded
    /// by [`MAX_SKIP_DEPTH`] so a hostile document cannot exhaust the stack.
    pub(crate) fn skip_value(&mut self, depth: u32) -> Result<(), FormatError> {
        self.ws();
        if depth > MAX_SKIP_DEPTH {
            return Err(self.err(Rule::NestingTooDeep, "JSON nested too deep"));
        }
        match self.peek() {
            Some(b'"') => self.str().map(drop),
            Some(b'{') => self.members(|json, _, _| json.skip_value(depth + 1)),
            Some(b'[') => {
                self.pos += 1;
                if self.eat(b']') {
                    return Ok(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    if self.eat(b']') {
                        return Ok(());
                    }
                    self.expect(b',', "`,` or `]`")?;
                }
            }
            Some(b't') => self.word("true"),
            Some(b'f') => self.word("false"),
            Some(b'n') => self.word("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => {
                let kind = self.value_kind();
                Err(self.err(Rule::Json, format!("expected a value, found {kind}")))
            }
        }
    }

    fn word(&mut self, word: &str) -> Result<(), FormatError> {
        if self.text[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.err(Rule::Json, "invalid literal"))
        }
    }

    /// Skips a JSON number (RFC 8259 grammar).
    fn number(&mut self) -> Result<(), FormatError> {
        let start = self.pos;
        self.eat_byte(b'-');
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.err(Rule::Json, "invalid number")),
        }
        if self.eat_byte(b'.') {
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err(Rule::Json, "invalid number"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if !self.eat_byte(b'+') {
                self.eat_byte(b'-');
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err(Rule::Json, "invalid number"));
            }
            self.digits();
        }
        debug_assert!(self.pos > start);
        Ok(())
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    fn eat_byte(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Decodes one escape sequence (the backslash is consumed).
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), FormatError> {
        let Some(b) = self.peek() else {
            return Err(self.err(Rule::Json, "unterminated escape"));
        };
        self.pos += 1;
        let simple = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let first = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&first) {
                    if !(self.peek() == Some(b'\\') && self.text.get(self.pos + 1) == Some(&b'u')) {
                        return Err(self.err(Rule::Json, "lone leading surrogate"));
                    }
                    self.pos += 2;
                    let second = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&second) {
                        return Err(self.err(Rule::Json, "invalid trailing surrogate"));
                    }
                    0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                } else {
                    first
                };
                let Some(c) = char::from_u32(code) else {
                    return Err(self.err(Rule::Json, "lone trailing surrogate"));
                };
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                return Ok(());
            }
            _ => return Err(self.err(Rule::Json, "invalid escape")),
        };
        out.push(simple);
        Ok(())
    }

    /// Reads four hex digits.
    fn hex4(&mut self) -> Result<u32, FormatError> {
        let mut value = 0u32;
        for _ in 0..4 {
            let digit = self.peek().and_then(|b| char::from(b).to_digit(16));
            let Some(digit) = digit else {
                return Err(self.err(Rule::Json, "invalid \\u escape"));
            };
            value = value * 16 + digit;
            self.pos += 1;
        }
        Ok(value)
    }

    /// Reads a non-negative integer (after whitespace) that fits in `u64`.
    pub(crate) fn uint(&mut self) -> Result<u64, FormatError> {
        self.ws();
        let start = self.offset();
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            let kind = self.value_kind();
            return Err(self.err(
                Rule::Schema,
                format!("expected a non-negative integer, found {kind}"),
            ));
        }
        let mut value = 0u64;
        let mut digits = 0usize;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            if digits == 1 && value == 0 {
                return Err(self
                    .ctx
                    .err(start, Rule::Json, "number with a leading zero"));
            }
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .ok_or_else(|| {
                    self.ctx
                        .err(start, Rule::SizeOverflow, "integer does not fit in 64 bits")
                })?;
            digits += 1;
            self.pos += 1;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return Err(self.ctx.err(
                start,
                Rule::Schema,
                "expected an integer, found a fraction or exponent",
            ));
        }
        Ok(value)
    }

    /// Reads an array of non-negative integers.
    ///
    /// The items are counted first (a scan for the closing `]`), so the vector is allocated
    /// once at its exact size: at most 8 bytes per 2 bytes of header (`0,`), with no growth
    /// spikes, whatever the array's length.
    pub(crate) fn uint_array(&mut self) -> Result<Vec<u64>, FormatError> {
        self.ws();
        if self.peek() != Some(b'[') {
            let kind = self.value_kind();
            return Err(self.err(Rule::Schema, format!("expected an array, found {kind}")));
        }
        self.pos += 1;
        let rest = &self.text[self.pos..];
        let close = rest.iter().position(|&b| b == b']').unwrap_or(rest.len());
        let inner = &rest[..close];
        let items = if inner.trim_ascii().is_empty() {
            0
        } else {
            inner.iter().filter(|&&b| b == b',').count() + 1
        };
        let mut out = Vec::with_capacity(items);
        if self.eat(b']') {
            return Ok(out);
        }
        loop {
            out.push(self.uint()?);
            if self.eat(b']') {
                return Ok(out);
            }
            self.expect(b',', "`,` or `]`")?;
        }
    }

    /// Reads an array of exactly two non-negative integers without allocating: `Ok(Err(n))`
    /// when the array is well-formed but holds `n` items.
    pub(crate) fn uint_pair(&mut self) -> Result<Result<(u64, u64), usize>, FormatError> {
        self.ws();
        if self.peek() != Some(b'[') {
            let kind = self.value_kind();
            return Err(self.err(Rule::Schema, format!("expected an array, found {kind}")));
        }
        self.pos += 1;
        let mut items = [0u64; 2];
        let mut n = 0usize;
        if !self.eat(b']') {
            loop {
                let v = self.uint()?;
                if let Some(slot) = items.get_mut(n) {
                    *slot = v;
                }
                n += 1;
                if self.eat(b']') {
                    break;
                }
                self.expect(b',', "`,` or `]`")?;
            }
        }
        Ok(if n == 2 {
            Ok((items[0], items[1]))
        } else {
            Err(n)
        })
    }
}

/// Deepest nesting [`Json::skip_value`] follows (values the parsers do not interpret).
pub(crate) const MAX_SKIP_DEPTH: u32 = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Format;
    use std::path::Path;

    fn json(text: &str) -> Json<'_> {
        Json::new(
            text,
            100,
            Ctx {
                path: Path::new("t"),
                format: Format::Safetensors,
            },
        )
    }

    #[test]
    fn strings_decode_escapes_and_reject_bad_ones() {
        assert_eq!(
            json(r#" "a\n\u00e9\ud83d\ude00\/" "#).string().unwrap(),
            "a\né😀/"
        );
        for bad in [
            r#""\ud83d""#,
            r#""\ude00""#,
            r#""\x""#,
            "\"a",
            "\"\u{1}\"",
            r#""\u12""#,
        ] {
            let err = json(bad).string().unwrap_err();
            assert_eq!(err.rule, Rule::Json, "{bad}");
        }
    }

    #[test]
    fn integers_are_strict() {
        assert_eq!(json(" 18446744073709551615").uint().unwrap(), u64::MAX);
        assert_eq!(json("0").uint().unwrap(), 0);
        assert_eq!(
            json("18446744073709551616").uint().unwrap_err().rule,
            Rule::SizeOverflow
        );
        assert_eq!(json("01").uint().unwrap_err().rule, Rule::Json);
        assert_eq!(json("1.0").uint().unwrap_err().rule, Rule::Schema);
        let err = json("  -1").uint().unwrap_err();
        assert_eq!((err.rule, err.offset), (Rule::Schema, 102));
        assert_eq!(json("[1, 2 ,3]").uint_array().unwrap(), vec![1, 2, 3]);
        assert_eq!(json("[ ]").uint_array().unwrap(), Vec::<u64>::new());
        assert_eq!(json("[1,]").uint_array().unwrap_err().rule, Rule::Schema);
        assert_eq!(json("[1 2]").uint_array().unwrap_err().rule, Rule::Json);
    }
}
