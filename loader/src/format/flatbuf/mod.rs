//! What `.pte` and `.ptd` share: the `flatc`-generated readers of ExecuTorch's schemas, the
//! verifier bounds, verifier errors as [`FormatError`]s, and the 8-byte prefix (root offset and
//! identifier) both files start with.

use flatbuffers::VerifierOptions;

use super::cursor::Cursor;
use super::{Ctx, FormatError, Rule};
use crate::size::to_u64;

mod generated;

pub(crate) use generated::flat_tensor;
pub(crate) use generated::program;

/// Verifier bounds for a flatbuffer of `len` bytes: depth 64 (the schemas nest at most 6
/// tables deep), at most one table per 4 bytes, and an apparent size (bytes reachable,
/// counting shared data each time it is reached) of at most 4 × the buffer, so a buffer whose
/// offsets share data cannot make verification (or the walk after it) cost more than a
/// constant times its size.
pub(crate) fn verifier_options(len: usize) -> VerifierOptions {
    VerifierOptions {
        max_depth: 64,
        max_tables: len / 4 + 1,
        max_apparent_size: len.saturating_mul(4).max(1 << 12),
        ignore_missing_null_terminator: false,
    }
}

/// A verifier failure as a [`FormatError`] at the buffer position it names: the `flatbuffers`
/// crate's description says which field (with the path of tables to it) was wrong.
pub(crate) fn flatbuffer_error(
    ctx: Ctx<'_>,
    err: &flatbuffers::InvalidFlatbuffer,
    buf_len: usize,
) -> FormatError {
    use flatbuffers::InvalidFlatbuffer as E;
    let at = match err {
        E::Utf8Error { range, .. }
        | E::MissingNullTerminator { range, .. }
        | E::RangeOutOfBounds { range, .. } => range.start,
        E::Unaligned { position, .. } | E::SignedOffsetOutOfBounds { position, .. } => *position,
        _ => 0,
    };
    // The crate's text lists the path of tables on indented lines: keep it on one line.
    let detail = err
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    // A range past the end starts at most at the end, which is where the file fails.
    ctx.err(to_u64(at.min(buf_len)), Rule::Flatbuffer, detail)
}

/// The fixed prefix of a flatbuffer file with an ExecuTorch extended header: root offset,
/// identifier, and the header's magic, if present.
pub(crate) struct Prefix {
    pub(crate) root_offset: u32,
    pub(crate) identifier: [u8; 4],
}

/// Reads the root offset and identifier, checking the identifier with `is_id`.
pub(crate) fn read_prefix(
    c: &mut Cursor<'_>,
    expected: &str,
    is_id: fn(&[u8]) -> bool,
) -> Result<Prefix, FormatError> {
    let root_offset = c.u32("the root offset")?;
    let identifier = c.array::<4>("the identifier")?;
    if !is_id(&identifier) {
        return Err(c.ctx().err(
            4,
            Rule::BadMagic,
            format!(
                "identifier \"{}\" is not {expected}",
                identifier.escape_ascii()
            ),
        ));
    }
    Ok(Prefix {
        root_offset,
        identifier,
    })
}
