//! `gameday revert` and `gameday status`: finish what interrupted runs left
//! behind, and list what is still pending.

use super::runtime;
use crate::revert::{self, PendingRun, RevertOptions};
use crate::words::{printable, ExitStatus};
use std::path::Path;

fn pending_or_report(dir: &Path) -> Result<Vec<PendingRun>, ExitStatus> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    match revert::pending_runs(dir) {
        Ok((pending, unreadable)) => {
            for line in unreadable {
                crate::words::errln(format_args!("gameday: {}", printable(&line)));
            }
            Ok(pending)
        }
        Err(e) => {
            crate::words::errln(format_args!(
                "gameday: {}: cannot read the run journals: {e}",
                dir.display()
            ));
            Err(ExitStatus::Invalid)
        }
    }
}

/// Lists runs with pending undos. Everything read from a journal is printed
/// with control characters escaped, so an entry cannot disguise itself.
pub fn status(dir: &Path, json: bool) -> ExitStatus {
    let pending = match pending_or_report(dir) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if json {
        super::json::print(&super::json::StatusDoc::of(dir, &pending));
        return ExitStatus::Ok;
    }
    if pending.is_empty() {
        crate::words::outln(format_args!(
            "no run under {} has pending undos",
            dir.display()
        ));
        return ExitStatus::Ok;
    }
    for run in &pending {
        crate::words::out(format_args!("{}", printable_status(run)));
    }
    if pending.iter().any(|r| !r.live) {
        crate::words::outln(format_args!(
            "finish them with: gameday revert {}",
            dir.display()
        ));
    }
    ExitStatus::Ok
}

/// Why a revert leaves a live run alone, and how to override it.
fn live_run_skipped(run: &PendingRun) -> String {
    format!(
        "skipping {}: in progress ({}); it reverts its own changes when it ends. If it is stuck, stop it (Ctrl-C, or kill -INT its pid); if it is dead, pass --force",
        printable(&run.run_id),
        printable(&run.whereabouts())
    )
}

fn printable_status(run: &PendingRun) -> String {
    let at = match (&run.control, &run.scope, &run.profile) {
        (Some(c), _, _) => format!("lab at {}", printable(c)),
        (None, Some(s), Some(p)) => format!(
            "account {}, run with profile {}",
            printable(&s.account),
            printable(p)
        ),
        (None, Some(s), None) => format!("account {}", printable(&s.account)),
        (None, None, _) => "no recorded account".into(),
    };
    let started = run
        .started
        .map(|t| format!(", started {}", t.format("%Y-%m-%dT%H:%M:%SZ")))
        .unwrap_or_default();
    let state = if run.live {
        format!("in progress ({})", printable(&run.whereabouts()))
    } else {
        format!("{} pending undo(s)", run.pending.len())
    };
    let mut out = format!(
        "{} ({}, {at}{started}): {state}, journal {}\n",
        printable(&run.run_id),
        printable(&run.target),
        printable(&run.journal.display().to_string())
    );
    if let Err(why) = revert::trust::offline(run, chrono::Utc::now(), false) {
        out.push_str(&format!("  not trusted: {}\n", printable(&why)));
    }
    for p in &run.pending {
        let step = if p.undo.is_lease() {
            "lease".to_string()
        } else {
            format!("step {}", p.step + 1)
        };
        out.push_str(&format!("  {step}: {}\n", printable(&p.undo.summary())));
    }
    out
}

/// Restores every subnet any gameday run severed in `regions` of `account`,
/// from the deny ACLs (the journal may be lost); 0 when all were restored.
pub fn sweep(regions: &[String], account: &str, profile: Option<&str>, yes: bool) -> ExitStatus {
    if let Err(why) = sweep_arguments(regions, account) {
        crate::words::errln(format_args!("gameday: {why}"));
        return ExitStatus::Invalid;
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let confirm = |caller: &str| {
        let what = format!(
            "The sweep restores every subnet a gameday deny ACL severs in {} of account {caller}.",
            regions.join(", ")
        );
        crate::aws::guard::confirm(caller, &what, "`gameday revert --help`", yes)
    };
    let outcome = rt.block_on(async {
        let clients = crate::aws::AwsClients::load(profile).await;
        crate::aws::sweep::sweep(&clients, regions, account, confirm).await
    });
    let (swept, stopped) = match outcome {
        Ok(swept) => (swept, None),
        Err((swept, why)) => (swept, Some(why)),
    };
    for r in &swept.restored {
        crate::words::outln(format_args!("restored: {}", printable(r)));
    }
    for r in &swept.refused {
        crate::words::errln(format_args!("gameday: not restored: {}", printable(r)));
    }
    if let Some(why) = stopped {
        crate::words::errln(format_args!(
            "gameday: sweep incomplete: {}",
            printable(&why)
        ));
        return ExitStatus::RevertIncomplete;
    }
    if !swept.refused.is_empty() {
        return ExitStatus::RevertIncomplete;
    }
    if swept.restored.is_empty() {
        crate::words::outln(format_args!(
            "nothing to sweep: no gameday deny ACL in {}",
            regions.join(", ")
        ));
    }
    ExitStatus::Ok
}

fn sweep_arguments(regions: &[String], account: &str) -> Result<(), String> {
    if regions.is_empty() {
        return Err(
            "--sweep needs the regions to look in: --region us-east-1 --region us-west-2".into(),
        );
    }
    if let Some(bad) = regions.iter().find(|r| !crate::aws::params::is_region(r)) {
        return Err(format!(
            "--region {} is not an AWS region name; write it like us-east-1",
            printable(bad)
        ));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "--account {} is not a 12-digit AWS account id; the sweep acts only in the account you name",
            printable(account)
        ));
    }
    Ok(())
}

/// Applies every pending undo; 0 when everything was restored, 4 otherwise.
/// On AWS it asks STS who the caller is first and needs `--yes` or the
/// account id typed at a terminal.
pub fn revert(dir: &Path, opts: &RevertOptions, yes: bool) -> ExitStatus {
    let pending = match pending_or_report(dir) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if pending.is_empty() {
        crate::words::outln(format_args!(
            "nothing to revert: no run under {} has pending undos",
            dir.display()
        ));
        return ExitStatus::Ok;
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let mut incomplete = false;
    for run in &pending {
        if run.live && !opts.force {
            crate::words::outln(format_args!("{}", live_run_skipped(run)));
            continue;
        }
        let confirm = |account: &str| {
            let what = printable_status(run);
            crate::aws::guard::confirm(account, &what, "`gameday status`", yes)
        };
        let finished = rt.block_on(revert::finish(run, opts, confirm));
        let id = printable(&run.run_id);
        if finished.failures.is_empty() {
            crate::words::outln(format_args!("{id}: restored"));
        }
        for r in &finished.restored {
            crate::words::outln(format_args!("  {}", printable(r)));
        }
        if !finished.failures.is_empty() {
            incomplete = true;
            crate::words::errln(format_args!(
                "gameday: {id}: revert incomplete: {}; journal {}",
                printable(&finished.failures.join("; ")),
                run.journal.display()
            ));
        }
    }
    if incomplete {
        ExitStatus::RevertIncomplete
    } else {
        ExitStatus::Ok
    }
}
