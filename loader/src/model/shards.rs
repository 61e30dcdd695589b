//! Sharded models as one: a safetensors shard index and its shards, a GGUF split and its other
//! files. Every shard is opened through the registry; the index (or the split keys) is checked
//! against what the shards hold — every listed tensor is in its shard, no tensor is in two
//! shards or missing from the index, the counts agree — and one name index spans them all.

use std::path::{Path, PathBuf};

use super::{Model, Shard};
use crate::error::Result;
use crate::format::index::ShardIndex;
use crate::format::info::NameIndex;
use crate::format::{self, Details, Format, FormatError, ParseOptions, Rule};
use crate::options::LoadOptions;
use crate::registry::Registry;
use crate::size::to_u64;

fn mismatch(path: &Path, format: Format, detail: String) -> crate::Error {
    FormatError {
        path: path.to_path_buf(),
        format,
        offset: 0,
        rule: Rule::ShardMismatch,
        detail,
    }
    .into()
}

/// Adds every tensor of `shards` to one index, failing on a name held by two shards.
fn index_across(
    shards: &[Shard],
    main: &Path,
    format: Format,
) -> Result<(Vec<(u32, u32)>, NameIndex)> {
    let mut across: Vec<(u32, u32)> = Vec::new();
    let mut index = NameIndex::default();
    for (s, shard) in shards.iter().enumerate() {
        for (t, tensor) in shard.info.tensors().iter().enumerate() {
            let (Ok(s32), Ok(t32)) = (u32::try_from(s), u32::try_from(t)) else {
                return Err(mismatch(
                    main,
                    format,
                    "more than 2^32 shards or tensors".into(),
                ));
            };
            let i = across.len();
            across.push((s32, t32));
            let name_of = |j: u32| {
                let (a, b) = across[j as usize];
                shards[a as usize].info.tensors()[b as usize].name.as_str()
            };
            if let Err(first) = index.insert(i, &tensor.name, name_of) {
                let other = &shards[across[first].0 as usize];
                return Err(mismatch(
                    main,
                    format,
                    format!(
                        "tensor {:?} is in both {} and {}",
                        tensor.name,
                        other.session.path().display(),
                        shard.session.path().display()
                    ),
                ));
            }
        }
    }
    Ok((across, index))
}

/// Opens the shards of a safetensors index and checks them against it.
pub(super) fn open_index(
    registry: &Registry,
    load: &LoadOptions,
    main: Shard,
    index: &ShardIndex,
) -> Result<Model> {
    let path = main.session.path().to_path_buf();
    let dir = path.parent().unwrap_or_else(|| Path::new(""));
    let fmt = Format::SafetensorsIndex;
    let parse = ParseOptions::new().format(Format::Safetensors);
    let mut shards = Vec::with_capacity(index.files.len());
    for file in &index.files {
        let session = registry.open(dir.join(file), load)?;
        let info = format::parse_with(session.path(), session.bytes(), &parse)?;
        shards.push(Shard { session, info });
    }
    for (tensor, f) in &index.weight_map {
        let shard = &shards[*f];
        if shard.info.tensor(tensor).is_none() {
            return Err(mismatch(
                &path,
                fmt,
                format!(
                    "tensor {tensor:?} is listed in {} but that shard does not hold it",
                    index.files[*f]
                ),
            ));
        }
    }
    for (f, shard) in shards.iter().enumerate() {
        let listed = index.count_in(f);
        let held = shard.info.tensors().len();
        if listed != held {
            let extra = shard
                .info
                .tensors()
                .iter()
                .find(|t| {
                    !index
                        .weight_map
                        .iter()
                        .any(|(n, g)| *g == f && *n == t.name)
                })
                .map_or_else(String::new, |t| format!(" (e.g. {:?})", t.name));
            return Err(mismatch(
                &path,
                fmt,
                format!(
                    "{} holds {held} tensors but the index lists {listed} for it{extra}",
                    index.files[f]
                ),
            ));
        }
    }
    let (across, name_index) = index_across(&shards, &path, fmt)?;
    Ok(Model {
        main,
        shards,
        across,
        index: name_index,
    })
}

/// The path of split `no` (from 0) of `count`, next to `first`, as llama.cpp names them:
/// `PREFIX-00001-of-00003.gguf`.
fn split_path(first: &Path, no: u64, count: u64) -> Option<PathBuf> {
    let name = first.file_name()?.to_str()?;
    let suffix = format!("-{:05}-of-{count:05}.gguf", 1);
    let prefix = name.strip_suffix(&suffix)?;
    Some(first.with_file_name(format!("{prefix}-{:05}-of-{count:05}.gguf", no + 1)))
}

/// Opens the other files of a GGUF split (the first is `main`) and checks their split keys.
pub(super) fn open_split(
    registry: &Registry,
    load: &LoadOptions,
    parse: &ParseOptions,
    main: Shard,
) -> Result<Model> {
    let path = main.session.path().to_path_buf();
    let fmt = Format::Gguf;
    let split = match main.info.details() {
        Details::Gguf(h) => h.split(),
        _ => None,
    };
    let Some(split) = split else {
        return Err(mismatch(&path, fmt, "not a split file".into()));
    };
    if split.no != 0 {
        let first = path
            .file_name()
            .and_then(|n| n.to_str())
            .map_or_else(String::new, |n| {
                format!(" (…-00001-of-{:05}.gguf beside {n})", split.count)
            });
        return Err(mismatch(
            &path,
            fmt,
            format!(
                "this is split {} of {}: open the first split{first}",
                split.no + 1,
                split.count
            ),
        ));
    }
    // Each split takes at least a GGUF header: a count beyond the file system's reach is a
    // corrupt key, refused before any path is built.
    if split.count > 99_999 {
        return Err(mismatch(
            &path,
            fmt,
            format!("split.count {} is above 99999", split.count),
        ));
    }
    let mut shards = Vec::new();
    let mut total = to_u64(main.info.tensors().len());
    for no in 1..split.count {
        let Some(next) = split_path(&path, no, split.count) else {
            return Err(crate::Error::from(FormatError {
                path: path.clone(),
                format: fmt,
                offset: 0,
                rule: Rule::ShardPath,
                detail: format!(
                    "the file name does not end in -00001-of-{:05}.gguf, so the other splits cannot be named",
                    split.count
                ),
            }));
        };
        let session = registry.open(&next, load)?;
        let info = format::parse_with(session.path(), session.bytes(), parse)?;
        let theirs = match info.details() {
            Details::Gguf(h) => h.split(),
            _ => None,
        };
        match theirs {
            Some(s) if s.no == no && s.count == split.count => {}
            other => {
                return Err(mismatch(
                    &path,
                    fmt,
                    format!(
                        "{} should be split {} of {} but its split keys say {other:?}",
                        next.display(),
                        no + 1,
                        split.count
                    ),
                ));
            }
        }
        total += to_u64(info.tensors().len());
        shards.push(Shard { session, info });
    }
    if total != split.tensors {
        return Err(mismatch(
            &path,
            fmt,
            format!(
                "split.tensors.count is {} but the {} splits hold {total} tensors",
                split.tensors, split.count
            ),
        ));
    }
    shards.insert(0, main.clone());
    let (across, name_index) = index_across(&shards, &path, fmt)?;
    Ok(Model {
        main,
        shards,
        across,
        index: name_index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names_follow_llama_cpp() {
        let first = Path::new("/m/model-00001-of-00003.gguf");
        assert_eq!(
            split_path(first, 2, 3).unwrap(),
            Path::new("/m/model-00003-of-00003.gguf")
        );
        assert!(split_path(Path::new("/m/model.gguf"), 1, 3).is_none());
        assert!(split_path(first, 1, 4).is_none());
    }
}
