//! Finishing what a run left undone: every run folder whose journal has a change
//! without its undo is pending; `gameday revert` applies those undos in reverse
//! order, journaled like any other, and `gameday status` lists them.
//!
//! Undos are idempotent (applying one twice is harmless), so an undo whose
//! intent was journaled but whose completion was not is simply applied again.

pub mod trust;

use crate::environment::Appliers;
use crate::journal::{self, AwsScope, Journal, JournalEntry};
use crate::lab::LabClient;
use crate::plan::Action;
use crate::undo::{self, Caller, RetryPolicy};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One undo a journal still owes, with the change it undoes (a revert checks
/// that the one is the undo of the other).
#[derive(Debug, Clone, Serialize)]
pub struct PendingUndo {
    /// Step index.
    pub step: usize,
    /// The change the run made (or may have made).
    pub change: Action,
    /// Its undo.
    pub undo: Action,
}

/// A run with changes still in place.
#[derive(Debug, Clone, Serialize)]
pub struct PendingRun {
    /// Run id.
    pub run_id: String,
    /// Its journal.
    pub journal: PathBuf,
    /// Target (`lab` or `aws`).
    pub target: String,
    /// Where the lab's control API was.
    pub control: Option<String>,
    /// The lab's control token.
    #[serde(skip)]
    pub lab_token: Option<String>,
    /// The AWS profile the run used (shown; a revert uses only `--profile`).
    pub profile: Option<String>,
    /// Where the run was allowed to act (AWS).
    pub scope: Option<AwsScope>,
    /// When the run started (its first journal line), if recorded.
    pub started: Option<DateTime<Utc>>,
    /// Its process id and machine, as it recorded them.
    pub pid: Option<u32>,
    /// The machine it ran on.
    pub host: Option<String>,
    /// Whether it looks alive: another process holds its journal, or it
    /// ran on another machine and never journaled its end.
    pub live: bool,
    /// Undos still to apply, in the order to apply them (newest change first).
    pub pending: Vec<PendingUndo>,
}

impl PendingRun {
    fn from_journal(journal_path: &Path) -> PendingRun {
        PendingRun {
            run_id: journal_path
                .parent()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            journal: journal_path.to_path_buf(),
            target: "lab".into(),
            control: None,
            lab_token: None,
            profile: None,
            scope: None,
            started: None,
            pid: None,
            host: None,
            live: false,
            pending: Vec::new(),
        }
    }

    /// "pid 123 on host h since 2026-11-30T07:00:00Z", as far as recorded.
    pub fn whereabouts(&self) -> String {
        let since = self
            .started
            .map(|t| format!(" since {}", t.format("%Y-%m-%dT%H:%M:%SZ")))
            .unwrap_or_default();
        format!(
            "{}{since}",
            journal::whereabouts(self.pid, self.host.as_deref())
        )
    }

    /// The lab the journal names, with its token.
    pub fn lab(&self) -> Option<LabClient> {
        Some(LabClient::new(
            self.control.as_deref()?.parse().ok()?,
            self.lab_token.clone()?,
        ))
    }
}

/// The pending undos of one journal, if any.
pub fn pending_in(journal_path: &Path) -> std::io::Result<Option<PendingRun>> {
    let mut run = PendingRun::from_journal(journal_path);
    let mut intents: BTreeMap<usize, (Action, Action)> = BTreeMap::new();
    let mut undone = BTreeSet::new();
    let mut ended = false;
    for (at, e) in journal::read_timed(journal_path)? {
        match e {
            JournalEntry::RunStart {
                run_id,
                target,
                control,
                profile,
                scope,
                lab_token,
                pid,
                host,
                ..
            } => {
                run.pid = pid;
                run.host = host;
                run.run_id = run_id;
                run.target = target;
                run.control = Some(control).filter(|c| !c.is_empty());
                run.profile = profile;
                run.scope = scope;
                run.lab_token = lab_token;
                run.started = at;
            }
            JournalEntry::Intent { step, action, undo } => {
                intents.insert(step, (action, undo));
            }
            JournalEntry::Undone { step } => {
                undone.insert(step);
            }
            JournalEntry::RunEnd { .. } => ended = true,
            JournalEntry::Applied { .. } | JournalEntry::UndoIntent { .. } => {}
        }
    }
    let elsewhere = run
        .host
        .as_ref()
        .is_some_and(|h| *h != journal::this_host());
    run.live = journal::held_elsewhere(journal_path)? || (elsewhere && !ended);
    // Every change whose intent was journaled may have happened: undo it.
    run.pending = intents
        .into_iter()
        .rev()
        .filter(|(step, _)| !undone.contains(step))
        .map(|(step, (change, undo))| PendingUndo { step, change, undo })
        .collect();
    // The lease goes last: the environment is put back before another run may start.
    run.pending.sort_by_key(|p| p.undo.is_lease());
    Ok((!run.pending.is_empty()).then_some(run))
}

/// Every run under `reports` with pending undos, oldest first, and one line
/// for each journal that could not be read (a symlink, a folder, unreadable):
/// one bad journal does not hide the others.
pub fn pending_runs(reports: &Path) -> std::io::Result<(Vec<PendingRun>, Vec<String>)> {
    let mut journals: Vec<PathBuf> = std::fs::read_dir(reports)?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("journal.jsonl"))
        .filter(|p| std::fs::symlink_metadata(p).is_ok())
        .collect();
    journals.sort();
    let mut out = Vec::new();
    let mut unreadable = Vec::new();
    for j in journals {
        match pending_in(&j) {
            Ok(Some(p)) => out.push(p),
            Ok(None) => {}
            Err(e) => unreadable.push(format!(
                "{}: cannot read the journal ({e}); gameday never follows a symlink here",
                j.display()
            )),
        }
    }
    Ok((out, unreadable))
}

/// How to revert: the caller's choices.
#[derive(Debug, Clone, Default)]
pub struct RevertOptions {
    /// `--profile`: the only profile a revert uses (a journal's is ignored).
    pub profile: Option<String>,
    /// `--force`: revert journals older than [`trust::MAX_AGE`], and runs
    /// that look alive.
    pub force: bool,
}

/// What `gameday revert` did for one run.
pub struct Finished {
    /// Undos made and verified, in order.
    pub restored: Vec<String>,
    /// What could not be put back (or recorded), one line each.
    pub failures: Vec<String>,
}

/// Checks the journal (file, age, undo kinds, scope), loads what applies
/// its undos, asks STS who the caller is and `confirm` whether to change
/// that account; only then applies the undos through the undo executor,
/// journaled.
pub async fn finish(
    run: &PendingRun,
    opts: &RevertOptions,
    confirm: impl FnOnce(&str) -> Result<(), String>,
) -> Finished {
    match checked(run, opts, confirm).await {
        Ok((appliers, journal)) => apply(run, &appliers, journal).await,
        Err(why) => Finished {
            restored: Vec::new(),
            // The caller names the journal once, beside every failure.
            failures: vec![why],
        },
    }
}

async fn checked(
    run: &PendingRun,
    opts: &RevertOptions,
    confirm: impl FnOnce(&str) -> Result<(), String>,
) -> Result<(Appliers, Journal), String> {
    trust::offline(run, Utc::now(), opts.force)?;
    let undos = run.pending.iter().map(|p| &p.undo);
    let appliers = Appliers::for_undos(undos, run.lab(), opts.profile.as_deref()).await?;
    if let (Some(clients), Some(scope)) = (&appliers.aws, &run.scope) {
        let account = trust::account(clients, scope).await?;
        confirm(&account)?;
    }
    let journal = Journal::append_to(&run.journal, opts.force)
        .map_err(|e| format!("cannot append to {}: {e}", run.journal.display()))?;
    Ok((appliers, journal))
}

async fn apply(run: &PendingRun, appliers: &Appliers, mut journal: Journal) -> Finished {
    let undos: Vec<(usize, Action)> = run
        .pending
        .iter()
        .map(|p| (p.step, p.undo.clone()))
        .collect();
    let results = undo::undo_all(
        appliers,
        &mut journal,
        &undos,
        RetryPolicy::within(crate::undo::DEFAULT_REVERT_TIMEOUT),
        Caller::Revert,
    )
    .await;
    let mut finished = Finished {
        restored: Vec::new(),
        failures: Vec::new(),
    };
    for r in results {
        match &r.outcome {
            Ok(_) => finished.restored.push(r.summary.clone()),
            Err(e) => finished.failures.push(e.to_string()),
        }
        finished.failures.extend(r.journal_error);
    }
    finished
}
