//! `gameday run`: one game day, end to end; prints the verdict and exits with its code.

use super::{load_or_report, runtime_with};
use crate::report::markdown::outcome_phrase;
use crate::report::{table::Terminal, Format};
use crate::run::{execute, RunOptions};
use crate::words::ExitStatus;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// `gameday run`'s switches.
pub struct Flags {
    /// No live progress.
    pub no_progress: bool,
    /// `--yes`.
    pub consent: bool,
    /// `--ignore-window`.
    pub ignore_window: bool,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--runner-not-on-aws`.
    pub runner_not_on_aws: bool,
    /// `--metrics-file`, `--pushgateway`, `--metrics cloudwatch`.
    pub metrics: MetricsFlags,
}

/// The metrics flags; each adds to (or replaces) the scenario's `[metrics]`.
pub struct MetricsFlags {
    /// `--metrics-file`.
    pub file: Option<PathBuf>,
    /// `--pushgateway`.
    pub pushgateway: Option<String>,
    /// `--metrics cloudwatch`.
    pub cloudwatch: bool,
}

/// Runs a scenario.
pub fn run(
    path: &Path,
    attach: Option<crate::lab::LabClient>,
    reports_dir: PathBuf,
    flags: Flags,
) -> ExitStatus {
    let mut scenario = match load_or_report(path) {
        Ok(scenario) => scenario,
        Err(code) => return code,
    };
    let threads = crate::environment::run_threads(&scenario, attach.is_some());
    let rt = match runtime_with(threads) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    super::declare_runner_not_on_aws(&mut scenario, flags.runner_not_on_aws);
    let sinks = sinks(&scenario, &flags);
    if let Err(e) = sinks.params.check() {
        crate::words::errln(format_args!("gameday: --pushgateway: {}", e.1));
        return ExitStatus::Invalid;
    }
    let opts = RunOptions {
        reports_dir,
        attach,
        progress: !flags.no_progress && std::io::stderr().is_terminal(),
        consent: flags.consent,
        ignore_window: flags.ignore_window,
        profile: flags.profile,
    };
    match rt.block_on(execute(&scenario, &opts)) {
        Ok(result) => {
            print_outcome(&result);
            append_step_summary(&result.report);
            for warning in rt.block_on(crate::publish::publish(&result.report, &sinks)) {
                crate::words::errln(format_args!("{warning}"));
            }
            match &result.unwritten {
                Some(e) => report_missing(&result, e),
                None => result.report.outcome.exit_status(),
            }
        }
        Err(e) => {
            crate::words::errln(format_args!("gameday: {e:#}"));
            ExitStatus::Invalid
        }
    }
}

/// The verdict, the revert and where the report is, on stdout.
fn print_outcome(result: &crate::run::RunResult) {
    let r = &result.report;
    crate::words::out(format_args!("{}", Terminal.render(r)));
    crate::words::outln(format_args!(
        "{}: {}",
        r.scenario.name,
        outcome_phrase(r.outcome)
    ));
    if let Some(reason) = &r.reason {
        crate::words::outln(format_args!("reason: {reason}"));
    }
    if !r.revert.complete {
        crate::words::outln(format_args!(
            "REVERT INCOMPLETE: {}",
            r.revert.differences.join("; ")
        ));
        if !r.revert.owed.is_empty() {
            crate::words::outln(format_args!("still owed: {}", r.revert.owed.join("; ")));
        }
        crate::words::outln(format_args!("journal: {}", r.revert.journal.display()));
        if let Some(cmd) = &r.revert.finish_with {
            crate::words::outln(format_args!("finish it with: {cmd}"));
        }
    }
    if result.unwritten.is_none() {
        crate::words::outln(format_args!(
            "report: {}",
            result.dir.join("report.md").display()
        ));
    }
}

/// The report could not be written: say which file and why; exit 5, or 4
/// when the revert is incomplete too (that needs a person first).
fn report_missing(result: &crate::run::RunResult, e: &crate::report::WriteError) -> ExitStatus {
    let r = &result.report;
    crate::words::errln(format_args!(
        "gameday: {e}; the run's files in {} are missing. The verdict above stands{}; the journal {} records every change and undo. Free space there before the next run",
        result.dir.display(),
        if r.revert.complete { " and everything was put back" } else { "" },
        r.revert.journal.display()
    ));
    match r.outcome.exit_status() {
        ExitStatus::RevertIncomplete => ExitStatus::RevertIncomplete,
        _ => ExitStatus::ReportMissing,
    }
}

/// Where the figures go: the scenario's `[metrics]` with the flags over it,
/// and the credentials and region CloudWatch is reached with.
fn sinks(scenario: &crate::scenario::Scenario, flags: &Flags) -> crate::publish::Sinks {
    let mut params = scenario.metrics.clone();
    let m = &flags.metrics;
    params.file = m.file.clone().or(params.file);
    params.pushgateway = m.pushgateway.clone().or(params.pushgateway);
    params.cloudwatch |= m.cloudwatch;
    let aws = scenario.aws.as_ref();
    crate::publish::Sinks {
        params,
        profile: flags
            .profile
            .clone()
            .or_else(|| aws.and_then(|a| a.profile.clone())),
        primary_region: aws.map(|a| a.primary_region.clone()),
    }
}

/// Appends the Markdown summary to `$GITHUB_STEP_SUMMARY` when GitHub Actions set it.
fn append_step_summary(r: &crate::report::Report) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return;
    };
    let md = crate::report::markdown::Markdown.render(r);
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, md.as_bytes()));
    if let Err(e) = written {
        crate::words::errln(format_args!(
            "gameday: cannot append to GITHUB_STEP_SUMMARY {}: {e}",
            std::path::Path::new(&path).display()
        ));
    }
}
