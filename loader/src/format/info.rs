//! What a parse produces: the format, the tensor table and the format's own metadata.
//!
//! Everything here is owned and small (bounded by the header, never by the data). It holds no
//! file bytes: [`Model`](crate::Model) keeps the bytes and hands out views. This module knows
//! only the sum types of `format/mod.rs`, never a parser.

use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use super::{DType, Details, Format};
use crate::size::to_u64;

/// One tensor of the file: name, type, dims and absolute byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TensorInfo {
    /// The tensor's name.
    pub name: String,
    /// Its element type.
    pub dtype: DType,
    /// Dimensions in the order the file stores them (GGUF: `ne[0]`, the fastest-varying,
    /// first; safetensors and ExecuTorch: row-major, outermost first).
    pub dims: Vec<u64>,
    /// Absolute offset of the first byte in the file.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

impl TensorInfo {
    /// A tensor description (what the parsers build).
    pub(crate) fn new(name: String, dtype: DType, dims: Vec<u64>, offset: u64, len: u64) -> Self {
        Self {
            name,
            dtype,
            dims,
            offset,
            len,
        }
    }

    /// The shape row-major, outermost dimension first, whatever order the file stores it in
    /// (GGUF's `ne` reversed; the others as stored).
    #[must_use]
    pub fn shape(&self) -> Vec<u64> {
        let mut shape = self.dims.clone();
        if matches!(self.dtype, DType::Ggml(_)) {
            shape.reverse();
        }
        shape
    }

    /// The number of elements (the product of the dims; 1 for a scalar). `None` on overflow,
    /// which no parsed tensor has.
    #[must_use]
    pub fn elements(&self) -> Option<u64> {
        self.dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
    }

    /// Absolute end of the byte range (`offset + len`, checked by the parser).
    #[must_use]
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.len)
    }
}

/// Tensor names to their index in a table, in O(1), without a second copy of each name: the
/// table stores indices and compares against the names the tensors already own.
#[derive(Clone, Default)]
pub(crate) struct NameIndex {
    table: HashTable<u32>,
    hasher: RandomState,
}

impl std::fmt::Debug for NameIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NameIndex({} names)", self.table.len())
    }
}

impl NameIndex {
    /// Bytes one entry costs (an index, its control byte, and the table's spare capacity).
    pub(crate) const ENTRY_COST: u64 = 16;

    /// Adds `index` under `name(index)`; on a duplicate returns the index already there.
    pub(crate) fn insert<'n>(
        &mut self,
        index: usize,
        name: &str,
        name_of: impl Fn(u32) -> &'n str,
    ) -> Result<(), usize> {
        let Ok(i) = u32::try_from(index) else {
            // More than 4 billion tensors cannot be described by a header the parsers accept
            // (each takes at least 24 bytes of a header bounded by the file).
            return Err(index);
        };
        let hash = self.hasher.hash_one(name);
        if let Some(&existing) = self.table.find(hash, |&j| name_of(j) == name) {
            return Err(existing as usize);
        }
        let hasher = &self.hasher;
        self.table
            .insert_unique(hash, i, |&j| hasher.hash_one(name_of(j)));
        Ok(())
    }

    /// The index stored under `name`.
    pub(crate) fn get<'n>(&self, name: &str, name_of: impl Fn(u32) -> &'n str) -> Option<usize> {
        let hash = self.hasher.hash_one(name);
        self.table
            .find(hash, |&j| name_of(j) == name)
            .map(|&j| j as usize)
    }

    /// Number of names.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

/// A parsed model file: format, tensors by name, metadata. Owns no file bytes.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    format: Format,
    size: u64,
    tensors: Vec<TensorInfo>,
    index: NameIndex,
    details: Details,
    table_bytes: u64,
}

impl ModelInfo {
    /// Opaque bytes (asked for explicitly): no tensors.
    pub(crate) fn raw(bytes: &[u8]) -> Self {
        Self::new(
            Format::Raw,
            bytes,
            Vec::new(),
            NameIndex::default(),
            Details::Raw,
            0,
        )
    }

    /// Assembles a parse result; `index` maps each name to its index in `tensors`;
    /// `table_bytes` is what the parse charged to its budget.
    pub(crate) fn new(
        format: Format,
        bytes: &[u8],
        tensors: Vec<TensorInfo>,
        index: NameIndex,
        details: Details,
        table_bytes: u64,
    ) -> Self {
        debug_assert_eq!(index.len(), tensors.len());
        Self {
            format,
            size: to_u64(bytes.len()),
            tensors,
            index,
            details,
            table_bytes,
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

    /// A tensor by name (hash lookup).
    #[must_use]
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.position(name).map(|i| &self.tensors[i])
    }

    /// The index of tensor `name` in [`tensors`](Self::tensors).
    #[must_use]
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index
            .get(name, |j| self.tensors[j as usize].name.as_str())
    }

    /// The format-specific metadata.
    #[must_use]
    pub fn details(&self) -> &Details {
        &self.details
    }

    /// What the parse's owned tables cost, as charged against the header budget
    /// ([`MAX_TABLE_BYTES_PER_HEADER_BYTE`](super::MAX_TABLE_BYTES_PER_HEADER_BYTE)).
    #[must_use]
    pub fn table_bytes(&self) -> u64 {
        self.table_bytes
    }

    /// Number of names in the index (equal to the tensor count; for checkers).
    #[cfg(any(test, loom, fuzzing, feature = "testing"))]
    pub(crate) fn indexed(&self) -> usize {
        self.index.len()
    }
}
