//! The GGUF header: magic, version, counts and the typed key/values, with `general.alignment`
//! and the `split.*` keys of a split model read out.

use std::collections::HashMap;

use super::super::cursor::Cursor;
use super::super::{Budget, FormatError, Rule};
use super::values::{GgufValue, Rules, check_count, read_str, read_type, read_value};
use crate::size::{Alignment, to_u64};

/// The key that sets the alignment.
pub const ALIGNMENT_KEY: &str = "general.alignment";
/// The alignment of the data section and of tensor offsets when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// Smallest encoding of one key/value: empty key (8), type (4), one-byte value (1).
const MIN_KV_BYTES: u64 = 13;

/// One key/value pair and where it starts in the file.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GgufKv {
    /// The key.
    pub key: String,
    /// The value.
    pub value: GgufValue,
    /// Absolute offset of the key/value.
    pub offset: u64,
}

/// Where a file sits in a split model (`split.no`, `split.count`, `split.tensors.count`, as
/// llama.cpp's `gguf-split` writes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Split {
    /// This file's split number, from 0.
    pub no: u64,
    /// How many files the model is split into.
    pub count: u64,
    /// Tensors across all the splits.
    pub tensors: u64,
}

/// The GGUF-specific parts of a parsed file.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GgufHeader {
    /// Format version (2 or 3).
    pub version: u32,
    /// Alignment of the data section and tensor offsets.
    pub alignment: u64,
    /// Absolute offset of the data section.
    pub data_offset: u64,
    /// Key/values in file order.
    pub kvs: Vec<GgufKv>,
    pub(super) index: HashMap<String, usize>,
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

    /// The `split.*` keys, when this file is part of a split model with more than one file.
    #[must_use]
    pub fn split(&self) -> Option<Split> {
        let count = self.get("split.count")?.as_u64()?;
        let no = self.get("split.no")?.as_u64()?;
        let tensors = self.get("split.tensors.count")?.as_u64()?;
        (count > 1).then_some(Split { no, count, tensors })
    }
}

/// What the fixed part of the header states.
pub(super) struct Counts {
    pub(super) version: u32,
    pub(super) n_tensors: u64,
    pub(super) n_kv: u64,
}

/// Reads magic, version and counts; versions 2 and 3 are accepted, as ggml accepts them.
pub(super) fn read_counts(c: &mut Cursor<'_>) -> Result<Counts, FormatError> {
    let ctx = c.ctx();
    let magic = c.array::<4>("the magic")?;
    if &magic != b"GGUF" {
        return Err(ctx.err(
            0,
            Rule::BadMagic,
            format!("magic \"{}\" is not \"GGUF\"", magic.escape_ascii()),
        ));
    }
    let version = c.u32("the version")?;
    let problem = match version {
        2 | 3 => None,
        0 => Some("version 0 is not a GGUF version".to_owned()),
        1 => Some(
            "GGUF v1 (32-bit counts and lengths) is no longer supported; ggml reads v2 and v3"
                .to_owned(),
        ),
        v if v & 0xFFFF == 0 => Some(format!(
            "version {v} (0x{v:08x}): a big-endian file, or a corrupt version; only 2 and 3 are supported"
        )),
        v => Some(format!("version {v}; only 2 and 3 are supported")),
    };
    if let Some(detail) = problem {
        return Err(ctx.err(4, Rule::UnsupportedVersion, detail));
    }
    let n_tensors = c.u64("the tensor count")?;
    let n_kv = c.u64("the key/value count")?;
    check_count(c, 16, n_kv, MIN_KV_BYTES, "key/values")?;
    check_count(
        c,
        8,
        n_tensors,
        super::tensors::MIN_TENSOR_INFO_BYTES,
        "tensor infos",
    )?;
    Ok(Counts {
        version,
        n_tensors,
        n_kv,
    })
}

/// The key/values, and the alignment they set.
pub(super) struct Kvs {
    pub(super) kvs: Vec<GgufKv>,
    pub(super) index: HashMap<String, usize>,
    pub(super) alignment: Alignment,
}

/// Reads `n_kv` key/values: keys non-empty (ggml) and unique, `general.alignment` a `u32`
/// non-zero power of two.
pub(super) fn read_kvs(
    c: &mut Cursor<'_>,
    n_kv: u64,
    rules: Rules,
    allow_empty_keys: bool,
    budget: &mut Budget,
) -> Result<Kvs, FormatError> {
    let ctx = c.ctx();
    let mut kvs = Vec::new();
    let mut index = HashMap::new();
    let mut alignment = Alignment::new(32).unwrap_or_default();
    for _ in 0..n_kv {
        let at = c.offset();
        let key = read_str(c, "key")?;
        if key.is_empty() && !allow_empty_keys {
            return Err(ctx.err(
                at,
                Rule::EmptyKey,
                "a key is empty (ggml's reader rejects it; the lenient rules accept it)",
            ));
        }
        if index.contains_key(key) {
            return Err(ctx.err(at, Rule::DuplicateKey, format!("duplicate key {key:?}")));
        }
        let ty = read_type(c)?;
        let value = read_value(c, ty, 0, rules)?;
        if key == ALIGNMENT_KEY {
            alignment = parse_alignment(&value).ok_or_else(|| {
                ctx.err(
                    at,
                    Rule::BadAlignment,
                    format!("{ALIGNMENT_KEY} is {value:?}; it must be a u32 non-zero power of two"),
                )
            })?;
        }
        let text = match &value {
            GgufValue::String(s) => s.len(),
            _ => 0,
        };
        let cost = 2 * to_u64(key.len())
            + to_u64(text)
            + to_u64(size_of::<GgufKv>())
            + 3 * to_u64(size_of::<(String, usize)>());
        budget.charge(cost, c.offset(), ctx, at)?;
        index.insert(key.to_owned(), kvs.len());
        kvs.push(GgufKv {
            key: key.to_owned(),
            value,
            offset: at,
        });
    }
    Ok(Kvs {
        kvs,
        index,
        alignment,
    })
}

/// `general.alignment` must be a `u32` non-zero power of two.
fn parse_alignment(value: &GgufValue) -> Option<Alignment> {
    match value {
        GgufValue::U32(a) => Alignment::new(usize::try_from(*a).ok()?).ok(),
        _ => None,
    }
}
