//! ExecuTorch `.pte`: a flatbuffer `Program` (schema `program.fbs`, identifier `ET12`) with an
//! optional extended header, then segments.
//!
//! Bytes 0–3 are the flatbuffer root offset (u32 LE), bytes 4–7 the identifier `ET` + two
//! digits. An extended header may follow at offset 8: `eh00`, u32 header length (≥ 24), u64
//! program size, u64 segment base offset and, when the length is ≥ 32, u64 segment data size.
//!
//! Checked, in this order:
//! 1. the header: it lies in the file, the program is at least as long as the prefix and the
//!    header ([`Rule::ProgramSize`]), the program lies in the file, the root offset points into
//!    the program past the prefix, segment data (`base + size`, checked add) lies in the file
//!    after the program;
//! 2. the flatbuffer, with the `flatbuffers` crate's verifier over exactly the program's bytes
//!    (every table, vector and string offset inside them; depth, table count and apparent size
//!    bounded by the program's size) — [`Rule::Flatbuffer`];
//! 3. what the runtime then trusts (`program.rs`): every segment inside the segment data,
//!    constant and mutable-data offsets inside their segment (with each constant tensor's bytes),
//!    delegate data references (inline index or segment index) in range, execution plan values,
//!    inputs, outputs, operator, delegate and instruction indices in range, scalar types known.
//!
//! Without the extended header the whole file is the program.

use std::ops::Range;
use std::path::Path;

use super::cursor::Cursor;
use super::flatbuf::read_prefix;
use super::info::ModelInfo;
use super::{Ctx, Details, Format, FormatError, Rule};
use crate::size::to_u64;

mod program;
mod scalar;

pub use scalar::ScalarType;

/// The identifier of the schema this parser reads.
pub const IDENTIFIER: &[u8; 4] = b"ET12";
/// Magic of the extended header.
pub const EXTENDED_MAGIC: &[u8; 4] = b"eh00";
/// Smallest valid extended header length.
pub const MIN_EXTENDED_LEN: u32 = 24;
/// Extended header length from which the segment data size is present.
pub const SEGMENT_SIZE_LEN: u32 = 32;

/// Whether bytes 4–7 are an ExecuTorch program identifier: `ET` and two ASCII digits.
#[must_use]
pub fn is_identifier(id: &[u8]) -> bool {
    matches!(id, [b'E', b'T', a, b] if a.is_ascii_digit() && b.is_ascii_digit())
}

/// The optional extended header, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExtendedHeader {
    /// The header's stated length.
    pub length: u32,
    /// Bytes of the flatbuffer program.
    pub program_size: u64,
    /// Where segment data starts (0: no segments).
    pub segment_base_offset: u64,
    /// Bytes of segment data, when the header is long enough to say.
    pub segment_data_size: Option<u64>,
}

/// One execution plan (a method): its name, value counts and the backends it delegates to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Plan {
    /// The method name (`forward`, …).
    pub name: String,
    /// Indices into the plan's values of its inputs.
    pub inputs: Vec<u32>,
    /// Indices into the plan's values of its outputs.
    pub outputs: Vec<u32>,
    /// The backend id of each delegate (`XnnpackBackend`, …).
    pub delegates: Vec<String>,
    /// How many values the plan holds.
    pub values: u32,
    /// How many operators it calls.
    pub operators: u32,
    /// Instructions across its chains.
    pub instructions: u32,
}

/// A segment of a program or named-data file: absolute byte range in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentRange {
    /// Absolute offset of the first byte.
    pub offset: u64,
    /// Bytes.
    pub len: u64,
}

impl SegmentRange {
    /// `offset..offset + len` (checked when parsed).
    #[must_use]
    pub fn range(&self) -> Range<u64> {
        self.offset..self.offset.saturating_add(self.len)
    }
}

/// One entry of the constant segment: its index, absolute offset and the bytes the constant
/// tensors that use it take (0 for the reserved index 0 and for unused entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Constant {
    /// Index in `constant_segment.offsets` (what a tensor's `data_buffer_idx` names).
    pub index: u32,
    /// Absolute offset in the file.
    pub offset: u64,
    /// Bytes of the largest tensor stored there.
    pub len: u64,
}

/// A verified ExecuTorch program: the layout of the file and what its flatbuffer says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PteProgram {
    /// The flatbuffer file identifier (`ET12`).
    pub identifier: String,
    /// Offset of the flatbuffer root table.
    pub root_offset: u32,
    /// The extended header, when present.
    pub extended: Option<ExtendedHeader>,
    /// Absolute byte range of the program.
    pub program: Range<u64>,
    /// Absolute byte range of the segment data, when there is any.
    pub segment_data: Option<Range<u64>>,
    /// The program's schema version field.
    pub version: u32,
    /// Execution plans, in program order.
    pub plans: Vec<Plan>,
    /// `Program.segments`, as absolute ranges.
    pub segments: Vec<SegmentRange>,
    /// `Program.constant_segment`, as absolute ranges.
    pub constants: Vec<Constant>,
    /// `Program.named_data`: key and segment index.
    pub named_data: Vec<(String, u32)>,
}

/// Parses and verifies an ExecuTorch program.
///
/// # Errors
///
/// A [`FormatError`] naming the offset and the [`Rule`] broken.
#[track_caller]
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ModelInfo, FormatError> {
    let _site = crate::callsite::enter();
    let ctx = Ctx {
        path,
        format: Format::Pte,
    };
    let file_len = to_u64(bytes.len());
    let mut c = Cursor::new(bytes, ctx);
    let prefix = read_prefix(&mut c, "\"ET\" and two digits", is_identifier)?;
    if &prefix.identifier != IDENTIFIER {
        return Err(ctx.err(
            4,
            Rule::UnsupportedVersion,
            format!(
                "program schema \"{}\"; this reader (and ExecuTorch 1.x's runtime) reads \"ET12\"",
                prefix.identifier.escape_ascii()
            ),
        ));
    }
    let extended = if bytes.get(8..12) == Some(EXTENDED_MAGIC.as_slice()) {
        Some(read_extended(&mut c, file_len)?)
    } else {
        None
    };
    let program_size = extended.as_ref().map_or(file_len, |h| h.program_size);
    let header_end = extended.as_ref().map_or(8, |h| 8 + u64::from(h.length));
    if program_size < header_end {
        return Err(ctx.err(
            16,
            Rule::ProgramSize,
            format!("program of {program_size} bytes is smaller than its own {header_end}-byte prefix and header"),
        ));
    }
    if program_size > file_len {
        return Err(ctx.err(
            16,
            Rule::OutOfFile,
            format!("program of {program_size} bytes is larger than the file of {file_len}"),
        ));
    }
    let root_end = u64::from(prefix.root_offset).checked_add(4);
    if u64::from(prefix.root_offset) < header_end || root_end.is_none_or(|end| end > program_size) {
        return Err(ctx.err(
            0,
            Rule::RootOffset,
            format!(
                "root offset {} is not inside the program [{header_end}, {program_size})",
                prefix.root_offset
            ),
        ));
    }
    let segment_data = match &extended {
        Some(h) if h.segment_base_offset != 0 => {
            let base = h.segment_base_offset;
            if base < program_size {
                return Err(ctx.err(
                    24,
                    Rule::SegmentOverlap,
                    format!("segment base {base} is inside the program of {program_size} bytes"),
                ));
            }
            let size = h.segment_data_size.unwrap_or(file_len.saturating_sub(base));
            match base.checked_add(size) {
                Some(end) if end <= file_len => Some(base..end),
                _ => {
                    return Err(ctx.err(
                        24,
                        Rule::OutOfFile,
                        format!("segment data of {size} bytes at {base} ends past the file of {file_len} bytes"),
                    ));
                }
            }
        }
        _ => None,
    };
    // `program_size <= file_len`, so this cannot fail; `get` keeps it panic-free.
    let flatbuffer = crate::size::to_usize(program_size, "program size")
        .ok()
        .and_then(|n| bytes.get(..n))
        .unwrap_or_default();
    let checked = program::check(flatbuffer, segment_data.clone(), ctx)?;
    let layout = PteProgram {
        identifier: String::from_utf8_lossy(&prefix.identifier).into_owned(),
        root_offset: prefix.root_offset,
        extended,
        program: 0..program_size,
        segment_data,
        version: checked.version,
        plans: checked.plans,
        segments: checked.segments,
        constants: checked.constants,
        named_data: checked.named_data,
    };
    Ok(ModelInfo::new(
        Format::Pte,
        bytes,
        checked.tensors,
        checked.index,
        Details::Pte(Box::new(layout)),
        checked.cost,
    ))
}

/// Reads the extended header at offset 8 (its magic already seen).
fn read_extended(c: &mut Cursor<'_>, file_len: u64) -> Result<ExtendedHeader, FormatError> {
    let ctx = c.ctx();
    c.take(4, "the extended header magic")?;
    let length = c.u32("the extended header length")?;
    if length < MIN_EXTENDED_LEN {
        return Err(ctx.err(
            12,
            Rule::HeaderLength,
            format!("extended header length {length} is below {MIN_EXTENDED_LEN}"),
        ));
    }
    if 8 + u64::from(length) > file_len {
        return Err(ctx.err(
            12,
            Rule::Truncated,
            format!(
                "extended header of {length} bytes at 8 ends past the file of {file_len} bytes"
            ),
        ));
    }
    let program_size = c.u64("the program size")?;
    let segment_base_offset = c.u64("the segment base offset")?;
    let segment_data_size = if length >= SEGMENT_SIZE_LEN {
        Some(c.u64("the segment data size")?)
    } else {
        None
    };
    Ok(ExtendedHeader {
        length,
        program_size,
        segment_base_offset,
        segment_data_size,
    })
}
