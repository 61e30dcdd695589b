//! Format detection from the bytes, and what a file looks like when it is no known format.
//!
//! Detection never guesses silently: bytes of no known format are a [`Rule::Unrecognized`]
//! error that says what they look like ([`LooksLike`]) and, when the file name's extension
//! names a format, what that format holds at its start. The one way to get opaque bytes is to
//! ask for [`Format::Raw`](super::Format::Raw).

use std::fmt;
use std::path::Path;

use super::{Format, FormatError, Rule, pte, safetensors};

/// What bytes of no known format look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LooksLike {
    /// The file is empty.
    Empty,
    /// A Git LFS pointer (`version https://git-lfs.github.com/spec/…`): the weights were never
    /// fetched.
    GitLfsPointer,
    /// An HTML page (an error or login page saved in place of the file).
    Html,
    /// JSON text.
    Json,
    /// Other text.
    Text,
    /// A safetensors file whose JSON header starts with a UTF-8 byte order mark.
    BomSafetensors,
    /// Binary bytes of no known format.
    Binary,
}

impl LooksLike {
    /// A short description (`"a Git LFS pointer"`, `"text/HTML"`, …).
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Empty => "an empty file",
            Self::GitLfsPointer => "a Git LFS pointer (the weights were not fetched)",
            Self::Html => "text/HTML",
            Self::Json => "JSON text",
            Self::Text => "text",
            Self::BomSafetensors => "safetensors with a byte order mark before its JSON header",
            Self::Binary => "binary data of no known format",
        }
    }

    /// The stable name in JSON (`Empty`, `GitLfsPointer`, …).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Empty => "Empty",
            Self::GitLfsPointer => "GitLfsPointer",
            Self::Html => "Html",
            Self::Json => "Json",
            Self::Text => "Text",
            Self::BomSafetensors => "BomSafetensors",
            Self::Binary => "Binary",
        }
    }
}

impl fmt::Display for LooksLike {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The length and header of a safetensors-shaped prefix: `Some(header)` when the first 8 bytes
/// are a little-endian length within the limit that fits in the file.
fn safetensors_header(bytes: &[u8]) -> Option<&[u8]> {
    let len = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    if len > safetensors::MAX_HEADER_SIZE {
        return None;
    }
    let end = 8usize.checked_add(usize::try_from(len).ok()?)?;
    bytes.get(8..end)
}

/// Detects the format from the bytes, or `None` when they are no known format.
///
/// `GGUF` magic → GGUF; `ET` + two digits at bytes 4–7 → `.pte`; `FT` + two digits → `.ptd`;
/// an 8-byte length that fits the file followed by a JSON header (whitespace, or a byte order
/// mark, then `{`) → safetensors (a bad start is then the parser's clear error); a JSON object
/// with a `weight_map` → a safetensors shard index.
#[must_use]
pub fn detect(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(b"GGUF") {
        return Some(Format::Gguf);
    }
    if let Some(id) = bytes.get(4..8) {
        if pte::is_identifier(id) {
            return Some(Format::Pte);
        }
        if super::ptd::is_identifier(id) {
            return Some(Format::Ptd);
        }
    }
    if bytes.get(8) == Some(&b'{') {
        return Some(Format::Safetensors);
    }
    if let Some(header) = safetensors_header(bytes) {
        let text = header
            .strip_prefix(BOM)
            .unwrap_or(header)
            .trim_ascii_start();
        if text.starts_with(b"{") && text.len() < header.len() {
            return Some(Format::Safetensors);
        }
    }
    let text = bytes.strip_prefix(BOM).unwrap_or(bytes).trim_ascii_start();
    if text.starts_with(b"{") && contains(bytes, b"\"weight_map\"") {
        return Some(Format::SafetensorsIndex);
    }
    None
}

/// Whether `needle` occurs in `hay`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// What `bytes` look like (for files [`detect`] does not recognize).
#[must_use]
pub fn looks_like(bytes: &[u8]) -> LooksLike {
    if bytes.is_empty() {
        return LooksLike::Empty;
    }
    if bytes.starts_with(b"version https://git-lfs.github.com/spec/") {
        return LooksLike::GitLfsPointer;
    }
    if let Some(header) = safetensors_header(bytes) {
        if header.starts_with(BOM) {
            return LooksLike::BomSafetensors;
        }
    }
    let head = &bytes[..bytes.len().min(1024)];
    let text = head.strip_prefix(BOM).unwrap_or(head).trim_ascii_start();
    let lower: Vec<u8> = text.iter().take(64).map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html") {
        return LooksLike::Html;
    }
    let control = head
        .iter()
        .any(|&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t'));
    // A multi-byte character cut by the 1 KiB window is still text.
    let utf8 = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    if control || !utf8 {
        return LooksLike::Binary;
    }
    if text.starts_with(b"{") || text.starts_with(b"[") {
        return LooksLike::Json;
    }
    if lower.starts_with(b"<") {
        return LooksLike::Html;
    }
    LooksLike::Text
}

/// The error for bytes [`detect`] did not recognize.
pub(crate) fn unrecognized(path: &Path, bytes: &[u8]) -> FormatError {
    let looks = looks_like(bytes);
    let expected = Format::from_extension(path);
    let start: String = bytes
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    let found = if bytes.is_empty() {
        "the file has no bytes".to_owned()
    } else {
        format!("it starts with {start}")
    };
    let detail = match expected {
        Some(f) => format!(
            "{found}; a {} file starts with {}",
            f.name(),
            f.expected_start()
        ),
        None => format!(
            "{found}; expected {}, {}, {} or {}",
            Format::Safetensors.expected_start(),
            Format::Gguf.expected_start(),
            Format::Pte.expected_start(),
            Format::Ptd.expected_start()
        ),
    };
    FormatError {
        path: path.to_path_buf(),
        format: expected.unwrap_or(Format::Raw),
        offset: 0,
        rule: Rule::Unrecognized {
            looks_like: looks,
            expected,
        },
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_files_look_like() {
        assert_eq!(looks_like(b""), LooksLike::Empty);
        assert_eq!(
            looks_like(b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n"),
            LooksLike::GitLfsPointer
        );
        assert_eq!(looks_like(b"<!DOCTYPE html><html>"), LooksLike::Html);
        assert_eq!(looks_like(b"\n  <HTML><body>404"), LooksLike::Html);
        assert_eq!(looks_like(b"{\"a\": 1}"), LooksLike::Json);
        assert_eq!(looks_like(b"hello world\n"), LooksLike::Text);
        assert_eq!(looks_like(&[0u8; 64]), LooksLike::Binary);
        let mut bom = 5u64.to_le_bytes().to_vec();
        bom.extend_from_slice(b"\xEF\xBB\xBF{}");
        assert_eq!(looks_like(&bom), LooksLike::BomSafetensors);
        assert_eq!(detect(&bom), Some(Format::Safetensors));
        assert_eq!(detect(b""), None);
        assert_eq!(
            detect(b"{\"weight_map\": {}}"),
            Some(Format::SafetensorsIndex)
        );
    }
}
