//! The run's lease on its environment: one game day at a time. Taken, and
//! journaled like any change, before anything else; released after the
//! revert, whatever happened. A lease another run holds refuses the run
//! (exit 2) and names that run; a lapsed one is taken over, with a warning.

use super::{Run, Stop};
use crate::journal::{JournalEntry, LEASE_STEP};
use crate::lease::{self, Lease};
use crate::report::RevertSummary;
use crate::undo::{self, Caller, RetryPolicy};
use chrono::Utc;
use std::time::Duration;

/// How long a run may take to verify and report after its timeout and its
/// revert's own deadline.
const REPORT_ALLOWANCE: Duration = Duration::from_secs(10 * 60);

impl Run<'_> {
    /// Takes the environment's lease, or refuses to start.
    pub(super) async fn take_lease(&mut self) -> Result<(), Stop> {
        let thing = self.env.leased_thing();
        let held = self.env.lease().await.map_err(|e| {
            Stop::refused(format!(
                "refusing to start: cannot read the lease of {thing}: {e}"
            ))
        })?;
        let now = Utc::now();
        if let Some(h) = &held {
            if let Some(why) = lease::refusal(h, now, &thing) {
                return Err(Stop::refused(why));
            }
            let at = self.clock.now();
            self.event(
                at,
                "lease-taken-over",
                format!("the lapsed lease of {}", h.describe()),
            );
        }
        let lease = self.lease_of(now);
        let (take, release) = self.env.lease_step(&lease, held.as_ref());
        let intent = JournalEntry::Intent {
            step: LEASE_STEP,
            action: take.clone(),
            undo: release.clone(),
        };
        self.journal(&intent)
            .map_err(|e| Stop::aborted(format!("{e}; nothing was changed")))?;
        self.reached.lease = Some(release);
        self.env.appliers().apply(&take).await.map_err(|e| {
            Stop::refused(format!("refusing to start: {e}; one game day at a time"))
        })?;
        self.journal(&JournalEntry::Applied { step: LEASE_STEP })
            .map_err(|e| Stop::aborted(format!("{e}; nothing but the lease was taken")))
    }

    /// The lease this run holds from `now`: until its timeout has passed and
    /// the revert has had its time.
    fn lease_of(&self, now: chrono::DateTime<Utc>) -> Lease {
        let s = self.scenario;
        let longest =
            s.max_duration.unwrap_or(s.baseline + s.timeout) + s.revert_timeout + REPORT_ALLOWANCE;
        Lease {
            run_id: self.id.clone(),
            holder: self.env.lease_holder(),
            since: now,
            until: now + chrono::Duration::from_std(longest).unwrap_or(chrono::Duration::hours(1)),
        }
    }

    /// Releases the lease after the revert; a release that fails leaves the
    /// revert incomplete (the journal still owes it, `gameday revert` finishes it).
    pub(super) async fn release_lease(&mut self, policy: RetryPolicy, summary: &mut RevertSummary) {
        let Some(release) = self.reached.lease.take() else {
            return;
        };
        let Some(journal) = self.journal.as_mut() else {
            return;
        };
        let appliers = self.env.appliers();
        let results = undo::undo_all(
            &appliers,
            journal,
            &[(LEASE_STEP, release)],
            policy,
            Caller::Run,
        )
        .await;
        let mut failures = Vec::new();
        for r in results {
            match &r.outcome {
                Err(e) => {
                    failures.push(format!("the lease was not released: {e}"));
                    failures.extend(r.journal_error);
                    summary.owed.push(r.summary.clone());
                }
                // Released and read back; only the journal is behind. The
                // lease is gameday's own record, not damage: a later revert
                // releases it again, harmlessly.
                Ok(_) => summary.unrecorded.extend(r.journal_error),
            }
        }
        summary.complete &= failures.is_empty();
        summary.differences.extend(failures);
    }
}
