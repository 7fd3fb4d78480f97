//! `gameday revert` and `gameday status`: finish what interrupted runs left
//! behind, and list what is still pending.

use super::{runtime, EXIT_INVALID};
use crate::revert::{self, PendingRun};
use std::path::Path;

/// Exit code when a person must look (DESIGN.md).
const EXIT_REVERT_INCOMPLETE: u8 = 4;

fn pending_or_report(dir: &Path) -> Result<Vec<PendingRun>, u8> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    revert::pending_runs(dir).map_err(|e| {
        eprintln!(
            "gameday: {}: cannot read the run journals: {e}",
            dir.display()
        );
        EXIT_INVALID
    })
}

/// Lists runs with pending undos.
pub fn status(dir: &Path) -> u8 {
    let pending = match pending_or_report(dir) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if pending.is_empty() {
        println!("no run under {} has pending undos", dir.display());
        return 0;
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
    0
}

/// Restores every subnet any gameday run severed in `regions`, from the deny
/// ACLs' tags alone (the journal may be lost); 0 when all were restored.
pub fn sweep(regions: &[String], profile: Option<&str>) -> u8 {
    if regions.is_empty() {
        eprintln!(
            "gameday: --sweep needs the regions to look in: --region us-east-1 --region us-west-2"
        );
        return EXIT_INVALID;
    }
    if let Some(bad) = regions.iter().find(|r| !crate::aws::params::is_region(r)) {
        eprintln!("gameday: --region {bad} is not an AWS region name; write it like us-east-1");
        return EXIT_INVALID;
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
            0
        }
        Ok(restored) => {
            for r in restored {
                println!("restored: {r}");
            }
            0
        }
        Err((restored, why)) => {
            for r in restored {
                println!("restored: {r}");
            }
            eprintln!("gameday: sweep incomplete: {why}");
            EXIT_REVERT_INCOMPLETE
        }
    }
}

/// Applies every pending undo; 0 when everything was restored, 4 otherwise.
pub fn revert(dir: &Path, profile: Option<&str>) -> u8 {
    let pending = match pending_or_report(dir) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if pending.is_empty() {
        println!(
            "nothing to revert: no run under {} has pending undos",
            dir.display()
        );
        return 0;
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let mut incomplete = false;
    for run in &pending {
        match rt.block_on(revert::finish(run, profile)) {
            Ok(restored) => {
                println!("{}: restored", run.run_id);
                for r in restored {
                    println!("  {r}");
                }
            }
            Err((restored, why)) => {
                incomplete = true;
                for r in restored {
                    println!("  {r}");
                }
                eprintln!(
                    "gameday: {}: revert incomplete: {why}; journal {}",
                    run.run_id,
                    run.journal.display()
                );
            }
        }
    }
    if incomplete {
        EXIT_REVERT_INCOMPLETE
    } else {
        0
    }
}
