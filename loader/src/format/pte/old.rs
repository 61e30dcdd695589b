//! ExecuTorch `.pte`: a flatbuffer program with an optional extended header, then segments.
//!
//! Bytes 0–3 are the flatbuffer root offset (u32 LE), bytes 4–7 the identifier `ET` + two
//! digits. An extended header may follow at offset 8: `eh00`, u32 header length (≥ 24), u64
//! program size, u64 segment base offset and, when the length is ≥ 32, u64 segment data size.
//! Checked here: the header lies in the file, the root offset points into the program (past the
//! 8-byte prefix), the program lies in the file, and segment data (`base + size`, checked add)
//! lies in the file after the program. Without the extended header the whole file is the
//! program. The flatbuffer itself is not interpreted.

use std::ops::Range;
use std::path::Path;

use super::cursor::Cursor;
use super::info::{Details, ModelInfo};
use super::{Ctx, Format, FormatError, Rule};
use crate::size::to_u64;

/// Magic of the extended header.
pub const EXTENDED_MAGIC: &[u8; 4] = b"eh00";
/// Smallest valid extended header length.
pub const MIN_EXTENDED_LEN: u32 = 24;
/// Extended header length from which the segment data size is present.
pub const SEGMENT_SIZE_LEN: u32 = 32;

/// The optional extended header, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Where a `.pte` file's parts are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PteLayout {
    /// The flatbuffer file identifier (`ET12`, …).
    pub identifier: String,
    /// Offset of the flatbuffer root table.
    pub root_offset: u32,
    /// The extended header, when present.
    pub extended: Option<ExtendedHeader>,
    /// Absolute byte range of the program.
    pub program: Range<u64>,
    /// Absolute byte range of the segment data, when there is any.
    pub segment_data: Option<Range<u64>>,
}

/// Parses the header of an ExecuTorch program.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ModelInfo, FormatError> {
    let ctx = Ctx {
        path,
        format: Format::Pte,
    };
    let file_len = to_u64(bytes.len());
    let mut c = Cursor::new(bytes, ctx);
    let root_offset = c.u32("the root offset")?;
    let id = c.array::<4>("the identifier")?;
    if !(id.starts_with(b"ET") && id[2].is_ascii_digit() && id[3].is_ascii_digit()) {
        return Err(ctx.err(
            4,
            Rule::BadMagic,
            format!(
                "identifier \"{}\" is not \"ET\" and two digits",
                id.escape_ascii()
            ),
        ));
    }
    let identifier = String::from_utf8_lossy(&id).into_owned();

    let extended = if bytes.get(8..12) == Some(EXTENDED_MAGIC.as_slice()) {
        Some(read_extended(&mut c, file_len)?)
    } else {
        None
    };
    let program_size = extended.as_ref().map_or(file_len, |h| h.program_size);
    if program_size > file_len {
        return Err(ctx.err(
            16,
            Rule::OutOfFile,
            format!("program of {program_size} bytes is larger than the file of {file_len}"),
        ));
    }
    let root_end = u64::from(root_offset).checked_add(4);
    if root_offset < 8 || root_end.is_none_or(|end| end > program_size) {
        return Err(ctx.err(
            0,
            Rule::RootOffset,
            format!("root offset {root_offset} is not inside the program [8, {program_size})"),
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
    let layout = PteLayout {
        identifier,
        root_offset,
        extended,
        program: 0..program_size,
        segment_data,
    };
    Ok(ModelInfo::new(
        Format::Pte,
        bytes,
        Vec::new(),
        Default::default(),
        Details::Pte(layout),
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
