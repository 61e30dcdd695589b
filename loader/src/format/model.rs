//! [`Model`]: a parsed model file that keeps its session, so tensor views borrow the shared
//! mapping (or heap copy) that every session of the registry uses.

use std::path::Path;

use super::info::{ModelInfo, TensorInfo};
use super::view::TensorView;
use super::{Format, parse};
use crate::error::Result;
use crate::options::LoadOptions;
use crate::registry::Registry;
use crate::registry::Session;

/// A model file opened through a [`Registry`] and parsed strictly.
///
/// Holds the [`Session`], so the mapping stays alive as long as the model; tensors are looked
/// up by name in a hash map and handed out as zero-copy [`TensorView`]s of the session's bytes.
#[derive(Debug, Clone)]
pub struct Model {
    session: Session,
    info: ModelInfo,
}

impl Model {
    /// Opens `path` with default options and parses it (format detected from the bytes).
    pub fn open(registry: &Registry, path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(registry, path, &LoadOptions::default())
    }

    /// Opens `path` with `opts` and parses it.
    pub fn open_with(
        registry: &Registry,
        path: impl AsRef<Path>,
        opts: &LoadOptions,
    ) -> Result<Self> {
        Self::from_session(registry.open(path, opts)?)
    }

    /// Parses the file of an open session.
    pub fn from_session(session: Session) -> Result<Self> {
        let info = parse(session.path(), session.bytes())?;
        Ok(Self { session, info })
    }

    /// The session holding the bytes.
    #[must_use]
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// What the parse found: format, tensors, metadata.
    #[must_use]
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The detected format.
    #[must_use]
    pub fn format(&self) -> Format {
        self.info.format()
    }

    /// Tensors in file order.
    #[must_use]
    pub fn tensors(&self) -> &[TensorInfo] {
        self.info.tensors()
    }

    /// The tensor `name` as a zero-copy view of the shared bytes.
    #[must_use]
    pub fn tensor(&self, name: &str) -> Option<TensorView<'_>> {
        self.info.view(self.session.bytes(), name)
    }
}
