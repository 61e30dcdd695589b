//! safetensors: `u64` LE header length N, N bytes of UTF-8 JSON, then the data section.
//!
//! The rules are the reference implementation's (the `safetensors` crate), made strict where
//! it is lenient: the header is at most [`MAX_HEADER_SIZE`] bytes and `8 + N` lies inside the
//! file; it starts with `{` and may be padded with whitespace; each tensor has exactly the
//! fields `dtype`, `shape` and `data_offsets`; byte length = product(shape) × bits / 8 with
//! checked multiplication, sub-byte dtypes ending on a byte boundary; tensors sorted by offset
//! cover the data section exactly (no overlap, no hole, no trailing bytes); `__metadata__` is a
//! string → string map; duplicate keys anywhere are rejected.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use super::cursor::Cursor;
use super::info::{ModelInfo, NameIndex, TensorInfo};
use super::json::Json;
use super::{Budget, Ctx, DType, Details, Format, FormatError, Rule};

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

/// One header entry before validation: the tensor it will become, and where its key is.
struct Entry {
    info: TensorInfo,
    /// `data_offsets`, relative to the data section.
    start: u64,
    end: u64,
    /// File offset of the entry's key, where its errors are reported.
    at: u64,
}

/// What one entry costs the budget besides its name and dims: the tensor info, the entry
/// around it while the table is built, and its name-index slot.
const ENTRY_COST: u64 = (size_of::<Entry>() as u64) + super::info::NameIndex::ENTRY_COST;

/// Parses a whole safetensors file.
///
/// # Errors
///
/// A [`FormatError`] naming the offset and the [`Rule`] broken.
#[track_caller]
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ModelInfo, FormatError> {
    let _site = crate::callsite::enter();
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
    if header.starts_with(b"\xEF\xBB\xBF") {
        return Err(ctx.err(
            8,
            Rule::HeaderStart,
            "the JSON header starts with a UTF-8 byte order mark; it must start with `{`",
        ));
    }
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
    let mut budget = Budget::default();
    let (entries, metadata) = parse_header(text, ctx, &mut budget, n)?;
    let (tensors, index) = validate(entries, data_offset, data_len, ctx)?;
    Ok(ModelInfo::new(
        Format::Safetensors,
        bytes,
        tensors,
        index,
        Details::Safetensors {
            metadata,
            data_offset,
        },
        budget.spent(),
    ))
}

type Metadata = Option<Vec<(String, String)>>;

/// Parses the JSON header into entries (in file order) and `__metadata__`.
fn parse_header(
    text: &str,
    ctx: Ctx<'_>,
    budget: &mut Budget,
    header_len: u64,
) -> Result<(Vec<Entry>, Metadata), FormatError> {
    let mut json = Json::new(text, 8, ctx);
    let mut entries = Vec::new();
    let mut metadata = None;
    let mut seen_metadata = false;
    json.members(|json, key, at| {
        if key == "__metadata__" {
            if seen_metadata {
                return Err(ctx.err(
                    at,
                    Rule::DuplicateKey,
                    "duplicate key \"__metadata__\" in the header",
                ));
            }
            seen_metadata = true;
            metadata = parse_metadata(json, ctx, budget, header_len)?;
        } else {
            let entry = parse_entry(json, key.into_owned(), at, ctx)?;
            let cost = ENTRY_COST
                + crate::size::to_u64(entry.info.name.len())
                + 8 * crate::size::to_u64(entry.info.dims.len());
            budget.charge(cost, header_len, ctx, at)?;
            entries.push(entry);
        }
        Ok(())
    })?;
    if !json.at_end() {
        return Err(json.err(Rule::Json, "trailing characters after the header object"));
    }
    Ok((entries, metadata))
}

/// Parses `__metadata__`: a string → string map (`null` is rejected: the spec says a map).
fn parse_metadata(
    json: &mut Json<'_>,
    ctx: Ctx<'_>,
    budget: &mut Budget,
    header_len: u64,
) -> Result<Metadata, FormatError> {
    json.ws();
    if json.peek() != Some(b'{') {
        let kind = json.value_kind();
        return Err(json.err(
            Rule::Schema,
            format!("`__metadata__` must be an object of strings, found {kind}"),
        ));
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut keys = HashSet::new();
    json.members(|json, key, at| {
        if !keys.insert(key.clone()) {
            return Err(ctx.err(
                at,
                Rule::DuplicateKey,
                format!("duplicate key {key:?} in `__metadata__`"),
            ));
        }
        let value = json.string()?;
        let cost = 2 * (size_of::<(String, String)>() as u64)
            + 2 * crate::size::to_u64(key.len())
            + crate::size::to_u64(value.len());
        budget.charge(cost, header_len, ctx, at)?;
        pairs.push((key.into_owned(), value));
        Ok(())
    })?;
    Ok(Some(pairs))
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
    let mut dtype = None;
    let mut shape = None;
    let mut offsets = None;
    json.members(|json, field, field_at| {
        let dup = || {
            ctx.err(
                field_at,
                Rule::DuplicateKey,
                format!("duplicate field {field:?} in tensor {name:?}"),
            )
        };
        match &*field {
            "dtype" => {
                if dtype.is_some() {
                    return Err(dup());
                }
                json.ws();
                let value_at = json.offset();
                let value = json.str()?;
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
                offsets = Some(json.uint_pair()?.map_err(|n| {
                    ctx.err(
                        value_at,
                        Rule::Schema,
                        format!("data_offsets of tensor {name:?} must have 2 entries, not {n}"),
                    )
                })?);
            }
            _ => {
                return Err(ctx.err(
                    field_at,
                    Rule::Schema,
                    format!("unknown field {field:?} in tensor {name:?}"),
                ));
            }
        }
        Ok(())
    })?;
    let missing = |what: &str| ctx.err(at, Rule::Schema, format!("tensor {name:?} has no {what}"));
    let dtype = dtype.ok_or_else(|| missing("dtype"))?;
    let shape = shape.ok_or_else(|| missing("shape"))?;
    let (start, end) = offsets.ok_or_else(|| missing("data_offsets"))?;
    Ok(Entry {
        info: TensorInfo::new(name, DType::Safetensors(dtype), shape, 0, 0),
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
) -> Result<(Vec<TensorInfo>, NameIndex), FormatError> {
    // Stable sort: equal ranges (empty tensors) keep the file's order.
    entries.sort_by_key(|e| (e.start, e.end));
    // Duplicates first (reported at the later of the two keys), as the reference's JSON
    // reader would have collapsed them before any layout rule.
    let mut index = NameIndex::default();
    for (i, entry) in entries.iter().enumerate() {
        let name = entry.info.name.as_str();
        if let Err(first) = index.insert(i, name, |j| entries[j as usize].info.name.as_str()) {
            let at = entry.at.max(entries[first].at);
            return Err(ctx.err(
                at,
                Rule::DuplicateKey,
                format!("duplicate tensor name {name:?}"),
            ));
        }
    }
    let mut expected = 0u64;
    let mut tensors = Vec::with_capacity(entries.len());
    for entry in entries {
        let Entry {
            mut info,
            start,
            end,
            at,
        } = entry;
        let name = &info.name;
        let DType::Safetensors(dtype) = info.dtype else {
            unreachable!("safetensors entries hold safetensors dtypes")
        };
        if end < start {
            return Err(ctx.err(
                at,
                Rule::BadOffsets,
                format!("tensor {name:?} has data_offsets [{start}, {end}]"),
            ));
        }
        if start < expected {
            return Err(ctx.err(
                at,
                Rule::Overlap,
                format!(
                    "tensor {name:?} starts at {start}, inside the previous tensor ending at {expected}"
                ),
            ));
        }
        if start > expected {
            return Err(ctx.err(
                at,
                Rule::Gap,
                format!("tensor {name:?} starts at {start}, leaving a hole after {expected}"),
            ));
        }
        expected = end;
        let elements = info.elements().ok_or_else(|| {
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
                    "tensor {name:?} ({dtype} {:?}) needs {} bytes but data_offsets span {}",
                    info.dims,
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
        // `data_offset + end <= data_offset + data_len == file length`: no overflow.
        info.offset = data_offset + start;
        info.len = end - start;
        tensors.push(info);
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
    Ok((tensors, index))
}
