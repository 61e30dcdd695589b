//! GGUF v3: `GGUF`, u32 version, u64 tensor count, u64 key/value count, typed key/values,
//! tensor infos, then the data section at the next multiple of `general.alignment`.
//!
//! Validated as ggml's own reader (`ggml/src/gguf.cpp`) does, and stricter where it aborts or
//! trusts the file: every count and string/array length is bounded by the bytes that remain
//! before anything is read or allocated; keys and tensor names are unique; `general.alignment`
//! is a `u32` non-zero power of two (ggml asserts the type and would abort); element counts and
//! byte sizes are checked for overflow of ggml's `int64_t`; `dims[0]` is a multiple of the
//! type's block size; every tensor offset is aligned and every tensor lies inside the file
//! without overlapping another. Array values are validated in place and kept as ranges of the
//! file ([`GgufArray`]), so a vocabulary of 150,000 strings costs no allocation at parse time.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use super::cursor::Cursor;
use super::ggml::{self, GgmlType};
use super::info::{DType, Details, ModelInfo, TensorInfo, index_name};
use super::{Ctx, Format, FormatError, Rule};
use crate::size::{Alignment, to_u64, to_usize};

/// The alignment of the data section and of tensor offsets when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml's `GGML_MAX_DIMS`.
pub const MAX_DIMS: u32 = 4;
/// The key that sets the alignment.
pub const ALIGNMENT_KEY: &str = "general.alignment";
/// Deepest nesting of arrays accepted (ggml itself accepts none; gguf-py writes at most one
/// level in practice). Bounds the recursion of the validator.
pub const MAX_NESTING: u32 = 8;

/// Smallest encoding of one key/value: empty key (8), type (4), one-byte value (1).
const MIN_KV_BYTES: u64 = 13;
/// Smallest encoding of one tensor info: empty name (8), n_dims (4), type (4), offset (8).
const MIN_TENSOR_INFO_BYTES: u64 = 24;

/// The value types of GGUF key/values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    /// The type with id `id` (0–12).
    #[must_use]
    pub fn from_id(id: u32) -> Option<Self> {
        Some(match id {
            0 => Self::U8,
            1 => Self::I8,
            2 => Self::U16,
            3 => Self::I16,
            4 => Self::U32,
            5 => Self::I32,
            6 => Self::F32,
            7 => Self::Bool,
            8 => Self::String,
            9 => Self::Array,
            10 => Self::U64,
            11 => Self::I64,
            12 => Self::F64,
            _ => return None,
        })
    }

    /// Lowercase name (`u8`, `string`, `array`, …).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::U8 => "u8",
            Self::I8 => "i8",
            Self::U16 => "u16",
            Self::I16 => "i16",
            Self::U32 => "u32",
            Self::I32 => "i32",
            Self::F32 => "f32",
            Self::Bool => "bool",
            Self::String => "string",
            Self::Array => "array",
            Self::U64 => "u64",
            Self::I64 => "i64",
            Self::F64 => "f64",
        }
    }

    /// Exact size of a fixed-size value, `None` for strings and arrays.
    #[must_use]
    pub fn fixed_size(self) -> Option<u64> {
        match self {
            Self::U8 | Self::I8 | Self::Bool => Some(1),
            Self::U16 | Self::I16 => Some(2),
            Self::U32 | Self::I32 | Self::F32 => Some(4),
            Self::U64 | Self::I64 | Self::F64 => Some(8),
            Self::String | Self::Array => None,
        }
    }

    /// Smallest encoding of one value: a string is at least its length, an array its item
    /// type and count.
    fn min_size(self) -> u64 {
        match self {
            Self::String => 8,
            Self::Array => 12,
            fixed => fixed.fixed_size().unwrap_or(1),
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A GGUF value. Arrays stay in the file: see [`GgufArray`].
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum GgufValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(GgufArray),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl GgufValue {
    /// The value's type.
    #[must_use]
    pub fn value_type(&self) -> ValueType {
        match self {
            Self::U8(_) => ValueType::U8,
            Self::I8(_) => ValueType::I8,
            Self::U16(_) => ValueType::U16,
            Self::I16(_) => ValueType::I16,
            Self::U32(_) => ValueType::U32,
            Self::I32(_) => ValueType::I32,
            Self::F32(_) => ValueType::F32,
            Self::Bool(_) => ValueType::Bool,
            Self::String(_) => ValueType::String,
            Self::Array(_) => ValueType::Array,
            Self::U64(_) => ValueType::U64,
            Self::I64(_) => ValueType::I64,
            Self::F64(_) => ValueType::F64,
        }
    }
}

/// A validated array value, kept as a range of the file: item type, count and where the items
/// are. Read the items with [`GgufArray::items`] from the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GgufArray {
    /// Type of every item.
    pub item_type: ValueType,
    /// Number of items.
    pub len: u64,
    /// Absolute file offset of the first item.
    pub offset: u64,
    /// Bytes the items take.
    pub byte_len: u64,
}

impl GgufArray {
    /// Decodes the items from `bytes` (the file this array was parsed from), lazily: take
    /// only the first few to summarize a long array. Errors only if `bytes` is another file.
    pub fn items<'a>(
        &'a self,
        path: &'a Path,
        bytes: &'a [u8],
    ) -> impl Iterator<Item = Result<GgufValue, FormatError>> + 'a {
        let ctx = Ctx {
            path,
            format: Format::Gguf,
        };
        let start = to_usize(self.offset, "array offset").unwrap_or(usize::MAX);
        let mut cursor = Cursor::at(bytes, start, ctx);
        let mut left = self.len;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let item = read_value(&mut cursor, self.item_type, 0);
            if item.is_err() {
                left = 0;
            }
            Some(item)
        })
    }
}

/// One key/value pair and where it starts in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufKv {
    /// The key.
    pub key: String,
    /// The value.
    pub value: GgufValue,
    /// Absolute offset of the key/value.
    pub offset: u64,
}

/// The GGUF-specific parts of a parsed file.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufHeader {
    /// Format version (3).
    pub version: u32,
    /// Alignment of the data section and tensor offsets.
    pub alignment: u64,
    /// Absolute offset of the data section.
    pub data_offset: u64,
    /// Key/values in file order.
    pub kvs: Vec<GgufKv>,
    index: HashMap<String, usize>,
}

impl GgufHeader {
    /// The value of `key` (hash-map lookup).
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&GgufValue> {
        self.index
            .get(key)
            .and_then(|&i| self.kvs.get(i))
            .map(|kv| &kv.value)
    }
}

/// Parses a whole GGUF file.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ModelInfo, FormatError> {
    let ctx = Ctx {
        path,
        format: Format::Gguf,
    };
    let mut c = Cursor::new(bytes, ctx);
    let magic = c.array::<4>("the magic")?;
    if &magic != b"GGUF" {
        return Err(ctx.err(
            0,
            Rule::BadMagic,
            format!("magic \"{}\" is not \"GGUF\"", magic.escape_ascii()),
        ));
    }
    let version = c.u32("the version")?;
    if version != 3 {
        let hint = if version.swap_bytes() == 3 {
            " (a big-endian file)"
        } else {
            ""
        };
        return Err(ctx.err(
            4,
            Rule::UnsupportedVersion,
            format!("version {version}{hint}; only 3 is supported"),
        ));
    }
    let n_tensors = c.u64("the tensor count")?;
    let n_kv = c.u64("the key/value count")?;
    check_count(&c, 16, n_kv, MIN_KV_BYTES, "key/values")?;
    check_count(&c, 8, n_tensors, MIN_TENSOR_INFO_BYTES, "tensor infos")?;

    let mut kvs = Vec::new();
    let mut index = HashMap::new();
    // 32 is a power of two, so `new` succeeds; the fallback is never taken.
    let mut alignment = Alignment::new(32).unwrap_or(Alignment::DEFAULT);
    for _ in 0..n_kv {
        let at = c.offset();
        let key = read_string(&mut c, "key")?;
        index_name(&mut index, &key, kvs.len(), || {
            ctx.err(at, Rule::DuplicateKey, format!("duplicate key {key:?}"))
        })?;
        let ty = read_type(&mut c)?;
        let value = read_value(&mut c, ty, 0)?;
        if key == ALIGNMENT_KEY {
            alignment = parse_alignment(&value).ok_or_else(|| {
                ctx.err(
                    at,
                    Rule::BadAlignment,
                    format!("{ALIGNMENT_KEY} is {value:?}; it must be a u32 non-zero power of two"),
                )
            })?;
        }
        kvs.push(GgufKv {
            key,
            value,
            offset: at,
        });
    }

    let mut infos = Vec::new();
    let mut by_name = HashMap::new();
    for _ in 0..n_tensors {
        let info = read_tensor_info(&mut c, alignment)?;
        index_name(&mut by_name, &info.name, infos.len(), || {
            ctx.err(
                info.at,
                Rule::DuplicateKey,
                format!("duplicate tensor name {:?}", info.name),
            )
        })?;
        infos.push(info);
    }

    let data_offset = alignment
        .align_up(c.offset())
        .map_err(|e| c.err(Rule::SizeOverflow, e.to_string()))?;
    let file_len = to_u64(bytes.len());
    let mut tensors = Vec::new();
    for info in &infos {
        let offset = data_offset.checked_add(info.rel_offset).ok_or_else(|| {
            ctx.err(
                info.at,
                Rule::SizeOverflow,
                format!("offset of tensor {:?} overflows", info.name),
            )
        })?;
        let end = offset.checked_add(info.len).filter(|&end| end <= file_len).ok_or_else(|| {
            ctx.err(
                info.at,
                Rule::OutOfFile,
                format!("tensor {:?} of {} bytes at {offset} ends past the file of {file_len} bytes", info.name, info.len),
            )
        })?;
        debug_assert!(end >= offset);
        tensors.push(TensorInfo {
            name: info.name.clone(),
            dtype: DType::Ggml(info.ty),
            dims: info.dims.clone(),
            offset,
            len: info.len,
        });
    }
    check_overlap(&tensors, &infos, ctx)?;

    let header = GgufHeader {
        version,
        alignment: to_u64(alignment.get()),
        data_offset,
        kvs,
        index,
    };
    Ok(ModelInfo::new(
        Format::Gguf,
        bytes,
        tensors,
        by_name,
        Details::Gguf(header),
    ))
}

/// Fails when `count` items of at least `min` bytes each cannot fit in what remains.
fn check_count(
    c: &Cursor<'_>,
    at: u64,
    count: u64,
    min: u64,
    what: &str,
) -> Result<(), FormatError> {
    match count.checked_mul(min) {
        Some(need) if need <= c.remaining() => Ok(()),
        _ => Err(c.ctx().err(
            at,
            Rule::CountTooLarge,
            format!(
                "{count} {what} cannot fit in the {} bytes that remain",
                c.remaining()
            ),
        )),
    }
}

/// `general.alignment` must be a `u32` non-zero power of two.
fn parse_alignment(value: &GgufValue) -> Option<Alignment> {
    match value {
        GgufValue::U32(a) => Alignment::new(usize::try_from(*a).ok()?).ok(),
        _ => None,
    }
}

/// Reads a u64-length-prefixed UTF-8 string.
fn read_string(c: &mut Cursor<'_>, what: &str) -> Result<String, FormatError> {
    Ok(read_str(c, what)?.to_owned())
}

/// Reads a string without allocating.
fn read_str<'a>(c: &mut Cursor<'a>, what: &str) -> Result<&'a str, FormatError> {
    let at = c.offset();
    let len = c.u64(what)?;
    if len > c.remaining() {
        return Err(c.ctx().err(
            at,
            Rule::CountTooLarge,
            format!(
                "{what} of {len} bytes is longer than the {} bytes that remain",
                c.remaining()
            ),
        ));
    }
    let start = c.offset();
    let raw = c.take(len, what)?;
    std::str::from_utf8(raw).map_err(|e| {
        c.ctx().err(
            start.saturating_add(to_u64(e.valid_up_to())),
            Rule::InvalidUtf8,
            format!("{what} is not UTF-8"),
        )
    })
}

/// Reads a value type id.
fn read_type(c: &mut Cursor<'_>) -> Result<ValueType, FormatError> {
    let at = c.offset();
    let id = c.u32("a value type")?;
    ValueType::from_id(id).ok_or_else(|| {
        c.ctx()
            .err(at, Rule::UnknownType, format!("unknown value type {id}"))
    })
}

/// Reads one value of type `ty`; arrays are validated and returned as ranges.
fn read_value(c: &mut Cursor<'_>, ty: ValueType, depth: u32) -> Result<GgufValue, FormatError> {
    Ok(match ty {
        ValueType::U8 => GgufValue::U8(c.u8("a u8")?),
        ValueType::I8 => GgufValue::I8(i8::from_le_bytes(c.array("an i8")?)),
        ValueType::U16 => GgufValue::U16(u16::from_le_bytes(c.array("a u16")?)),
        ValueType::I16 => GgufValue::I16(i16::from_le_bytes(c.array("an i16")?)),
        ValueType::U32 => GgufValue::U32(c.u32("a u32")?),
        ValueType::I32 => GgufValue::I32(i32::from_le_bytes(c.array("an i32")?)),
        ValueType::F32 => GgufValue::F32(f32::from_le_bytes(c.array("an f32")?)),
        ValueType::U64 => GgufValue::U64(c.u64("a u64")?),
        ValueType::I64 => GgufValue::I64(i64::from_le_bytes(c.array("an i64")?)),
        ValueType::F64 => GgufValue::F64(f64::from_le_bytes(c.array("an f64")?)),
        ValueType::Bool => GgufValue::Bool(read_bool(c)?),
        ValueType::String => GgufValue::String(read_string(c, "a string value")?),
        ValueType::Array => GgufValue::Array(read_array(c, depth)?),
    })
}

/// Reads a bool, which must be 0 or 1.
fn read_bool(c: &mut Cursor<'_>) -> Result<bool, FormatError> {
    let at = c.offset();
    match c.u8("a bool")? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(c.ctx().err(
            at,
            Rule::BadValue,
            format!("bool value {other} is neither 0 nor 1"),
        )),
    }
}

/// Validates an array in place: item type, count bounded by the remaining bytes, every item.
fn read_array(c: &mut Cursor<'_>, depth: u32) -> Result<GgufArray, FormatError> {
    let type_at = c.offset();
    let item_type = read_type(c)?;
    if item_type == ValueType::Array && depth + 1 >= MAX_NESTING {
        return Err(c.ctx().err(
            type_at,
            Rule::NestingTooDeep,
            format!("arrays nested deeper than {MAX_NESTING}"),
        ));
    }
    let count_at = c.offset();
    let len = c.u64("an array length")?;
    check_count(c, count_at, len, item_type.min_size(), "array items")?;
    let offset = c.offset();
    if let Some(size) = item_type.fixed_size() {
        // Bounded just above: `len * size <= remaining`.
        let bytes = c.take(len.saturating_mul(size), "array items")?;
        if item_type == ValueType::Bool {
            if let Some(i) = bytes.iter().position(|&b| b > 1) {
                let at = offset.saturating_add(to_u64(i));
                return Err(c
                    .ctx()
                    .err(at, Rule::BadValue, "bool array item is neither 0 nor 1"));
            }
        }
    } else {
        for _ in 0..len {
            skip_value(c, item_type, depth + 1)?;
        }
    }
    Ok(GgufArray {
        item_type,
        len,
        offset,
        byte_len: c.offset() - offset,
    })
}

/// Validates one string or array item without allocating.
fn skip_value(c: &mut Cursor<'_>, ty: ValueType, depth: u32) -> Result<(), FormatError> {
    match ty {
        ValueType::String => read_str(c, "a string item").map(drop),
        ValueType::Array => read_array(c, depth).map(drop),
        ValueType::Bool => read_bool(c).map(drop),
        fixed => c
            .take(fixed.fixed_size().unwrap_or(0), "an array item")
            .map(drop),
    }
}

/// A tensor info as read, before its data range is placed.
struct RawInfo {
    name: String,
    dims: Vec<u64>,
    ty: &'static GgmlType,
    rel_offset: u64,
    len: u64,
    at: u64,
}

/// Reads and checks one tensor info: name, dims (≤ 4, each ≤ `i64::MAX`, product too), ggml
/// type, `dims[0]` a multiple of the block size, offset aligned.
fn read_tensor_info(c: &mut Cursor<'_>, alignment: Alignment) -> Result<RawInfo, FormatError> {
    let ctx = c.ctx();
    let at = c.offset();
    let name = read_string(c, "a tensor name")?;
    let dims_at = c.offset();
    let n_dims = c.u32("the number of dimensions")?;
    if n_dims > MAX_DIMS {
        return Err(ctx.err(
            dims_at,
            Rule::TooManyDims,
            format!("tensor {name:?} has {n_dims} dimensions; at most {MAX_DIMS}"),
        ));
    }
    let mut dims = Vec::new();
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
    if i64::try_from(elements).is_err() {
        return Err(overflow());
    }
    let ne0 = dims.first().copied().unwrap_or(1);
    let row = ty.row_bytes(ne0).ok_or_else(|| {
        ctx.err(
            at,
            Rule::BlockSize,
            format!(
                "tensor {name:?}: dims[0] = {ne0} is not a multiple of the {} block size {}",
                ty.name, ty.block_size
            ),
        )
    })?;
    let rows = dims
        .iter()
        .skip(1)
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(overflow)?;
    let len = row
        .checked_mul(rows)
        .filter(|&l| i64::try_from(l).is_ok())
        .ok_or_else(|| {
            ctx.err(
                at,
                Rule::SizeOverflow,
                format!("byte size of tensor {name:?} overflows int64"),
            )
        })?;
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
        name,
        dims,
        ty,
        rel_offset,
        len,
        at,
    })
}

/// Fails when two non-empty tensors share a byte.
fn check_overlap(
    tensors: &[TensorInfo],
    infos: &[RawInfo],
    ctx: Ctx<'_>,
) -> Result<(), FormatError> {
    let mut order: Vec<usize> = (0..tensors.len()).filter(|&i| tensors[i].len > 0).collect();
    order.sort_by_key(|&i| (tensors[i].offset, i));
    for pair in order.windows(2) {
        let (a, b) = (&tensors[pair[0]], &tensors[pair[1]]);
        // Both ends were checked to lie inside the file: no overflow.
        if b.offset < a.offset + a.len {
            return Err(ctx.err(
                infos[pair[1]].at,
                Rule::Overlap,
                format!(
                    "tensor {:?} at {} overlaps tensor {:?} at {} ({} bytes)",
                    b.name, b.offset, a.name, a.offset, a.len
                ),
            ));
        }
    }
    Ok(())
}
