//! What `loadguard inspect` prints, as library functions so the CLI and the snapshot suites
//! render the same text: a human-readable table and one JSON object.
//!
//! The JSON object has `format`, `size`, `tensors` (`name`, `dtype`, `dims`, `offset`, `len`;
//! offsets absolute, dims as stored, dtypes as the format names them) and `metadata`
//! (safetensors `__metadata__`; GGUF key → value with long arrays summarized); `.pte` adds
//! `program` and `segment_data`. Errors render as `{"error": {…}}`. The JSON is written here
//! (no serde) because the shapes are fixed and small.

use std::fmt::Write as _;
use std::path::Path;

use super::gguf::{GgufArray, GgufValue};
use super::info::{Details, ModelInfo};
use super::{FormatError, Rule};

/// Arrays with more items than this are summarized (type, length, first items).
pub const ARRAY_INLINE_MAX: u64 = 16;
/// Items shown of a summarized array.
pub const ARRAY_HEAD: usize = 8;

/// A JSON value, built and printed here.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An unsigned integer.
    U64(u64),
    /// A signed integer.
    I64(i64),
    /// A float (non-finite values print as `null`).
    F64(f64),
    /// A string.
    Str(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, keys in insertion order.
    Object(Vec<(String, Json)>),
}

impl Json {
    fn obj(pairs: impl IntoIterator<Item = (&'static str, Json)>) -> Self {
        Self::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// Pretty-printed with two-space indentation.
    #[must_use]
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, indent: usize) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::U64(n) => out.push_str(&n.to_string()),
            Self::I64(n) => out.push_str(&n.to_string()),
            Self::F64(x) if x.is_finite() => {
                let _ = write!(out, "{x:?}");
            }
            Self::F64(_) => out.push_str("null"),
            Self::Str(s) => write_str(out, s),
            Self::Array(items) if items.is_empty() => out.push_str("[]"),
            Self::Object(pairs) if pairs.is_empty() => out.push_str("{}"),
            Self::Array(items) => {
                // Arrays of scalars stay on one line: dims and short lists read better so.
                if items
                    .iter()
                    .all(|i| !matches!(i, Self::Array(_) | Self::Object(_)))
                {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        item.write(out, indent);
                    }
                    out.push(']');
                    return;
                }
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    pad(out, indent + 1);
                    item.write(out, indent + 1);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push(']');
            }
            Self::Object(pairs) => {
                out.push_str("{\n");
                for (i, (k, v)) in pairs.iter().enumerate() {
                    pad(out, indent + 1);
                    write_str(out, k);
                    out.push_str(": ");
                    v.write(out, indent + 1);
                    out.push_str(if i + 1 < pairs.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push('}');
            }
        }
    }
}

fn pad(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push_str("  ");
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The JSON report of a parsed file. `bytes` are the file's bytes (to read GGUF arrays).
#[must_use]
pub fn to_json(info: &ModelInfo, path: &Path, bytes: &[u8]) -> Json {
    let tensors = info
        .tensors()
        .iter()
        .map(|t| {
            Json::obj([
                ("name", Json::Str(t.name.clone())),
                ("dtype", Json::Str(t.dtype.name().to_owned())),
                (
                    "dims",
                    Json::Array(t.dims.iter().map(|&d| Json::U64(d)).collect()),
                ),
                ("offset", Json::U64(t.offset)),
                ("len", Json::U64(t.len)),
            ])
        })
        .collect();
    let mut pairs = vec![
        ("format", Json::Str(info.format().name().to_owned())),
        ("size", Json::U64(info.size())),
        ("tensors", Json::Array(tensors)),
    ];
    let metadata = match info.details() {
        Details::Raw | Details::Pte(_) => Json::Object(Vec::new()),
        Details::Safetensors { metadata, .. } => Json::Object(
            metadata
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), Json::Str(v.clone())))
                .collect(),
        ),
        Details::Gguf(h) => Json::Object(
            h.kvs
                .iter()
                .map(|kv| (kv.key.clone(), value_json(&kv.value, path, bytes)))
                .collect(),
        ),
    };
    pairs.push(("metadata", metadata));
    if let Details::Pte(l) = info.details() {
        let range = |r: &std::ops::Range<u64>| {
            Json::obj([
                ("offset", Json::U64(r.start)),
                ("len", Json::U64(r.end - r.start)),
            ])
        };
        pairs.push(("program", range(&l.program)));
        pairs.push((
            "segment_data",
            l.segment_data.as_ref().map_or(Json::Null, range),
        ));
    }
    Json::obj(pairs)
}

fn value_json(value: &GgufValue, path: &Path, bytes: &[u8]) -> Json {
    match value {
        GgufValue::U8(v) => Json::U64(u64::from(*v)),
        GgufValue::U16(v) => Json::U64(u64::from(*v)),
        GgufValue::U32(v) => Json::U64(u64::from(*v)),
        GgufValue::U64(v) => Json::U64(*v),
        GgufValue::I8(v) => Json::I64(i64::from(*v)),
        GgufValue::I16(v) => Json::I64(i64::from(*v)),
        GgufValue::I32(v) => Json::I64(i64::from(*v)),
        GgufValue::I64(v) => Json::I64(*v),
        GgufValue::F32(v) => Json::F64(f64::from(*v)),
        GgufValue::F64(v) => Json::F64(*v),
        GgufValue::Bool(v) => Json::Bool(*v),
        GgufValue::String(s) => Json::Str(s.clone()),
        GgufValue::Array(a) => array_json(a, path, bytes),
    }
}

fn array_json(array: &GgufArray, path: &Path, bytes: &[u8]) -> Json {
    let take = if array.len > ARRAY_INLINE_MAX {
        ARRAY_HEAD
    } else {
        usize::MAX
    };
    let items: Vec<Json> = array
        .items(path, bytes)
        .take(take)
        .map(|item| item.map_or(Json::Null, |v| value_json(&v, path, bytes)))
        .collect();
    if array.len > ARRAY_INLINE_MAX {
        Json::obj([
            ("type", Json::Str(format!("array[{}]", array.item_type))),
            ("len", Json::U64(array.len)),
            ("head", Json::Array(items)),
        ])
    } else {
        Json::Array(items)
    }
}

/// The JSON object of an error: `{"error": {"path", "format", "offset", "rule", "message"}}`.
#[must_use]
pub fn error_json(err: &crate::Error) -> Json {
    let mut pairs = Vec::new();
    if let Some(path) = err.path() {
        pairs.push(("path", Json::Str(path.display().to_string())));
    }
    if let crate::Error::Format(f) = err {
        pairs.push(("format", Json::Str(f.format.name().to_owned())));
        pairs.push(("offset", Json::U64(f.offset)));
        pairs.push(("rule", Json::Str(rule_name(f.rule))));
    }
    pairs.push(("message", Json::Str(err.to_string())));
    Json::obj([("error", Json::obj(pairs))])
}

/// The stable name of a rule in JSON (`DuplicateKey`, `OutOfFile`, …).
#[must_use]
pub fn rule_name(rule: Rule) -> String {
    format!("{rule:?}")
}

/// The human-readable report: a header block, the tensor table, then the metadata.
#[must_use]
pub fn to_text(info: &ModelInfo, path: &Path, bytes: &[u8]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "file:     {}", path.display());
    let _ = write!(out, "format:   {}", info.format());
    match info.details() {
        Details::Gguf(h) => {
            let _ = write!(
                out,
                " v{} (alignment {}, data at {})",
                h.version, h.alignment, h.data_offset
            );
        }
        Details::Safetensors { data_offset, .. } => {
            let _ = write!(out, " (data at {data_offset})");
        }
        Details::Pte(l) => {
            let _ = write!(out, " {} (root offset {})", l.identifier, l.root_offset);
        }
        Details::Raw => {}
    }
    out.push('\n');
    let _ = writeln!(out, "size:     {} bytes", info.size());
    if let Details::Pte(l) = info.details() {
        let _ = writeln!(
            out,
            "program:  {}..{} ({} bytes)",
            l.program.start,
            l.program.end,
            l.program.end - l.program.start
        );
        match &l.segment_data {
            Some(r) => {
                let _ = writeln!(
                    out,
                    "segments: {}..{} ({} bytes)",
                    r.start,
                    r.end,
                    r.end - r.start
                );
            }
            None => out.push_str("segments: none\n"),
        }
    }
    let _ = writeln!(out, "tensors:  {}", info.tensors().len());
    if !info.tensors().is_empty() {
        let rows: Vec<[String; 5]> = info
            .tensors()
            .iter()
            .map(|t| {
                let dims: Vec<String> = t.dims.iter().map(u64::to_string).collect();
                [
                    t.name.clone(),
                    t.dtype.name().to_owned(),
                    format!("[{}]", dims.join(", ")),
                    t.offset.to_string(),
                    t.len.to_string(),
                ]
            })
            .collect();
        let head = ["NAME", "DTYPE", "DIMS", "OFFSET", "LEN"].map(str::to_owned);
        let mut width = head.clone().map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in width.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&head).chain(&rows) {
            out.push(' ');
            for (i, (cell, w)) in row.iter().zip(width).enumerate() {
                // Names, dtypes and dims left-aligned; numbers right-aligned.
                if i < 3 {
                    let _ = write!(out, " {cell:<w$}");
                } else {
                    let _ = write!(out, " {cell:>w$}");
                }
            }
            let trimmed = out.trim_end_matches(' ').len();
            out.truncate(trimmed);
            out.push('\n');
        }
    }
    let metadata = match to_json(info, path, bytes) {
        Json::Object(pairs) => pairs
            .into_iter()
            .find(|(k, _)| k == "metadata")
            .map(|(_, v)| v),
        _ => None,
    };
    if let Some(Json::Object(pairs)) = metadata {
        let _ = writeln!(out, "metadata: {}", pairs.len());
        for (k, v) in pairs {
            let value = match v {
                Json::Object(_) => summary_line(&v),
                other => other.pretty(),
            };
            let _ = writeln!(out, "  {k} = {value}");
        }
    }
    out
}

/// One line for a summarized array: `array[string] of 300: ["a", "b", …]`.
fn summary_line(v: &Json) -> String {
    let Json::Object(pairs) = v else {
        return v.pretty();
    };
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    match (get("type"), get("len"), get("head")) {
        (Some(Json::Str(t)), Some(Json::U64(n)), Some(head)) => {
            let head = head.pretty();
            let head = head.strip_suffix(']').unwrap_or(&head);
            format!("{t} of {n}: {head}, …]")
        }
        _ => v.pretty(),
    }
}

/// The human-readable rendering of an error (what the CLI prints on stderr).
#[must_use]
pub fn error_text(err: &crate::Error) -> String {
    format!("error: {err}")
}

impl FormatError {
    /// The stable name of the broken rule (`DuplicateKey`, …), as JSON reports spell it.
    #[must_use]
    pub fn rule_name(&self) -> String {
        rule_name(self.rule)
    }
}
