//! `gameday revert` and `gameday status`: finish what interrupted runs left
//! behind, and list what is still pending.

use super::runtime;
use crate::revert::{self, PendingRun};
use crate::words::ExitStatus;
use std::path::Path;

fn pending_or_report(dir: &Path) -> Result<Vec<PendingRun>, ExitStatus> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    revert::pending_runs(dir).map_err(|e| {
        eprintln!(
            "gameday: {}: cannot read the run journals: {e}",
            dir.display()
        );
        ExitStatus::Invalid
    })
}

/// Lists runs with pending undos.
pub fn status(dir: &Path) -> ExitStatus {
    let pending = match pending_or_report(dir) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if pending.is_empty() {
        println!("no run under {} has pending undos", dir.display());
        return ExitStatus::Ok;
    }
    for run in &pending {
        let at = match (&run.control, &run.profile) {
            (Some(c), _) => format!("lab at {c}"),
            (None, Some(p)) => format!("profile {p}"),
            (None, None) => "default credentials".into(),
        };
        println!(
            "{} ({}, {at}): {} pending undo(s), journal {}",
            run.run_id,
            run.target,
            run.pending.len(),
            run.journal.display()
        );
        for (step, undo) in &run.pending {
            println!("  step {}: {}", step + 1, undo.summary());
        }
    }
    println!("finish them with: gameday revert {}", dir.display());
    ExitStatus::Ok
}

/// Restores every subnet any gameday run severed in `regions`, from the deny
/// ACLs' tags alone (the journal may be lost); 0 when all were restored.
pub fn sweep(regions: &[String], profile: Option<&str>) -> ExitStatus {
    if regions.is_empty() {
        eprintln!(
            "gameday: --sweep needs the regions to look in: --region us-east-1 --region us-west-2"
        );
        return ExitStatus::Invalid;
    }
    if let Some(bad) = regions.iter().find(|r| !crate::aws::params::is_region(r)) {
        eprintln!("gameday: --region {bad} is not an AWS region name; write it like us-east-1");
        return ExitStatus::Invalid;
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let outcome = rt.block_on(async {
        let clients = crate::aws::AwsClients::load(profile).await;
        crate::aws::sweep::sweep(&clients, regions).await
    });
    match outcome {
        Ok(restored) if restored.is_empty() => {
            println!(
                "nothing to sweep: no gameday deny ACL in {}",
                regions.join(", ")
            );
            ExitStatus::Ok
        }
        Ok(restored) => {
            for r in restored {
                println!("restored: {r}");
            }
            ExitStatus::Ok
        }
        Err((restored, why)) => {
            for r in restored {
                println!("restored: {r}");
            }
            eprintln!("gameday: sweep incomplete: {why}");
            ExitStatus::RevertIncomplete
        }
    }
}

/// Applies every pending undo; 0 when everything was restored, 4 otherwise.
pub fn revert(dir: &Path, profile: Option<&str>) -> ExitStatus {
    let pending = match pending_or_report(dir) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if pending.is_empty() {
        println!(
            "nothing to revert: no run under {} has pending undos",
            dir.display()
        );
        return ExitStatus::Ok;
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let mut incomplete = false;
    for run in &pending {
        let finished = rt.block_on(revert::finish(run, profile));
        if finished.failures.is_empty() {
            println!("{}: restored", run.run_id);
        }
        for r in &finished.restored {
            println!("  {r}");
        }
        if !finished.failures.is_empty() {
            incomplete = true;
            eprintln!(
                "gameday: {}: revert incomplete: {}; journal {}",
                run.run_id,
                finished.failures.join("; "),
                run.journal.display()
            );
        }
    }
    if incomplete {
        ExitStatus::RevertIncomplete
    } else {
        ExitStatus::Ok
    }
}
