//! ExecuTorch's scalar types (`scalar_type.fbs`), with the byte size the runtime gives each.

use std::fmt;

/// An ExecuTorch scalar type, as `scalar_type.fbs` numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum ScalarType {
    Byte,
    Char,
    Short,
    Int,
    Long,
    Half,
    Float,
    Double,
    Bool,
    QInt8,
    QUInt8,
    QInt32,
    BFloat16,
    QUInt4x2,
    QUInt2x4,
    Bits16,
    Float8e5m2,
    Float8e4m3fn,
    Float8e5m2fnuz,
    Float8e4m3fnuz,
    UInt16,
    UInt32,
    UInt64,
}

/// id, type, name, bytes per element (as `runtime/core/exec_aten/util/scalar_type_util.h`).
const TABLE: [(i8, ScalarType, &str, u64); 23] = [
    (0, ScalarType::Byte, "Byte", 1),
    (1, ScalarType::Char, "Char", 1),
    (2, ScalarType::Short, "Short", 2),
    (3, ScalarType::Int, "Int", 4),
    (4, ScalarType::Long, "Long", 8),
    (5, ScalarType::Half, "Half", 2),
    (6, ScalarType::Float, "Float", 4),
    (7, ScalarType::Double, "Double", 8),
    (11, ScalarType::Bool, "Bool", 1),
    (12, ScalarType::QInt8, "QInt8", 1),
    (13, ScalarType::QUInt8, "QUInt8", 1),
    (14, ScalarType::QInt32, "QInt32", 4),
    (15, ScalarType::BFloat16, "BFloat16", 2),
    (16, ScalarType::QUInt4x2, "QUInt4x2", 1),
    (17, ScalarType::QUInt2x4, "QUInt2x4", 1),
    (22, ScalarType::Bits16, "Bits16", 2),
    (23, ScalarType::Float8e5m2, "Float8_e5m2", 1),
    (24, ScalarType::Float8e4m3fn, "Float8_e4m3fn", 1),
    (25, ScalarType::Float8e5m2fnuz, "Float8_e5m2fnuz", 1),
    (26, ScalarType::Float8e4m3fnuz, "Float8_e4m3fnuz", 1),
    (27, ScalarType::UInt16, "UInt16", 2),
    (28, ScalarType::UInt32, "UInt32", 4),
    (29, ScalarType::UInt64, "UInt64", 8),
];

impl ScalarType {
    /// The type with id `id`.
    #[must_use]
    pub fn from_id(id: i8) -> Option<Self> {
        TABLE.iter().find(|e| e.0 == id).map(|e| e.1)
    }

    fn entry(self) -> &'static (i8, ScalarType, &'static str, u64) {
        // Every variant is in the table (checked by a test).
        TABLE.iter().find(|e| e.1 == self).unwrap_or(&TABLE[0])
    }

    /// ExecuTorch's name (`Float`, `BFloat16`, …).
    #[must_use]
    pub fn name(self) -> &'static str {
        self.entry().2
    }

    /// Bytes per element.
    #[must_use]
    pub fn size(self) -> u64 {
        self.entry().3
    }
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips() {
        for (id, ty, _, _) in TABLE {
            assert_eq!(ScalarType::from_id(id), Some(ty));
            assert_eq!(ty.entry().0, id);
        }
        assert_eq!(ScalarType::from_id(8), None);
    }
}
