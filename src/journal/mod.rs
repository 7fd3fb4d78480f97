//! The write-ahead journal of every change a run makes to an environment.
//!
//! Each change is written, with its undo, and fsynced *before* it is made; each
//! completed change and each undo is appended after it happens. The process can
//! die between any two lines and the journal still says what to put back.

use crate::plan::Action;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum JournalEntry {
    /// The run started against an environment.
    RunStart {
        /// Run id.
        run_id: String,
        /// `lab` or `aws`.
        target: String,
        /// Where the lab's control API is (empty on AWS).
        control: String,
        /// The AWS profile the run used, if one was named.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile: Option<String>,
    },
    /// A change is about to be made.
    Intent {
        /// Step index.
        step: usize,
        /// The change.
        action: Action,
        /// Its undo.
        undo: Action,
    },
    /// The change was made.
    Applied {
        /// Step index.
        step: usize,
    },
    /// An undo is about to be made.
    UndoIntent {
        /// Step index.
        step: usize,
    },
    /// The undo was made.
    Undone {
        /// Step index.
        step: usize,
    },
    /// The run ended.
    RunEnd {
        /// Outcome, as in the report.
        outcome: String,
    },
}

impl JournalEntry {
    /// The entry's `event` name, as written.
    pub fn event_name(&self) -> &'static str {
        match self {
            JournalEntry::RunStart { .. } => "run-start",
            JournalEntry::Intent { .. } => "intent",
            JournalEntry::Applied { .. } => "applied",
            JournalEntry::UndoIntent { .. } => "undo-intent",
            JournalEntry::Undone { .. } => "undone",
            JournalEntry::RunEnd { .. } => "run-end",
        }
    }
}

/// Reads every entry of a journal. A torn last line (the process died while
/// writing it) is skipped: the entry before it is the last that happened.
pub fn read(path: &Path) -> std::io::Result<Vec<JournalEntry>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

#[derive(Serialize)]
struct Line<'a> {
    at: DateTime<Utc>,
    #[serde(flatten)]
    entry: &'a JournalEntry,
}

/// An open journal.
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Creates (or appends to) the journal at `path`.
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes every later write fail, as a full or broken disk would.
    #[cfg(test)]
    pub(crate) fn poison_for_tests(&mut self) {
        self.file = File::open("/dev/null").expect("/dev/null opens");
    }

    /// Appends one entry and fsyncs it before returning.
    pub fn append(&mut self, entry: &JournalEntry) -> std::io::Result<()> {
        let mut line = serde_json::to_string(&Line {
            at: Utc::now(),
            entry,
        })
        .map_err(std::io::Error::other)?;
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::LabCall;

    #[test]
    fn every_line_is_durable_json() {
        let dir = std::env::temp_dir().join(format!("gameday-journal-test-{}", std::process::id()));
        let path = dir.join("journal.jsonl");
        let _ = std::fs::remove_file(&path);
        let mut j = Journal::open(&path).unwrap();
        let call = LabCall::FailDatabase {
            region: "me-central-1".into(),
        };
        let undo = LabCall::RestoreDatabase {
            region: "me-central-1".into(),
        };
        j.append(&JournalEntry::Intent {
            step: 0,
            action: Action::Lab(call),
            undo: Action::Lab(undo),
        })
        .unwrap();
        j.append(&JournalEntry::Applied { step: 0 }).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"], "intent");
        assert_eq!(lines[0]["undo"]["call"], "restore-database");
        assert_eq!(lines[1]["event"], "applied");
        let _ = std::fs::remove_dir_all(dir);
    }
}
