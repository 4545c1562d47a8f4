//! `conf/outputs.json`: which descriptors of which services exist, in StreamAlert's format.
//!
//! A service maps either to a list of descriptors (`{"slack": ["secops"]}`) or, for services
//! with a per-descriptor setting such as an S3 bucket or a file path, to an object
//! (`{"file": {"alerts": "out/alerts.jsonl"}}`).

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The parsed `outputs.json`.
///
/// ```
/// use streamalert::config::OutputsConfig;
/// let config = OutputsConfig::from_json(r#"{"stdout": ["console"], "file": {"alerts": "out/a.jsonl"}}"#).unwrap();
/// assert_eq!(config.setting("file", "alerts").unwrap(), Some("out/a.jsonl"));
/// assert_eq!(config.setting("stdout", "console").unwrap(), None);
/// assert!(config.setting("slack", "secops").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputsConfig {
    services: BTreeMap<String, Descriptors>,
}

/// The configured descriptors of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Descriptors {
    /// `["a", "b"]`: descriptors without settings.
    List(Vec<String>),
    /// `{"a": "setting"}`: each descriptor with its setting.
    Settings(BTreeMap<String, String>),
}

/// `outputs.json` could not be read or does not have the expected shape.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid JSON, or not of the expected shape.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file (`<inline>` for text).
        path: PathBuf,
        /// 1-based line of the problem (0 when unknown).
        line: usize,
        /// 1-based column of the problem (0 when unknown).
        column: usize,
        /// What was expected.
        message: String,
    },
    /// A rule or alert names an output that `outputs.json` does not configure.
    #[error("the output `{0}` does not exist in outputs.json")]
    UnknownOutput(String),
}

impl OutputsConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses the text of an `outputs.json`.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        Self::parse(text, Path::new("<inline>"))
    }

    fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let invalid = |line, column, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            line,
            column,
            message,
        };
        let value: Value =
            serde_json::from_str(text).map_err(|e| invalid(e.line(), e.column(), e.to_string()))?;
        let Value::Object(map) = value else {
            return Err(invalid(
                1,
                1,
                "expected an object mapping each service to its descriptors".into(),
            ));
        };
        let mut services = BTreeMap::new();
        for (service, descriptors) in map {
            let parsed = match descriptors {
                Value::Array(items) => items
                    .into_iter()
                    .map(|item| match item {
                        Value::String(s) => Ok(s),
                        other => Err(format!("service `{service}`: expected descriptor strings, found {other}")),
                    })
                    .collect::<Result<_, _>>()
                    .map(Descriptors::List),
                Value::Object(settings) => settings
                    .into_iter()
                    .map(|(descriptor, setting)| match setting {
                        Value::String(s) => Ok((descriptor, s)),
                        other => Err(format!("service `{service}`, descriptor `{descriptor}`: expected a string, found {other}")),
                    })
                    .collect::<Result<_, _>>()
                    .map(Descriptors::Settings),
                other => Err(format!(
                    "service `{service}`: expected a list of descriptors or an object of descriptor settings, found {other}"
                )),
            };
            let descriptors =
                parsed.map_err(|message| invalid(locate(text, &service), 0, message))?;
            services.insert(service, descriptors);
        }
        Ok(Self { services })
    }

    /// The setting of `service:descriptor` (`None` for list-style services), or an error when
    /// the output is not configured.
    pub fn setting(&self, service: &str, descriptor: &str) -> Result<Option<&str>, ConfigError> {
        let unknown = || ConfigError::UnknownOutput(format!("{service}:{descriptor}"));
        match self.services.get(service).ok_or_else(unknown)? {
            Descriptors::List(list) => list
                .iter()
                .any(|d| d == descriptor)
                .then_some(None)
                .ok_or_else(unknown),
            Descriptors::Settings(map) => map
                .get(descriptor)
                .map(|s| Some(s.as_str()))
                .ok_or_else(unknown),
        }
    }

    /// Every configured `service:descriptor`, sorted.
    pub fn outputs(&self) -> Vec<String> {
        self.services
            .iter()
            .flat_map(|(service, descriptors)| {
                let names: Vec<&String> = match descriptors {
                    Descriptors::List(list) => list.iter().collect(),
                    Descriptors::Settings(map) => map.keys().collect(),
                };
                names.into_iter().map(move |d| format!("{service}:{d}"))
            })
            .collect()
    }
}

/// The 1-based line where `"service"` first appears, for error messages.
fn locate(text: &str, service: &str) -> usize {
    let needle = format!("\"{service}\"");
    text.lines()
        .position(|line| line.contains(&needle))
        .map_or(0, |i| i + 1)
}
