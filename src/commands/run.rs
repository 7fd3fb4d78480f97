//! `gameday run`: one game day, end to end; prints the verdict and exits with its code.

use super::scenario_and_runtime;
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
}

/// Runs a scenario.
pub fn run(
    path: &Path,
    attach: Option<crate::lab::LabClient>,
    reports_dir: PathBuf,
    flags: Flags,
) -> ExitStatus {
    let (mut scenario, rt) = match scenario_and_runtime(path) {
        Ok(both) => both,
        Err(code) => return code,
    };
    super::declare_runner_not_on_aws(&mut scenario, flags.runner_not_on_aws);
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
            let r = &result.report;
            print!("{}", Terminal.render(r));
            println!("{}: {}", r.scenario.name, outcome_phrase(r.outcome));
            if let Some(reason) = &r.reason {
                println!("reason: {reason}");
            }
            if !r.revert.complete {
                println!("REVERT INCOMPLETE: {}", r.revert.differences.join("; "));
                println!("journal: {}", r.revert.journal.display());
            }
            println!("report: {}", result.dir.join("report.md").display());
            append_step_summary(r);
            r.outcome.exit_status()
        }
        Err(e) => {
            eprintln!("gameday: {e:#}");
            ExitStatus::Invalid
        }
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
        eprintln!(
            "gameday: cannot append to GITHUB_STEP_SUMMARY {}: {e}",
            std::path::Path::new(&path).display()
        );
    }
}
