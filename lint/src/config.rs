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
use std::path::Path;

use crate::finding::Severity;
use crate::rules::{RULES, Rule, by_id};

/// What a configuration file or `--rules` got wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

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
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError(e.to_string()))?;
        let mut config = Config::default();
        for (key, value) in &table {
            if key != "rules" {
                return Err(ConfigError(format!(
                    "unknown key `{key}` (expected `[rules.<id>]` tables)"
                )));
            }
            let toml::Value::Table(rules) = value else {
                return Err(ConfigError(
                    "`rules` must be a table of `[rules.<id>]` tables".to_owned(),
                ));
            };
            for (id, settings) in rules {
                let rule = known(id)?;
                let toml::Value::Table(settings) = settings else {
                    return Err(ConfigError(format!("`rules.{id}` must be a table")));
                };
                let mut parsed = RuleSettings::default();
                for (k, v) in settings {
                    match (k.as_str(), v) {
                        ("enabled", toml::Value::Boolean(b)) => parsed.enabled = Some(*b),
                        ("severity", toml::Value::String(s)) => {
                            parsed.severity = Some(Severity::parse(s).ok_or_else(|| {
                                ConfigError(format!("`rules.{id}.severity`: `{s}` is not one of error, warning, note"))
                            })?);
                        }
                        _ => {
                            return Err(ConfigError(format!(
                                "`rules.{id}.{k}`: expected `enabled = true|false` or `severity = \"error|warning|note\"`"
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
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
        Config::from_toml(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))
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
    by_id(id).ok_or_else(|| {
        let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ConfigError(format!("unknown rule `{id}` (rules: {})", ids.join(", ")))
    })
}
