//! [`TensorView`]: one tensor's bytes, borrowed from a [`Model`](crate::Model) or owned (it then
//! keeps the shared bytes alive by itself), with typed `&[T]` views when the dtype, the
//! alignment of the bytes and the host's endianness allow.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use crate::error::Result;
use crate::format::{CastError, DType, Element, TensorInfo};
use crate::registry::Session;
use crate::segment::Segment;

/// A tensor's bytes inside its file (the shared mapping or heap copy of the registry).
///
/// [`Model::tensor`](crate::Model::tensor) hands out borrowed views (`TensorView<'_>`: no copy,
/// no reference count); [`into_owned`](Self::into_owned) turns one into a `TensorView<'static>`
/// that holds a [`Segment`] of the file, so it outlives the model, is `Send + Sync`, and can be
/// given to another thread or framework ([`into_bytes`](Self::into_bytes) hands over the bytes
/// as `bytes::Bytes`, still without copying).
///
/// ```
/// use loadguard::os::MemoryOs;
/// use loadguard::{Model, Registry, TensorView};
///
/// let header = br#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
/// let mut file = (header.len() as u64).to_le_bytes().to_vec();
/// file.extend_from_slice(header);
/// file.extend_from_slice(&1.5f32.to_le_bytes());
/// file.extend_from_slice(&(-2.0f32).to_le_bytes());
/// let fs = MemoryOs::new();
/// fs.write("/w.safetensors", file);
/// let registry = Registry::with_os(fs);
///
/// let model = Model::open(&registry, "/w.safetensors")?;
/// let w = model.tensor("w").expect("listed");
/// assert_eq!((w.name(), w.dtype().name(), w.shape()), ("w", "F32", vec![2]));
/// assert_eq!(w.bytes().len(), 8);
///
/// // An owned view outlives the model and crosses threads.
/// let owned: TensorView<'static> = w.into_owned()?;
/// drop(model);
/// let len = std::thread::spawn(move || owned.bytes().len()).join().unwrap();
/// assert_eq!(len, 8);
/// # Ok::<(), loadguard::Error>(())
/// ```
#[derive(Clone)]
pub struct TensorView<'a> {
    info: Cow<'a, TensorInfo>,
    data: Data<'a>,
}

#[derive(Clone)]
enum Data<'a> {
    /// Borrowed from a session the model holds.
    Borrowed {
        bytes: &'a [u8],
        session: &'a Session,
    },
    /// A segment of the file: keeps the bytes alive.
    Owned(Segment),
}

impl fmt::Debug for TensorView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TensorView")
            .field("info", &*self.info)
            .field("owned", &matches!(self.data, Data::Owned(_)))
            .finish_non_exhaustive()
    }
}

impl<'a> TensorView<'a> {
    /// A borrowed view of `bytes` (the tensor's range of `session`'s bytes).
    pub(crate) fn borrowed(info: &'a TensorInfo, bytes: &'a [u8], session: &'a Session) -> Self {
        Self {
            info: Cow::Borrowed(info),
            data: Data::Borrowed { bytes, session },
        }
    }

    /// The tensor's description.
    #[must_use]
    pub fn info(&self) -> &TensorInfo {
        &self.info
    }

    /// The tensor's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// The tensor's element type.
    #[must_use]
    pub fn dtype(&self) -> DType {
        self.info.dtype
    }

    /// Dimensions in the order the file stores them (GGUF: `ne[0]` first).
    #[must_use]
    pub fn dims(&self) -> &[u64] {
        &self.info.dims
    }

    /// The shape row-major, outermost dimension first (GGUF's dims reversed).
    #[must_use]
    pub fn shape(&self) -> Vec<u64> {
        self.info.shape()
    }

    /// Absolute byte range in the file.
    #[must_use]
    pub fn range(&self) -> Range<u64> {
        self.info.offset..self.info.end()
    }

    /// The tensor's bytes.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Borrowed { bytes, .. } => bytes,
            Data::Owned(segment) => segment.as_slice(),
        }
    }

    /// Whether this view owns its bytes (made by [`into_owned`](Self::into_owned)).
    #[must_use]
    pub fn is_owned(&self) -> bool {
        matches!(self.data, Data::Owned(_))
    }

    /// An owned view: holds a zero-copy [`Segment`] of the file, so it keeps the shared bytes
    /// alive after the model is gone, and is `Send + Sync + 'static`.
    ///
    /// # Errors
    ///
    /// None for a view of a parsed model (its range was checked against the file when it was
    /// parsed); the `Result` is the segment API's, which checks the range again.
    #[track_caller]
    pub fn into_owned(self) -> Result<TensorView<'static>> {
        let _site = crate::callsite::enter();
        let data = match self.data {
            Data::Owned(segment) => segment,
            Data::Borrowed { session, .. } => session.segment(self.info.offset, self.info.len)?,
        };
        Ok(TensorView {
            info: Cow::Owned(self.info.into_owned()),
            data: Data::Owned(data),
        })
    }

    /// The bytes as `bytes::Bytes`, sharing (not copying) the file's memory.
    ///
    /// # Errors
    ///
    /// As [`into_owned`](Self::into_owned).
    #[track_caller]
    pub fn into_bytes(self) -> Result<bytes::Bytes> {
        let _site = crate::callsite::enter();
        match self.into_owned()?.data {
            Data::Owned(segment) => Ok(segment.into_bytes()),
            Data::Borrowed { .. } => unreachable!("into_owned returns an owned view"),
        }
    }

    /// The data as `&[T]`, without copying: only when the dtype stores `T` (`f32` for `F32`,
    /// `half::f16` for `F16`, `half::bf16` for `BF16`, …), the host is little-endian (as the
    /// formats are) and the bytes are aligned for `T` in memory.
    ///
    /// # Errors
    ///
    /// A [`CastError`] saying which of the three did not hold.
    pub fn as_slice<T: Element>(&self) -> Result<&[T], CastError> {
        if !T::stores(self.info.dtype) {
            return Err(CastError::Dtype {
                dtype: self.info.dtype.name(),
                wanted: T::NAME,
            });
        }
        if cfg!(target_endian = "big") {
            return Err(CastError::Endianness);
        }
        let bytes = self.bytes();
        let size = size_of::<T>();
        let align = align_of::<T>();
        if bytes.as_ptr().addr() % align != 0 {
            return Err(CastError::Misaligned { align });
        }
        if bytes.len() % size != 0 {
            return Err(CastError::Length {
                len: bytes.len(),
                size,
            });
        }
        let len = bytes.len() / size;
        // SAFETY: the pointer comes from a live `&[u8]` of `len * size` bytes borrowed from
        // `self` (a borrow of the model's session, or the segment `self` owns), so the `&[T]`
        // covers exactly the same initialized memory for no longer than `self`; those bytes do
        // not change while borrowed (the registry's safe load paths give immutable bytes, and
        // the mapped path is the caller's `assume_immutable` contract); we checked the pointer
        // is aligned for `T` and the length is a whole number of elements; `T` is one of the
        // sealed `Element` types (plain integers, floats and the `repr(transparent)` half
        // types), valid for every bit pattern and without padding; and the host is
        // little-endian like the stored data, so the values read are the stored ones.
        Ok(unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), len) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_send_sync<T: Send + Sync>() {}

    #[test]
    fn views_cross_threads() {
        is_send_sync::<TensorView<'static>>();
        is_send_sync::<TensorView<'_>>();
    }
}
