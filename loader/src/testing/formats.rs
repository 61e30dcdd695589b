//! The format checker the fuzz targets and the regression replay share: any input parses or
//! fails with a typed error (never a panic, an out-of-bounds read or an allocation the header
//! cannot pay for), and whatever parses keeps the invariants every parser promises.
//!
//! ```
//! use loadguard::format::Format;
//! use loadguard::testing::formats::check;
//!
//! // Garbage is rejected cleanly by every parser; nothing to violate.
//! check(Some(Format::Gguf), b"GGUF\x03\0\0\0garbage").unwrap();
//! check(None, b"").unwrap();
//! ```

use std::path::Path;

use crate::format::{
    self, Format, MAX_TABLE_BYTES_PER_HEADER_BYTE, ModelInfo, ParseOptions, TABLE_BYTES_ALLOWANCE,
};
use crate::options::LoadOptions;
use crate::os::MemoryOs;
use crate::registry::Registry;
use crate::size::to_u64;

/// A broken invariant, with what broke.
pub type Violation = String;

/// The file name a format is checked under (its extension is the format's).
fn file_name(format: Option<Format>) -> &'static str {
    match format {
        Some(Format::Safetensors) => "/fuzz.safetensors",
        Some(Format::SafetensorsIndex) => "/fuzz.safetensors.index.json",
        Some(Format::Gguf) => "/fuzz.gguf",
        Some(Format::Pte) => "/fuzz.pte",
        Some(Format::Ptd) => "/fuzz.ptd",
        _ => "/fuzz.bin",
    }
}

/// Parses `data` as `format` (or detected, for `None`) with the strict and the lenient rules,
/// checks [`check_info`] on every success, then opens it as a [`Model`](crate::Model) over a
/// heap-backed file system and checks every tensor view.
///
/// # Errors
///
/// The first broken invariant. A rejection is not one.
pub fn check(format: Option<Format>, data: &[u8]) -> Result<(), Violation> {
    let path = Path::new(file_name(format));
    for lenient in [false, true] {
        let mut opts = ParseOptions::new().lenient(lenient);
        if let Some(f) = format {
            opts = opts.format(f);
        }
        match format::parse_with(path, data, &opts) {
            Ok(info) => check_info(&info, data)?,
            Err(e) => {
                if e.path != path {
                    return Err(format!(
                        "error names {} instead of {}",
                        e.path.display(),
                        path.display()
                    ));
                }
                if e.offset > to_u64(data.len()) {
                    return Err(format!(
                        "error offset {} past the end of {} bytes: {e}",
                        e.offset,
                        data.len()
                    ));
                }
            }
        }
    }
    check_model(path, data)
}

/// The invariants of one parse of `data`: the size is the input's, every tensor lies inside
/// the file, every name is found at its own position and the index holds nothing else, and
/// the tables cost no more than the budget allows for the whole input.
///
/// # Errors
///
/// The first broken invariant.
pub fn check_info(info: &ModelInfo, data: &[u8]) -> Result<(), Violation> {
    let size = to_u64(data.len());
    if info.size() != size {
        return Err(format!("size {} is not the input's {size}", info.size()));
    }
    if info.indexed() != info.tensors().len() {
        return Err(format!(
            "{} names indexed for {} tensors",
            info.indexed(),
            info.tensors().len()
        ));
    }
    for (i, t) in info.tensors().iter().enumerate() {
        let end = t.offset.checked_add(t.len).ok_or("tensor end overflows")?;
        if end > size {
            return Err(format!(
                "tensor {:?} ends at {end} past the file of {size}",
                t.name
            ));
        }
        if info.position(&t.name) != Some(i) {
            return Err(format!("tensor {:?} is not indexed at {i}", t.name));
        }
    }
    let budget = size
        .saturating_mul(MAX_TABLE_BYTES_PER_HEADER_BYTE)
        .saturating_add(TABLE_BYTES_ALLOWANCE);
    if info.table_bytes() > budget {
        return Err(format!(
            "tables cost {} for a {size}-byte input",
            info.table_bytes()
        ));
    }
    Ok(())
}

/// Opens `data` as a model (format detected) over [`MemoryOs`] and checks that every tensor
/// view lies inside the session's bytes with its stated length, that lookups by name find it,
/// and that an owned view holds the same bytes.
///
/// # Errors
///
/// The first broken invariant.
pub fn check_model(path: &Path, data: &[u8]) -> Result<(), Violation> {
    let fs = MemoryOs::new();
    fs.write(path, data.to_vec());
    let registry = Registry::with_os(fs);
    let Ok(model) =
        crate::Model::open_with(&registry, path, &LoadOptions::new(), &ParseOptions::new())
    else {
        return Ok(());
    };
    let base = model.session().bytes().as_ptr_range();
    for t in model.tensors() {
        let view = model
            .tensor(&t.name)
            .ok_or_else(|| format!("tensor {:?} is listed but not found", t.name))?;
        if to_u64(view.bytes().len()) != t.len {
            return Err(format!(
                "view of {:?} has {} bytes, not {}",
                t.name,
                view.bytes().len(),
                t.len
            ));
        }
        let p = view.bytes().as_ptr_range();
        if p.start < base.start || p.end > base.end {
            return Err(format!(
                "view of {:?} is outside the session's bytes",
                t.name
            ));
        }
        let owned = view.clone().into_owned().map_err(|e| e.to_string())?;
        if owned.bytes() != view.bytes() {
            return Err(format!("owned view of {:?} differs", t.name));
        }
    }
    Ok(())
}
