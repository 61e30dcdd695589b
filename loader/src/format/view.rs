//! Zero-copy views of tensor data: the bytes of a tensor inside the file, and typed `&[T]`
//! slices of them when the dtype, the alignment of the bytes and the host's endianness allow.

use std::fmt;
use std::ops::Range;

use super::info::{DType, TensorInfo};
use super::safetensors::Dtype;

/// A tensor's bytes, borrowed from the file (the shared mapping, when opened through a
/// registry). Nothing is copied.
#[derive(Clone, Copy)]
pub struct TensorView<'a> {
    info: &'a TensorInfo,
    bytes: &'a [u8],
}

impl fmt::Debug for TensorView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TensorView")
            .field("info", self.info)
            .finish_non_exhaustive()
    }
}

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
/// `unsafe` cast in [`TensorView::as_slice`] relies on.
pub trait Element: sealed::Sealed + Copy + 'static {
    /// The Rust name, for errors.
    const NAME: &'static str;
    /// Whether a tensor of `dtype` stores its elements as this type (little-endian).
    fn stores(dtype: DType) -> bool;
}

macro_rules! element {
    ($t:ty, [$($st:ident),*], [$($gg:literal),*]) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const NAME: &'static str = stringify!($t);
            fn stores(dtype: DType) -> bool {
                match dtype {
                    DType::Safetensors(d) => matches!(d, $(Dtype::$st)|*),
                    DType::Ggml(t) => [$($gg),*].contains(&t.name),
                }
            }
        }
    };
}

element!(
    u8,
    [
        U8,
        BOOL,
        F8_E5M2,
        F8_E4M3,
        F8_E8M0,
        F8_E4M3FNUZ,
        F8_E5M2FNUZ
    ],
    []
);
element!(i8, [I8], ["I8"]);
// F16 and BF16 as their raw 16-bit patterns.
element!(u16, [U16, F16, BF16], ["F16", "BF16"]);
element!(i16, [I16], ["I16"]);
element!(u32, [U32], []);
element!(i32, [I32], ["I32"]);
element!(u64, [U64], []);
element!(i64, [I64], ["I64"]);
element!(f32, [F32], ["F32"]);
element!(f64, [F64], ["F64"]);

impl<'a> TensorView<'a> {
    /// A view of `bytes`, the data of `info`.
    pub(crate) fn new(info: &'a TensorInfo, bytes: &'a [u8]) -> Self {
        Self { info, bytes }
    }

    /// The tensor's description.
    #[must_use]
    pub fn info(&self) -> &'a TensorInfo {
        self.info
    }

    /// The tensor's name.
    #[must_use]
    pub fn name(&self) -> &'a str {
        &self.info.name
    }

    /// The tensor's element type.
    #[must_use]
    pub fn dtype(&self) -> DType {
        self.info.dtype
    }

    /// Dimensions as the file stores them.
    #[must_use]
    pub fn dims(&self) -> &'a [u64] {
        &self.info.dims
    }

    /// Absolute byte range in the file.
    #[must_use]
    pub fn range(&self) -> Range<u64> {
        self.info.offset..self.info.offset.saturating_add(self.info.len)
    }

    /// The tensor's bytes.
    #[must_use]
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The data as `&[T]`, without copying: only when the dtype stores `T`, the host is
    /// little-endian (as the formats are) and the bytes are aligned for `T` in memory.
    pub fn as_slice<T: Element>(&self) -> Result<&'a [T], CastError> {
        if !T::stores(self.info.dtype) {
            return Err(CastError::Dtype {
                dtype: self.info.dtype.name(),
                wanted: T::NAME,
            });
        }
        if cfg!(target_endian = "big") {
            return Err(CastError::Endianness);
        }
        let size = size_of::<T>();
        let align = align_of::<T>();
        if self.bytes.as_ptr().addr() % align != 0 {
            return Err(CastError::Misaligned { align });
        }
        if self.bytes.len() % size != 0 {
            return Err(CastError::Length {
                len: self.bytes.len(),
                size,
            });
        }
        let len = self.bytes.len() / size;
        // SAFETY: the pointer comes from a live `&'a [u8]` of `len * size` bytes, so the
        // `&'a [T]` covers exactly the same initialized, immutable memory for the same
        // lifetime; we checked the pointer is aligned for `T` and the length is a whole number
        // of elements; `T` is one of the sealed `Element` types (plain integers and floats),
        // valid for every bit pattern and without padding; and the host is little-endian like
        // the stored data, so the values read are the stored ones.
        Ok(unsafe { std::slice::from_raw_parts(self.bytes.as_ptr().cast::<T>(), len) })
    }
}
