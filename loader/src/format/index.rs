//! The shard index of a sharded safetensors checkpoint (`model.safetensors.index.json`):
//! `{"metadata": {"total_size": N, …}, "weight_map": {"tensor": "model-00001-of-00002.safetensors", …}}`.
//!
//! Parsed strictly with the same tokenizer as the safetensors header: the JSON must be valid,
//! tensor names unique, every shard name a plain file name in the index's own directory (no
//! separators, no `..`: an index cannot point outside its folder), `total_size` (when present)
//! a non-negative integer. Other top-level keys and other metadata are checked for syntax and
//! skipped. Opening the shards and checking them against the index is [`Model`](crate::Model)'s
//! job; this module only reads bytes.

use std::collections::HashMap;
use std::path::Path;

use super::info::{ModelInfo, NameIndex};
use super::json::Json;
use super::{Budget, Ctx, Details, Format, FormatError, Rule};
use crate::size::to_u64;

/// A parsed shard index.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShardIndex {
    /// `metadata.total_size`, when given (bytes of all tensors, as the writer counted them).
    pub total_size: Option<u64>,
    /// Shard file names, in the order the index first names them.
    pub files: Vec<String>,
    /// Every tensor and the index of its shard in [`files`](Self::files), in file order.
    pub weight_map: Vec<(String, usize)>,
}

impl ShardIndex {
    /// How many tensors the index lists for shard `file` (an index into `files`).
    #[must_use]
    pub fn count_in(&self, file: usize) -> usize {
        self.weight_map.iter().filter(|(_, f)| *f == file).count()
    }
}

/// Whether `name` is a plain file name: no separator, not `.` or `..`, no NUL, not empty.
fn plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !(name.len() >= 2 && name.as_bytes()[1] == b':')
}

/// Parses a shard index.
///
/// # Errors
///
/// A [`FormatError`]: malformed JSON, a missing or non-object `weight_map`, a tensor listed
/// twice ([`Rule::DuplicateKey`]), a shard name that is not a plain file name
/// ([`Rule::ShardPath`]).
#[track_caller]
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ModelInfo, FormatError> {
    let _site = crate::callsite::enter();
    let ctx = Ctx {
        path,
        format: Format::SafetensorsIndex,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ctx.err(
            to_u64(e.valid_up_to()),
            Rule::InvalidUtf8,
            "the index is not UTF-8",
        )
    })?;
    let mut budget = Budget::default();
    let total = to_u64(bytes.len());
    let mut json = Json::new(text, 0, ctx);
    let mut total_size = None;
    let mut files: Vec<String> = Vec::new();
    let mut weight_map: Vec<(String, usize)> = Vec::new();
    let mut names = NameIndex::default();
    let mut file_index: HashMap<String, usize> = HashMap::new();
    let mut seen_map = false;
    let mut seen_meta = false;
    json.ws();
    if json.peek() != Some(b'{') {
        return Err(json.err(Rule::Schema, "a shard index must be a JSON object"));
    }
    json.members(|json, key, at| {
        match &*key {
            "weight_map" => {
                if seen_map {
                    return Err(ctx.err(at, Rule::DuplicateKey, "duplicate key \"weight_map\""));
                }
                seen_map = true;
                json.ws();
                if json.peek() != Some(b'{') {
                    let kind = json.value_kind();
                    return Err(json.err(
                        Rule::Schema,
                        format!("`weight_map` must be an object, found {kind}"),
                    ));
                }
                json.members(|json, tensor, tensor_at| {
                    json.ws();
                    let file_at = json.offset();
                    let file = json.str()?;
                    if !plain_file_name(&file) {
                        return Err(ctx.err(
                            file_at,
                            Rule::ShardPath,
                            format!("shard {file:?} of tensor {tensor:?} is not a file name in the index's directory"),
                        ));
                    }
                    let i = weight_map.len();
                    if names
                        .insert(i, &tensor, |j| weight_map[j as usize].0.as_str())
                        .is_err()
                    {
                        return Err(ctx.err(
                            tensor_at,
                            Rule::DuplicateKey,
                            format!("tensor {tensor:?} listed twice in `weight_map`"),
                        ));
                    }
                    let f = match file_index.get(&*file) {
                        Some(&f) => f,
                        None => {
                            budget.charge(2 * to_u64(file.len()) + 64, total, ctx, file_at)?;
                            file_index.insert(file.to_string(), files.len());
                            files.push(file.into_owned());
                            files.len() - 1
                        }
                    };
                    budget.charge(to_u64(tensor.len()) + 48, total, ctx, tensor_at)?;
                    weight_map.push((tensor.into_owned(), f));
                    Ok(())
                })
            }
            "metadata" => {
                if seen_meta {
                    return Err(ctx.err(at, Rule::DuplicateKey, "duplicate key \"metadata\""));
                }
                seen_meta = true;
                json.ws();
                if json.peek() != Some(b'{') {
                    let kind = json.value_kind();
                    return Err(json.err(
                        Rule::Schema,
                        format!("`metadata` must be an object, found {kind}"),
                    ));
                }
                json.members(|json, meta, _| {
                    if meta == "total_size" {
                        total_size = Some(json.uint()?);
                        Ok(())
                    } else {
                        json.skip_value(1)
                    }
                })
            }
            _ => json.skip_value(1),
        }
    })?;
    if !json.at_end() {
        return Err(json.err(Rule::Json, "trailing characters after the index object"));
    }
    if !seen_map {
        return Err(ctx.err(0, Rule::Schema, "the index has no `weight_map`"));
    }
    let details = Details::SafetensorsIndex(ShardIndex {
        total_size,
        files,
        weight_map,
    });
    Ok(ModelInfo::new(
        Format::SafetensorsIndex,
        bytes,
        Vec::new(),
        NameIndex::default(),
        details,
        budget.spent(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(text: &str) -> Result<ShardIndex, FormatError> {
        let info = parse(Path::new("m.safetensors.index.json"), text.as_bytes())?;
        match info.details() {
            Details::SafetensorsIndex(i) => Ok(i.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn weight_maps_and_their_rules() {
        let i = index(
            r#"{"metadata": {"total_size": 16, "format": "pt", "x": [1, {"y": null}]},
                "weight_map": {"a": "s-1.safetensors", "b": "s-2.safetensors", "c": "s-1.safetensors"}}"#,
        )
        .unwrap();
        assert_eq!(i.total_size, Some(16));
        assert_eq!(i.files, ["s-1.safetensors", "s-2.safetensors"]);
        assert_eq!(i.count_in(0), 2);
        let rule = |t: &str| index(t).unwrap_err().rule;
        assert_eq!(
            rule(r#"{"weight_map": {"a": "../x.safetensors"}}"#),
            Rule::ShardPath
        );
        assert_eq!(
            rule(r#"{"weight_map": {"a": "/etc/passwd"}}"#),
            Rule::ShardPath
        );
        assert_eq!(
            rule(r#"{"weight_map": {"a": "x", "a": "y"}}"#),
            Rule::DuplicateKey
        );
        assert_eq!(rule(r#"{"metadata": {}}"#), Rule::Schema);
        assert_eq!(rule(r#"{"weight_map": []}"#), Rule::Schema);
        assert_eq!(rule(r#"{"weight_map": {}} x"#), Rule::Json);
    }
}
