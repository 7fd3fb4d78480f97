//! Finishing what a run left undone: every run folder whose journal has a change
//! without its undo is pending; `gameday revert` applies those undos in reverse
//! order, journaled like any other, and `gameday status` lists them.
//!
//! Undos are idempotent (applying one twice is harmless), so an undo whose
//! intent was journaled but whose completion was not is simply applied again.

use crate::environment::Appliers;
use crate::journal::{self, Journal, JournalEntry};
use crate::plan::Action;
use crate::undo::{self, Caller, RetryPolicy};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A run with changes still in place.
#[derive(Debug, Clone, Serialize)]
pub struct PendingRun {
    /// Run id.
    pub run_id: String,
    /// Its journal.
    pub journal: PathBuf,
    /// Target (`lab`).
    pub target: String,
    /// Where the lab's control API was.
    pub control: Option<String>,
    /// The AWS profile the run used.
    pub profile: Option<String>,
    /// Undos still to apply, in the order to apply them (newest change first).
    pub pending: Vec<(usize, Action)>,
}

/// The pending undos of one journal, if any.
pub fn pending_in(journal_path: &Path) -> std::io::Result<Option<PendingRun>> {
    let entries = journal::read(journal_path)?;
    let mut run_id = journal_path
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut target = "lab".to_string();
    let mut control = None;
    let mut profile = None;
    let mut undos: BTreeMap<usize, Action> = BTreeMap::new();
    let mut undone = BTreeSet::new();
    for e in entries {
        match e {
            JournalEntry::RunStart {
                run_id: id,
                target: t,
                control: c,
                profile: p,
            } => {
                run_id = id;
                target = t;
                control = Some(c).filter(|c| !c.is_empty());
                profile = p;
            }
            JournalEntry::Intent { step, undo, .. } => {
                undos.insert(step, undo);
            }
            JournalEntry::Undone { step } => {
                undone.insert(step);
            }
            JournalEntry::Applied { .. }
            | JournalEntry::UndoIntent { .. }
            | JournalEntry::RunEnd { .. } => {}
        }
    }
    // Every change whose intent was journaled may have happened: undo it.
    let pending: Vec<(usize, Action)> = undos
        .into_iter()
        .rev()
        .filter(|(step, _)| !undone.contains(step))
        .collect();
    Ok((!pending.is_empty()).then_some(PendingRun {
        run_id,
        journal: journal_path.to_path_buf(),
        target,
        control,
        profile,
        pending,
    }))
}

/// Every run under `reports` with pending undos, oldest first.
pub fn pending_runs(reports: &Path) -> std::io::Result<Vec<PendingRun>> {
    let mut journals: Vec<PathBuf> = std::fs::read_dir(reports)?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("journal.jsonl"))
        .filter(|p| p.is_file())
        .collect();
    journals.sort();
    let mut out = Vec::new();
    for j in journals {
        if let Some(p) = pending_in(&j)? {
            out.push(p);
        }
    }
    Ok(out)
}

/// What `gameday revert` did for one run.
pub struct Finished {
    /// Undos made and verified, in order.
    pub restored: Vec<String>,
    /// What could not be put back (or recorded), one line each.
    pub failures: Vec<String>,
}

/// Applies one run's pending undos through the undo executor, journaled.
pub async fn finish(run: &PendingRun, profile: Option<&str>) -> Finished {
    let failed = |why: String| Finished {
        restored: Vec::new(),
        failures: vec![why],
    };
    let undos = run.pending.iter().map(|(_, a)| a);
    let appliers = match Appliers::for_undos(
        undos,
        run.control.as_deref(),
        profile.or(run.profile.as_deref()),
    )
    .await
    {
        Ok(a) => a,
        Err(e) => return failed(format!("{e} ({})", run.journal.display())),
    };
    let mut journal = match Journal::open(&run.journal) {
        Ok(j) => j,
        Err(e) => return failed(format!("cannot append to {}: {e}", run.journal.display())),
    };
    let results = undo::undo_all(
        &appliers,
        &mut journal,
        &run.pending,
        RetryPolicy::default(),
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
