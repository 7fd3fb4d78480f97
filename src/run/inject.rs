//! Inject: each change is journaled (fsync) before it is made; t0 is when
//! the first change that starts the outage took effect.

use super::{Run, Stop};
use crate::clock::Offset;
use crate::journal::JournalEntry;
use crate::plan::{Plan, Step};
use std::time::Duration;

impl Run<'_> {
    /// Records in the journal where the run is, before its first change.
    /// A run that cannot write its journal changes nothing.
    pub(super) fn journal_start(&mut self) -> Result<(), Stop> {
        let profile = self.profile();
        let entry = self
            .env
            .run_start(&self.id, profile, self.scenario.sha256());
        self.journal(&entry)
            .map_err(|e| Stop::aborted(format!("{e}; nothing was changed")))
    }

    /// Makes each change of the plan; returns t0.
    pub(super) async fn inject(&mut self, plan: &Plan) -> Result<Offset, Stop> {
        for (i, step) in plan.steps.iter().enumerate() {
            if step.delay_ms > 0
                && self
                    .interrupt
                    .sleep(Duration::from_millis(step.delay_ms))
                    .await
            {
                return Err(Stop::aborted("interrupted by a signal while injecting"));
            }
            self.make(i, step).await?;
        }
        self.reached
            .t0
            .ok_or_else(|| Stop::aborted("the plan has no change to make"))
    }

    /// One change: intent journaled, change made, applied journaled.
    async fn make(&mut self, i: usize, step: &Step) -> Result<(), Stop> {
        let intent = JournalEntry::Intent {
            step: i,
            action: step.apply.clone(),
            undo: step.undo.clone(),
        };
        self.journal(&intent).map_err(|e| {
            let what = match i {
                0 => "nothing was changed".to_string(),
                _ => format!("step {} was not made; the {i} before it are undone", i + 1),
            };
            Stop::aborted(format!("{e}; {what}"))
        })?;
        self.reached.journaled = i + 1;
        crate::crash::point("after-intent");
        let applied = self
            .env
            .appliers()
            .apply(&step.apply)
            .await
            .map_err(|e| Stop::aborted(format!("could not apply step {}: {e}", i + 1)))?;
        crate::crash::point("after-apply");
        let at = self.clock.at(applied.effective_at);
        self.mark_t0(step, at);
        self.journal(&JournalEntry::Applied { step: i })
            .map_err(|e| {
                Stop::aborted(format!(
                    "{e}; step {} was made and is undone from memory",
                    i + 1
                ))
            })?;
        self.event(at, "fault-applied", step.apply.summary());
        Ok(())
    }

    /// t0 is the first change that starts the outage; preparations (cutting
    /// replication first) only count when nothing else does.
    fn mark_t0(&mut self, step: &Step, at: Offset) {
        if step.starts_outage && !self.reached.outage_started {
            self.reached.t0 = Some(at);
            self.reached.outage_started = true;
        }
        self.reached.t0.get_or_insert(at);
    }
}
