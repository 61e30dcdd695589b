//! GGUF v2 and v3: `GGUF`, u32 version, u64 tensor count, u64 key/value count, typed
//! key/values (`header.rs`), tensor infos (`tensors.rs`), then the data section at the next
//! multiple of `general.alignment`.
//!
//! Validated as ggml's own reader (`ggml/src/gguf.cpp`) accepts files by default, and stricter
//! where it aborts or trusts the file: every count and string/array length is bounded by the
//! bytes that remain before anything is read or allocated; keys are non-empty and unique,
//! tensor names unique and shorter than 64 bytes; `general.alignment` is a `u32` non-zero power
//! of two; element counts and byte sizes fit ggml's `int64_t`; tensor data is laid out in
//! order inside the file. v1 (32-bit counts) is rejected, as ggml rejects it. Where loadguard is
//! stricter than ggml: bools must be 0 or 1, strings UTF-8, names free of NUL.
//! [`ParseOptions::lenient`] relaxes the ggml-only rules (see `tensors.rs`).

use std::path::Path;

use super::cursor::Cursor;
use super::info::ModelInfo;
use super::{Budget, Ctx, Details, Format, FormatError, ParseOptions};
use crate::size::to_u64;

mod header;
mod tensors;
mod values;

pub use header::{ALIGNMENT_KEY, DEFAULT_ALIGNMENT, GgufHeader, GgufKv, Split};
pub use tensors::{MAX_DIMS, MAX_NAME};
pub use values::{GgufArray, GgufValue, MAX_NESTING, ValueType};

/// Parses a whole GGUF file with ggml's acceptance rules.
///
/// # Errors
///
/// A [`FormatError`] naming the offset and the [`Rule`](super::Rule) broken.
#[track_caller]
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ModelInfo, FormatError> {
    let _site = crate::callsite::enter();
    parse_with(path, bytes, &ParseOptions::new())
}

/// Parses a whole GGUF file; [`ParseOptions::lenient`] selects the lenient rules.
///
/// # Errors
///
/// As [`parse`].
#[track_caller]
pub fn parse_with(
    path: &Path,
    bytes: &[u8],
    opts: &ParseOptions,
) -> Result<ModelInfo, FormatError> {
    let _site = crate::callsite::enter();
    let ctx = Ctx {
        path,
        format: Format::Gguf,
    };
    let lenient = opts.is_lenient();
    let value_rules = if lenient {
        values::Rules::lenient()
    } else {
        values::Rules::ggml()
    };
    let tensor_rules = tensors::TensorRules { ggml: !lenient };
    let mut budget = Budget::default();
    let mut c = Cursor::new(bytes, ctx);
    let counts = header::read_counts(&mut c)?;
    let kvs = header::read_kvs(&mut c, counts.n_kv, value_rules, lenient, &mut budget)?;
    let (infos, index) = tensors::read_infos(
        &mut c,
        counts.n_tensors,
        kvs.alignment,
        tensor_rules,
        &mut budget,
    )?;
    let data_offset = kvs
        .alignment
        .align_up(c.offset())
        .map_err(|e| c.err(super::Rule::SizeOverflow, e.to_string()))?;
    let file_len = to_u64(bytes.len());
    let tensors = tensors::place(
        infos,
        data_offset,
        file_len,
        kvs.alignment,
        tensor_rules,
        ctx,
    )?;
    let header = GgufHeader {
        version: counts.version,
        alignment: to_u64(kvs.alignment.get()),
        data_offset,
        kvs: kvs.kvs,
        index: kvs.index,
    };
    Ok(ModelInfo::new(
        Format::Gguf,
        bytes,
        tensors,
        index,
        Details::Gguf(header),
        budget.spent(),
    ))
}
