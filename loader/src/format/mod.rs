//! Strict, zero-copy parsers of model formats: safetensors (and its shard index), GGUF v2/v3,
//! ExecuTorch programs (`.pte`) and named data (`.ptd`).
//!
//! Bytes in, typed information out: nothing here opens a file or knows about the registry
//! ([`Model`](crate::Model) sits above this module and owns the bytes). The header of a model
//! file is the attack surface of every loader: sizes, counts and offsets come from bytes an
//! attacker can write. Every parser reads through a bounds-checked cursor with checked
//! arithmetic, bounds every count by the bytes that remain before it allocates anything, and
//! reports each rejection as a [`FormatError`] that names the file, the byte offset and the
//! [`Rule`] broken. Parsing produces an owned [`ModelInfo`] (names, dtypes, dims and absolute
//! byte ranges); tensor data is never copied.
//!
//! ```
//! use std::path::Path;
//! use loadguard::format::{self, Format, Rule};
//!
//! // A safetensors file with one F32 tensor of shape [2].
//! let header = br#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
//! let mut file = (header.len() as u64).to_le_bytes().to_vec();
//! file.extend_from_slice(header);
//! file.extend_from_slice(&[0u8; 8]);
//! let info = format::parse(Path::new("w.safetensors"), &file)?;
//! assert_eq!(info.format(), Format::Safetensors);
//! assert_eq!(info.tensor("w").map(|t| t.len), Some(8));
//!
//! // Bytes that are no model are an error that says what they look like, never "raw".
//! let err = format::parse(Path::new("w.safetensors"), b"<!DOCTYPE html>").unwrap_err();
//! assert!(matches!(err.rule, Rule::Unrecognized { .. }));
//! # Ok::<(), loadguard::format::FormatError>(())
//! ```
//!
//! Memory: no `Vec::with_capacity` from a stated count. The owned tables grow while the bytes
//! that describe them are consumed, and every parse counts what its tables cost
//! ([`ModelInfo::table_bytes`]) against [`MAX_TABLE_BYTES_PER_HEADER_BYTE`] × the header size.

#![warn(missing_docs)]

use std::fmt;
use std::path::{Path, PathBuf};

mod cursor;
mod detect;
mod element;
mod flatbuf;
pub mod ggml;
pub mod gguf;
pub mod index;
pub(crate) mod info;
mod json;
pub mod ptd;
pub mod pte;
pub mod safetensors;

pub use detect::{LooksLike, detect, looks_like};
pub use element::{CastError, Element};
pub use info::{ModelInfo, TensorInfo};

use ggml::GgmlType;

/// The most a parse's owned tables (tensor infos, names, dims, key/values, indexes) may cost per
/// byte of the header that describes them. Checked as the tables grow: a header that would cost
/// more is rejected with [`Rule::HeaderCost`] before it is allocated.
pub const MAX_TABLE_BYTES_PER_HEADER_BYTE: u64 = 16;

/// A fixed allowance on top of the per-byte budget, so tiny headers are not refused for the
/// constant overhead of their tables.
pub const TABLE_BYTES_ALLOWANCE: u64 = 64 * 1024;

/// The model formats loadguard knows, detected from the bytes (never from the extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Hugging Face safetensors.
    Safetensors,
    /// A sharded safetensors checkpoint's `*.safetensors.index.json` (`weight_map`).
    SafetensorsIndex,
    /// GGUF (versions 2 and 3), the ggml / llama.cpp format.
    Gguf,
    /// ExecuTorch program (`.pte`, a flatbuffer with an optional extended header).
    Pte,
    /// ExecuTorch named data (`.ptd`, a FlatTensor flatbuffer holding external weights).
    Ptd,
    /// Opaque bytes: only when asked for with [`ParseOptions::format`].
    Raw,
}

impl Format {
    /// The name used in reports and JSON.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Safetensors => "safetensors",
            Self::SafetensorsIndex => "safetensors-index",
            Self::Gguf => "gguf",
            Self::Pte => "pte",
            Self::Ptd => "ptd",
            Self::Raw => "raw",
        }
    }

    /// The format a file name's extension names (`.safetensors`, `.gguf`, `.pte`, `.ptd`,
    /// `.safetensors.index.json`), used only to say what was expected when detection fails.
    #[must_use]
    pub fn from_extension(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.ends_with(".safetensors.index.json") {
            return Some(Self::SafetensorsIndex);
        }
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "safetensors" => Some(Self::Safetensors),
            "gguf" => Some(Self::Gguf),
            "pte" => Some(Self::Pte),
            "ptd" => Some(Self::Ptd),
            _ => None,
        }
    }

    /// What a file of this format holds at its start, for "expected …" messages.
    #[must_use]
    pub fn expected_start(self) -> &'static str {
        match self {
            Self::Safetensors => "an 8-byte little-endian header length, then `{` at offset 8",
            Self::SafetensorsIndex => "a JSON object with a `weight_map`",
            Self::Gguf => "the magic `GGUF` at offset 0",
            Self::Pte => {
                "a 4-byte root offset, then the identifier `ET` and two digits at offset 4"
            }
            Self::Ptd => {
                "a 4-byte root offset, then the identifier `FT` and two digits at offset 4"
            }
            Self::Raw => "anything",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A tensor's element type, as its format names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DType {
    /// A safetensors dtype.
    Safetensors(safetensors::Dtype),
    /// A ggml type (GGUF).
    Ggml(&'static GgmlType),
    /// An ExecuTorch scalar type (`.pte` constants, `.ptd` named data).
    Scalar(pte::ScalarType),
}

impl DType {
    /// The name the format uses (`F32`, `BF16`, `Q4_K`, `Float`, …).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Safetensors(d) => d.name(),
            Self::Ggml(t) => t.name,
            Self::Scalar(s) => s.name(),
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Format-specific parts of a parsed file.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Details {
    /// Opaque bytes (asked for with [`Format::Raw`]).
    Raw,
    /// safetensors: the optional `__metadata__` string map and where the data section starts.
    Safetensors {
        /// `__metadata__`, in key order.
        metadata: Option<Vec<(String, String)>>,
        /// Absolute offset of the data section (`8 + N`).
        data_offset: u64,
    },
    /// A safetensors shard index: which shard file holds which tensor.
    SafetensorsIndex(index::ShardIndex),
    /// GGUF: version, alignment, key/value pairs.
    Gguf(gguf::GgufHeader),
    /// `.pte`: the verified program: plans, segments, constants.
    Pte(Box<pte::PteProgram>),
    /// `.ptd`: the FlatTensor header and its segments.
    Ptd(ptd::PtdLayout),
}

/// How strictly to parse, and which format to assume.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseOptions {
    format: Option<Format>,
    lenient: bool,
}

impl ParseOptions {
    /// Detect the format from the bytes; apply every rule (GGUF: ggml's acceptance).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse as `format` without detection. [`Format::Raw`] accepts any bytes as an opaque
    /// file without tensors: the only way to get a "raw" model.
    #[must_use]
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// Lenient GGUF: accept what ggml's reader rejects but gguf-py writes or reads — empty keys,
    /// tensor names of 64 bytes or more, zero dimensions, tensors out of order or with gaps
    /// between them, nested arrays. Every bounds, overflow and overlap rule still holds.
    #[must_use]
    pub fn lenient(mut self, on: bool) -> Self {
        self.lenient = on;
        self
    }

    /// The format asked for, if any.
    #[must_use]
    pub fn forced_format(&self) -> Option<Format> {
        self.format
    }

    /// Whether lenient GGUF rules apply.
    #[must_use]
    pub fn is_lenient(&self) -> bool {
        self.lenient
    }
}

/// The rule a file broke. One variant per rule, so tests and callers can match on the kind
/// instead of parsing text; [`Rule::name`] is the stable spelling used in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// The bytes are no known format.
    Unrecognized {
        /// What the bytes look like.
        looks_like: LooksLike,
        /// The format the file name's extension names, if any.
        expected: Option<Format>,
    },
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
    /// A key (GGUF) that is empty.
    EmptyKey,
    /// A tensor name ggml cannot hold: 64 bytes or more, or with a NUL byte.
    BadName,
    /// A count or length is larger than the bytes that remain could hold.
    CountTooLarge,
    /// A dtype / ggml type / value type this format does not define.
    UnknownType,
    /// More dimensions than the format allows (GGUF: 4).
    TooManyDims,
    /// A zero dimension where the format's reference reader refuses one (GGUF).
    ZeroDim,
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
    /// GGUF tensor data not laid out in tensor order, each at the aligned end of the previous.
    TensorOrder,
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
    /// A value outside what the format defines (a bool that is neither 0 nor 1, …).
    BadValue,
    /// Arrays nested deeper than the parser allows (GGUF, ggml rules: any nesting).
    NestingTooDeep,
    /// The header's owned tables would cost more than the budget per header byte.
    HeaderCost,
    /// A `.pte` / `.ptd` root offset that does not point into the flatbuffer.
    RootOffset,
    /// A `.pte` / `.ptd` extended header length below its minimum.
    HeaderLength,
    /// A `.pte` program smaller than its own header.
    ProgramSize,
    /// Segment data that overlaps the program.
    SegmentOverlap,
    /// The flatbuffer failed verification (an offset, vector or string outside the buffer,
    /// nesting or table count beyond the bounds, a missing required field).
    Flatbuffer,
    /// An index stored in the file that points past the table it indexes.
    IndexOutOfRange,
    /// A shard or split that does not agree with its index (missing, listed twice, counts).
    ShardMismatch,
    /// A shard file name that escapes the index's directory.
    ShardPath,
}

impl Rule {
    /// A short, stable description of the rule (used in Display and snapshots).
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Unrecognized { .. } => "not a model file",
            Self::Truncated => "file ends inside a structure",
            Self::BadMagic => "bad magic",
            Self::UnsupportedVersion => "unsupported version",
            Self::HeaderTooLarge => "header too large",
            Self::HeaderStart => "header must start with `{`",
            Self::InvalidUtf8 => "invalid UTF-8",
            Self::Json => "malformed JSON",
            Self::Schema => "unexpected header structure",
            Self::DuplicateKey => "duplicate key",
            Self::EmptyKey => "empty key",
            Self::BadName => "tensor name ggml cannot hold",
            Self::CountTooLarge => "count larger than the remaining bytes",
            Self::UnknownType => "unknown type",
            Self::TooManyDims => "too many dimensions",
            Self::ZeroDim => "zero dimension",
            Self::SizeOverflow => "size overflow",
            Self::ByteLength => "byte length does not match dtype and shape",
            Self::SubByteMisaligned => "sub-byte tensor does not end on a byte boundary",
            Self::BadOffsets => "tensor end before start",
            Self::Overlap => "tensors overlap",
            Self::Gap => "hole between tensors",
            Self::TensorOrder => "tensor data out of order",
            Self::TrailingBytes => "trailing bytes after the last tensor",
            Self::OutOfFile => "extends past the end of the file",
            Self::BlockSize => "dims[0] not a multiple of the block size",
            Self::Misaligned => "misaligned offset",
            Self::BadAlignment => "alignment must be a non-zero power of two",
            Self::BadValue => "invalid value",
            Self::NestingTooDeep => "arrays nested too deep",
            Self::HeaderCost => "header too costly for its size",
            Self::RootOffset => "root offset outside the flatbuffer",
            Self::HeaderLength => "extended header too short",
            Self::ProgramSize => "program smaller than its header",
            Self::SegmentOverlap => "segment data overlaps the program",
            Self::Flatbuffer => "flatbuffer verification failed",
            Self::IndexOutOfRange => "index out of range",
            Self::ShardMismatch => "shards disagree with their index",
            Self::ShardPath => "shard path escapes the index directory",
        }
    }

    /// The stable name of the rule in JSON (`DuplicateKey`, `OutOfFile`, …).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Unrecognized { .. } => "Unrecognized",
            Self::Truncated => "Truncated",
            Self::BadMagic => "BadMagic",
            Self::UnsupportedVersion => "UnsupportedVersion",
            Self::HeaderTooLarge => "HeaderTooLarge",
            Self::HeaderStart => "HeaderStart",
            Self::InvalidUtf8 => "InvalidUtf8",
            Self::Json => "Json",
            Self::Schema => "Schema",
            Self::DuplicateKey => "DuplicateKey",
            Self::EmptyKey => "EmptyKey",
            Self::BadName => "BadName",
            Self::CountTooLarge => "CountTooLarge",
            Self::UnknownType => "UnknownType",
            Self::TooManyDims => "TooManyDims",
            Self::ZeroDim => "ZeroDim",
            Self::SizeOverflow => "SizeOverflow",
            Self::ByteLength => "ByteLength",
            Self::SubByteMisaligned => "SubByteMisaligned",
            Self::BadOffsets => "BadOffsets",
            Self::Overlap => "Overlap",
            Self::Gap => "Gap",
            Self::TensorOrder => "TensorOrder",
            Self::TrailingBytes => "TrailingBytes",
            Self::OutOfFile => "OutOfFile",
            Self::BlockSize => "BlockSize",
            Self::Misaligned => "Misaligned",
            Self::BadAlignment => "BadAlignment",
            Self::BadValue => "BadValue",
            Self::NestingTooDeep => "NestingTooDeep",
            Self::HeaderCost => "HeaderCost",
            Self::RootOffset => "RootOffset",
            Self::HeaderLength => "HeaderLength",
            Self::ProgramSize => "ProgramSize",
            Self::SegmentOverlap => "SegmentOverlap",
            Self::Flatbuffer => "Flatbuffer",
            Self::IndexOutOfRange => "IndexOutOfRange",
            Self::ShardMismatch => "ShardMismatch",
            Self::ShardPath => "ShardPath",
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
#[error("{}", Shown(self))]
#[non_exhaustive]
pub struct FormatError {
    /// The file.
    pub path: PathBuf,
    /// The format being parsed ([`Format::Raw`] when detection found none).
    pub format: Format,
    /// Byte offset in the file where the broken rule was detected.
    pub offset: u64,
    /// The rule that was broken.
    pub rule: Rule,
    /// What exactly was wrong (names, values), for humans.
    pub detail: String,
}

struct Shown<'a>(&'a FormatError);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        match e.rule {
            Rule::Unrecognized { looks_like, .. } => write!(
                f,
                "{}: not a model file: looks like {looks_like}: {}",
                e.path.display(),
                e.detail
            ),
            rule => write!(
                f,
                "{}: invalid {} at offset {}: {rule}: {}",
                e.path.display(),
                e.format,
                e.offset,
                e.detail
            ),
        }
    }
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

/// Counts what a parse's owned tables cost and refuses a header whose tables would cost more
/// than [`MAX_TABLE_BYTES_PER_HEADER_BYTE`] per header byte read so far (plus
/// [`TABLE_BYTES_ALLOWANCE`]).
#[derive(Default)]
pub(crate) struct Budget {
    spent: u64,
}

impl Budget {
    /// Charges `bytes` for a header of which `header_bytes` have been read, failing (with an
    /// error at `offset`) past the limit.
    pub(crate) fn charge(
        &mut self,
        bytes: u64,
        header_bytes: u64,
        ctx: Ctx<'_>,
        offset: u64,
    ) -> Result<(), FormatError> {
        self.spent = self.spent.saturating_add(bytes);
        let limit = header_bytes
            .saturating_mul(MAX_TABLE_BYTES_PER_HEADER_BYTE)
            .saturating_add(TABLE_BYTES_ALLOWANCE);
        if self.spent > limit {
            return Err(ctx.err(
                offset,
                Rule::HeaderCost,
                format!(
                    "the header's tables would take more than {limit} bytes for {header_bytes} header bytes ({MAX_TABLE_BYTES_PER_HEADER_BYTE} per byte)"
                ),
            ));
        }
        Ok(())
    }

    /// What was charged.
    pub(crate) fn spent(&self) -> u64 {
        self.spent
    }
}

/// Detects the format of `bytes` (the whole file at `path`) and parses it strictly.
///
/// # Errors
///
/// A [`FormatError`] naming the file, the offset and the [`Rule`] broken; bytes of no known
/// format give [`Rule::Unrecognized`] with what they look like. Nothing is read outside
/// `bytes`, and no allocation is sized by a count the file states before that count has been
/// bounded by the bytes that remain.
#[track_caller]
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ModelInfo, FormatError> {
    let _site = crate::callsite::enter();
    parse_with(path, bytes, &ParseOptions::new())
}

/// [`parse`] with options: a forced format (including [`Format::Raw`]) or lenient GGUF rules.
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
    let format = match opts.format.or_else(|| detect(bytes)) {
        Some(format) => format,
        None => return Err(detect::unrecognized(path, bytes)),
    };
    match format {
        Format::Safetensors => safetensors::parse(path, bytes),
        Format::SafetensorsIndex => index::parse(path, bytes),
        Format::Gguf => gguf::parse_with(path, bytes, opts),
        Format::Pte => pte::parse(path, bytes),
        Format::Ptd => ptd::parse(path, bytes),
        Format::Raw => Ok(ModelInfo::raw(bytes)),
    }
}
