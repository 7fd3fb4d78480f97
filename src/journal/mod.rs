//! The write-ahead journal of every change a run makes to an environment.
//!
//! Each change is written, with its undo, and fsynced *before* it is made; each
//! completed change and each undo is appended after it happens. The process can
//! die between any two lines and the journal still says what to put back.

use crate::plan::Action;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The account a run acted in and what its scenario allowed: a revert
/// applies an undo only inside this scope, and only with credentials for
/// this account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsScope {
    /// The caller's account at the start of the run (STS).
    pub account: String,
    /// The scenario's `allowed_accounts`.
    pub allowed_accounts: Vec<String>,
    /// The scenario's allowed regions.
    pub allowed_regions: Vec<String>,
}

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
        /// The AWS profile the run used, if one was named. Shown by `status`;
        /// a revert uses only the `--profile` it is given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile: Option<String>,
        /// Where the run was allowed to act (AWS); a revert checks it again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<AwsScope>,
        /// SHA-256 of the scenario file the run read, hex.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        scenario_sha256: String,
        /// The lab's control token (lab runs), so a revert can reach it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lab_token: Option<String>,
        /// The run's process id, for `status` beside a live run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
        /// The machine it runs on: a folder shared between machines cannot
        /// rely on the file lock alone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
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
    Ok(read_timed(path)?.into_iter().map(|(_, e)| e).collect())
}

/// Journals larger than this are not journals gameday wrote (a run writes a
/// few lines per change); reading stops there.
pub const MAX_BYTES: u64 = 4 << 20;

#[derive(Deserialize)]
struct TimedLine {
    #[serde(default)]
    at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    entry: JournalEntry,
}

/// Every entry with the wall time it was written at (when recorded).
pub fn read_timed(path: &Path) -> std::io::Result<Vec<(Option<DateTime<Utc>>, JournalEntry)>> {
    use std::io::Read;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let mut text = String::new();
    file.take(MAX_BYTES).read_to_string(&mut text)?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str::<TimedLine>(l).ok())
        .map(|l| (l.at, l.entry))
        .collect())
}

#[derive(Serialize)]
struct Line<'a> {
    at: DateTime<Utc>,
    #[serde(flatten)]
    entry: &'a JournalEntry,
}

/// The journal step of the run's lease: after every planned step, and
/// released after all of them (a revert puts lease undos last).
pub const LEASE_STEP: usize = 1_000_000;

/// This machine's name, as journals record it.
pub fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// "pid P on host H", as far as known: how status, revert and the lease name
/// a run's process.
pub fn whereabouts(pid: Option<u32>, host: Option<&str>) -> String {
    let pid = pid.map_or_else(|| "pid unknown".into(), |p| format!("pid {p}"));
    format!("{pid} on host {}", host.unwrap_or("unknown"))
}

/// Whether another process holds the journal's lock: a run that is still
/// going (it holds it from its first entry until its report is written) or
/// a revert at work.
pub fn held_elsewhere(path: &Path) -> std::io::Result<bool> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    match flock(&file, libc::LOCK_SH) {
        Ok(()) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(true),
        Err(e) => Err(e),
    }
}

/// `flock(2)` without waiting; the lock lives as long as `file` stays open.
fn flock(file: &File, how: libc::c_int) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), how | libc::LOCK_NB) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Room a journal reserves on disk when it is made: a run writes a few
/// hundred bytes per change, so a disk that fills up during the run (logs,
/// another job) cannot stop it recording what to undo.
pub const RESERVED_BYTES: i64 = 64 << 10;

/// Allocates the journal's room without changing its size (readers see only
/// what was written). A filesystem that cannot preallocate is used as is.
fn reserve(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: fallocate on a descriptor we own; KEEP_SIZE leaves the size alone.
    let rc = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            libc::FALLOC_FL_KEEP_SIZE,
            0,
            RESERVED_BYTES,
        )
    };
    match std::io::Error::last_os_error() {
        _ if rc == 0 => Ok(()),
        e if e.raw_os_error() == Some(libc::EOPNOTSUPP) => Ok(()),
        e => Err(e),
    }
}

/// An open journal.
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Creates the journal at `path`, in a run folder made for it: a new
    /// 0600 file (never through a symlink, never an existing one), and the
    /// folder fsynced so the journal itself survives a crash.
    pub fn create(path: &Path) -> std::io::Result<Journal> {
        let file = crate::files::create_new(path)?;
        flock(&file, libc::LOCK_EX)?;
        reserve(&file)?;
        if let Some(dir) = path.parent() {
            crate::files::sync_dir(dir)?;
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Opens an existing journal to append to it (a revert). The caller has
    /// checked that it is the invoking user's own; a symlink is refused.
    /// Another process holding it (a live run, another revert) is an error
    /// of kind `WouldBlock`, unless `force`.
    pub fn append_to(path: &Path, force: bool) -> std::io::Result<Journal> {
        let file = crate::files::open_append(path)?;
        match flock(&file, libc::LOCK_EX) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && !force => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    "another gameday process holds it (the run is still going, or a revert is)",
                ))
            }
            _ => {}
        }
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
        crate::crash::io_fault("journal-append")?;
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
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut j = Journal::create(&path).unwrap();
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
        // Its room was reserved up front; readers see only what was written.
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.len(), text.len() as u64);
        assert!(
            meta.blocks() * 512 >= RESERVED_BYTES as u64,
            "{}",
            meta.blocks()
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
