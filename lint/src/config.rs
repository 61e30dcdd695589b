//! Per-rule configuration and a code base's own macros, from `loadguard.toml`.
//!
//! ```toml
//! [rules.map_linear_scan]
//! enabled = false          # do not run this rule
//!
//! [rules.unchecked_size_cast]
//! severity = "warning"     # error | warning | note
//!
//! [macros]
//! early_exit = ["TRY_OR_BAIL", "ORT_THROW_IF"]   # also leave the function, like `return`
//! symbol_lookup = { LOAD_SYM = 1, GET_FN = 0 }    # resolve the symbol named by this argument
//! ```
//!
//! `[macros]` adds a code base's own macros to the names the analyzer knows by convention:
//! early exits (built in: `*RETURN_IF*`, `*CHECK_OR_RETURN*`, `*_OR_RETURN`, `RETURN_ON_*`,
//! `*RETURN_UNLESS*`, Rust's `bail!` / `ensure!` / `try!`), which `unowned_handle` follows as it
//! follows `return`; and symbol lookups (built in: `dlsym`, `dlvsym`, `GetProcAddress`, each with
//! the name as argument 1), which `duplicate_symbol` compares. A lookup macro's number is the
//! index of the argument that holds the symbol's name; argument 0 is the library handle when
//! that index is above 0, and with index 0 every use shares one implicit library.
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
    /// A `[macros]` key other than `early_exit` / `symbol_lookup`, or a value of the wrong
    /// shape: the key, and what was expected.
    BadMacros(String, &'static str),
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
                write!(
                    f,
                    "unknown key `{key}` (expected `[rules.<id>]` and `[macros]` tables)"
                )
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
            ConfigErrorKind::BadMacros(key, expected) => {
                write!(f, "`macros.{key}`: expected {expected}")
            }
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

/// A code base's own macros (`[macros]`), on top of the built-in names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Macros {
    early_exit: Vec<String>,
    /// Macro name → index of the argument that holds the symbol's name.
    symbol_lookup: Vec<(String, usize)>,
}

/// The most arguments a symbol-lookup macro's name index may skip: a larger number is a typo.
const MAX_SYMBOL_ARG: i64 = 16;

/// Which rules run, at what severity, and which of a code base's macros exit or look up symbols.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    rules: HashMap<&'static str, RuleSettings>,
    only: Option<Vec<&'static str>>,
    macros: Macros,
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
            if key == "macros" {
                config.macros = Macros::from_toml(value)?;
                continue;
            }
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

    /// Whether `name` is listed in `macros.early_exit` (the front-ends know the built-in names).
    pub(crate) fn is_configured_exit(&self, name: &str) -> bool {
        self.macros.early_exit.iter().any(|m| m == name)
    }

    /// Whether any macro is listed in `macros.early_exit`.
    pub(crate) fn has_configured_exits(&self) -> bool {
        !self.macros.early_exit.is_empty()
    }

    /// For a symbol-resolving call or macro, the index of the argument naming the symbol:
    /// `dlsym`, `dlvsym`, `GetProcAddress` (1), or a macro listed in `macros.symbol_lookup`.
    #[must_use]
    pub fn symbol_lookup(&self, name: &str) -> Option<usize> {
        crate::known::symbol_lookup(name).or_else(|| {
            self.macros
                .symbol_lookup
                .iter()
                .find(|(m, _)| m == name)
                .map(|&(_, at)| at)
        })
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

impl Macros {
    fn from_toml(value: &toml::Value) -> Result<Macros, ConfigError> {
        let bad = |key: &str, expected| {
            ConfigError::new(ConfigErrorKind::BadMacros(key.to_owned(), expected))
        };
        let toml::Value::Table(table) = value else {
            return Err(ConfigError::new(ConfigErrorKind::NotATable(
                "macros".to_owned(),
            )));
        };
        let mut macros = Macros::default();
        for (key, value) in table {
            match key.as_str() {
                "early_exit" => {
                    const EXPECTED: &str = "an array of macro names, e.g. `[\"TRY_OR_BAIL\"]`";
                    let toml::Value::Array(names) = value else {
                        return Err(bad(key, EXPECTED));
                    };
                    for name in names {
                        match name.as_str() {
                            Some(name) if is_identifier(name) => {
                                macros.early_exit.push(name.to_owned());
                            }
                            _ => return Err(bad(key, EXPECTED)),
                        }
                    }
                }
                "symbol_lookup" => {
                    const EXPECTED: &str = "a table of macro name = index of the argument naming \
                         the symbol (0 to 16), e.g. `{ LOAD_SYM = 1 }`";
                    let toml::Value::Table(entries) = value else {
                        return Err(bad(key, EXPECTED));
                    };
                    for (name, at) in entries {
                        let at = at
                            .as_integer()
                            .filter(|at| (0..=MAX_SYMBOL_ARG).contains(at))
                            .and_then(|at| usize::try_from(at).ok());
                        match at {
                            Some(at) if is_identifier(name) => {
                                macros.symbol_lookup.push((name.clone(), at));
                            }
                            _ => return Err(bad(&format!("symbol_lookup.{name}"), EXPECTED)),
                        }
                    }
                }
                _ => return Err(bad(key, "`early_exit` or `symbol_lookup`")),
            }
        }
        Ok(macros)
    }
}

/// A C or Rust identifier (what a macro name can be).
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn known(id: &str) -> Result<&'static Rule, ConfigError> {
    by_id(id).ok_or_else(|| ConfigError::new(ConfigErrorKind::UnknownRule(id.to_owned())))
}
