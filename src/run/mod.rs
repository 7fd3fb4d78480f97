//! One game day, as a pipeline: guard, plan, baseline, inject, observe,
//! settle; then one tail that always runs: revert, verify, measure, judge,
//! report. Each step returns `Result<_, Stop>`; a [`Stop`] carries the
//! outcome and its reason, and the tail puts back whatever the steps before
//! it changed. ARCHITECTURE.md, "One run, step by step", walks through it.

mod inject;
pub mod interrupt;
mod lease;
pub mod observe;
pub mod progress;
pub mod record;
pub mod signals;
pub mod steady;
mod tail;
mod watch;

use crate::clock::{mono_now, Offset, RunClock};
use crate::environment::{Before, Env};
use crate::journal::{Journal, JournalEntry};
use crate::plan::{self, Plan};
use crate::report::Report;
use crate::scenario::Scenario;
use crate::verdict::Outcome;
use interrupt::Interrupt;
use progress::Progress;
use std::path::PathBuf;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where run folders are written.
    pub reports_dir: PathBuf,
    /// Attach to a standing lab's control API instead of starting one.
    pub attach: Option<crate::lab::LabClient>,
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
    /// The report file that could not be written, if one could not (the
    /// run, its revert and its verdict stand; the files are missing).
    pub unwritten: Option<crate::report::WriteError>,
}

/// Why a run stopped before it recovered and stayed up: refused before any
/// change (exit 2) or aborted after one (exit 3), with the reason.
#[derive(Debug, Clone)]
pub struct Stop {
    /// Refused or aborted.
    pub outcome: Outcome,
    /// Why, in one line.
    pub reason: String,
    /// Whether what was observed may be measured and judged: not when the
    /// change was undone behind the run's back (that recovery is the undo's).
    pub judged: bool,
}

impl Stop {
    /// Refused before anything changed.
    pub fn refused(reason: impl Into<String>) -> Stop {
        Stop {
            outcome: Outcome::Refused,
            reason: reason.into(),
            judged: true,
        }
    }

    /// Stopped after the fault (or while injecting it); everything is reverted.
    pub fn aborted(reason: impl Into<String>) -> Stop {
        Stop {
            outcome: Outcome::Aborted,
            reason: reason.into(),
            judged: true,
        }
    }

    /// Aborted, and nothing observed may be judged.
    pub fn unjudged(reason: impl Into<String>) -> Stop {
        Stop {
            judged: false,
            ..Stop::aborted(reason)
        }
    }
}

/// What a run has done so far: what the tail reads to put things back and
/// to measure.
#[derive(Default)]
struct Reached {
    /// The plan, once resolved.
    plan: Option<Plan>,
    /// The state before the fault, once the guards passed.
    before: Option<Before>,
    /// When the first fault took effect.
    t0: Option<Offset>,
    /// How many steps have an intent in the journal: all of them need undoing.
    journaled: usize,
    /// Whether a change that starts the outage has taken effect.
    outage_started: bool,
    /// The release of the lease, once its taking was journaled.
    lease: Option<crate::plan::Action>,
}

/// One run in progress.
struct Run<'a> {
    scenario: &'a Scenario,
    opts: &'a RunOptions,
    env: Env,
    id: String,
    clock: RunClock,
    record: record::Recorder,
    progress: Progress,
    interrupt: Interrupt,
    journal_path: PathBuf,
    journal: Option<Journal>,
    reached: Reached,
}

/// Runs a scenario end to end and writes its report. An error here means
/// nothing was started (exit 2); everything after the connection ends in a
/// report.
pub async fn execute(scenario: &Scenario, opts: &RunOptions) -> anyhow::Result<RunResult> {
    let clock = RunClock::start();
    let ignored_window = window_guard(scenario, opts, &clock)?;
    crate::files::reports_folder(&opts.reports_dir)
        .and_then(|()| crate::files::check_writable(&opts.reports_dir))
        .map_err(|e| {
            anyhow::anyhow!(
                "refusing to start: the reports folder {e}; the journal must be written before anything changes: pass --reports with a folder of your own on a writable disk with room"
            )
        })?;
    let connected =
        crate::environment::connect(scenario, opts.attach.clone(), opts.profile.as_deref())
            .await
            .map_err(anyhow::Error::msg)?;
    let mut run = match Run::new(scenario, opts, clock, connected.env.clone()) {
        Ok(run) => run,
        Err(e) => {
            connected.stop();
            return Err(e);
        }
    };
    let stop = run.attempt().await.err();
    let mut ended = run.tail(stop, ignored_window).await;
    connected.stop();
    crate::crash::point("before-report");
    ended.unwritten = crate::report::write_all(&ended.report, &ended.dir).err();
    Ok(ended)
}

/// The window guard comes before anything starts: outside it nothing runs at
/// all. Returns the window `--ignore-window` overrode, for the report.
fn window_guard(
    scenario: &Scenario,
    opts: &RunOptions,
    clock: &RunClock,
) -> anyhow::Result<Option<String>> {
    match scenario.guards.refuse(clock.origin_wall) {
        Some(why) if !opts.ignore_window => {
            anyhow::bail!("refusing to start {}: {why}", scenario.name)
        }
        other => Ok(other),
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

impl<'a> Run<'a> {
    /// A run with its own new folder (0700, never an existing one).
    fn new(
        scenario: &'a Scenario,
        opts: &'a RunOptions,
        clock: RunClock,
        env: Env,
    ) -> anyhow::Result<Run<'a>> {
        let id = run_id(&scenario.name, &clock);
        let folder = crate::files::run_folder(&opts.reports_dir, &id)
            .map_err(|e| anyhow::anyhow!("refusing to start: cannot make the run folder: {e}"))?;
        let journal_path = folder.join("journal.jsonl");
        let record = record::Recorder::create(&folder).map_err(|e| {
            anyhow::anyhow!(
                "refusing to start: cannot make the timeline file in {}: {e}",
                folder.display()
            )
        })?;
        let progress = Progress::new(opts.progress);
        for note in env.notes(scenario) {
            progress.say(&note);
        }
        Ok(Run {
            scenario,
            opts,
            env,
            id,
            clock,
            record,
            progress,
            interrupt: Interrupt::listen(journal_path.clone()),
            journal_path,
            journal: None,
            reached: Reached::default(),
        })
    }

    /// Everything up to the revert: guard, plan, then baseline, inject,
    /// observe and settle with the probes running.
    async fn attempt(&mut self) -> Result<(), Stop> {
        self.journal_start()?;
        self.take_lease().await?;
        let before = self.env.check_steady().await.map_err(Stop::refused)?;
        self.reached.before = Some(before);
        let plan = plan::resolve(
            &self.scenario.faults,
            &self.scenario.probes,
            &self.env,
            &self.id,
        )
        .await
        .map_err(|e| Stop::refused(e.to_string()))?;
        self.reached.plan = Some(plan.clone());
        self.env
            .check_plan(&plan, self.opts.consent)
            .await
            .map_err(Stop::refused)?;
        self.watched(&plan).await
    }

    /// The AWS profile the run uses: `--profile`, else the scenario's.
    fn profile(&self) -> Option<String> {
        self.opts
            .profile
            .clone()
            .or_else(|| self.scenario.aws.as_ref().and_then(|a| a.profile.clone()))
    }

    /// Records an event on the timeline and in the live display.
    fn event(&mut self, at: Offset, name: &str, detail: impl Into<String>) {
        let detail = detail.into();
        self.progress
            .say(&format!("[{:>7.3}s] {name}: {detail}", at.secs()));
        self.record.event(at, name, detail);
    }

    /// Appends to the run's journal (fsynced), creating it on first use.
    fn journal(&mut self, entry: &JournalEntry) -> Result<(), String> {
        let path = &self.journal_path;
        let why = |e: std::io::Error| format!("cannot write the journal {}: {e}", path.display());
        if self.journal.is_none() {
            self.journal = Some(Journal::create(path).map_err(why)?);
        }
        let journal = self.journal.as_mut().expect("opened above");
        journal.append(entry).map_err(why)
    }
}
