//! GGUF values: the thirteen value types, decoded scalars and strings, and arrays validated in
//! place and kept as ranges of the file ([`GgufArray`]), so a vocabulary of 150,000 strings
//! costs no allocation at parse time.

use std::fmt;
use std::path::Path;

use super::super::cursor::Cursor;
use super::super::{Ctx, Format, FormatError, Rule};
use crate::size::{to_u64, to_usize};

/// Deepest nesting of arrays accepted by the lenient rules (ggml accepts none; gguf-py writes
/// at most one level in practice). Bounds the recursion of the validator.
pub const MAX_NESTING: u32 = 8;

/// The value types of GGUF key/values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
#[non_exhaustive]
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
    pub(super) fn min_size(self) -> u64 {
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
#[non_exhaustive]
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

    /// The value as an unsigned integer, when it is one of the unsigned types, or a signed
    /// type holding a non-negative value (what `split.*` keys need).
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::U8(v) => Some(u64::from(v)),
            Self::U16(v) => Some(u64::from(v)),
            Self::U32(v) => Some(u64::from(v)),
            Self::U64(v) => Some(v),
            Self::I8(v) => u64::try_from(v).ok(),
            Self::I16(v) => u64::try_from(v).ok(),
            Self::I32(v) => u64::try_from(v).ok(),
            Self::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }
}

/// A validated array value, kept as a range of the file: item type, count and where the items
/// are. Read the items with [`GgufArray::items`] from the same bytes (or through
/// [`Model::gguf_array`](crate::Model::gguf_array)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
        let rules = Rules::lenient();
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let item = read_value(&mut cursor, self.item_type, 0, rules);
            if item.is_err() {
                left = 0;
            }
            Some(item)
        })
    }
}

/// Which of ggml's value rules apply.
#[derive(Clone, Copy)]
pub(super) struct Rules {
    /// Deepest array nesting accepted (ggml: 1, no array of arrays).
    pub(super) max_nesting: u32,
}

impl Rules {
    pub(super) fn ggml() -> Self {
        Self { max_nesting: 1 }
    }

    pub(super) fn lenient() -> Self {
        Self {
            max_nesting: MAX_NESTING,
        }
    }
}

/// Fails when `count` items of at least `min` bytes each cannot fit in what remains.
pub(super) fn check_count(
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

/// Reads a string without allocating.
pub(super) fn read_str<'a>(c: &mut Cursor<'a>, what: &str) -> Result<&'a str, FormatError> {
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
pub(super) fn read_type(c: &mut Cursor<'_>) -> Result<ValueType, FormatError> {
    let at = c.offset();
    let id = c.u32("a value type")?;
    ValueType::from_id(id).ok_or_else(|| {
        c.ctx()
            .err(at, Rule::UnknownType, format!("unknown value type {id}"))
    })
}

/// Reads one value of type `ty`; arrays are validated and returned as ranges.
pub(super) fn read_value(
    c: &mut Cursor<'_>,
    ty: ValueType,
    depth: u32,
    rules: Rules,
) -> Result<GgufValue, FormatError> {
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
        ValueType::String => GgufValue::String(read_str(c, "a string value")?.to_owned()),
        ValueType::Array => GgufValue::Array(read_array(c, depth, rules)?),
    })
}

/// Reads a bool, which must be 0 or 1 (ggml reads any non-zero byte as true; gguf-py writes
/// only 0 and 1, and another byte is a corrupt file).
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
fn read_array(c: &mut Cursor<'_>, depth: u32, rules: Rules) -> Result<GgufArray, FormatError> {
    let type_at = c.offset();
    let item_type = read_type(c)?;
    if item_type == ValueType::Array && depth + 1 >= rules.max_nesting {
        let detail = if rules.max_nesting == 1 {
            "an array of arrays (ggml's reader accepts none; the lenient rules accept them)"
                .to_owned()
        } else {
            format!("arrays nested deeper than {}", rules.max_nesting)
        };
        return Err(c.ctx().err(type_at, Rule::NestingTooDeep, detail));
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
            match item_type {
                ValueType::String => read_str(c, "a string item").map(drop)?,
                _ => read_array(c, depth + 1, rules).map(drop)?,
            }
        }
    }
    Ok(GgufArray {
        item_type,
        len,
        offset,
        byte_len: c.offset() - offset,
    })
}
