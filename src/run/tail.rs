//! The tail that always runs: revert, verify, measure, judge, report.

use super::{Run, RunResult, Stop};
use crate::measure::accuracy::{self, Accuracy, TruthMark};
use crate::measure::{CustomerProbe, MeasureInput, Measurements};
use crate::plan::{Action, Step};
use crate::report::{Report, RevertSummary, ScenarioInfo, TimelineRef, SCHEMA_VERSION};
use crate::undo::{self, Caller, RetryPolicy, UndoResult};
use crate::verdict::{self, Judgement, Outcome};
use crate::words::Role;
use std::collections::BTreeMap;
use std::time::Duration;

/// What measuring and judging found.
#[derive(Default)]
struct Judged {
    phases: Option<Measurements>,
    verdict: Vec<Judgement>,
    accuracy: Vec<Accuracy>,
}

impl Run<'_> {
    /// Puts back, verifies, measures, judges and assembles the report.
    pub(super) async fn tail(
        mut self,
        stop: Option<Stop>,
        ignored_window: Option<String>,
    ) -> RunResult {
        let revert = self.revert().await;
        self.record_evidence().await;
        let truth = self.env.truth(self.clock.origin).await;
        self.progress.finish();
        let judged = match &stop {
            Some(s) if !s.judged => Judged::default(),
            _ => self.judge(&truth),
        };
        let outcome = match &stop {
            _ if !revert.complete => Outcome::RevertIncomplete,
            Some(stop) => stop.outcome,
            None => verdict::outcome(&judged.verdict),
        };
        self.journal_end(outcome);
        let dir = self.opts.reports_dir.join(&self.id);
        let report = self.report(outcome, stop, revert, truth, judged, ignored_window);
        RunResult {
            report,
            dir,
            unwritten: None,
        }
    }

    /// Puts on the timeline what the target recorded about the run's
    /// changes (FIS action times on AWS), read once everything is put back.
    async fn record_evidence(&mut self) {
        let plan = self.reached.plan.clone().unwrap_or_default();
        let steps = &plan.steps[..self.reached.journaled];
        for (at, name, detail) in self.env.evidence(steps, &self.clock).await {
            self.record.event(at, name, detail);
        }
    }

    /// Undoes every journaled step, newest first, through the undo executor,
    /// then verifies the environment against the state before the run; all
    /// within the scenario's `revert_timeout`, whatever the API does.
    async fn revert(&mut self) -> RevertSummary {
        let mut summary = RevertSummary {
            complete: true,
            journal: self.journal_path.clone(),
            ..Default::default()
        };
        let policy = RetryPolicy::within(self.scenario.revert_timeout);
        let plan = self.reached.plan.clone().unwrap_or_default();
        let steps = &plan.steps[..self.reached.journaled];
        if !steps.is_empty() {
            self.revert_steps(steps, policy, &mut summary).await;
        }
        self.release_lease(policy, &mut summary).await;
        if !summary.complete {
            summary.finish_with = Some(
                self.env
                    .finish_command(&self.opts.reports_dir, self.profile().as_deref()),
            );
        }
        summary
    }

    /// Undoes the journaled steps, newest first, and verifies the environment.
    async fn revert_steps(
        &mut self,
        steps: &[Step],
        policy: RetryPolicy,
        summary: &mut RevertSummary,
    ) {
        let at = self.clock.now();
        self.event(
            at,
            "revert-start",
            format!("{} change(s) to undo", steps.len()),
        );
        let results = self.undo(steps, policy).await;
        let mut failures = self.record_undos(&results, summary);
        if let Some(before) = &self.reached.before {
            failures.extend(self.verify(before, steps, policy).await);
        }
        summary.not_undone = not_undone(steps);
        summary.complete = failures.is_empty();
        summary.differences = failures;
        summary.verified = Some(self.env.verification().into());
        self.mark_revert(summary);
    }

    /// What still differs from `before`, asked no later than the deadline.
    async fn verify(
        &self,
        before: &crate::environment::Before,
        steps: &[Step],
        policy: RetryPolicy,
    ) -> Vec<String> {
        tokio::time::timeout_at(policy.deadline, self.env.verify(before, steps))
            .await
            .unwrap_or_else(|_| {
                vec![
                    "the verification got no answer before the revert's deadline (revert_timeout)"
                        .into(),
                ]
            })
    }

    async fn undo(&mut self, steps: &[Step], policy: RetryPolicy) -> Vec<UndoResult> {
        let undos: Vec<(usize, Action)> = steps
            .iter()
            .enumerate()
            .rev()
            .map(|(i, s)| (i, s.undo.clone()))
            .collect();
        let appliers = self.env.appliers();
        match self.journal.as_mut() {
            Some(journal) => undo::undo_all(&appliers, journal, &undos, policy, Caller::Run).await,
            None => Vec::new(),
        }
    }

    /// Puts each undo on the timeline; returns what failed, and lists in
    /// `summary` what was undone and what is still owed.
    fn record_undos(&mut self, results: &[UndoResult], summary: &mut RevertSummary) -> Vec<String> {
        let mut failures = Vec::new();
        for r in results {
            match &r.outcome {
                Ok(applied) => {
                    let at = self.clock.at(applied.effective_at);
                    self.event(at, "undo-applied", r.summary.clone());
                    summary.undone.push(r.summary.clone());
                }
                Err(e) => {
                    let failed = format!("undo of {} ({}) failed: {e}", r.step_name(), r.summary);
                    self.progress.say(&format!("gameday: {failed}"));
                    failures.push(failed);
                    summary.owed.push(r.summary.clone());
                }
            }
            failures.extend(r.journal_error.clone());
        }
        failures
    }

    fn mark_revert(&mut self, summary: &RevertSummary) {
        let at = self.clock.now();
        if summary.complete {
            self.event(at, "reverted", "state verified identical to before the run");
        } else {
            self.event(at, "revert-incomplete", summary.differences.join("; "));
        }
    }

    /// Measures and judges only what ran: nothing when the fault never took
    /// effect.
    fn judge(&mut self, truth: &[TruthMark]) -> Judged {
        let Some(t0) = self.reached.t0 else {
            return Judged::default();
        };
        let input = self.measure_input(t0);
        self.record.measure_from(input.clone());
        let Some(m) = self.record.measure_until(self.clock.now()) else {
            return Judged::default();
        };
        let (primary, secondary) = (input.primary, input.secondary);
        Judged {
            verdict: verdict::judge(&self.scenario.objectives, &m),
            accuracy: accuracy::assess(
                &m,
                truth,
                &primary,
                &secondary,
                self.customers_keep(),
                self.standby_need(),
            ),
            phases: Some(m),
        }
    }

    /// The standby's instances at t0 and those it needs to hold the
    /// `[load]`, when the environment knows its capacity (the lab's
    /// `target_capacity`).
    fn standby_need(&self) -> Option<accuracy::StandbyNeed> {
        let standby = self.env.floor_inputs().standby?;
        let rate = crate::probe::customer_rate(&self.scenario.probes)?;
        Some(accuracy::StandbyNeed {
            initial: standby.initial,
            needed: standby.needed(rate),
        })
    }

    /// How long after the flip a customer probe may still hold the old
    /// answer: the TTL, or longer for a client that ignores or stretches it
    /// (a client that keeps it forever never recovers, so it bounds nothing).
    fn customers_keep(&self) -> Duration {
        let ttl = self.env.ttl();
        crate::probe::clients(&self.scenario.probes)
            .iter()
            .filter_map(|(_, c)| c.keeps_answer(ttl))
            .fold(ttl, Duration::max)
    }

    /// What measuring needs besides the timeline.
    pub(super) fn measure_input(&self, t0: crate::clock::Offset) -> MeasureInput {
        MeasureInput {
            t0,
            stable_for: self.scenario.stable_for,
            primary: self.env.region_name(Role::Primary),
            secondary: self.env.region_name(Role::Secondary),
            resolution: self.resolutions(),
            customers: self.customer_probes(),
            population: self.population(),
            load_rate: self.scenario.load_rate,
            capacity: self.capacity(),
        }
    }

    /// What serving the `[load]` means: the objectives' error rate and p99
    /// (1% and 1s when not declared); the run stops waiting for it after
    /// `max_time_to_capacity` and `stable_for` (or at its timeout).
    fn capacity(&self) -> Option<crate::measure::capacity::CapacitySpec> {
        let s = self.scenario;
        s.load_rate?;
        let o = &s.objectives;
        Some(crate::measure::capacity::CapacitySpec {
            max_error_rate: o.max_error_rate.map_or(0.01, |p| p.fraction()),
            max_p99: o
                .max_p99_latency
                .map_or(Duration::from_secs(1), |d| d.get()),
            give_up_after: o.max_time_to_capacity.map_or(s.timeout, |d| {
                d.get() + s.stable_for + Duration::from_secs(2)
            }),
        })
    }

    /// The scenario's population, judged against its own rto or the
    /// scenario's.
    fn population(&self) -> Option<crate::measure::population::PopulationSpec> {
        let s = self.scenario;
        s.probes
            .iter()
            .find_map(|p| p.population(s.objectives.rto.get(), s.stable_for))
    }

    /// The customer probes measured on their own: all of them when there
    /// are several, one plays a client other than `fresh` or has its own
    /// rto, else none.
    fn customer_probes(&self) -> Vec<CustomerProbe> {
        let probes = &self.scenario.probes;
        let clients = crate::probe::clients(probes);
        let plain = clients.iter().all(|(_, c)| *c == Default::default());
        if clients.len() < 2 && plain && self.scenario.objectives.clients.is_empty() {
            return Vec::new();
        }
        probes
            .iter()
            .filter_map(|p| {
                let c = p.client()?;
                Some(CustomerProbe {
                    probe: p.name().to_string(),
                    client: format!("{}: {}", c.name(), c.describe()),
                    interval: p.interval(),
                })
            })
            .collect()
    }

    /// The resolution of each probe kind: its longest interval.
    fn resolutions(&self) -> BTreeMap<String, Duration> {
        let mut resolution: BTreeMap<String, Duration> = BTreeMap::new();
        for p in &self.scenario.probes {
            let e = resolution.entry(p.kind().as_str().to_string()).or_default();
            *e = (*e).max(p.interval());
        }
        resolution
    }

    /// The journal's last line. Failing to write it is said, never ignored:
    /// the run's undos are already recorded, so nothing is left owed.
    fn journal_end(&mut self, outcome: Outcome) {
        if self.journal.is_none() {
            return;
        }
        let entry = crate::journal::JournalEntry::RunEnd {
            outcome: format!("{outcome:?}"),
        };
        if let Err(e) = self.journal(&entry) {
            self.progress.say(&format!("gameday: warning: {e}"));
        }
    }

    fn report(
        mut self,
        outcome: Outcome,
        stop: Option<Stop>,
        revert: RevertSummary,
        ground_truth: Vec<TruthMark>,
        judged: Judged,
        ignored_window: Option<String>,
    ) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            run_id: self.id.clone(),
            scenario: ScenarioInfo::of(self.scenario),
            environment: self.env.report(self.opts.consent, ignored_window),
            started_at: self.clock.origin_wall,
            finished_at: chrono::Utc::now(),
            outcome,
            exit_code: outcome.exit_code(),
            reason: stop.map(|s| s.reason),
            plan: self.reached.plan.take(),
            timeline: TimelineRef::File(self.record.finish()),
            folder: Some(self.opts.reports_dir.join(&self.id)),
            phases: judged.phases,
            verdict: judged.verdict,
            revert,
            ground_truth,
            accuracy: judged.accuracy,
        }
    }
}

/// Changes deliberately left in place (a database failover), and why.
fn not_undone(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .filter_map(|s| {
            s.undo
                .not_undone()
                .map(|why| format!("{}: {why}", s.apply.summary()))
        })
        .collect()
}
