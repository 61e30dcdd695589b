//! ExecuTorch named data (`.ptd`): a FlatTensor flatbuffer (schema `flat_tensor.fbs`,
//! identifier `FT01`) holding a program's external weights, with its extended header `FH01` at
//! offset 8, then the segments.
//!
//! Header (as `extension/flat_tensor/serialize/serialize.py` writes it): `FH01`, u32 length
//! (≥ 40), u64 flatbuffer offset, u64 flatbuffer size, u64 segment base offset, u64 segment
//! data size. Checked: the header lies in the file; the flatbuffer (`0 .. flatbuffer_offset +
//! flatbuffer_size`) lies in the file, before the segment data; the segment data lies in the
//! file; the flatbuffer passes the `flatbuffers` crate's verifier; every segment lies in the
//! segment data; every named entry's segment index is in range; a tensor layout's scalar type
//! is known, its sizes non-negative, and its bytes fit in its segment. Each named entry with a
//! tensor layout is a tensor (`offset` absolute in the file); keys are unique.

use std::path::Path;

use super::cursor::Cursor;
use super::flatbuf::{flat_tensor, flatbuffer_error, read_prefix, verifier_options};
use super::info::{ModelInfo, NameIndex, TensorInfo};
use super::pte::SegmentRange;
use super::{Ctx, DType, Details, Format, FormatError, Rule};
use crate::size::{to_u64, to_usize};

/// Magic of the FlatTensor header.
pub const HEADER_MAGIC: &[u8; 4] = b"FH01";
/// Length of the FlatTensor header this reader knows.
pub const HEADER_LEN: u32 = 40;

/// Whether bytes 4–7 are a FlatTensor identifier: `FT` and two ASCII alphanumerics.
#[must_use]
pub fn is_identifier(id: &[u8]) -> bool {
    matches!(id, [b'F', b'T', a, b] if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric())
}

/// The FlatTensor header and segments of a `.ptd` file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PtdLayout {
    /// The flatbuffer identifier (`FT01`).
    pub identifier: String,
    /// The FlatTensor schema version field.
    pub version: u32,
    /// Where the flatbuffer's payload starts and how long it is, as the header says.
    pub flatbuffer: SegmentRange,
    /// Absolute range of the segment data.
    pub segment_data: SegmentRange,
    /// The segments, as absolute ranges.
    pub segments: Vec<SegmentRange>,
    /// Every named entry: key and segment index (tensors are also in the tensor table).
    pub named_data: Vec<(String, u32)>,
}

/// Parses and verifies a `.ptd` file.
///
/// # Errors
///
/// A [`FormatError`] naming the offset and the [`Rule`] broken.
#[track_caller]
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ModelInfo, FormatError> {
    let _site = crate::callsite::enter();
    let ctx = Ctx {
        path,
        format: Format::Ptd,
    };
    let file_len = to_u64(bytes.len());
    let mut c = Cursor::new(bytes, ctx);
    let prefix = read_prefix(&mut c, "\"FT\" and two characters", is_identifier)?;
    let magic = c.array::<4>("the FlatTensor header magic")?;
    if &magic != HEADER_MAGIC {
        return Err(ctx.err(
            8,
            Rule::BadMagic,
            format!("header magic \"{}\" is not \"FH01\"", magic.escape_ascii()),
        ));
    }
    let length = c.u32("the header length")?;
    if length < HEADER_LEN {
        return Err(ctx.err(
            12,
            Rule::HeaderLength,
            format!("FlatTensor header length {length} is below {HEADER_LEN}"),
        ));
    }
    if 8 + u64::from(length) > file_len {
        return Err(ctx.err(
            12,
            Rule::Truncated,
            format!("header of {length} bytes at 8 ends past the file of {file_len} bytes"),
        ));
    }
    let fb_offset = c.u64("the flatbuffer offset")?;
    let fb_size = c.u64("the flatbuffer size")?;
    let base = c.u64("the segment base offset")?;
    let data_size = c.u64("the segment data size")?;
    let fb_end = fb_offset
        .checked_add(fb_size)
        .filter(|&end| end <= file_len)
        .ok_or_else(|| {
            ctx.err(
                16,
                Rule::OutOfFile,
                format!("flatbuffer of {fb_size} bytes at {fb_offset} ends past the file of {file_len} bytes"),
            )
        })?;
    if fb_end < 8 + u64::from(length) {
        return Err(ctx.err(
            16,
            Rule::ProgramSize,
            format!("flatbuffer ends at {fb_end}, inside its own header"),
        ));
    }
    if base < fb_end {
        return Err(ctx.err(
            32,
            Rule::SegmentOverlap,
            format!("segment base {base} is inside the flatbuffer ending at {fb_end}"),
        ));
    }
    if base.checked_add(data_size).is_none_or(|end| end > file_len) {
        return Err(ctx.err(
            32,
            Rule::OutOfFile,
            format!(
                "segment data of {data_size} bytes at {base} ends past the file of {file_len} bytes"
            ),
        ));
    }
    if u64::from(prefix.root_offset) < 8 + u64::from(length)
        || u64::from(prefix.root_offset) + 4 > fb_end
    {
        return Err(ctx.err(
            0,
            Rule::RootOffset,
            format!(
                "root offset {} is not inside the flatbuffer [{}, {fb_end})",
                prefix.root_offset,
                8 + u64::from(length)
            ),
        ));
    }
    let end = to_usize(fb_end, "flatbuffer end")
        .map_err(|e| ctx.err(16, Rule::SizeOverflow, e.to_string()))?;
    let buf = bytes.get(..end).unwrap_or_default();
    let root = flat_tensor::root_as_flat_tensor_with_opts(&verifier_options(buf.len()), buf)
        .map_err(|e| flatbuffer_error(ctx, &e, buf.len()))?;

    let mut segments = Vec::new();
    for (i, seg) in root.segments().iter().flatten().enumerate() {
        let (offset, len) = (seg.offset(), seg.size_());
        if offset.checked_add(len).is_none_or(|e| e > data_size) {
            return Err(ctx.err(
                base,
                Rule::OutOfFile,
                format!("segment {i} of {len} bytes at {offset} ends past the segment data of {data_size} bytes"),
            ));
        }
        segments.push(SegmentRange {
            offset: base + offset,
            len,
        });
    }
    let mut named_data: Vec<(String, u32)> = Vec::new();
    let mut tensors: Vec<TensorInfo> = Vec::new();
    let mut index = NameIndex::default();
    let mut keys = NameIndex::default();
    let mut cost = to_u64(segments.len()) * 16;
    for (i, nd) in root.named_data().iter().flatten().enumerate() {
        let key = nd.key().unwrap_or_default().to_owned();
        let seg_index = nd.segment_index();
        let seg = *segments.get(seg_index as usize).ok_or_else(|| {
            ctx.err(
                0,
                Rule::IndexOutOfRange,
                format!(
                    "named data {key:?} names segment {seg_index} of {}",
                    segments.len()
                ),
            )
        })?;
        if keys
            .insert(i, &key, |j| named_data[j as usize].0.as_str())
            .is_err()
        {
            return Err(ctx.err(
                0,
                Rule::DuplicateKey,
                format!("named data {key:?} appears twice"),
            ));
        }
        if let Some(layout) = nd.tensor_layout() {
            let st = layout.scalar_type().0;
            let scalar = super::pte::ScalarType::from_id(st).ok_or_else(|| {
                ctx.err(
                    0,
                    Rule::UnknownType,
                    format!("named data {key:?} has unknown scalar type {st}"),
                )
            })?;
            let mut dims = Vec::new();
            for s in layout.sizes().iter().flatten() {
                dims.push(u64::try_from(s).map_err(|_| {
                    ctx.err(
                        0,
                        Rule::BadValue,
                        format!("named data {key:?} has size {s}"),
                    )
                })?);
            }
            let len = dims
                .iter()
                .try_fold(scalar.size(), |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| {
                    ctx.err(
                        0,
                        Rule::SizeOverflow,
                        format!("named data {key:?}: byte size overflows"),
                    )
                })?;
            if len > seg.len {
                return Err(ctx.err(
                    seg.offset,
                    Rule::ByteLength,
                    format!(
                        "named data {key:?} needs {len} bytes but its segment holds {}",
                        seg.len
                    ),
                ));
            }
            cost += 2 * to_u64(key.len()) + 8 * to_u64(dims.len()) + 112;
            let t = tensors.len();
            tensors.push(TensorInfo::new(
                key.clone(),
                DType::Scalar(scalar),
                dims,
                seg.offset,
                len,
            ));
            let _ = index.insert(t, &key, |j| tensors[j as usize].name.as_str());
        }
        named_data.push((key, seg_index));
    }
    let layout = PtdLayout {
        identifier: String::from_utf8_lossy(&prefix.identifier).into_owned(),
        version: root.version(),
        flatbuffer: SegmentRange {
            offset: fb_offset,
            len: fb_size,
        },
        segment_data: SegmentRange {
            offset: base,
            len: data_size,
        },
        segments,
        named_data,
    };
    Ok(ModelInfo::new(
        Format::Ptd,
        bytes,
        tensors,
        index,
        Details::Ptd(layout),
        cost,
    ))
}
