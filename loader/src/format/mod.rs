//! Strict, zero-copy parsers of model formats: safetensors, GGUF v3 and ExecuTorch `.pte`.
//!
//! The header of a model file is the attack surface of every loader: sizes, counts and offsets
//! come from bytes an attacker can write. Every parser here reads through a bounds-checked
//! [`cursor`](self) with checked arithmetic, bounds every count by the bytes that remain before
//! it allocates anything, and reports each rejection as a [`FormatError`] that names the file,
//! the byte offset and the [`Rule`] broken. Parsing produces an owned [`ModelInfo`] (names,
//! dtypes, dims and absolute byte ranges); tensor data is never copied: [`TensorView`]s borrow
//! the bytes of the file (the shared mapping when opened through a registry, see [`Model`]).
//!
//! Entry points:
//! - [`parse`] — detect the format from the bytes and parse; takes `(&Path, &[u8])` so fuzz
//!   targets and Miri tests need no filesystem.
//! - [`safetensors::parse`], [`gguf::parse`], [`pte::parse`] — one format, no detection.
//! - [`Model::open`] — open through a [`Registry`](crate::Registry) and keep the session.
//!
//! Memory: no `Vec::with_capacity` from a stated count. The owned tables grow by push while
//! the bytes that describe them are consumed, so they are bounded by a small constant times the
//! header (each GGUF key/value takes at least 13 file bytes, each tensor info 24, each
//! safetensors entry about 50), and GGUF arrays are not materialized at all.

use std::fmt;
use std::path::{Path, PathBuf};

mod cursor;
pub mod ggml;
pub mod gguf;
mod info;
mod json;
mod model;
pub mod pte;
pub mod report;
pub mod safetensors;
mod view;

pub use info::{DType, Details, ModelInfo, TensorInfo};
pub use model::Model;
pub use view::{CastError, Element, TensorView};

/// The model formats loadguard knows, detected from the bytes (never from the extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Hugging Face safetensors.
    Safetensors,
    /// GGUF (version 3), the ggml / llama.cpp format.
    Gguf,
    /// ExecuTorch program (`.pte`, a flatbuffer with an optional extended header).
    Pte,
    /// None of the above: the file is treated as opaque bytes.
    Raw,
}

impl Format {
    /// The name used in reports and JSON (`safetensors`, `gguf`, `pte`, `raw`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Safetensors => "safetensors",
            Self::Gguf => "gguf",
            Self::Pte => "pte",
            Self::Raw => "raw",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The rule a file broke. One variant per rule, so tests and callers can match on the kind
/// instead of parsing text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// The file ends inside a structure that must be complete.
    Truncated,
    /// The magic bytes / identifier are not the format's.
    BadMagic,
    /// A version this parser does not accept.
    UnsupportedVersion,
    /// A header length above the format's limit (safetensors: 100,000,000 bytes).
    HeaderTooLarge,
    /// The safetensors header does not start with `{`.
    HeaderStart,
    /// Text that must be UTF-8 is not.
    InvalidUtf8,
    /// Malformed JSON syntax.
    Json,
    /// Well-formed input of the wrong shape: wrong type, missing or unknown field.
    Schema,
    /// The same key (or tensor name) appears twice.
    DuplicateKey,
    /// A count or length is larger than the bytes that remain could hold.
    CountTooLarge,
    /// A dtype / ggml type / value type this format does not define.
    UnknownType,
    /// More dimensions than the format allows (GGUF: 4).
    TooManyDims,
    /// An element count, bit count or byte size overflows 64 bits (or ggml's `int64_t`).
    SizeOverflow,
    /// The tensor's byte range does not match its dtype and shape.
    ByteLength,
    /// A sub-byte dtype whose bits do not end on a byte boundary.
    SubByteMisaligned,
    /// `data_offsets` whose end is before their start.
    BadOffsets,
    /// Two tensors' byte ranges overlap.
    Overlap,
    /// Tensors do not cover the data section contiguously (safetensors).
    Gap,
    /// Bytes after the last tensor that no tensor covers (safetensors).
    TrailingBytes,
    /// A tensor (or program, or segment) extends past the end of the file.
    OutOfFile,
    /// `dims[0]` is not a multiple of the ggml type's block size.
    BlockSize,
    /// An offset that is not a multiple of the required alignment.
    Misaligned,
    /// An alignment that is zero, not a power of two, or of the wrong type.
    BadAlignment,
    /// A bool that is neither 0 nor 1.
    BadValue,
    /// Arrays nested deeper than the parser allows.
    NestingTooDeep,
    /// A `.pte` root offset that does not point into the program.
    RootOffset,
    /// A `.pte` extended header length below 24.
    HeaderLength,
    /// Segment data that overlaps the program.
    SegmentOverlap,
}

impl Rule {
    /// A short, stable description of the rule (used in Display and snapshots).
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Truncated => "file ends inside a structure",
            Self::BadMagic => "bad magic",
            Self::UnsupportedVersion => "unsupported version",
            Self::HeaderTooLarge => "header too large",
            Self::HeaderStart => "header must start with `{`",
            Self::InvalidUtf8 => "invalid UTF-8",
            Self::Json => "malformed JSON",
            Self::Schema => "unexpected header structure",
            Self::DuplicateKey => "duplicate key",
            Self::CountTooLarge => "count larger than the remaining bytes",
            Self::UnknownType => "unknown type",
            Self::TooManyDims => "too many dimensions",
            Self::SizeOverflow => "size overflow",
            Self::ByteLength => "byte length does not match dtype and shape",
            Self::SubByteMisaligned => "sub-byte tensor does not end on a byte boundary",
            Self::BadOffsets => "tensor end before start",
            Self::Overlap => "tensors overlap",
            Self::Gap => "hole between tensors",
            Self::TrailingBytes => "trailing bytes after the last tensor",
            Self::OutOfFile => "extends past the end of the file",
            Self::BlockSize => "dims[0] not a multiple of the block size",
            Self::Misaligned => "misaligned offset",
            Self::BadAlignment => "alignment must be a non-zero power of two",
            Self::BadValue => "invalid value",
            Self::NestingTooDeep => "arrays nested too deep",
            Self::RootOffset => "root offset outside the program",
            Self::HeaderLength => "extended header too short",
            Self::SegmentOverlap => "segment data overlaps the program",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A model file that broke a rule of its format: which file, where, and what rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: invalid {format} at offset {offset}: {rule}: {detail}", path.display())]
pub struct FormatError {
    /// The file.
    pub path: PathBuf,
    /// The format being parsed.
    pub format: Format,
    /// Byte offset in the file where the broken rule was detected.
    pub offset: u64,
    /// The rule that was broken.
    pub rule: Rule,
    /// What exactly was wrong (names, values), for humans.
    pub detail: String,
}

/// Where errors of one parse go: the file and the format, so call sites only say offset,
/// rule and detail.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub(crate) path: &'a Path,
    pub(crate) format: Format,
}

impl Ctx<'_> {
    /// A [`FormatError`] at `offset`.
    pub(crate) fn err(self, offset: u64, rule: Rule, detail: impl Into<String>) -> FormatError {
        FormatError {
            path: self.path.to_path_buf(),
            format: self.format,
            offset,
            rule,
            detail: detail.into(),
        }
    }
}

/// Detects the format from the first bytes.
///
/// `GGUF` magic → GGUF; `ET` + two ASCII digits at bytes 4–7 → `.pte`; a `{` right after the
/// 8-byte length (or a length that fits the file, whose header is whitespace then `{`) →
/// safetensors; anything else is raw bytes.
#[must_use]
pub fn detect(bytes: &[u8]) -> Format {
    if bytes.starts_with(b"GGUF") {
        return Format::Gguf;
    }
    if let Some(id) = bytes.get(4..8) {
        if id.starts_with(b"ET") && id[2].is_ascii_digit() && id[3].is_ascii_digit() {
            return Format::Pte;
        }
    }
    if bytes.get(8) == Some(&b'{') {
        return Format::Safetensors;
    }
    // A header that starts with whitespace is still recognisably safetensors (and then
    // rejected for it), when the stated length fits in the file.
    if let Some(len) = bytes.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
        let n = u64::from_le_bytes(len);
        let header = usize::try_from(n)
            .ok()
            .and_then(|n| bytes.get(8..8usize.checked_add(n)?));
        if let Some(header) = header.filter(|_| n <= safetensors::MAX_HEADER_SIZE) {
            let text = header.trim_ascii_start();
            if text.starts_with(b"{") && text.len() < header.len() {
                return Format::Safetensors;
            }
        }
    }
    Format::Raw
}

/// Detects the format of `bytes` (the whole file at `path`) and parses it strictly.
///
/// Raw files parse to a [`ModelInfo`] without tensors. Nothing is read outside `bytes`, and
/// no allocation is sized by a count the file states before that count has been bounded by
/// the bytes that remain.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ModelInfo, FormatError> {
    match detect(bytes) {
        Format::Safetensors => safetensors::parse(path, bytes),
        Format::Gguf => gguf::parse(path, bytes),
        Format::Pte => pte::parse(path, bytes),
        Format::Raw => Ok(ModelInfo::raw(bytes)),
    }
}
