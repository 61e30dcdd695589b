//! GGUF tensor infos and where their data lies: name, dims, ggml type and offset of each, then
//! the layout rules of the data section.
//!
//! ggml's rules (the default): names shorter than `GGML_MAX_NAME` (64) bytes without NUL,
//! at most 4 dims, no zero dim, element count and byte size within `int64_t`, `dims[0]` a
//! multiple of the type's block size, and the data laid out in tensor order, each tensor at
//! the previous one's end rounded up to the alignment (`ti.offset == ctx->size` in
//! `gguf.cpp`). The lenient rules drop the name-length, zero-dim and order rules and require
//! instead only aligned, non-overlapping tensors. NUL in a name is refused by both: ggml would
//! cut the name at the NUL, so two readers would see two different names.

use super::super::cursor::Cursor;
use super::super::ggml::{self, GgmlType};
use super::super::info::{NameIndex, TensorInfo};
use super::super::{Budget, Ctx, DType, FormatError, Rule};
use super::values::read_str;
use crate::size::{Alignment, to_u64};

/// ggml's `GGML_MAX_DIMS`.
pub const MAX_DIMS: u32 = 4;
/// ggml's `GGML_MAX_NAME`: a tensor name must be shorter.
pub const MAX_NAME: usize = 64;

/// Smallest encoding of one tensor info: empty name (8), n_dims (4), type (4), offset (8).
pub(super) const MIN_TENSOR_INFO_BYTES: u64 = 24;

/// A tensor info as read, before its data range is placed.
pub(super) struct RawInfo {
    pub(super) info: TensorInfo,
    pub(super) rel_offset: u64,
    pub(super) at: u64,
}

/// Which tensor rules apply.
#[derive(Clone, Copy)]
pub(super) struct TensorRules {
    pub(super) ggml: bool,
}

/// Reads `n` tensor infos, unique by name.
pub(super) fn read_infos(
    c: &mut Cursor<'_>,
    n: u64,
    alignment: Alignment,
    rules: TensorRules,
    budget: &mut Budget,
) -> Result<(Vec<RawInfo>, NameIndex), FormatError> {
    let ctx = c.ctx();
    let mut infos: Vec<RawInfo> = Vec::new();
    let mut index = NameIndex::default();
    for _ in 0..n {
        let raw = read_info(c, alignment, rules)?;
        let cost = to_u64(size_of::<RawInfo>())
            + to_u64(raw.info.name.len())
            + 8 * to_u64(raw.info.dims.len())
            + NameIndex::ENTRY_COST;
        budget.charge(cost, c.offset(), ctx, raw.at)?;
        let i = infos.len();
        if index
            .insert(i, &raw.info.name, |j| infos[j as usize].info.name.as_str())
            .is_err()
        {
            return Err(ctx.err(
                raw.at,
                Rule::DuplicateKey,
                format!("duplicate tensor name {:?}", raw.info.name),
            ));
        }
        infos.push(raw);
    }
    Ok((infos, index))
}

/// Reads and checks one tensor info.
fn read_info(
    c: &mut Cursor<'_>,
    alignment: Alignment,
    rules: TensorRules,
) -> Result<RawInfo, FormatError> {
    let ctx = c.ctx();
    let at = c.offset();
    let name = read_str(c, "a tensor name")?;
    if name.contains('\0') {
        return Err(ctx.err(
            at,
            Rule::BadName,
            format!("tensor name {name:?} holds a NUL byte (ggml would cut it there)"),
        ));
    }
    if rules.ggml && name.len() >= MAX_NAME {
        return Err(ctx.err(
            at,
            Rule::BadName,
            format!(
                "tensor name of {} bytes is not shorter than ggml's limit of {MAX_NAME} (the lenient rules accept it)",
                name.len()
            ),
        ));
    }
    let name = name.to_owned();
    let dims_at = c.offset();
    let n_dims = c.u32("the number of dimensions")?;
    if n_dims > MAX_DIMS {
        return Err(ctx.err(
            dims_at,
            Rule::TooManyDims,
            format!("tensor {name:?} has {n_dims} dimensions; at most {MAX_DIMS}"),
        ));
    }
    let mut dims = Vec::with_capacity(usize::try_from(n_dims).unwrap_or(0));
    for _ in 0..n_dims {
        let dim_at = c.offset();
        let dim = c.u64("a dimension")?;
        if i64::try_from(dim).is_err() {
            return Err(ctx.err(
                dim_at,
                Rule::SizeOverflow,
                format!("dimension {dim} of tensor {name:?} exceeds int64"),
            ));
        }
        if dim == 0 && rules.ggml {
            return Err(ctx.err(
                dim_at,
                Rule::ZeroDim,
                format!(
                    "tensor {name:?} has a zero dimension (ggml releases before zero-element tensors were allowed divide by it; the lenient rules accept it)"
                ),
            ));
        }
        dims.push(dim);
    }
    let type_at = c.offset();
    let type_id = c.u32("a ggml type")?;
    let ty = ggml::by_id(type_id).ok_or_else(|| {
        ctx.err(
            type_at,
            Rule::UnknownType,
            format!("tensor {name:?} has unknown ggml type {type_id}"),
        )
    })?;
    let offset_at = c.offset();
    let rel_offset = c.u64("a tensor offset")?;
    let len = byte_len(&name, &dims, ty, at, ctx)?;
    if !alignment.is_aligned(rel_offset) {
        return Err(ctx.err(
            offset_at,
            Rule::Misaligned,
            format!(
                "tensor {name:?} offset {rel_offset} is not a multiple of the alignment {}",
                alignment.get()
            ),
        ));
    }
    Ok(RawInfo {
        info: TensorInfo::new(name, DType::Ggml(ty), dims, 0, len),
        rel_offset,
        at,
    })
}

/// Bytes of a tensor: element count below `int64_t`'s maximum (as ggml checks it), `dims[0]`
/// a whole number of blocks, the byte size within `int64_t`.
fn byte_len(
    name: &str,
    dims: &[u64],
    ty: &GgmlType,
    at: u64,
    ctx: Ctx<'_>,
) -> Result<u64, FormatError> {
    let overflow = || {
        ctx.err(
            at,
            Rule::SizeOverflow,
            format!("element count of tensor {name:?} overflows int64"),
        )
    };
    let elements = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(overflow)?;
    if elements >= i64::MAX.unsigned_abs() {
        return Err(overflow());
    }
    let ne0 = dims.first().copied().unwrap_or(1);
    if !ty.whole_blocks(ne0) {
        return Err(ctx.err(
            at,
            Rule::BlockSize,
            format!(
                "tensor {name:?}: dims[0] = {ne0} is not a multiple of the {} block size {}",
                ty.name, ty.block_size
            ),
        ));
    }
    let row = ty.row_bytes(ne0).ok_or_else(|| {
        ctx.err(
            at,
            Rule::SizeOverflow,
            format!("byte size of a row of tensor {name:?} overflows"),
        )
    })?;
    let rows = dims
        .iter()
        .skip(1)
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(overflow)?;
    row.checked_mul(rows)
        .filter(|&l| i64::try_from(l).is_ok())
        .ok_or_else(|| {
            ctx.err(
                at,
                Rule::SizeOverflow,
                format!("byte size of tensor {name:?} overflows int64"),
            )
        })
}

/// Places every tensor at `data_offset + rel_offset`, inside the file, and checks the layout:
/// ggml's order (each at the aligned end of the previous) or, lenient, no overlap.
pub(super) fn place(
    infos: Vec<RawInfo>,
    data_offset: u64,
    file_len: u64,
    alignment: Alignment,
    rules: TensorRules,
    ctx: Ctx<'_>,
) -> Result<Vec<TensorInfo>, FormatError> {
    let mut expected = 0u64;
    let mut tensors = Vec::with_capacity(infos.len());
    for raw in infos {
        let RawInfo {
            mut info,
            rel_offset,
            at,
            ..
        } = raw;
        if rules.ggml && rel_offset != expected {
            return Err(ctx.err(
                at,
                Rule::TensorOrder,
                format!(
                    "tensor {:?} has offset {rel_offset}, expected {expected}: ggml needs the data in tensor order, each at the aligned end of the previous (the lenient rules accept any aligned, non-overlapping layout)",
                    info.name
                ),
            ));
        }
        let offset = data_offset.checked_add(rel_offset).ok_or_else(|| {
            ctx.err(
                at,
                Rule::SizeOverflow,
                format!("offset of tensor {:?} overflows", info.name),
            )
        })?;
        if offset
            .checked_add(info.len)
            .is_none_or(|end| end > file_len)
        {
            return Err(ctx.err(
                at,
                Rule::OutOfFile,
                format!(
                    "tensor {:?} of {} bytes at {offset} ends past the file of {file_len} bytes",
                    info.name, info.len
                ),
            ));
        }
        info.offset = offset;
        if rules.ggml {
            // In the file, so below 2^64: the padded end cannot overflow past `file_len` + align.
            expected = alignment
                .align_up(rel_offset + info.len)
                .map_err(|e| ctx.err(at, Rule::SizeOverflow, e.to_string()))?;
        }
        tensors.push((info, at));
    }
    if !rules.ggml {
        check_overlap(&tensors, ctx)?;
    }
    Ok(tensors.into_iter().map(|(t, _)| t).collect())
}

/// Fails when two non-empty tensors share a byte.
fn check_overlap(tensors: &[(TensorInfo, u64)], ctx: Ctx<'_>) -> Result<(), FormatError> {
    let mut order: Vec<usize> = (0..tensors.len())
        .filter(|&i| tensors[i].0.len > 0)
        .collect();
    order.sort_by_key(|&i| (tensors[i].0.offset, i));
    for pair in order.windows(2) {
        let (a, b) = (&tensors[pair[0]].0, &tensors[pair[1]]);
        // Both ends were checked to lie inside the file: no overflow.
        if b.0.offset < a.offset + a.len {
            return Err(ctx.err(
                b.1,
                Rule::Overlap,
                format!(
                    "tensor {:?} at {} overlaps tensor {:?} at {} ({} bytes)",
                    b.0.name, b.0.offset, a.name, a.offset, a.len
                ),
            ));
        }
    }
    Ok(())
}
