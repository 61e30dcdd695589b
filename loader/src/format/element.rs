//! Which Rust element types a tensor's bytes may be viewed as ([`Element`]), and why a typed
//! view is refused ([`CastError`]). The views themselves are [`TensorView`](crate::TensorView).

use super::DType;
use super::pte::ScalarType;
use super::safetensors::Dtype;

/// Why a typed view was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CastError {
    /// The tensor's dtype is not stored as `T`.
    #[error("dtype {dtype} is not stored as {wanted}")]
    Dtype {
        /// The tensor's dtype name.
        dtype: &'static str,
        /// The Rust type asked for.
        wanted: &'static str,
    },
    /// The bytes do not start at a multiple of `T`'s alignment in memory.
    #[error("tensor bytes are not aligned to {align} in memory")]
    Misaligned {
        /// `align_of::<T>()`.
        align: usize,
    },
    /// Files store little-endian values; this host is big-endian.
    #[error("little-endian data cannot be viewed in place on a big-endian host")]
    Endianness,
    /// The byte length is not a multiple of `size_of::<T>()` (cannot happen for parsed files).
    #[error("{len} bytes is not a whole number of {size}-byte elements")]
    Length {
        /// Bytes of the tensor.
        len: usize,
        /// `size_of::<T>()`.
        size: usize,
    },
}

mod sealed {
    pub trait Sealed {}
}

/// Plain numeric types a tensor may be viewed as. Sealed: every implementor is valid for any
/// bit pattern, has no padding, and its size is a multiple of its alignment, which the
/// `unsafe` cast in [`TensorView::as_slice`](crate::TensorView::as_slice) relies on.
/// `half::f16` and `half::bf16` are `#[repr(transparent)]` over `u16`.
pub trait Element: sealed::Sealed + Copy + Send + Sync + 'static {
    /// The Rust name, for errors.
    const NAME: &'static str;
    /// Whether a tensor of `dtype` stores its elements as this type (little-endian).
    fn stores(dtype: DType) -> bool;
}

macro_rules! element {
    ($t:ty, $name:literal, [$($st:ident),*], [$($gg:literal),*], [$($sc:ident),*]) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const NAME: &'static str = $name;
            fn stores(dtype: DType) -> bool {
                match dtype {
                    DType::Safetensors(d) => matches!(d, $(Dtype::$st)|*),
                    DType::Ggml(t) => [$($gg),*].contains(&t.name),
                    DType::Scalar(s) => matches!(s, $(ScalarType::$sc)|*),
                }
            }
        }
    };
}

element!(
    u8,
    "u8",
    [
        U8,
        BOOL,
        F8_E5M2,
        F8_E4M3,
        F8_E8M0,
        F8_E4M3FNUZ,
        F8_E5M2FNUZ
    ],
    [],
    [
        Byte,
        Bool,
        Float8e5m2,
        Float8e4m3fn,
        Float8e5m2fnuz,
        Float8e4m3fnuz
    ]
);
element!(i8, "i8", [I8], ["I8"], [Char]);
// F16 and BF16 also as their raw 16-bit patterns.
element!(
    u16,
    "u16",
    [U16, F16, BF16],
    ["F16", "BF16"],
    [UInt16, Half, BFloat16]
);
element!(i16, "i16", [I16], ["I16"], [Short]);
element!(u32, "u32", [U32], [], [UInt32]);
element!(i32, "i32", [I32], ["I32"], [Int]);
element!(u64, "u64", [U64], [], [UInt64]);
element!(i64, "i64", [I64], ["I64"], [Long]);
element!(f32, "f32", [F32], ["F32"], [Float]);
element!(f64, "f64", [F64], ["F64"], [Double]);
element!(half::f16, "f16", [F16], ["F16"], [Half]);
element!(half::bf16, "bf16", [BF16], ["BF16"], [BFloat16]);
