//! Checked size arithmetic: the only way sizes cross between `u64` and `usize` in loadguard.
//!
//! A 64-bit file size cast to a 32-bit `size_t` silently loses the high bits; the loaders we
//! replace did exactly that. Here every narrowing conversion, every `offset + len` and every
//! alignment rounding returns a typed [`SizeError`] instead, and the crate denies the clippy
//! cast lints so no `as` can sneak back in.

use std::fmt;

/// A size that did not survive a checked conversion or computation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SizeError {
    /// A 64-bit size is larger than this target's address space.
    #[error("{what} of {value} bytes does not fit in the {bits}-bit address space of this target")]
    TooLarge {
        /// What the size measures (`file size`, `segment length`, …).
        what: &'static str,
        /// The size.
        value: u64,
        /// `usize::BITS` of the target.
        bits: u32,
    },
    /// `a + b` overflowed.
    #[error("{what}: {a} + {b} overflows a 64-bit integer")]
    Overflow {
        /// What was being computed.
        what: &'static str,
        /// Left operand.
        a: u64,
        /// Right operand.
        b: u64,
    },
    /// An alignment that is zero or not a power of two.
    #[error("alignment {0} is not a non-zero power of two")]
    BadAlignment(u64),
}

/// Converts a 64-bit size to `usize`, failing on targets whose address space is smaller.
pub fn to_usize(value: u64, what: &'static str) -> Result<usize, SizeError> {
    usize::try_from(value).map_err(|_| SizeError::TooLarge {
        what,
        value,
        bits: usize::BITS,
    })
}

/// Widens a `usize` to `u64`.
///
/// Every target Rust supports today has `usize` of at most 64 bits; the compile-time check
/// below turns a future 128-bit target into a build error instead of a silent truncation.
#[must_use]
pub fn to_u64(value: usize) -> u64 {
    const _: () = assert!(
        usize::BITS <= u64::BITS,
        "loadguard assumes usize fits in u64"
    );
    // Infallible by the assertion above; written as try_from so no `as` is needed.
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// `offset + len`, checked.
pub fn checked_end(offset: u64, len: u64) -> Result<u64, SizeError> {
    offset.checked_add(len).ok_or(SizeError::Overflow {
        what: "end of range",
        a: offset,
        b: len,
    })
}

/// A power-of-two alignment in bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Alignment(usize);

impl Alignment {
    /// The default alignment of heap buffers the loader reads into: one cache line, which is
    /// also what SIMD kernels and most accelerator DMA engines want at least.
    pub const DEFAULT: Self = Self(64);

    /// Checks that `align` is a non-zero power of two.
    ///
    /// # Errors
    ///
    /// [`SizeError::BadAlignment`] for 0 or a value that is not a power of two.
    pub fn new(align: usize) -> Result<Self, SizeError> {
        if align.is_power_of_two() {
            Ok(Self(align))
        } else {
            Err(SizeError::BadAlignment(to_u64(align)))
        }
    }

    /// The alignment in bytes.
    #[must_use]
    pub fn get(self) -> usize {
        self.0
    }

    /// Rounds `value` up to a multiple of this alignment, checked.
    ///
    /// # Errors
    ///
    /// [`SizeError::Overflow`] when the rounded value does not fit in 64 bits.
    pub fn align_up(self, value: u64) -> Result<u64, SizeError> {
        let mask = to_u64(self.0) - 1;
        value
            .checked_add(mask)
            .map(|v| v & !mask)
            .ok_or(SizeError::Overflow {
                what: "alignment rounding",
                a: value,
                b: mask,
            })
    }

    /// Whether `value` is a multiple of this alignment.
    #[must_use]
    pub fn is_aligned(self, value: u64) -> bool {
        value & (to_u64(self.0) - 1) == 0
    }
}

impl fmt::Debug for Alignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Alignment({})", self.0)
    }
}

impl Default for Alignment {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_usize_rejects_what_does_not_fit() {
        assert_eq!(to_usize(12, "x"), Ok(12));
        let five_gib = 5 * (1u64 << 30);
        if usize::BITS == 32 {
            assert_eq!(
                to_usize(five_gib, "file size"),
                Err(SizeError::TooLarge {
                    what: "file size",
                    value: five_gib,
                    bits: 32
                })
            );
        } else {
            assert_eq!(
                to_usize(five_gib, "file size"),
                Ok(usize::try_from(five_gib).unwrap())
            );
        }
        assert_eq!(to_usize(u64::MAX, "x").is_ok(), usize::BITS == 64);
    }

    #[test]
    fn checked_end_detects_overflow() {
        assert_eq!(checked_end(u64::MAX - 1, 1), Ok(u64::MAX));
        assert!(matches!(
            checked_end(u64::MAX, 1),
            Err(SizeError::Overflow { .. })
        ));
    }

    #[test]
    fn alignment_rules() {
        assert!(Alignment::new(0).is_err());
        assert!(Alignment::new(48).is_err());
        let a = Alignment::new(64).unwrap();
        assert_eq!(a.align_up(0), Ok(0));
        assert_eq!(a.align_up(1), Ok(64));
        assert_eq!(a.align_up(64), Ok(64));
        assert_eq!(a.align_up(65), Ok(128));
        assert!(a.align_up(u64::MAX).is_err());
        assert!(a.is_aligned(128));
        assert!(!a.is_aligned(129));
        assert_eq!(Alignment::default().get(), 64);
    }
}
