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

    /// Converts a toml error into a located scenario error that names the
    /// key it is about and says what to write instead.
    pub fn toml_error(&self, e: &toml::de::Error) -> ScenarioError {
        let message = e.message();
        let start = e.span().map(|s| s.start).unwrap_or(0);
        let message = match self.key_at(start) {
            Some(key) if message.starts_with("duplicate key") => {
                format!("duplicate key `{key}`; keep one of the two")
            }
            Some(key) if message.starts_with("invalid type") => {
                format!("`{key}`: {message}{}", type_hint(key, message))
            }
            Some(key) if message.starts_with("unknown variant") => format!("`{key}`: {message}"),
            _ if message.starts_with("missing field") => {
                format!("{message}; add it (docs/scenarios.md lists every key and table)")
            }
            _ => message.to_string(),
        };
        self.error(e.span(), message)
    }

    /// The key whose value starts at byte `offset` (`key = value`), or the key
    /// written at `offset` itself.
    fn key_at(&self, offset: usize) -> Option<&str> {
        let offset = offset.min(self.text.len());
        let line_start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let is_key = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        let before = self.text[line_start..offset].trim_end();
        if let Some(assigned) = before.strip_suffix('=') {
            let key = assigned.trim();
            return (!key.is_empty() && key.chars().all(is_key)).then_some(key);
        }
        let rest = &self.text[offset..];
        let key = &rest[..rest.find(|c: char| !is_key(c)).unwrap_or(rest.len())];
        (!key.is_empty()).then_some(key)
    }
}

/// What to write instead of the value of `key`, for serde's "invalid type:
/// ..., expected X".
fn type_hint(key: &str, message: &str) -> String {
    let expected = message.rsplit("expected ").next().unwrap_or("");
    let sized = |prefix: &[char]| {
        expected.starts_with(prefix) && expected[1..].chars().all(|c| c.is_ascii_digit())
    };
    if sized(&['u', 'i']) {
        "; write a whole number without quotes, such as 3".into()
    } else if sized(&['f']) {
        "; write a number without quotes, such as 0.5".into()
    } else if expected.contains("sequence") {
        format!("; write a list in brackets ([...]) or one [[{key}]] table per item")
    } else if expected.contains("bool") {
        "; write true or false, without quotes".into()
    } else if expected.contains("string") && !expected.contains("duration") {
        "; write it in double quotes".into()
    } else {
        String::new()
    }
}
