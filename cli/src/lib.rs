//! The library half of the `loadguard` command: the renderers of what it prints, so the
//! snapshot suites and fuzz targets render exactly what the binary prints.
//!
//! ```
//! use loadguard::os::MemoryOs;
//! use loadguard::{Model, Registry};
//! use loadguard_cli::report;
//!
//! let header = br#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
//! let mut file = (header.len() as u64).to_le_bytes().to_vec();
//! file.extend_from_slice(header);
//! file.extend_from_slice(&[0u8; 4]);
//! let fs = MemoryOs::new();
//! fs.write("/w.safetensors", file);
//! let model = Model::open(&Registry::with_os(fs), "/w.safetensors")?;
//! assert_eq!(report::to_json(&model)["tensors"][0]["name"], "w");
//! assert!(report::to_text(&model).contains("format:   safetensors"));
//! # Ok::<(), loadguard::Error>(())
//! ```

#![warn(missing_docs)]

pub mod report;
