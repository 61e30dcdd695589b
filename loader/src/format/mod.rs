//! Strict, zero-copy parsers of model formats (filled by the formats issue).

use std::path::PathBuf;

/// A model file that broke a rule of its format: which file, where, and what rule.
#[derive(Debug, thiserror::Error)]
#[error("{}: invalid {format} at offset {offset}: {reason}", path.display())]
pub struct FormatError {
    /// The file.
    pub path: PathBuf,
    /// The format's name.
    pub format: &'static str,
    /// Byte offset in the file where the broken rule was detected.
    pub offset: u64,
    /// The rule that was broken.
    pub reason: String,
}
