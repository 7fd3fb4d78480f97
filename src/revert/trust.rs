//! What a revert checks before it applies anything a journal says. A journal
//! is a file others may have written or planted (a restored CI cache, a
//! shared folder), and revert runs with credentials that can break
//! production, so: the file must be the invoking user's own and writable by
//! nobody else, not older than [`MAX_AGE`] without `--force`, every undo
//! exactly the one gameday plans for its change, every region and ARN inside
//! the scope the run recorded, and on AWS the caller's account (asked of STS
//! before anything else) the run's own and still allowed.

use super::PendingRun;
use crate::aws::AwsClients;
use crate::journal::AwsScope;
use crate::plan::Action;
use chrono::{DateTime, Utc};
use std::path::Path;

/// Journals older than this need `--force`: a revert of a week-old run
/// would undo changes someone has long since built on.
pub const MAX_AGE: chrono::Duration = chrono::Duration::days(7);

/// Every check that needs no network, in the order a person would fix them.
pub fn offline(run: &PendingRun, now: DateTime<Utc>, force: bool) -> Result<(), String> {
    files(&run.journal)?;
    age(run, now, force)?;
    kinds(run)?;
    scope(run)
}

/// The journal, its run folder and the reports folder are the invoking
/// user's and writable by nobody else.
fn files(journal: &Path) -> Result<(), String> {
    let refused = |e: crate::files::Untrusted| {
        format!("refusing this journal: {e} (a journal anyone else could write is not trusted)")
    };
    crate::files::check_private_file(journal).map_err(refused)?;
    for dir in journal.ancestors().skip(1).take(2) {
        if !dir.as_os_str().is_empty() {
            crate::files::check_private_dir(dir).map_err(refused)?;
        }
    }
    Ok(())
}

fn age(run: &PendingRun, now: DateTime<Utc>, force: bool) -> Result<(), String> {
    let Some(started) = run.started else {
        return Err("refusing this journal: it records no start time; undo its changes by hand (`gameday status` lists them)".into());
    };
    let age = now - started;
    if age > MAX_AGE && !force {
        return Err(format!(
            "refusing this journal: the run started {} ({} days ago), more than {} days ago; check that its changes are still in place and what depends on them, then pass --force",
            started.format("%Y-%m-%dT%H:%M:%SZ"),
            age.num_days(),
            MAX_AGE.num_days()
        ));
    }
    Ok(())
}

/// Every undo is exactly what gameday plans for its change; a lease undo
/// releases only this run's own lease record.
fn kinds(run: &PendingRun) -> Result<(), String> {
    for p in &run.pending {
        if p.undo.is_lease() && !own_lease(&p.undo, &run.run_id) {
            return Err(format!(
                "refusing this journal: its lease undo \"{}\" is not the release of run {}'s own lease; nothing was applied",
                crate::words::printable(&p.undo.summary()),
                crate::words::printable(&run.run_id)
            ));
        }
        if !p.undo.is_undo_of(&p.change) {
            return Err(format!(
                "refusing this journal: step {} says its undo is \"{}\", which is not the undo of \"{}\"; the journal was not written by gameday as it stands; nothing was applied",
                p.step + 1,
                crate::words::printable(&p.undo.summary()),
                crate::words::printable(&p.change.summary()),
            ));
        }
    }
    Ok(())
}

/// Every AWS undo is inside the scope the run recorded.
fn scope(run: &PendingRun) -> Result<(), String> {
    let calls: Vec<&crate::aws::AwsCall> = run
        .pending
        .iter()
        .filter_map(|p| match &p.undo {
            Action::Aws(c) => Some(c),
            Action::Lab(_) => None,
        })
        .collect();
    if calls.is_empty() {
        return Ok(());
    }
    let Some(scope) = &run.scope else {
        return Err("refusing this journal: it changes AWS but records no account and allowed regions (an older gameday, or edited); undo its changes by hand (`gameday status` lists them) or with `gameday revert --sweep`".into());
    };
    for call in calls {
        if let Some(why) = outside(call, scope) {
            return Err(format!(
                "refusing this journal: \"{}\": {why}; nothing was applied",
                crate::words::printable(&call.summary())
            ));
        }
    }
    Ok(())
}

fn outside(call: &crate::aws::AwsCall, scope: &AwsScope) -> Option<String> {
    use crate::aws::call::Outside;
    match call.outside(&scope.allowed_accounts, &scope.allowed_regions)? {
        Outside::Region(region) => Some(format!(
            "region {region} is not in the run's allowed regions [{}]",
            scope.allowed_regions.join(", ")
        )),
        Outside::Resource(why) => Some(why),
    }
}

/// Asks STS who the credentials are, before any other call, and refuses an
/// account that is not the run's own or no longer allowed. Returns it.
pub async fn account(clients: &AwsClients, scope: &AwsScope) -> Result<String, String> {
    let region = scope
        .allowed_regions
        .first()
        .map(String::as_str)
        .unwrap_or("us-east-1");
    let (account, _) = clients.caller(region).await?;
    if account != scope.account {
        return Err(format!(
            "refusing this journal: the credentials are for account {account}, but the run changed account {}; use that account's profile (--profile)",
            scope.account
        ));
    }
    if !scope.allowed_accounts.contains(&account) {
        return Err(format!(
            "refusing this journal: account {account} is not in its allowed accounts [{}]",
            scope.allowed_accounts.join(", ")
        ));
    }
    Ok(account)
}

/// Whether `undo` releases the lease of `run_id` and nothing else.
fn own_lease(undo: &Action, run_id: &str) -> bool {
    use crate::aws::AwsCall;
    use crate::lab::LabCall;
    match undo {
        Action::Lab(LabCall::ReleaseLease { run_id: r }) => r == run_id,
        Action::Aws(AwsCall::ReleaseLease { name, value, .. }) => {
            name.starts_with(crate::lease::RECORD_PREFIX)
                && crate::lease::Lease::parse(value).is_some_and(|l| l.run_id == run_id)
        }
        _ => false,
    }
}
