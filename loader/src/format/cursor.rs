//! A bounds-checked little-endian reader over the bytes of a file.
//!
//! Every read checks the bytes that remain first and reports a [`Rule::Truncated`] error at the
//! offset where the read started; positions are kept as `usize` into the slice and reported as
//! absolute `u64` file offsets. Nothing here can index out of bounds or overflow.

use super::{Ctx, FormatError, Rule};
use crate::size::to_u64;

/// Reads typed little-endian values from a byte slice, front to back.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    ctx: Ctx<'a>,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `bytes` (offset 0 of the file).
    pub(crate) fn new(bytes: &'a [u8], ctx: Ctx<'a>) -> Self {
        Self { bytes, pos: 0, ctx }
    }

    /// A cursor at `pos` (clamped to the end).
    pub(crate) fn at(bytes: &'a [u8], pos: usize, ctx: Ctx<'a>) -> Self {
        Self {
            bytes,
            pos: pos.min(bytes.len()),
            ctx,
        }
    }

    /// The error context of this parse.
    pub(crate) fn ctx(&self) -> Ctx<'a> {
        self.ctx
    }

    /// The current position as a file offset.
    pub(crate) fn offset(&self) -> u64 {
        to_u64(self.pos)
    }

    /// Bytes left after the current position.
    pub(crate) fn remaining(&self) -> u64 {
        to_u64(self.bytes.len() - self.pos)
    }

    /// An error at the current position.
    pub(crate) fn err(&self, rule: Rule, detail: impl Into<String>) -> FormatError {
        self.ctx.err(self.offset(), rule, detail)
    }

    /// Takes the next `len` bytes, or fails with [`Rule::Truncated`] naming `what`.
    pub(crate) fn take(&mut self, len: u64, what: &str) -> Result<&'a [u8], FormatError> {
        if len > self.remaining() {
            return Err(self.err(
                Rule::Truncated,
                format!(
                    "{what} needs {len} bytes but only {} remain",
                    self.remaining()
                ),
            ));
        }
        // `len <= remaining <= usize::MAX`, so the conversion and the addition cannot fail;
        // `get` keeps this panic-free even so.
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| self.pos.checked_add(len));
        let out = end.and_then(|end| self.bytes.get(self.pos..end).map(|s| (s, end)));
        match out {
            Some((slice, end)) => {
                self.pos = end;
                Ok(slice)
            }
            None => Err(self.err(Rule::Truncated, format!("{what} runs past the end"))),
        }
    }

    /// Reads `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], FormatError> {
        let slice = self.take(to_u64(N), what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    /// Reads one byte.
    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, FormatError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// Reads a little-endian `u32`.
    pub(crate) fn u32(&mut self, what: &str) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// Reads a little-endian `u64`.
    pub(crate) fn u64(&mut self, what: &str) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Format;
    use std::path::Path;

    fn ctx() -> Ctx<'static> {
        Ctx {
            path: Path::new("t"),
            format: Format::Gguf,
        }
    }

    #[test]
    fn reads_little_endian_and_stops_at_the_end() {
        let bytes = [1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 9];
        let mut c = Cursor::new(&bytes, ctx());
        assert_eq!(c.u32("a").unwrap(), 1);
        assert_eq!(c.u64("b").unwrap(), 2);
        assert_eq!(c.offset(), 12);
        let err = c.u32("c").unwrap_err();
        assert_eq!((err.rule, err.offset), (Rule::Truncated, 12));
        assert_eq!(c.u8("d").unwrap(), 9);
        assert_eq!(c.remaining(), 0);
        assert!(c.take(u64::MAX, "e").is_err());
        assert!(c.take(0, "f").unwrap().is_empty());
    }
}
