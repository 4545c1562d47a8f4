//! Why a test-event file could not be used.

use std::path::PathBuf;

/// A test-event file (or a path given to the runner) that cannot be run.
///
/// ```
/// use streamalert::testing::{TestingError, parse_events};
/// let error = parse_events("[{\"description\": 1}]", "rules/x.json").unwrap_err();
/// assert!(matches!(error, TestingError::Malformed { line: 1, .. }));
/// assert!(error.to_string().starts_with("rules/x.json:1:"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestingError {
    /// A path given to the runner does not exist.
    #[error("{0}: no such file or directory")]
    NotFound(PathBuf),
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid JSON, or not a list of well-formed test events.
    #[error("{path}:{line}:{column}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong, and for an event, which one.
        message: String,
    },
}

impl TestingError {
    /// A [`TestingError::Malformed`] from a `serde_json` error, keeping its position.
    pub(crate) fn malformed(path: impl Into<PathBuf>, error: &serde_json::Error) -> Self {
        let text = error.to_string();
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        let message = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
        Self::Malformed {
            path: path.into(),
            line: error.line(),
            column: error.column(),
            message,
        }
    }
}
