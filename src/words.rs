//! The shared vocabulary: words every part of gameday uses, defined once.
//!
//! A leaf module: it imports nothing from the rest of the crate except the
//! clock's time type, so the simulator (`lab`), the AWS code (`aws`) and the
//! report can all speak these words without importing each other.

use crate::clock::MonoNs;
use serde::{Deserialize, Serialize};
use std::process::ExitCode;

/// Which of the two regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Serves in steady state.
    #[default]
    Primary,
    /// Takes over on failover.
    Secondary,
}

impl Role {
    /// 0 for the primary, 1 for the secondary.
    pub fn index(self) -> usize {
        match self {
            Role::Primary => 0,
            Role::Secondary => 1,
        }
    }

    /// The other region.
    pub fn other(self) -> Role {
        match self {
            Role::Primary => Role::Secondary,
            Role::Secondary => Role::Primary,
        }
    }

    /// Both roles, primary first.
    pub fn both() -> [Role; 2] {
        [Role::Primary, Role::Secondary]
    }
}

/// A change (or an undo) that was made to an environment.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Applied {
    /// When the change took effect, on the system monotonic clock.
    pub effective_at: MonoNs,
    /// Whether anything changed (false when it was already so).
    pub changed: bool,
}

/// Whether trying a failed change again can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Transient: throttled, timed out, unreachable, a 5xx. Try again.
    Helps,
    /// Permanent: denied, not found, invalid. Trying again only repeats it.
    Useless,
}

/// A change, an undo or its verification that failed, with whether a retry
/// can help. The message names what, where and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ChangeError {
    /// One line: what failed, on which resource, and what to do.
    pub message: String,
    /// Whether a retry can help.
    pub retry: Retry,
}

impl ChangeError {
    /// A failure a retry can get past.
    pub fn transient(message: impl Into<String>) -> ChangeError {
        ChangeError {
            message: message.into(),
            retry: Retry::Helps,
        }
    }

    /// A failure a retry only repeats.
    pub fn permanent(message: impl Into<String>) -> ChangeError {
        ChangeError {
            message: message.into(),
            retry: Retry::Useless,
        }
    }

    /// Whether a retry can help.
    pub fn retryable(&self) -> bool {
        self.retry == Retry::Helps
    }

    /// The same failure, its message prefixed with what was being done.
    pub fn context(self, doing: impl std::fmt::Display) -> ChangeError {
        ChangeError {
            message: format!("{doing}: {}", self.message),
            retry: self.retry,
        }
    }
}

/// A plain message is a permanent failure: code that knows a failure is
/// transient says so with [`ChangeError::transient`].
impl From<String> for ChangeError {
    fn from(message: String) -> ChangeError {
        ChangeError::permanent(message)
    }
}

impl From<&str> for ChangeError {
    fn from(message: &str) -> ChangeError {
        ChangeError::permanent(message)
    }
}

impl From<ChangeError> for String {
    fn from(e: ChangeError) -> String {
        e.message
    }
}

/// How gameday exits: the one place the codes 0-5 are defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitStatus {
    /// 0: every objective met (or a command did what it was asked).
    Ok,
    /// 1: an objective breached (the report says which).
    Breached,
    /// 2: invalid input: scenario, flags, credentials, a guard refused to start.
    Invalid,
    /// 3: aborted (stop condition, signal, timeout before recovery); everything reverted.
    Aborted,
    /// 4: revert incomplete: a person must look; the journal path is printed.
    RevertIncomplete,
    /// 5: the run finished and its revert is complete, but its report could
    /// not be written (the verdict was printed; the file is named).
    ReportMissing,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Ok => 0,
            ExitStatus::Breached => 1,
            ExitStatus::Invalid => 2,
            ExitStatus::Aborted => 3,
            ExitStatus::RevertIncomplete => 4,
            ExitStatus::ReportMissing => 5,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        ExitCode::from(s.code())
    }
}

/// `s` with every control character escaped (`\u{1b}`), so text read from a
/// file or an API cannot move the cursor, recolour or hide lines of a
/// terminal.
pub fn printable(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_unicode().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// `s` as one shell word: as is when it is plain, else single-quoted, so a
/// command gameday prints can be pasted.
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:@,".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Formats a millisecond figure for people: `750ms`, `3.20s`.
pub fn fmt_ms(ms: f64) -> String {
    if ms.abs() < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

/// Writes `text` and a newline to stdout. A closed or broken stdout (the
/// reader of a pipe went away) is no reason to stop a run or a revert half
/// way: the error is ignored, where println! would panic.
pub fn outln(text: std::fmt::Arguments) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// As [`outln`], without the newline.
pub fn out(text: std::fmt::Arguments) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = write!(stdout, "{text}");
    let _ = stdout.flush();
}

/// As [`outln`], on stderr.
pub fn errln(text: std::fmt::Arguments) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_the_documented_ones() {
        let codes: Vec<u8> = [
            ExitStatus::Ok,
            ExitStatus::Breached,
            ExitStatus::Invalid,
            ExitStatus::Aborted,
            ExitStatus::RevertIncomplete,
            ExitStatus::ReportMissing,
        ]
        .iter()
        .map(|s| s.code())
        .collect();
        assert_eq!(codes, vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn shell_words_paste_back_as_one_argument() {
        assert_eq!(shell_word("/var/tmp/reports"), "/var/tmp/reports");
        assert_eq!(shell_word("my reports"), "'my reports'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn plain_messages_are_permanent() {
        let e: ChangeError = "no such target group".into();
        assert!(!e.retryable());
        assert!(ChangeError::transient("throttled").retryable());
        assert_eq!(
            ChangeError::transient("x")
                .context("undo of step 2")
                .to_string(),
            "undo of step 2: x"
        );
    }
}
