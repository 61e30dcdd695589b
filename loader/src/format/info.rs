//! What a parse produces: the format, the tensor table and the format's own metadata.
//!
//! Everything here is owned and small (bounded by the header, never by the data), so it can
//! live next to the session that owns the bytes; tensor data is reached through
//! [`TensorView`]s that borrow those bytes.

use std::collections::HashMap;
use std::fmt;

use super::ggml::GgmlType;
use super::gguf::GgufHeader;
use super::pte::PteLayout;
use super::safetensors::Dtype;
use super::view::TensorView;
use super::{Format, FormatError};
use crate::size::to_usize;

/// A tensor's element type, as its format names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// A safetensors dtype.
    Safetensors(Dtype),
    /// A ggml type (GGUF).
    Ggml(&'static GgmlType),
}

impl DType {
    /// The name the format uses (`F32`, `BF16`, `Q4_K`, …).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Safetensors(d) => d.name(),
            Self::Ggml(t) => t.name,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One tensor of the file: name, type, dims and absolute byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor's name.
    pub name: String,
    /// Its element type.
    pub dtype: DType,
    /// Dimensions in the order the file stores them (GGUF: `ne[0]` first).
    pub dims: Vec<u64>,
    /// Absolute offset of the first byte in the file.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// Format-specific parts of a parsed file.
#[derive(Debug, Clone, PartialEq)]
pub enum Details {
    /// No known format.
    Raw,
    /// safetensors: the optional `__metadata__` string map and where the data section starts.
    Safetensors {
        /// `__metadata__`, in key order.
        metadata: Option<Vec<(String, String)>>,
        /// Absolute offset of the data section (`8 + N`).
        data_offset: u64,
    },
    /// GGUF: version, alignment, key/value pairs.
    Gguf(GgufHeader),
    /// `.pte`: the program and segment ranges.
    Pte(PteLayout),
}

/// A parsed model file: format, tensors by name, metadata. Owns no file bytes.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    format: Format,
    size: u64,
    tensors: Vec<TensorInfo>,
    by_name: HashMap<String, usize>,
    details: Details,
}

impl ModelInfo {
    /// A file of no known format: no tensors.
    pub(crate) fn raw(bytes: &[u8]) -> Self {
        Self::new(Format::Raw, bytes, Vec::new(), HashMap::new(), Details::Raw)
    }

    /// Assembles a parse result; `by_name` maps each name to its index in `tensors`.
    pub(crate) fn new(
        format: Format,
        bytes: &[u8],
        tensors: Vec<TensorInfo>,
        by_name: HashMap<String, usize>,
        details: Details,
    ) -> Self {
        let size = crate::size::to_u64(bytes.len());
        Self {
            format,
            size,
            tensors,
            by_name,
            details,
        }
    }

    /// The detected format.
    #[must_use]
    pub fn format(&self) -> Format {
        self.format
    }

    /// The size of the file in bytes.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Tensors in the order the file lists them (safetensors: by data offset).
    #[must_use]
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// A tensor by name (hash-map lookup).
    #[must_use]
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.by_name.get(name).and_then(|&i| self.tensors.get(i))
    }

    /// The format-specific metadata.
    #[must_use]
    pub fn details(&self) -> &Details {
        &self.details
    }

    /// A zero-copy view of tensor `name` inside `bytes`, the same bytes this was parsed from.
    ///
    /// Returns `None` when there is no such tensor, or when `bytes` is not the parsed file
    /// (its length differs, so the range may not lie inside it).
    #[must_use]
    pub fn view<'a>(&'a self, bytes: &'a [u8], name: &str) -> Option<TensorView<'a>> {
        let info = self.tensor(name)?;
        self.view_of(bytes, info)
    }

    /// A zero-copy view of `info` (one of this file's tensors) inside `bytes`.
    #[must_use]
    pub fn view_of<'a>(&self, bytes: &'a [u8], info: &'a TensorInfo) -> Option<TensorView<'a>> {
        if crate::size::to_u64(bytes.len()) != self.size {
            return None;
        }
        let start = to_usize(info.offset, "tensor offset").ok()?;
        let end = to_usize(info.offset.checked_add(info.len)?, "tensor end").ok()?;
        Some(TensorView::new(info, bytes.get(start..end)?))
    }

    /// Checks the invariants every parser promises (used by tests and fuzz targets): each
    /// tensor lies inside the file, names are unique and the index finds each of them.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> Result<(), String> {
        if self.by_name.len() != self.tensors.len() {
            return Err("name index and tensor table differ in length".into());
        }
        for (i, t) in self.tensors.iter().enumerate() {
            let end = t.offset.checked_add(t.len).ok_or("tensor end overflows")?;
            if end > self.size {
                return Err(format!(
                    "tensor {} ends at {end} past the file of {}",
                    t.name, self.size
                ));
            }
            if self.by_name.get(&t.name) != Some(&i) {
                return Err(format!("tensor {} is not indexed", t.name));
            }
        }
        Ok(())
    }
}

/// Inserts `name` → `index` into `by_name`, failing on a duplicate.
pub(crate) fn index_name(
    by_name: &mut HashMap<String, usize>,
    name: &str,
    index: usize,
    err: impl FnOnce() -> FormatError,
) -> Result<(), FormatError> {
    if by_name.contains_key(name) {
        return Err(err());
    }
    by_name.insert(name.to_owned(), index);
    Ok(())
}
