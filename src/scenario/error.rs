//! Scenario errors: each one names the file, line and column, what is wrong, and what to do.

use std::ops::Range;
use std::path::{Path, PathBuf};

/// Why a scenario cannot be used. Displayed as one line.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read at all.
    #[error("{}: cannot read the scenario: {source}; check the path and its permissions", file.display())]
    Unreadable {
        /// The scenario path as given.
        file: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file was read but something in it is wrong.
    #[error("{}:{line}:{col}: {message}", file.display())]
    Invalid {
        /// The scenario path as given.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        col: usize,
        /// What is wrong and what to do, on one line.
        message: String,
    },
}

/// A source file being loaded, able to turn byte spans into line:col errors.
pub struct Source<'a> {
    /// Path used in messages.
    pub file: &'a Path,
    /// Full text.
    pub text: &'a str,
}

impl Source<'_> {
    /// An error at a byte span of the source.
    pub fn error(&self, span: Option<Range<usize>>, message: impl AsRef<str>) -> ScenarioError {
        let offset = span.map(|s| s.start).unwrap_or(0).min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let col = before[line_start..].chars().count() + 1;
        // One line, always: toml and serde messages sometimes carry newlines.
        let message = message
            .as_ref()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        ScenarioError::Invalid {
            file: self.file.to_path_buf(),
            line,
            col,
            message,
        }
    }

    /// Converts a toml error into a located scenario error.
    pub fn toml_error(&self, e: &toml::de::Error) -> ScenarioError {
        self.error(e.span(), e.message())
    }
}
