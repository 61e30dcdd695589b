//! The ggml tensor types: ids, names, block sizes and bytes per block.
//!
//! The table mirrors ggml's `type_traits` (`ggml/src/ggml.c`) and the block structs of
//! `ggml-common.h`. Ids that ggml removed (4, 5, 31–33, 36–38) are unknown here, as they are to
//! ggml's reader. gguf-py's table lists Q8_1 as 40 bytes (an old layout with `float d, s`);
//! ggml's `block_q8_1` holds two `ggml_half` and 32 quants, 36 bytes, and ggml defines the file.

use std::fmt;

/// One ggml type: its id in GGUF files, name, elements per block and bytes per block.
#[derive(Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct GgmlType {
    /// The id stored in tensor infos.
    pub id: u32,
    /// ggml's name (`F32`, `Q4_K`, `IQ2_XXS`, …).
    pub name: &'static str,
    /// Elements per block (1 for plain types).
    pub block_size: u64,
    /// Bytes per block.
    pub type_size: u64,
}

impl GgmlType {
    /// Whether a row of `ne0` elements is a whole number of blocks.
    #[must_use]
    pub fn whole_blocks(&self, ne0: u64) -> bool {
        ne0 % self.block_size == 0
    }

    /// Bytes taken by a row of `ne0` elements, or `None` when `ne0` is not a whole number of
    /// blocks ([`whole_blocks`](Self::whole_blocks)) or the size overflows `u64`.
    #[must_use]
    pub fn row_bytes(&self, ne0: u64) -> Option<u64> {
        if !self.whole_blocks(ne0) {
            return None;
        }
        (ne0 / self.block_size).checked_mul(self.type_size)
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

macro_rules! types {
    ($($id:literal $name:ident $block:literal $size:literal),* $(,)?) => {
        /// Every ggml type a GGUF file may use, by id.
        static TYPES: &[GgmlType] = &[
            $(GgmlType { id: $id, name: stringify!($name), block_size: $block, type_size: $size }),*
        ];
    };
}

// QK_K = 256 for every super-block type.
types! {
    0 F32 1 4,
    1 F16 1 2,
    2 Q4_0 32 18,
    3 Q4_1 32 20,
    6 Q5_0 32 22,
    7 Q5_1 32 24,
    8 Q8_0 32 34,
    9 Q8_1 32 36,
    10 Q2_K 256 84,
    11 Q3_K 256 110,
    12 Q4_K 256 144,
    13 Q5_K 256 176,
    14 Q6_K 256 210,
    15 Q8_K 256 292,
    16 IQ2_XXS 256 66,
    17 IQ2_XS 256 74,
    18 IQ3_XXS 256 98,
    19 IQ1_S 256 50,
    20 IQ4_NL 32 18,
    21 IQ3_S 256 110,
    22 IQ2_S 256 82,
    23 IQ4_XS 256 136,
    24 I8 1 1,
    25 I16 1 2,
    26 I32 1 4,
    27 I64 1 8,
    28 F64 1 8,
    29 IQ1_M 256 56,
    30 BF16 1 2,
    34 TQ1_0 256 54,
    35 TQ2_0 256 66,
    39 MXFP4 32 17,
    40 NVFP4 64 36,
    41 Q1_0 128 18,
}

/// The type with id `id`, if ggml defines it.
#[must_use]
pub fn by_id(id: u32) -> Option<&'static GgmlType> {
    TYPES.iter().find(|t| t.id == id)
}

/// The type named `name`.
#[must_use]
pub fn by_name(name: &str) -> Option<&'static GgmlType> {
    TYPES.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for (i, t) in TYPES.iter().enumerate() {
            assert!(
                t.block_size.is_power_of_two() && t.type_size > 0,
                "{}",
                t.name
            );
            assert_eq!(by_id(t.id).map(|x| x.name), Some(t.name));
            assert!(TYPES[..i].iter().all(|u| u.id < t.id && u.name != t.name));
        }
        for removed in [4, 5, 31, 32, 33, 36, 37, 38, 42, u32::MAX] {
            assert!(by_id(removed).is_none());
        }
        let q4k = by_name("Q4_K").unwrap();
        assert_eq!(q4k.row_bytes(512), Some(288));
        assert_eq!(q4k.row_bytes(100), None);
    }
}
