//! The built-in sample model of `--demo`: a 256 MiB safetensors file with one F32 tensor.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Size of the sample's tensor data.
pub const SAMPLE_BYTES: u64 = 256 << 20;

/// Writes the sample into `dir` and returns its path.
pub fn write_sample(dir: &Path) -> std::io::Result<PathBuf> {
    let path = dir.join("sample-256MiB.safetensors");
    let elements = SAMPLE_BYTES / 4;
    let mut header = format!(
        r#"{{"__metadata__":{{"generator":"loadguard sessions --demo"}},"weight":{{"dtype":"F32","shape":[{elements}],"data_offsets":[0,{SAMPLE_BYTES}]}}}}"#
    );
    // safetensors writers pad the header with spaces to a multiple of 8 so data is aligned.
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
    out.write_all(
        &u64::try_from(header.len())
            .unwrap_or(u64::MAX)
            .to_le_bytes(),
    )?;
    out.write_all(header.as_bytes())?;
    // Distinct values per page so nothing (a deduplicating file system, the zero page) can
    // make the sample cheaper than a real model.
    let mut chunk = vec![0u8; 1 << 20];
    for (i, mib) in (0..SAMPLE_BYTES >> 20).enumerate() {
        for (j, word) in chunk.chunks_exact_mut(8).enumerate() {
            let value = (mib << 20) ^ u64::try_from(j).unwrap_or(0) ^ 0x9e37_79b9;
            word.copy_from_slice(&value.to_le_bytes());
        }
        out.write_all(&chunk)?;
        tracing::trace!(mib = i, "sample written");
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(path)
}
