//! The steps that run with the probes watching: baseline, inject, observe,
//! then settle (final read-backs before anything is reverted).

use super::observe::Observers;
use super::progress::{Frame, Moment};
use super::{steady, Run, Stop};
use crate::clock::Offset;
use crate::plan::{Action, Plan, Step};
use crate::probe::{ProbeContext, ProbeKind};
use crate::timeline::{Entry, What};
use crate::words::Role;
use std::sync::Arc;
use std::time::Duration;

/// The phases the live view shows, and when they were measured.
#[derive(Default)]
struct LivePhases {
    at: Option<Offset>,
    phases: Option<crate::measure::Measurements>,
}

/// How often the run looks at what the probes saw.
const TICK: Duration = Duration::from_millis(100);

impl Run<'_> {
    /// Starts the probes, runs baseline, inject and observe, then stops the
    /// probes and settles, whatever happened.
    pub(super) async fn watched(&mut self, plan: &Plan) -> Result<(), Stop> {
        let ctx = Arc::new(ProbeContext {
            env: self.env.clone(),
            clock: self.clock,
            run_id: self.id.clone(),
        });
        self.progress.set_frame(Frame {
            scenario: self.scenario.name.clone(),
            objectives: Some(self.scenario.objectives.clone()),
            floors: plan.floors.clone(),
            baseline: self.scenario.baseline,
            timeout: self.scenario.timeout,
        });
        let mut observers = Observers::start(&self.scenario.probes, ctx.clone());
        let result = self.break_and_watch(&mut observers, plan).await;
        self.record.extend(observers.stop().await);
        for probe in &self.scenario.probes {
            probe.stop();
        }
        if self.reached.t0.is_some() {
            self.settle(&ctx).await;
        }
        result
    }

    async fn break_and_watch(
        &mut self,
        observers: &mut Observers,
        plan: &Plan,
    ) -> Result<(), Stop> {
        self.baseline(observers).await?;
        let t0 = self.inject(plan).await?;
        self.record.measure_from(self.measure_input(t0));
        let steps = &plan.steps[..self.reached.journaled];
        self.observe(observers, t0, steps).await
    }

    /// The steady state must hold before anything is broken.
    async fn baseline(&mut self, observers: &mut Observers) -> Result<(), Stop> {
        let start = self.clock.now();
        let length = self.scenario.baseline;
        self.event(
            start,
            "baseline-start",
            format!("{} of steady state", humantime::format_duration(length)),
        );
        let mut elapsed = Duration::ZERO;
        while elapsed < length {
            if self.interrupt.sleep(TICK).await {
                return Err(Stop::aborted(
                    "interrupted by a signal during the baseline; nothing was changed",
                ));
            }
            elapsed = self.clock.now().since(start);
            let probes = observers.latest.lock().expect("latest lock").clone();
            self.progress.update(&Moment {
                stage: "baseline",
                elapsed,
                probes: &probes,
                phases: None,
            });
        }
        self.record.extend(observers.drain());
        self.baseline_holds(start)
    }

    fn baseline_holds(&self, start: Offset) -> Result<(), Stop> {
        let primary = self.env.region_name(Role::Primary);
        steady::baseline_holds(self.record.window(), start, &primary).map_err(|why| {
            Stop::refused(format!(
                "refusing to inject: the steady state does not hold: {why}"
            ))
        })?;
        let now = self.clock.now();
        match self.scenario.stop_conditions.iter().find_map(|c| {
            c.fired(self.record.window(), start, now)
                .map(|why| (c.kind(), why))
        }) {
            Some((kind, why)) => Err(Stop::refused(format!(
                "refusing to inject: stop condition {kind} is already firing: {why}"
            ))),
            None => Ok(()),
        }
    }

    /// Observes until customers (and canary writes) have been fine for
    /// `stable_for`, or the timeout, a stop condition, a change cut short or
    /// a signal ends it.
    async fn observe(
        &mut self,
        observers: &mut Observers,
        t0: Offset,
        steps: &[Step],
    ) -> Result<(), Stop> {
        let mut followed = Followed::new(steps.len(), self.clock.now());
        let mut shown = LivePhases::default();
        loop {
            if self.interrupt.sleep(TICK).await {
                return Err(Stop::aborted("interrupted by a signal"));
            }
            let cut = self.write_cut(observers);
            self.record.extend(observers.drain());
            if self.record.is_full() {
                return Err(Stop::aborted(format!(
                    "the timeline reached {} entries; lower the probes' rate or the timeout",
                    crate::timeline::MAX_ENTRIES
                )));
            }
            crate::crash::point("observing");
            self.follow(&mut followed, steps).await?;
            let now = self.clock.now();
            self.show(observers, &mut shown, t0, now);
            if self.recovered(t0, now) {
                return Ok(());
            }
            self.limits(t0, now)?;
            self.record.write_before(cut);
        }
    }

    /// Until when the timeline can be written out (taken before the probes'
    /// observations are drained): nothing still in flight is stamped
    /// earlier, and the stop conditions' look-back stays in memory.
    fn write_cut(&self, observers: &Observers) -> Offset {
        let lookback = self
            .scenario
            .stop_conditions
            .iter()
            .map(|c| c.lookback())
            .max()
            .unwrap_or_default()
            + TICK;
        let cut = Offset(
            self.clock
                .now()
                .0
                .saturating_sub(lookback.as_nanos() as u64),
        );
        observers.oldest_in_flight().map_or(cut, |o| o.min(cut))
    }

    /// Draws the live view; the phases are measured again at most once a
    /// second, and only when the view is drawn.
    fn show(&self, observers: &Observers, shown: &mut LivePhases, t0: Offset, now: Offset) {
        if !self.progress.enabled() {
            return;
        }
        if shown
            .at
            .is_none_or(|at| now.since(at) >= Duration::from_secs(1))
        {
            shown.phases = self.record.measure();
            shown.at = Some(now);
        }
        let probes = observers.latest.lock().expect("latest lock").clone();
        self.progress.update(&Moment {
            stage: "observe",
            elapsed: now.since(t0),
            probes: &probes,
            phases: shown.phases.as_ref(),
        });
    }

    fn recovered(&self, t0: Offset, now: Offset) -> bool {
        let s = self.scenario;
        let since_t0 = now.since(t0);
        let canary_interval = s.probes_of(ProbeKind::Canary).map(|p| p.interval()).max();
        since_t0 >= s.observe_at_least
            && since_t0 >= s.stable_for
            && steady::recovered(self.record.live(), now, s.stable_for, canary_interval)
    }

    /// Stop conditions, `max_duration` and the timeout.
    fn limits(&self, t0: Offset, now: Offset) -> Result<(), Stop> {
        let s = self.scenario;
        for c in &s.stop_conditions {
            if let Some(why) = c.fired(self.record.window(), t0, now) {
                return Err(Stop::aborted(format!("stop condition {}: {why}", c.kind())));
            }
        }
        if let Some(max) = s.max_duration {
            if now.since(Offset(0)) >= max {
                return Err(Stop::aborted(format!(
                    "max_duration {} passed",
                    humantime::format_duration(max)
                )));
            }
        }
        if now.since(t0) >= s.timeout {
            return Err(Stop::aborted(format!(
                "timeout: not recovered and stable {} after t0",
                humantime::format_duration(s.timeout)
            )));
        }
        Ok(())
    }

    /// Once a second: every change made must still be in place, and changes
    /// that go on after they are made (an FIS experiment) are followed.
    async fn follow(&mut self, followed: &mut Followed, steps: &[Step]) -> Result<(), Stop> {
        let now = self.clock.now();
        if now < followed.next {
            return Ok(());
        }
        followed.next = now.plus(Duration::from_secs(1));
        self.still_in_place(steps).await?;
        self.follow_states(followed, steps).await
    }

    /// A change undone behind the run's back (someone's revert, a fix by
    /// hand) ends the run: what follows would be the undo, not a failover.
    async fn still_in_place(&mut self, steps: &[Step]) -> Result<(), Stop> {
        let made: Vec<Action> = steps.iter().map(|s| s.apply.clone()).collect();
        match self.env.appliers().undone_behind_our_back(&made).await {
            Some(why) => Err(Stop::unjudged(format!(
                "a change was undone behind the run's back: {why}; what followed is not a failover and is not judged"
            ))),
            None => Ok(()),
        }
    }

    /// Their states go into the timeline, and one cut short (stopped by its
    /// own stop condition, failed) ends the run.
    async fn follow_states(&mut self, followed: &mut Followed, steps: &[Step]) -> Result<(), Stop> {
        let appliers = self.env.appliers();
        for (i, step) in steps.iter().enumerate() {
            match appliers.follow(&step.apply).await {
                Some(Ok(state)) => {
                    if followed.states[i].as_ref() != Some(&state.state) {
                        let at = self.clock.now();
                        self.event(at, "fault-state", state.state.clone());
                        followed.states[i] = Some(state.state);
                    }
                    if let Some(why) = state.cut_short {
                        return Err(Stop::aborted(why));
                    }
                }
                Some(Err(e)) => {
                    let at = self.clock.now();
                    self.event(at, "fault-state", format!("cannot follow: {e}"));
                }
                None => {}
            }
        }
        Ok(())
    }

    /// Read back before the revert: the data must be judged as the failover
    /// left it.
    async fn settle(&mut self, ctx: &ProbeContext) {
        for probe in &self.scenario.probes {
            let at = self.clock.now();
            for o in probe.settle(ctx, at).await {
                self.record.push(Entry {
                    at,
                    source: probe.name().to_string(),
                    what: What::Observation(o),
                });
            }
        }
    }
}

/// The last state seen of each followed change, and when to look again.
struct Followed {
    states: Vec<Option<String>>,
    next: Offset,
}

impl Followed {
    fn new(steps: usize, now: Offset) -> Followed {
        Followed {
            states: vec![None; steps],
            next: now,
        }
    }
}
