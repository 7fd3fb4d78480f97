//! Finishing what a run left undone: every run folder whose journal has a change
//! without its undo is pending; `gameday revert` applies those undos in reverse
//! order, journaled like any other, and `gameday status` lists them.
//!
//! Undos are idempotent (applying one twice is harmless), so an undo whose
//! intent was journaled but whose completion was not is simply applied again.

use crate::journal::{self, Journal, JournalEntry};
use crate::lab::LabClient;
use crate::plan::Action;
use crate::target::Appliers;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
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

/// What can apply a run's undos: the lab its journal names, AWS clients
/// (with `profile`, or the run's own) when any undo is an AWS call.
async fn appliers_for(run: &PendingRun, profile: Option<&str>) -> Result<Appliers, String> {
    let needs_lab = run.pending.iter().any(|(_, a)| matches!(a, Action::Lab(_)));
    let needs_aws = run.pending.iter().any(|(_, a)| matches!(a, Action::Aws(_)));
    let lab = if needs_lab {
        match run.control.as_deref().map(str::parse::<SocketAddr>) {
            Some(Ok(addr)) => Some(LabClient { addr }),
            _ => {
                return Err(format!(
                    "the journal {} does not say where the lab is",
                    run.journal.display()
                ))
            }
        }
    } else {
        None
    };
    let aws = if needs_aws {
        Some(crate::aws::AwsClients::load(profile.or(run.profile.as_deref())).await)
    } else {
        None
    };
    Ok(Appliers { lab, aws })
}

/// Applies one run's pending undos, journaled. Returns what was restored, or
/// what was restored before the first undo that failed and why it failed.
pub async fn finish(
    run: &PendingRun,
    profile: Option<&str>,
) -> Result<Vec<String>, (Vec<String>, String)> {
    let mut restored: Vec<String> = Vec::new();
    let appliers = appliers_for(run, profile)
        .await
        .map_err(|e| (Vec::new(), e))?;
    let mut journal = Journal::open(&run.journal).map_err(|e| {
        (
            Vec::new(),
            format!("cannot append to {}: {e}", run.journal.display()),
        )
    })?;
    for (step, undo) in &run.pending {
        if let Err(e) = journal.append(&JournalEntry::UndoIntent { step: *step }) {
            return Err((restored, format!("cannot write the journal: {e}")));
        }
        crate::run::crash_point("revert-after-undo-intent");
        if let Err(e) = appliers.apply(undo).await {
            return Err((restored, e));
        }
        if let Err(e) = appliers.holds(undo).await {
            return Err((restored, format!("after {}: {e}", undo.summary())));
        }
        if let Err(e) = journal.append(&JournalEntry::Undone { step: *step }) {
            return Err((restored, format!("cannot write the journal: {e}")));
        }
        restored.push(undo.summary());
    }
    Ok(restored)
}
