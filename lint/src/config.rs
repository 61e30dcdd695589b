//! Per-rule configuration from `loadguard.toml`.
//!
//! ```toml
//! [rules.map_linear_scan]
//! enabled = false          # do not run this rule
//!
//! [rules.unchecked_size_cast]
//! severity = "warning"     # error | warning | note
//! ```
//!
//! Unknown rule ids, keys and severities are errors: a typo must not silently disable nothing.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::finding::Severity;
use crate::rules::{RULES, Rule, by_id};

/// What a configuration file or `--rules` got wrong: where (the file, if any) and what.
#[derive(Debug)]
#[non_exhaustive]
pub struct ConfigError {
    /// The `loadguard.toml` it is in (`None` for `--rules`).
    pub path: Option<PathBuf>,
    /// What is wrong.
    pub kind: ConfigErrorKind,
}

/// The kinds of [`ConfigError`], for callers that match on them.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The file could not be read (the I/O error is the `source()`).
    Read(std::io::Error),
    /// The file is not valid TOML (the parser's message).
    Toml(String),
    /// A top-level key other than `rules`.
    UnknownKey(String),
    /// `rules` or `rules.<id>` is not a table (the key).
    NotATable(String),
    /// A rule id that does not exist.
    UnknownRule(String),
    /// A severity other than error / warning / note: the rule and the value.
    BadSeverity(String, String),
    /// A setting other than `enabled` / `severity`, or of the wrong type: the rule and the key.
    BadSetting(String, String),
}

impl ConfigError {
    fn new(kind: ConfigErrorKind) -> Self {
        ConfigError { path: None, kind }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}: ", path.display())?;
        }
        match &self.kind {
            ConfigErrorKind::Read(_) => f.write_str("cannot read the configuration"),
            ConfigErrorKind::Toml(message) => write!(f, "invalid TOML: {}", message.trim_end()),
            ConfigErrorKind::UnknownKey(key) => {
                write!(f, "unknown key `{key}` (expected `[rules.<id>]` tables)")
            }
            ConfigErrorKind::NotATable(key) => write!(f, "`{key}` must be a table"),
            ConfigErrorKind::UnknownRule(id) => {
                let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
                write!(f, "unknown rule `{id}` (rules: {})", ids.join(", "))
            }
            ConfigErrorKind::BadSeverity(id, value) => write!(
                f,
                "`rules.{id}.severity`: `{value}` is not one of error, warning, note"
            ),
            ConfigErrorKind::BadSetting(id, key) => write!(
                f,
                "`rules.{id}.{key}`: expected `enabled = true|false` or `severity = \"error|warning|note\"`"
            ),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ConfigErrorKind::Read(e) => Some(e),
            _ => None,
        }
    }
}

/// The settings of one rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct RuleSettings {
    enabled: Option<bool>,
    severity: Option<Severity>,
}

/// Which rules run, and at what severity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    rules: HashMap<&'static str, RuleSettings>,
    only: Option<Vec<&'static str>>,
}

impl Config {
    /// Parses the text of a `loadguard.toml`.
    ///
    /// # Errors
    /// Invalid TOML, an unknown table or key, an unknown rule id, or a bad value.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            ConfigError::new(ConfigErrorKind::Toml(e.message().to_owned()))
        })?;
        let mut config = Config::default();
        for (key, value) in &table {
            if key != "rules" {
                return Err(ConfigError::new(ConfigErrorKind::UnknownKey(key.clone())));
            }
            let toml::Value::Table(rules) = value else {
                return Err(ConfigError::new(ConfigErrorKind::NotATable(
                    "rules".to_owned(),
                )));
            };
            for (id, settings) in rules {
                let rule = known(id)?;
                let toml::Value::Table(settings) = settings else {
                    return Err(ConfigError::new(ConfigErrorKind::NotATable(format!(
                        "rules.{id}"
                    ))));
                };
                let mut parsed = RuleSettings::default();
                for (k, v) in settings {
                    match (k.as_str(), v) {
                        ("enabled", toml::Value::Boolean(b)) => parsed.enabled = Some(*b),
                        ("severity", toml::Value::String(s)) => {
                            parsed.severity = Some(Severity::parse(s).ok_or_else(|| {
                                ConfigError::new(ConfigErrorKind::BadSeverity(
                                    id.clone(),
                                    s.clone(),
                                ))
                            })?);
                        }
                        _ => {
                            return Err(ConfigError::new(ConfigErrorKind::BadSetting(
                                id.clone(),
                                k.clone(),
                            )));
                        }
                    }
                }
                config.rules.insert(rule.id, parsed);
            }
        }
        Ok(config)
    }

    /// Reads and parses a `loadguard.toml`.
    ///
    /// # Errors
    /// The file cannot be read, or [`Config::from_toml`] rejects it.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let in_file = |mut e: ConfigError| {
            e.path = Some(path.to_path_buf());
            e
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| in_file(ConfigError::new(ConfigErrorKind::Read(e))))?;
        Config::from_toml(&text).map_err(in_file)
    }

    /// Runs only these rules (`--rules a,b`), on top of what the file enables.
    ///
    /// # Errors
    /// An unknown rule id.
    pub fn restrict_to(&mut self, ids: &[String]) -> Result<(), ConfigError> {
        let ids = ids
            .iter()
            .map(|id| known(id).map(|r| r.id))
            .collect::<Result<Vec<_>, _>>()?;
        self.only = Some(ids);
        Ok(())
    }

    /// Whether a rule runs.
    #[must_use]
    pub fn enabled(&self, rule: &Rule) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.contains(&rule.id))
            && self
                .rules
                .get(rule.id)
                .and_then(|s| s.enabled)
                .unwrap_or(true)
    }

    /// The severity a rule's findings are reported with.
    #[must_use]
    pub fn severity(&self, rule: &Rule) -> Severity {
        self.rules
            .get(rule.id)
            .and_then(|s| s.severity)
            .unwrap_or(rule.default_severity)
    }
}

fn known(id: &str) -> Result<&'static Rule, ConfigError> {
    by_id(id).ok_or_else(|| ConfigError::new(ConfigErrorKind::UnknownRule(id.to_owned())))
}
