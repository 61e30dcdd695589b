//! safetensors: `u64` LE header length N, N bytes of UTF-8 JSON, then the data section.
//!
//! The rules are the reference implementation's (the `safetensors` crate), made strict where
//! it is lenient: the header is at most [`MAX_HEADER_SIZE`] bytes and `8 + N` lies inside the
//! file; it starts with `{` and may be padded with whitespace; each tensor has exactly the
//! fields `dtype`, `shape` and `data_offsets`; byte length = product(shape) × bits / 8 with
//! checked multiplication, sub-byte dtypes ending on a byte boundary; tensors sorted by offset
//! cover the data section exactly (no overlap, no hole, no trailing bytes); `__metadata__` is a
//! string → string map; duplicate keys anywhere are rejected.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use super::cursor::Cursor;
use super::info::{DType, Details, ModelInfo, TensorInfo, index_name};
use super::json::Json;
use super::{Ctx, Format, FormatError, Rule};

/// The largest header the reference implementation accepts.
pub const MAX_HEADER_SIZE: u64 = 100_000_000;

/// Every dtype of the current safetensors spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(non_camel_case_types, missing_docs)]
#[non_exhaustive]
pub enum Dtype {
    BOOL,
    F4,
    F6_E2M3,
    F6_E3M2,
    U8,
    I8,
    F8_E5M2,
    F8_E4M3,
    F8_E8M0,
    F8_E4M3FNUZ,
    F8_E5M2FNUZ,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    C64,
    F64,
    I64,
    U64,
}

impl Dtype {
    /// All dtypes with their names and bit widths.
    pub const ALL: [(Self, &'static str, u64); 22] = [
        (Self::BOOL, "BOOL", 8),
        (Self::F4, "F4", 4),
        (Self::F6_E2M3, "F6_E2M3", 6),
        (Self::F6_E3M2, "F6_E3M2", 6),
        (Self::U8, "U8", 8),
        (Self::I8, "I8", 8),
        (Self::F8_E5M2, "F8_E5M2", 8),
        (Self::F8_E4M3, "F8_E4M3", 8),
        (Self::F8_E8M0, "F8_E8M0", 8),
        (Self::F8_E4M3FNUZ, "F8_E4M3FNUZ", 8),
        (Self::F8_E5M2FNUZ, "F8_E5M2FNUZ", 8),
        (Self::I16, "I16", 16),
        (Self::U16, "U16", 16),
        (Self::F16, "F16", 16),
        (Self::BF16, "BF16", 16),
        (Self::I32, "I32", 32),
        (Self::U32, "U32", 32),
        (Self::F32, "F32", 32),
        (Self::C64, "C64", 64),
        (Self::F64, "F64", 64),
        (Self::I64, "I64", 64),
        (Self::U64, "U64", 64),
    ];

    /// The dtype named `name` in a header.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|&(d, _, _)| d)
    }

    /// The name used in headers.
    #[must_use]
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(d, _, _)| *d == self)
            .map_or("?", |&(_, n, _)| n)
    }

    /// Bits per element.
    #[must_use]
    pub fn bits(self) -> u64 {
        Self::ALL
            .iter()
            .find(|(d, _, _)| *d == self)
            .map_or(0, |&(_, _, b)| b)
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One header entry before validation.
struct Entry {
    name: String,
    dtype: Dtype,
    shape: Vec<u64>,
    start: u64,
    end: u64,
    /// File offset of the entry's key, where its errors are reported.
    at: u64,
}

/// Parses a whole safetensors file.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ModelInfo, FormatError> {
    let ctx = Ctx {
        path,
        format: Format::Safetensors,
    };
    let mut cursor = Cursor::new(bytes, ctx);
    let n = cursor.u64("the header length")?;
    if n > MAX_HEADER_SIZE {
        return Err(ctx.err(
            0,
            Rule::HeaderTooLarge,
            format!("header length {n} exceeds the limit of {MAX_HEADER_SIZE}"),
        ));
    }
    if n > cursor.remaining() {
        return Err(ctx.err(
            0,
            Rule::Truncated,
            format!(
                "header of {n} bytes does not fit in the {} bytes after the length",
                cursor.remaining()
            ),
        ));
    }
    let header = cursor.take(n, "the header")?;
    let data_offset = cursor.offset();
    let data_len = cursor.remaining();
    let text = std::str::from_utf8(header).map_err(|e| {
        ctx.err(
            8 + crate::size::to_u64(e.valid_up_to()),
            Rule::InvalidUtf8,
            "header is not UTF-8",
        )
    })?;
    if !text.starts_with('{') {
        return Err(ctx.err(8, Rule::HeaderStart, "the JSON header must start with `{`"));
    }
    let (entries, metadata) = parse_header(text, ctx)?;
    let (tensors, by_name) = validate(entries, data_offset, data_len, ctx)?;
    Ok(ModelInfo::new(
        Format::Safetensors,
        bytes,
        tensors,
        by_name,
        Details::Safetensors {
            metadata,
            data_offset,
        },
    ))
}

type Metadata = Option<Vec<(String, String)>>;

/// Parses the JSON header into entries (in file order) and `__metadata__`.
fn parse_header(text: &str, ctx: Ctx<'_>) -> Result<(Vec<Entry>, Metadata), FormatError> {
    let mut json = Json::new(text, 8, ctx);
    json.expect(b'{', "`{`")?;
    let mut entries = Vec::new();
    let mut names = HashSet::new();
    let mut metadata = None;
    let mut seen_metadata = false;
    if !json.eat(b'}') {
        loop {
            json.ws();
            let at = json.offset();
            let key = json.string()?;
            if (key == "__metadata__" && seen_metadata) || names.contains(&key) {
                return Err(ctx.err(
                    at,
                    Rule::DuplicateKey,
                    format!("duplicate key {key:?} in the header"),
                ));
            }
            json.expect(b':', "`:`")?;
            if key == "__metadata__" {
                seen_metadata = true;
                metadata = parse_metadata(&mut json, ctx)?;
            } else {
                let entry = parse_entry(&mut json, key.clone(), at, ctx)?;
                names.insert(key);
                entries.push(entry);
            }
            if json.eat(b'}') {
                break;
            }
            json.expect(b',', "`,` or `}`")?;
        }
    }
    if !json.at_end() {
        return Err(json.err(Rule::Json, "trailing characters after the header object"));
    }
    Ok((entries, metadata))
}

/// Parses `__metadata__`: a string → string map (`null` is rejected: the spec says a map).
fn parse_metadata(json: &mut Json<'_>, ctx: Ctx<'_>) -> Result<Metadata, FormatError> {
    json.ws();
    if json.peek() == Some(b'n') {
        return Err(json.err(Rule::Schema, "`__metadata__` must be an object of strings"));
    }
    if json.peek() != Some(b'{') {
        let kind = json.value_kind();
        return Err(json.err(
            Rule::Schema,
            format!("`__metadata__` must be an object, found {kind}"),
        ));
    }
    json.expect(b'{', "`{`")?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut keys = HashSet::new();
    if json.eat(b'}') {
        return Ok(Some(pairs));
    }
    loop {
        json.ws();
        let at = json.offset();
        let key = json.string()?;
        if !keys.insert(key.clone()) {
            return Err(ctx.err(
                at,
                Rule::DuplicateKey,
                format!("duplicate key {key:?} in `__metadata__`"),
            ));
        }
        json.expect(b':', "`:`")?;
        let value = json.string()?;
        pairs.push((key, value));
        if json.eat(b'}') {
            return Ok(Some(pairs));
        }
        json.expect(b',', "`,` or `}`")?;
    }
}

/// Parses one tensor entry `{"dtype": …, "shape": […], "data_offsets": [s, e]}`.
fn parse_entry(
    json: &mut Json<'_>,
    name: String,
    at: u64,
    ctx: Ctx<'_>,
) -> Result<Entry, FormatError> {
    json.ws();
    if json.peek() != Some(b'{') {
        let kind = json.value_kind();
        return Err(json.err(
            Rule::Schema,
            format!("tensor {name:?} must be an object, found {kind}"),
        ));
    }
    json.expect(b'{', "`{`")?;
    let mut dtype = None;
    let mut shape = None;
    let mut offsets = None;
    if !json.eat(b'}') {
        loop {
            json.ws();
            let field_at = json.offset();
            let field = json.string()?;
            json.expect(b':', "`:`")?;
            let dup = || {
                ctx.err(
                    field_at,
                    Rule::DuplicateKey,
                    format!("duplicate field {field:?} in tensor {name:?}"),
                )
            };
            match field.as_str() {
                "dtype" => {
                    if dtype.is_some() {
                        return Err(dup());
                    }
                    json.ws();
                    let value_at = json.offset();
                    let value = json.string()?;
                    let Some(d) = Dtype::from_name(&value) else {
                        return Err(ctx.err(
                            value_at,
                            Rule::UnknownType,
                            format!("unknown dtype {value:?} of tensor {name:?}"),
                        ));
                    };
                    dtype = Some(d);
                }
                "shape" => {
                    if shape.is_some() {
                        return Err(dup());
                    }
                    shape = Some(json.uint_array()?);
                }
                "data_offsets" => {
                    if offsets.is_some() {
                        return Err(dup());
                    }
                    json.ws();
                    let value_at = json.offset();
                    let pair = json.uint_array()?;
                    let [s, e] = pair[..] else {
                        return Err(ctx.err(
                            value_at,
                            Rule::Schema,
                            format!(
                                "data_offsets of tensor {name:?} must have 2 entries, not {}",
                                pair.len()
                            ),
                        ));
                    };
                    offsets = Some((s, e));
                }
                _ => {
                    return Err(ctx.err(
                        field_at,
                        Rule::Schema,
                        format!("unknown field {field:?} in tensor {name:?}"),
                    ));
                }
            }
            if json.eat(b'}') {
                break;
            }
            json.expect(b',', "`,` or `}`")?;
        }
    }
    let missing = |what: &str| ctx.err(at, Rule::Schema, format!("tensor {name:?} has no {what}"));
    let dtype = dtype.ok_or_else(|| missing("dtype"))?;
    let shape = shape.ok_or_else(|| missing("shape"))?;
    let (start, end) = offsets.ok_or_else(|| missing("data_offsets"))?;
    Ok(Entry {
        name,
        dtype,
        shape,
        start,
        end,
        at,
    })
}

/// Applies the layout rules and builds the tensor table, sorted by offset.
fn validate(
    mut entries: Vec<Entry>,
    data_offset: u64,
    data_len: u64,
    ctx: Ctx<'_>,
) -> Result<(Vec<TensorInfo>, HashMap<String, usize>), FormatError> {
    // Stable sort: equal ranges (empty tensors) keep the file's order.
    entries.sort_by_key(|e| (e.start, e.end));
    let mut expected = 0u64;
    let mut tensors = Vec::new();
    let mut by_name = HashMap::new();
    for entry in entries {
        let Entry {
            name,
            dtype,
            shape,
            start,
            end,
            at,
        } = entry;
        if end < start {
            return Err(ctx.err(
                at,
                Rule::BadOffsets,
                format!("tensor {name:?} has data_offsets [{start}, {end}]"),
            ));
        }
        if start < expected {
            return Err(ctx.err(at, Rule::Overlap, format!("tensor {name:?} starts at {start}, inside the previous tensor ending at {expected}")));
        }
        if start > expected {
            return Err(ctx.err(
                at,
                Rule::Gap,
                format!("tensor {name:?} starts at {start}, leaving a hole after {expected}"),
            ));
        }
        expected = end;
        let elements = shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| {
                ctx.err(
                    at,
                    Rule::SizeOverflow,
                    format!("element count of tensor {name:?} overflows"),
                )
            })?;
        let bits = elements.checked_mul(dtype.bits()).ok_or_else(|| {
            ctx.err(
                at,
                Rule::SizeOverflow,
                format!("bit count of tensor {name:?} overflows"),
            )
        })?;
        if bits % 8 != 0 {
            return Err(ctx.err(
                at,
                Rule::SubByteMisaligned,
                format!("tensor {name:?} of {elements} {dtype} elements is {bits} bits"),
            ));
        }
        if end - start != bits / 8 {
            return Err(ctx.err(
                at,
                Rule::ByteLength,
                format!(
                    "tensor {name:?} ({dtype} {shape:?}) needs {} bytes but data_offsets span {}",
                    bits / 8,
                    end - start
                ),
            ));
        }
        if end > data_len {
            return Err(ctx.err(
                at,
                Rule::OutOfFile,
                format!("tensor {name:?} ends at {end} past the data section of {data_len} bytes"),
            ));
        }
        let index = tensors.len();
        index_name(&mut by_name, &name, index, || {
            ctx.err(
                at,
                Rule::DuplicateKey,
                format!("duplicate tensor name {name:?}"),
            )
        })?;
        tensors.push(TensorInfo {
            name,
            dtype: DType::Safetensors(dtype),
            dims: shape,
            // `data_offset + end <= data_offset + data_len == file length`: no overflow.
            offset: data_offset + start,
            len: end - start,
        });
    }
    if expected < data_len {
        return Err(ctx.err(
            data_offset + expected,
            Rule::TrailingBytes,
            format!(
                "{} bytes after the last tensor are not covered by any tensor",
                data_len - expected
            ),
        ));
    }
    Ok((tensors, by_name))
}
