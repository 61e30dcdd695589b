//! What `loadguard inspect` prints: a human-readable report and one JSON object, rendered from
//! a [`Model`]. The CLI and the snapshot suites call the same functions.
//!
//! JSON (`serde_json`), stable across formats:
//! - `format`, `size` (of the file opened), `tensors` (`name`, `dtype`, `dims` as the file
//!   stores them, `shape` row-major, `offset` absolute in its file, `len`; with `file` when
//!   the model has shards), `metadata`;
//! - GGUF metadata values are `{"type": "u32", "value": 7}` objects whatever their type; arrays
//!   are `{"type": "array", "item_type": "string", "len": 3, "value": [...]}`, and arrays longer
//!   than [`ARRAY_INLINE_MAX`] carry `head` (the first [`ARRAY_HEAD`] items) instead of `value`;
//!   safetensors `__metadata__` values are strings;
//! - `.pte` adds `program`, `segment_data`, `plans` (`name`, `inputs`, `outputs`, `delegates`:
//!   backend ids), `segments` (`offset` absolute, `len`) and `constants` (`index`, `offset`
//!   absolute, `len`); `.ptd` adds `segments`;
//! - a sharded model adds `shards` (`path`, `tensors`);
//! - errors render as `{"error": {"path", "format", "offset", "rule", "message"}}`, plus
//!   `looks_like` and `expected` when the file is no known format.
//!
//! The human report prints the header block, the metadata, then the tensor table. Every string
//! from the file is escaped (control characters, including terminal escape sequences, and
//! bidirectional overrides print as `\u{…}`), long strings are folded, and table cells are
//! capped at [`CELL_MAX`] characters, so no name or dims list — however long — can break the
//! layout or the formatter.

use std::fmt::Write as _;

use loadguard::Model;
use loadguard::format::gguf::{GgufArray, GgufValue};
use loadguard::format::{Details, FormatError, Rule};
use serde_json::{Map, Value, json};

/// Arrays with more items than this are summarized (type, length, first items).
pub const ARRAY_INLINE_MAX: u64 = 16;
/// Items shown of a summarized array.
pub const ARRAY_HEAD: usize = 8;
/// Characters of a table cell; longer names and dims are cut with `…` (the JSON has them whole).
pub const CELL_MAX: usize = 96;
/// Characters per line of a folded metadata string.
pub const FOLD_WIDTH: usize = 96;
/// Lines of a folded metadata string; the rest is counted, not printed.
pub const FOLD_LINES: usize = 4;

/// The JSON report of a model.
#[must_use]
pub fn to_json(model: &Model) -> Value {
    let sharded = model.is_sharded();
    let mut tensors = Vec::new();
    for (session, info) in model.shards() {
        for t in info.tensors() {
            let mut o = Map::new();
            o.insert("name".into(), json!(t.name));
            o.insert("dtype".into(), json!(t.dtype.name()));
            o.insert("dims".into(), json!(t.dims));
            o.insert("shape".into(), json!(t.shape()));
            o.insert("offset".into(), json!(t.offset));
            o.insert("len".into(), json!(t.len));
            if sharded {
                o.insert("file".into(), json!(file_name(session.path())));
            }
            tensors.push(Value::Object(o));
        }
    }
    let info = model.info();
    let mut out = Map::new();
    out.insert("format".into(), json!(model.format().name()));
    out.insert("size".into(), json!(info.size()));
    out.insert("tensors".into(), Value::Array(tensors));
    out.insert("metadata".into(), metadata(model));
    match info.details() {
        Details::Pte(p) => {
            let range =
                |r: &std::ops::Range<u64>| json!({"offset": r.start, "len": r.end - r.start});
            out.insert("program".into(), range(&p.program));
            out.insert(
                "segment_data".into(),
                p.segment_data.as_ref().map_or(Value::Null, range),
            );
            out.insert(
                "plans".into(),
                p.plans
                    .iter()
                    .map(|plan| {
                        json!({
                            "name": plan.name,
                            "inputs": plan.inputs,
                            "outputs": plan.outputs,
                            "delegates": plan.delegates,
                        })
                    })
                    .collect(),
            );
            out.insert("segments".into(), segments(&p.segments));
            out.insert(
                "constants".into(),
                p.constants
                    .iter()
                    .map(|c| json!({"index": c.index, "offset": c.offset, "len": c.len}))
                    .collect(),
            );
        }
        Details::Ptd(p) => {
            out.insert("segments".into(), segments(&p.segments));
        }
        _ => {}
    }
    if sharded {
        out.insert(
            "shards".into(),
            model
                .shards()
                .map(|(s, i)| json!({"path": s.path().display().to_string(), "tensors": i.tensors().len()}))
                .collect(),
        );
    }
    Value::Object(out)
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn segments(list: &[loadguard::format::pte::SegmentRange]) -> Value {
    list.iter()
        .map(|s| json!({"offset": s.offset, "len": s.len}))
        .collect()
}

/// The `metadata` object: safetensors `__metadata__` strings, GGUF typed values, a shard
/// index's `total_size`.
fn metadata(model: &Model) -> Value {
    match model.info().details() {
        Details::Safetensors { metadata, .. } => Value::Object(
            metadata
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect(),
        ),
        Details::Gguf(h) => Value::Object(
            h.kvs
                .iter()
                .map(|kv| (kv.key.clone(), typed(model, &kv.value)))
                .collect(),
        ),
        Details::SafetensorsIndex(i) => match i.total_size {
            Some(n) => json!({"total_size": n}),
            None => json!({}),
        },
        _ => json!({}),
    }
}

/// A GGUF value as `{"type", "value"}` (arrays: see the module docs).
fn typed(model: &Model, value: &GgufValue) -> Value {
    match value {
        GgufValue::Array(a) => array(model, a),
        other => json!({"type": other.value_type().name(), "value": plain(model, other)}),
    }
}

/// A GGUF value as a plain JSON value (array items, whose type the array states).
fn plain(model: &Model, value: &GgufValue) -> Value {
    match value {
        GgufValue::U8(v) => json!(v),
        GgufValue::U16(v) => json!(v),
        GgufValue::U32(v) => json!(v),
        GgufValue::U64(v) => json!(v),
        GgufValue::I8(v) => json!(v),
        GgufValue::I16(v) => json!(v),
        GgufValue::I32(v) => json!(v),
        GgufValue::I64(v) => json!(v),
        GgufValue::F32(v) => float(f64::from(*v)),
        GgufValue::F64(v) => float(*v),
        GgufValue::Bool(v) => json!(v),
        GgufValue::String(s) => json!(s),
        GgufValue::Array(a) => array(model, a),
        _ => Value::Null,
    }
}

/// Finite floats as numbers; NaN and infinities as the strings `NaN`, `inf`, `-inf` (JSON has
/// no number for them).
fn float(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else if x.is_nan() {
        json!("NaN")
    } else if x > 0.0 {
        json!("inf")
    } else {
        json!("-inf")
    }
}

fn array(model: &Model, a: &GgufArray) -> Value {
    let long = a.len > ARRAY_INLINE_MAX;
    let take = if long { ARRAY_HEAD } else { usize::MAX };
    let items: Vec<Value> = model
        .gguf_array(a)
        .take(take)
        .map(|item| item.map_or(Value::Null, |v| plain(model, &v)))
        .collect();
    let mut o = Map::new();
    o.insert("type".into(), json!("array"));
    o.insert("item_type".into(), json!(a.item_type.name()));
    o.insert("len".into(), json!(a.len));
    o.insert(
        if long { "head" } else { "value" }.into(),
        Value::Array(items),
    );
    Value::Object(o)
}

/// The JSON object of an error.
#[must_use]
pub fn error_json(err: &loadguard::Error) -> Value {
    let mut o = Map::new();
    if let Some(path) = err.path() {
        o.insert("path".into(), json!(path.display().to_string()));
    }
    if let loadguard::Error::Format(f) = err {
        let f: &FormatError = f;
        o.insert("format".into(), json!(f.format.name()));
        o.insert("offset".into(), json!(f.offset));
        o.insert("rule".into(), json!(f.rule.name()));
        if let Rule::Unrecognized {
            looks_like,
            expected,
        } = f.rule
        {
            o.insert("looks_like".into(), json!(looks_like.name()));
            o.insert(
                "expected".into(),
                expected.map_or(Value::Null, |e| json!(e.name())),
            );
        }
    }
    o.insert("message".into(), json!(escape(&err.chain().to_string())));
    json!({ "error": Value::Object(o) })
}

/// Pretty-printed JSON, two-space indentation (what `inspect --json` prints).
#[must_use]
pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The human-readable rendering of an error of `command` (what the CLI prints on stderr):
/// `loadguard COMMAND: ` and the error with its causes, escaped so nothing from a file can
/// drive the terminal. Every subcommand reports its errors this way.
#[must_use]
pub fn error_text(command: &str, err: &(dyn std::error::Error + 'static)) -> String {
    format!(
        "loadguard {command}: {}",
        escape(&loadguard::ErrorChain::of(err).to_string())
    )
}

/// `s` with every control character (terminal escape sequences included) and every
/// bidirectional override shown as `\u{…}`, so nothing from a file can drive the terminal.
#[must_use]
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s, false);
    out
}

/// `s` escaped as [`escape`] does, in double quotes (quotes and backslashes escaped too).
#[must_use]
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    escape_into(&mut out, s, true);
    out.push('"');
    out
}

fn escape_into(out: &mut String, s: &str, quote: bool) {
    for c in s.chars() {
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else if quote && (c == '"' || c == '\\') {
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
    }
}

/// At most `max` characters of `s` (escaped), cut with `…`.
fn cell(s: &str, max: usize) -> String {
    escape(&cut(s, max))
}

/// At most `max` characters of `s`, cut with `…`.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `s` (escaped) folded into lines of [`FOLD_WIDTH`] characters, at most [`FOLD_LINES`] of
/// them, each after `indent`.
fn fold(s: &str, indent: &str) -> String {
    if s.chars().count() <= FOLD_WIDTH {
        return quoted(s);
    }
    let s = escape(s);
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    for (i, line) in chars.chunks(FOLD_WIDTH).take(FOLD_LINES).enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(indent);
        }
        out.extend(line);
    }
    let shown = FOLD_WIDTH * FOLD_LINES;
    if chars.len() > shown {
        let _ = write!(out, "\n{indent}… ({} more characters)", chars.len() - shown);
    }
    out
}

fn pad(out: &mut String, cell: &str, width: usize, right: bool) {
    let n = cell.chars().count();
    let fill = width.saturating_sub(n);
    if right {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(cell);
    } else {
        out.push_str(cell);
        out.extend(std::iter::repeat_n(' ', fill));
    }
}

/// The human-readable report: header block, metadata, then the tensor table.
#[must_use]
pub fn to_text(model: &Model) -> String {
    let info = model.info();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "file:     {}",
        escape(&model.path().display().to_string())
    );
    let _ = write!(out, "format:   {}", model.format());
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
        Details::Pte(p) => {
            let _ = write!(
                out,
                " {} (root offset {}, schema version {})",
                p.identifier, p.root_offset, p.version
            );
        }
        Details::Ptd(p) => {
            let _ = write!(out, " {} (schema version {})", p.identifier, p.version);
        }
        Details::SafetensorsIndex(_) => out.push_str(" (shard index)"),
        _ => {}
    }
    out.push('\n');
    let _ = writeln!(out, "size:     {} bytes", info.size());
    match info.details() {
        Details::Pte(p) => {
            let _ = writeln!(
                out,
                "program:  {}..{} ({} bytes)",
                p.program.start,
                p.program.end,
                p.program.end - p.program.start
            );
            match &p.segment_data {
                Some(r) => {
                    let _ = writeln!(
                        out,
                        "segment data: {}..{} ({} bytes)",
                        r.start,
                        r.end,
                        r.end - r.start
                    );
                }
                None => out.push_str("segment data: none\n"),
            }
            let _ = writeln!(out, "plans:    {}", p.plans.len());
            for plan in &p.plans {
                let delegates = if plan.delegates.is_empty() {
                    "no delegates".to_owned()
                } else {
                    format!("delegates {}", cell(&plan.delegates.join(", "), CELL_MAX))
                };
                let _ = writeln!(
                    out,
                    "  {}: inputs {:?}, outputs {:?}, {} values, {} operators, {} instructions, {delegates}",
                    cell(&plan.name, CELL_MAX),
                    plan.inputs,
                    plan.outputs,
                    plan.values,
                    plan.operators,
                    plan.instructions
                );
            }
            let _ = writeln!(out, "segments: {}", p.segments.len());
            for (i, s) in p.segments.iter().enumerate() {
                let _ = writeln!(out, "  {i}: {} bytes at {}", s.len, s.offset);
            }
            let _ = writeln!(out, "constants: {}", p.constants.len());
            for c in &p.constants {
                let _ = writeln!(out, "  {}: {} bytes at {}", c.index, c.len, c.offset);
            }
        }
        Details::Ptd(p) => {
            let _ = writeln!(out, "segments: {}", p.segments.len());
            for (i, s) in p.segments.iter().enumerate() {
                let _ = writeln!(out, "  {i}: {} bytes at {}", s.len, s.offset);
            }
        }
        _ => {}
    }
    if model.is_sharded() {
        let _ = writeln!(out, "shards:   {}", model.shards().len());
        for (s, i) in model.shards() {
            let _ = writeln!(
                out,
                "  {} ({} tensors)",
                cell(&s.path().display().to_string(), CELL_MAX * 2),
                i.tensors().len()
            );
        }
    }
    metadata_text(model, &mut out);
    tensor_table(model, &mut out);
    out
}

/// Metadata in file order (GGUF key/values as the file lists them; JSON objects are sorted).
fn metadata_text(model: &Model, out: &mut String) {
    let pairs: Vec<(String, Value)> = match model.info().details() {
        Details::Gguf(h) => h
            .kvs
            .iter()
            .map(|kv| (kv.key.clone(), typed(model, &kv.value)))
            .collect(),
        Details::Safetensors { metadata, .. } => metadata
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect(),
        _ => match metadata(model) {
            Value::Object(o) => o.into_iter().collect(),
            _ => Vec::new(),
        },
    };
    let _ = writeln!(out, "metadata: {}", pairs.len());
    for (k, v) in pairs {
        let key = cell(&k, CELL_MAX);
        let indent = " ".repeat(key.chars().count() + 5);
        let _ = writeln!(out, "  {key} = {}", value_text(&v, &indent));
    }
}

/// One metadata value for humans: `string "llama"`, `u32 7`, `array[string] of 300: ["a", …]`.
fn value_text(v: &Value, indent: &str) -> String {
    let Value::Object(o) = v else {
        return match v {
            Value::String(s) => fold(s, indent),
            other => escape(&other.to_string()),
        };
    };
    let ty = o.get("type").and_then(Value::as_str).unwrap_or("?");
    if ty != "array" {
        return match o.get("value") {
            Some(Value::String(s)) => format!("{ty} {}", fold(s, indent)),
            Some(x) => format!("{ty} {}", escape(&x.to_string())),
            None => ty.to_owned(),
        };
    }
    let item = o.get("item_type").and_then(Value::as_str).unwrap_or("?");
    let len = o.get("len").and_then(Value::as_u64).unwrap_or(0);
    let (items, more) = match (o.get("value"), o.get("head")) {
        (Some(Value::Array(a)), _) => (a.as_slice(), false),
        (_, Some(Value::Array(a))) => (a.as_slice(), true),
        _ => (&[][..], false),
    };
    let shown: Vec<String> = items
        .iter()
        .map(|i| match i {
            Value::String(s) => quoted(&cut(s, 32)),
            Value::Object(_) => value_text(i, indent),
            other => other.to_string(),
        })
        .collect();
    let tail = if more { ", …" } else { "" };
    format!("array[{item}] of {len}: [{}{tail}]", shown.join(", "))
}

fn tensor_table(model: &Model, out: &mut String) {
    let _ = writeln!(out, "tensors:  {}", model.tensor_count());
    if model.tensor_count() == 0 {
        return;
    }
    let sharded = model.is_sharded();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (s, info) in model.shards() {
        for t in info.tensors() {
            let dims: Vec<String> = t.dims.iter().map(u64::to_string).collect();
            let mut row = vec![
                cell(&t.name, CELL_MAX),
                t.dtype.name().to_owned(),
                cell(&format!("[{}]", dims.join(", ")), CELL_MAX),
                t.offset.to_string(),
                t.len.to_string(),
            ];
            if sharded {
                row.push(cell(&file_name(s.path()), CELL_MAX));
            }
            rows.push(row);
        }
    }
    let mut head: Vec<String> = ["NAME", "DTYPE", "DIMS", "OFFSET", "LEN"]
        .map(str::to_owned)
        .to_vec();
    if sharded {
        head.push("FILE".into());
    }
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    for row in std::iter::once(&head).chain(&rows) {
        out.push(' ');
        for (i, (c, &w)) in row.iter().zip(&width).enumerate() {
            out.push(' ');
            // Names, dtypes and dims left-aligned; numbers right-aligned.
            pad(out, c, w, i == 3 || i == 4);
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi_and_quotes() {
        assert_eq!(escape("a\u{1b}[31mb\u{7}"), "a\\u{1b}[31mb\\u{7}");
        assert_eq!(escape("\u{202e}x\u{2066}"), "\\u{202e}x\\u{2066}");
        assert_eq!(escape("plain é 漢"), "plain é 漢");
        assert_eq!(quoted("say \"hi\"\\\n"), "\"say \\\"hi\\\"\\\\\\u{a}\"");
    }

    #[test]
    fn long_strings_fold_and_long_cells_are_cut() {
        let long = "x".repeat(1000);
        let folded = fold(&long, "  ");
        let lines: Vec<&str> = folded.lines().collect();
        assert_eq!(lines.len(), FOLD_LINES + 1);
        assert!(
            lines
                .iter()
                .take(FOLD_LINES)
                .all(|l| l.trim_start().chars().count() == FOLD_WIDTH)
        );
        let rest = 1000 - FOLD_WIDTH * FOLD_LINES;
        assert!(lines[FOLD_LINES].contains(&format!("{rest} more characters")));
        assert_eq!(fold("short", "  "), "\"short\"");
        let c = cell(&"n".repeat(70_000), CELL_MAX);
        assert_eq!(c.chars().count(), CELL_MAX);
        assert!(c.ends_with('…'));
    }

    #[test]
    fn padding_needs_no_format_width() {
        let mut out = String::new();
        pad(&mut out, "ab", 100_000, false);
        assert_eq!(out.len(), 100_000);
        let mut out = String::new();
        pad(&mut out, "7", 3, true);
        assert_eq!(out, "  7");
    }
}
