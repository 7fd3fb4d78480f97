//! One game day, step by step: guard, plan, baseline, inject, observe, revert,
//! measure, judge, report. See DESIGN.md, "One run, step by step".

pub mod observe;
pub mod progress;
pub mod signals;
pub mod steady;

use crate::clock::{mono_now, Offset, RunClock};
use crate::journal::{Journal, JournalEntry};
use crate::lab::Role;
use crate::measure::accuracy;
use crate::measure::{self, MeasureInput};
use crate::plan::{self, Action, Plan, Step};
use crate::probe::ProbeContext;
use crate::report::{Environment, Report, RevertSummary, ScenarioInfo, SCHEMA_VERSION};
use crate::scenario::Scenario;
use crate::target::{Appliers, Env};
use crate::timeline::Timeline;
use crate::verdict::{self, Outcome};
use observe::Observers;
use progress::Progress;
use signals::StopSignals;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Lets the tests kill this process at a named point of a run, to prove that
/// `gameday revert` finishes whatever a run was doing when it died. Set
/// `GAMEDAY_CRASH_AT` to one of `after-intent`, `after-apply`, `observing`,
/// `after-undo-intent`, `revert-after-undo-intent`; unset, it does nothing.
pub fn crash_point(name: &str) {
    if std::env::var("GAMEDAY_CRASH_AT").is_ok_and(|v| v == name) {
        // SAFETY: signalling ourselves; SIGKILL cannot be caught: nothing runs after it.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where run folders are written.
    pub reports_dir: PathBuf,
    /// Attach to a standing lab's control API instead of starting one.
    pub attach: Option<SocketAddr>,
    /// Draw the live display.
    pub progress: bool,
    /// `--yes` was given: consent to change a non-lab target. Recorded in the report.
    pub consent: bool,
    /// `--ignore-window`: run outside the scenario's windows, recorded in the report.
    pub ignore_window: bool,
    /// `--profile`: the AWS profile, over the scenario's.
    pub profile: Option<String>,
}

/// A finished run.
pub struct RunResult {
    /// The report, as written.
    pub report: Report,
    /// The run folder.
    pub dir: PathBuf,
}

/// A signal asked the run to stop.
#[derive(Clone)]
struct Interrupt(watch::Receiver<bool>);

impl Interrupt {
    /// Listens for SIGINT and SIGTERM. The first one stops observing; later ones
    /// only say that the revert is still running: it is never skipped.
    fn listen(journal: PathBuf) -> Interrupt {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            let mut signals = StopSignals::new().unwrap_or_else(|_| StopSignals::ctrl_c_only());
            loop {
                signals.next().await;
                if *tx.borrow() {
                    eprintln!(
                        "gameday: the revert is still running and will not be skipped; journal: {}",
                        journal.display()
                    );
                }
                let _ = tx.send(true);
            }
        });
        Interrupt(rx)
    }

    fn fired(&self) -> bool {
        *self.0.borrow()
    }

    async fn wait(&mut self) {
        let _ = self.0.wait_for(|v| *v).await;
    }
}

/// Sleeps, or returns early (true) when interrupted.
async fn sleep_or_interrupt(d: Duration, interrupt: &mut Interrupt) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => interrupt.fired(),
        _ = interrupt.wait() => true,
    }
}

fn run_id(name: &str, clock: &RunClock) -> String {
    // Seconds for people, plus low bits of the monotonic clock so parallel runs differ.
    format!(
        "{name}-{}-{:04x}",
        clock.origin_wall.format("%Y%m%dT%H%M%SZ"),
        (mono_now() / 1000) as u16 ^ std::process::id() as u16
    )
}

struct Run<'a> {
    scenario: &'a Scenario,
    clock: RunClock,
    appliers: Appliers,
    timeline: Timeline,
    progress: Progress,
    interrupt: Interrupt,
    journal_path: PathBuf,
    journal: Option<Journal>,
    reason: Option<String>,
}

impl Run<'_> {
    fn event(&mut self, at: Offset, name: &str, detail: impl Into<String>) {
        let detail = detail.into();
        self.progress
            .say(&format!("[{:>7.3}s] {name}: {detail}", at.secs()));
        self.timeline.event(at, name, detail);
    }

    fn journal(&mut self, entry: &JournalEntry) -> anyhow::Result<()> {
        if self.journal.is_none() {
            self.journal = Some(Journal::open(&self.journal_path)?);
        }
        self.journal.as_mut().expect("opened above").append(entry)?;
        Ok(())
    }

    fn absorb(&mut self, observers: &mut Observers) {
        for e in observers.drain() {
            self.timeline.push(e);
        }
    }

    async fn apply(&self, action: &Action) -> Result<crate::lab::Applied, String> {
        self.appliers.apply(action).await
    }

    /// Makes each change, journaled before it happens. Returns t0 and how many
    /// steps have an intent in the journal (all of them need undoing).
    async fn inject(&mut self, plan: &Plan) -> (Option<Offset>, usize, Option<String>) {
        let mut t0 = None;
        let mut outage_started = false;
        for (i, step) in plan.steps.iter().enumerate() {
            if step.delay_ms > 0
                && sleep_or_interrupt(Duration::from_millis(step.delay_ms), &mut self.interrupt)
                    .await
            {
                return (
                    t0,
                    i,
                    Some("interrupted by a signal while injecting".into()),
                );
            }
            let intent = JournalEntry::Intent {
                step: i,
                action: step.apply.clone(),
                undo: step.undo.clone(),
            };
            if let Err(e) = self.journal(&intent) {
                return (
                    t0,
                    i,
                    Some(format!(
                        "cannot write the journal {}: {e}; nothing more was changed",
                        self.journal_path.display()
                    )),
                );
            }
            crash_point("after-intent");
            match self.apply(&step.apply).await {
                Ok(applied) => {
                    crash_point("after-apply");
                    let at = self.clock.at(applied.effective_at);
                    // t0 is the first change that starts the outage; preparations
                    // only count when nothing else does.
                    if step.starts_outage && !outage_started {
                        t0 = Some(at);
                        outage_started = true;
                    }
                    t0.get_or_insert(at);
                    let _ = self.journal(&JournalEntry::Applied { step: i });
                    self.event(at, "fault-applied", step.apply.summary());
                }
                Err(e) => {
                    return (
                        t0,
                        i + 1,
                        Some(format!("could not apply step {}: {e}", i + 1)),
                    )
                }
            }
        }
        (t0, plan.steps.len(), None)
    }

    /// Undoes steps `0..count` in reverse, journaled; each undo is retried a few times.
    async fn revert(&mut self, steps: &[Step]) -> Vec<String> {
        let mut undone = Vec::new();
        for (i, step) in steps.iter().enumerate().rev() {
            let _ = self.journal(&JournalEntry::UndoIntent { step: i });
            crash_point("after-undo-intent");
            let mut last_error = None;
            for attempt in 0..4 {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
                }
                match self.apply(&step.undo).await {
                    Ok(applied) => {
                        let at = self.clock.at(applied.effective_at);
                        let _ = self.journal(&JournalEntry::Undone { step: i });
                        self.event(at, "undo-applied", step.undo.summary());
                        undone.push(step.undo.summary());
                        last_error = None;
                        break;
                    }
                    Err(e) => last_error = Some(e),
                }
            }
            if let Some(e) = last_error {
                self.progress
                    .say(&format!("gameday: undo of step {} failed: {e}", i + 1));
            }
        }
        undone
    }

    /// Observes until customers (and canary writes) have been fine for
    /// `stable_for`, or the timeout or a signal ends it.
    async fn observe(
        &mut self,
        observers: &mut Observers,
        t0: Offset,
        steps: &[Step],
    ) -> Option<String> {
        let s = self.scenario;
        // Changes that go on after they are made (an FIS experiment) are
        // followed once a second: their states go into the timeline, and one
        // cut short (stopped by its own stop condition, failed) ends the run.
        let mut followed: Vec<Option<String>> = vec![None; steps.len()];
        let mut next_follow = self.clock.now();
        let canary_interval = s
            .probes_of(crate::probe::ProbeKind::Canary)
            .map(|p| p.interval())
            .max();
        loop {
            if sleep_or_interrupt(Duration::from_millis(100), &mut self.interrupt).await {
                return Some("interrupted by a signal".into());
            }
            self.absorb(observers);
            crash_point("observing");
            let now = self.clock.now();
            if now >= next_follow {
                next_follow = now.plus(Duration::from_secs(1));
                for (i, step) in steps.iter().enumerate() {
                    match self.appliers.follow(&step.apply).await {
                        Some(Ok(state)) => {
                            if followed[i].as_ref() != Some(&state.state) {
                                let at = self.clock.now();
                                self.event(at, "fault-state", state.state.clone());
                                followed[i] = Some(state.state);
                            }
                            if let Some(why) = state.cut_short {
                                return Some(why);
                            }
                        }
                        Some(Err(e)) => {
                            let at = self.clock.now();
                            self.event(at, "fault-state", format!("cannot follow: {e}"));
                        }
                        None => {}
                    }
                }
            }
            let since_t0 = now.since(t0);
            let latest = observers.latest.lock().expect("latest lock").clone();
            self.progress.update("observe", since_t0, &latest);
            if since_t0 >= s.observe_at_least
                && since_t0 >= s.stable_for
                && steady::recovered(&self.timeline, t0, now, s.stable_for, canary_interval)
            {
                return None;
            }
            for c in &s.stop_conditions {
                if let Some(why) = c.fired(&self.timeline, t0, now) {
                    return Some(format!("stop condition {}: {why}", c.kind()));
                }
            }
            if let Some(max) = s.max_duration {
                if now.since(Offset(0)) >= max {
                    return Some(format!(
                        "max_duration {} passed",
                        humantime::format_duration(max)
                    ));
                }
            }
            if since_t0 >= s.timeout {
                return Some(format!(
                    "timeout: not recovered and stable {} after t0",
                    humantime::format_duration(s.timeout)
                ));
            }
        }
    }
}

/// Runs a scenario end to end and writes its report.
pub async fn execute(scenario: &Scenario, opts: &RunOptions) -> anyhow::Result<RunResult> {
    let clock = RunClock::start();
    // The window guard comes before anything starts: outside it nothing runs at all.
    let ignored_window = match scenario.guards.refuse(clock.origin_wall) {
        Some(why) if !opts.ignore_window => {
            anyhow::bail!("refusing to start {}: {why}", scenario.name)
        }
        other => other,
    };
    let connected = crate::target::connect(scenario, opts.attach, opts.profile.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut embedded = connected.embedded;
    let env = connected.env;
    let id = run_id(&scenario.name, &clock);
    let dir = opts.reports_dir.join(&id);
    let journal_path = dir.join("journal.jsonl");
    let progress = Progress::new(opts.progress);
    if let (Some(_), Env::Lab(lab)) = (opts.attach, &env) {
        if lab.params != scenario.lab {
            progress.say("gameday: attached to a standing lab; its own [lab] parameters are in force, not the scenario's");
        }
    }
    let mut run = Run {
        scenario,
        clock,
        appliers: connected.appliers,
        timeline: Timeline::default(),
        progress,
        interrupt: Interrupt::listen(journal_path.clone()),
        journal_path: journal_path.clone(),
        journal: None,
        reason: None,
    };
    let primary = env.region_name(Role::Primary);
    let secondary = env.region_name(Role::Secondary);

    // Guard and plan: nothing has changed yet; any refusal is exit 2.
    let mut outcome = None;
    let mut plan_used: Option<Plan> = None;
    let mut lab_before = None;
    if let (Env::Lab(lab), Some(client)) = (&env, &run.appliers.lab) {
        match crate::target::lab::preflight(client, lab).await {
            Ok(before) => lab_before = Some(before),
            Err(why) => {
                run.reason = Some(why);
                outcome = Some(Outcome::Refused);
            }
        }
    }
    if outcome.is_none() {
        match plan::resolve(&scenario.faults, &scenario.probes, &env, &id).await {
            Ok(p) => plan_used = Some(p),
            Err(e) => {
                run.reason = Some(e.to_string());
                outcome = Some(Outcome::Refused);
            }
        }
    }
    if let (None, Env::Aws(aws), Some(plan)) = (outcome, &env, &plan_used) {
        if let Err(why) = crate::target::aws::preflight(aws, plan, opts.consent).await {
            run.reason = Some(why);
            outcome = Some(Outcome::Refused);
        }
    }

    let mut t0 = None;
    let mut revert = RevertSummary {
        complete: true,
        journal: journal_path.clone(),
        ..Default::default()
    };
    let mut truth = Vec::new();
    if let (None, Some(plan)) = (outcome, plan_used.clone()) {
        let ctx = Arc::new(ProbeContext {
            env: env.clone(),
            lab: run.appliers.lab,
            clock: run.clock,
            run_id: id.clone(),
        });
        let mut observers = Observers::start(&scenario.probes, ctx.clone());

        // Baseline: the steady state must hold before anything is broken.
        let start = run.clock.now();
        run.event(
            start,
            "baseline-start",
            format!(
                "{} of steady state",
                humantime::format_duration(scenario.baseline)
            ),
        );
        let mut elapsed = Duration::ZERO;
        while elapsed < scenario.baseline {
            if sleep_or_interrupt(Duration::from_millis(100), &mut run.interrupt).await {
                run.reason =
                    Some("interrupted by a signal during the baseline; nothing was changed".into());
                outcome = Some(Outcome::Aborted);
                break;
            }
            elapsed = run.clock.now().since(start);
            let latest = observers.latest.lock().expect("latest lock").clone();
            run.progress.update("baseline", elapsed, &latest);
        }
        run.absorb(&mut observers);
        if outcome.is_none() {
            if let Err(why) = steady::baseline_holds(&run.timeline, start, &primary) {
                run.reason = Some(format!(
                    "refusing to inject: the steady state does not hold: {why}"
                ));
                outcome = Some(Outcome::Refused);
            }
        }
        if outcome.is_none() {
            let now = run.clock.now();
            if let Some((kind, why)) = scenario
                .stop_conditions
                .iter()
                .find_map(|c| c.fired(&run.timeline, start, now).map(|w| (c.kind(), w)))
            {
                run.reason = Some(format!(
                    "refusing to inject: stop condition {kind} is already firing: {why}"
                ));
                outcome = Some(Outcome::Refused);
            }
        }

        let mut journaled = 0;
        if outcome.is_none() {
            let _ = run.journal(&JournalEntry::RunStart {
                run_id: id.clone(),
                target: env.target_name().into(),
                control: run
                    .appliers
                    .lab
                    .as_ref()
                    .map(|c| c.addr.to_string())
                    .unwrap_or_default(),
                profile: opts
                    .profile
                    .clone()
                    .or_else(|| scenario.aws.as_ref().and_then(|a| a.profile.clone())),
            });
            let (first, count, failure) = run.inject(&plan).await;
            t0 = first;
            journaled = count;
            if let Some(f) = failure {
                run.reason = Some(f);
                outcome = Some(Outcome::Aborted);
            }
        }
        if let (None, Some(t0)) = (outcome, t0) {
            if let Some(why) = run
                .observe(&mut observers, t0, &plan.steps[..journaled])
                .await
            {
                run.reason = Some(why);
                outcome = Some(Outcome::Aborted);
            }
        }
        for e in observers.stop().await {
            run.timeline.push(e);
        }
        // Read back before the revert: the data must be judged as the failover left it.
        if t0.is_some() {
            for probe in &scenario.probes {
                let at = run.clock.now();
                for o in probe.settle(&ctx).await {
                    run.timeline.push(crate::timeline::Entry {
                        at,
                        source: probe.name().to_string(),
                        what: crate::timeline::What::Observation(o),
                    });
                }
            }
        }
        if journaled > 0 {
            let at = run.clock.now();
            run.event(at, "revert-start", format!("{journaled} change(s) to undo"));
            revert.undone = run.revert(&plan.steps[..journaled]).await;
            let undone_steps = &plan.steps[..journaled];
            revert.differences = match (&env, &run.appliers.lab, &lab_before) {
                (Env::Lab(lab), Some(client), Some(before)) => {
                    if opts.attach.is_some() {
                        crate::target::lab::await_health(client, lab).await;
                    }
                    crate::target::lab::verify(client, before).await
                }
                _ => crate::target::aws::verify(&run.appliers, undone_steps).await,
            };
            revert.not_undone = undone_steps
                .iter()
                .filter_map(|s| match &s.undo {
                    Action::Aws(crate::aws::AwsCall::NotUndone { why }) => {
                        Some(format!("{}: {why}", s.apply.summary()))
                    }
                    _ => None,
                })
                .collect();
            revert.complete = revert.differences.is_empty();
            let at = run.clock.now();
            if revert.complete {
                run.event(at, "reverted", "state verified identical to before the run");
            } else {
                run.event(at, "revert-incomplete", revert.differences.join("; "));
            }
        }
        if let Some(client) = &run.appliers.lab {
            truth = crate::target::lab::truth(client, run.clock.origin).await;
        }
    }
    run.progress.finish();

    // Measure and judge only what ran.
    let mut phases = None;
    let mut judgements = Vec::new();
    let mut accuracy_marks = Vec::new();
    if let Some(t0) = t0 {
        let mut resolution: BTreeMap<String, Duration> = BTreeMap::new();
        for p in &scenario.probes {
            let e = resolution.entry(p.kind().as_str().to_string()).or_default();
            *e = (*e).max(p.interval());
        }
        let input = MeasureInput {
            t0,
            stable_for: scenario.stable_for,
            primary: primary.clone(),
            secondary: secondary.clone(),
            resolution,
        };
        let m = measure::measure(&run.timeline, &input);
        judgements = verdict::judge(&scenario.objectives, &m);
        let ttl = match &env {
            Env::Lab(lab) => lab.params.dns_ttl.get(),
            Env::Aws(_) => crate::floor::FloorInputs::of(&env).ttl,
        };
        accuracy_marks = accuracy::assess(&m, &truth, &primary, &secondary, ttl);
        phases = Some(m);
    }
    let outcome = match outcome {
        _ if !revert.complete => Outcome::RevertIncomplete,
        Some(o) => o,
        None => verdict::outcome(&judgements),
    };
    if run.journal.is_some() {
        let _ = run.journal(&JournalEntry::RunEnd {
            outcome: format!("{outcome:?}"),
        });
    }
    if let Some(mut lab) = embedded.take() {
        lab.stop();
    }
    let report = Report {
        schema_version: SCHEMA_VERSION,
        run_id: id,
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            description: scenario.description.clone(),
            file: scenario.file.clone(),
            objectives: scenario.objectives.clone(),
            stable_for_ms: scenario.stable_for.as_secs_f64() * 1000.0,
            baseline_ms: scenario.baseline.as_secs_f64() * 1000.0,
            timeout_ms: scenario.timeout.as_secs_f64() * 1000.0,
            text: scenario.text.clone(),
        },
        environment: Environment {
            target: env.target_name().into(),
            attached: opts.attach.is_some(),
            consent: opts.consent,
            ignored_window,
            aws: env.aws().map(|a| a.description.clone()),
            lab: env.lab().cloned(),
            host: hostname(),
            gameday_version: env!("CARGO_PKG_VERSION").into(),
        },
        started_at: run.clock.origin_wall,
        finished_at: chrono::Utc::now(),
        outcome,
        exit_code: outcome.exit_code(),
        reason: run.reason.clone(),
        plan: plan_used,
        timeline: run.timeline,
        phases,
        verdict: judgements,
        revert,
        ground_truth: truth,
        accuracy: accuracy_marks,
    };
    crate::report::write_all(&report, &dir)?;
    Ok(RunResult { report, dir })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}
