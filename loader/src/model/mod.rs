//! [`Model`]: parsed model files that own their bytes (the registry's sessions), above the
//! bytes-in format layer ([`crate::format`]), and [`TensorView`]s of their tensors.
//!
//! The data path is one direction: `Registry::open` → `Session` → [`format::parse_with`]
//! → `Model` → `TensorView`. A model opened on a safetensors shard index or on the first file
//! of a GGUF split opens every shard through the same registry ([`shards`]).

#![warn(missing_docs)]

use std::path::Path;

use crate::error::Result;
use crate::format::gguf::{GgufArray, GgufValue};
use crate::format::info::NameIndex;
use crate::format::{self, Format, FormatError, ModelInfo, ParseOptions, TensorInfo};
use crate::options::LoadOptions;
use crate::registry::Registry;
use crate::registry::Session;

mod shards;
mod view;

pub use view::TensorView;

/// One or more model files opened through a [`Registry`] and parsed strictly.
///
/// Holds the [`Session`] of every file, so the shared bytes stay alive as long as the model;
/// tensors are found by name in O(1) (across shards too) and handed out as zero-copy
/// [`TensorView`]s of those bytes. The format is detected from the bytes; bytes of no known
/// format are an error that says what they look like.
///
/// ```
/// use loadguard::os::MemoryOs;
/// use loadguard::{Model, Registry};
/// use loadguard::format::Format;
///
/// // A GGUF v3 file with one key and one F32 tensor of 2 elements.
/// let mut f = b"GGUF".to_vec();
/// f.extend_from_slice(&3u32.to_le_bytes());
/// f.extend_from_slice(&1u64.to_le_bytes()); // tensors
/// f.extend_from_slice(&1u64.to_le_bytes()); // key/values
/// let key = b"general.name";
/// f.extend_from_slice(&(key.len() as u64).to_le_bytes());
/// f.extend_from_slice(key);
/// f.extend_from_slice(&8u32.to_le_bytes()); // string
/// f.extend_from_slice(&4u64.to_le_bytes());
/// f.extend_from_slice(b"demo");
/// f.extend_from_slice(&3u64.to_le_bytes());
/// f.extend_from_slice(b"w.0");
/// f.extend_from_slice(&1u32.to_le_bytes()); // n_dims
/// f.extend_from_slice(&2u64.to_le_bytes()); // ne[0]
/// f.extend_from_slice(&0u32.to_le_bytes()); // F32
/// f.extend_from_slice(&0u64.to_le_bytes()); // offset
/// f.resize(f.len().next_multiple_of(32), 0);
/// f.extend_from_slice(&[0u8; 8]);
///
/// let fs = MemoryOs::new();
/// fs.write("/m.gguf", f);
/// let registry = Registry::with_os(fs);
/// let model = Model::open(&registry, "/m.gguf")?;
/// assert_eq!(model.format(), Format::Gguf);
/// assert_eq!(model.tensor("w.0").map(|t| t.bytes().len()), Some(8));
/// assert!(model.tensor("missing").is_none());
/// # Ok::<(), loadguard::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Model {
    /// The file opened (the index, for a sharded checkpoint).
    main: Shard,
    /// The files holding tensors when they are not `main` (shards, or splits after the first).
    shards: Vec<Shard>,
    /// Name → (shard, tensor) across shards; empty for a single file.
    across: Vec<(u32, u32)>,
    index: NameIndex,
}

#[derive(Debug, Clone)]
struct Shard {
    session: Session,
    info: ModelInfo,
}

impl Model {
    /// Opens `path` with default options and parses it (format detected from the bytes).
    ///
    /// # Errors
    ///
    /// What [`Registry::open`] returns, or [`Error::Format`](crate::Error::Format) naming the
    /// file, offset and rule broken (bytes of no known format included).
    #[track_caller]
    pub fn open(registry: &Registry, path: impl AsRef<Path>) -> Result<Self> {
        let _site = crate::callsite::enter();
        Self::open_with(
            registry,
            path,
            &LoadOptions::default(),
            &ParseOptions::new(),
        )
    }

    /// Opens `path` with `load` options and parses it with `parse` options (a forced format,
    /// [`Format::Raw`] included, or lenient GGUF rules).
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open); for a sharded model also a shard that is missing, unreadable,
    /// or disagrees with the index ([`Rule::ShardMismatch`](crate::format::Rule::ShardMismatch)).
    #[track_caller]
    pub fn open_with(
        registry: &Registry,
        path: impl AsRef<Path>,
        load: &LoadOptions,
        parse: &ParseOptions,
    ) -> Result<Self> {
        let _site = crate::callsite::enter();
        let session = registry.open(path, load)?;
        let info = format::parse_with(session.path(), session.bytes(), parse)?;
        let main = Shard { session, info };
        match main.info.details() {
            format::Details::SafetensorsIndex(index) => {
                let index = index.clone();
                shards::open_index(registry, load, main, &index)
            }
            format::Details::Gguf(h) if h.split().is_some() && parse.forced_format().is_none() => {
                shards::open_split(registry, load, parse, main)
            }
            _ => Ok(Self {
                main,
                shards: Vec::new(),
                across: Vec::new(),
                index: NameIndex::default(),
            }),
        }
    }

    /// The format of the tensors (for a shard index: safetensors).
    #[must_use]
    pub fn format(&self) -> Format {
        match self.main.info.format() {
            Format::SafetensorsIndex => Format::Safetensors,
            f => f,
        }
    }

    /// The file opened: its path as given.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.main.session.path()
    }

    /// The session of the file opened (the index, for a sharded checkpoint).
    #[must_use]
    pub fn session(&self) -> &Session {
        &self.main.session
    }

    /// What the parse of the file opened found: format, its tensors, its metadata.
    #[must_use]
    pub fn info(&self) -> &ModelInfo {
        &self.main.info
    }

    /// Whether the tensors live in more than one file.
    #[must_use]
    pub fn is_sharded(&self) -> bool {
        !self.shards.is_empty()
    }

    /// Every file that holds tensors, with its parse: the shards (in index order) or the
    /// splits (in split order), or the one file.
    pub fn shards(&self) -> impl ExactSizeIterator<Item = (&Session, &ModelInfo)> {
        let all = if self.shards.is_empty() {
            std::slice::from_ref(&self.main)
        } else {
            &self.shards[..]
        };
        all.iter().map(|s| (&s.session, &s.info))
    }

    /// Every tensor, shard by shard, each in its file's order.
    pub fn tensors(&self) -> impl Iterator<Item = &TensorInfo> {
        self.shards().flat_map(|(_, info)| info.tensors())
    }

    /// How many tensors the model has (across shards).
    #[must_use]
    pub fn tensor_count(&self) -> usize {
        if self.shards.is_empty() {
            self.main.info.tensors().len()
        } else {
            self.across.len()
        }
    }

    /// The file holding tensor `name` and its description (O(1)).
    fn find(&self, name: &str) -> Option<(&Shard, &TensorInfo)> {
        if self.shards.is_empty() {
            let info = self.main.info.tensor(name)?;
            return Some((&self.main, info));
        }
        let i = self.index.get(name, |j| self.name_at(j))?;
        let (s, t) = self.across[i];
        let shard = &self.shards[s as usize];
        Some((shard, &shard.info.tensors()[t as usize]))
    }

    fn name_at(&self, j: u32) -> &str {
        let (s, t) = self.across[j as usize];
        &self.shards[s as usize].info.tensors()[t as usize].name
    }

    /// The description of tensor `name`.
    #[must_use]
    pub fn tensor_info(&self, name: &str) -> Option<&TensorInfo> {
        self.find(name).map(|(_, t)| t)
    }

    /// The path of the file holding tensor `name`.
    #[must_use]
    pub fn tensor_path(&self, name: &str) -> Option<&Path> {
        self.find(name).map(|(s, _)| s.session.path())
    }

    /// Tensor `name` as a zero-copy view of the shared bytes (O(1), across shards too).
    #[must_use]
    pub fn tensor(&self, name: &str) -> Option<TensorView<'_>> {
        let (shard, info) = self.find(name)?;
        // The parser checked `offset + len <= file length`, and the session holds exactly the
        // parsed bytes; `get` keeps this panic-free even so.
        let start = usize::try_from(info.offset).ok()?;
        let end = usize::try_from(info.end()).ok()?;
        let bytes = shard.session.bytes().get(start..end)?;
        Some(TensorView::borrowed(info, bytes, &shard.session))
    }

    /// The items of a GGUF array value of this model's metadata (from the file opened),
    /// decoded lazily from the shared bytes.
    pub fn gguf_array<'a>(
        &'a self,
        array: &'a GgufArray,
    ) -> impl Iterator<Item = std::result::Result<GgufValue, FormatError>> + 'a {
        array.items(self.main.session.path(), self.main.session.bytes())
    }
}
