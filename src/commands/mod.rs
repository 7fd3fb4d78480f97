//! What each subcommand does. `main.rs` only parses the command line and calls these.

pub mod discover;
pub mod history;
pub mod json;
pub mod lab;
pub mod man;
pub mod plan;
pub mod report;
pub mod revert;
pub mod run;
pub mod validate;

use crate::environment::Threads;
use crate::scenario::{self, Scenario};
use crate::words::ExitStatus;
use std::path::Path;

/// Loads a scenario or prints its one-line error.
pub fn load_or_report(path: &Path) -> Result<Scenario, ExitStatus> {
    scenario::load(path).map_err(|e| {
        eprintln!("gameday: {e}");
        ExitStatus::Invalid
    })
}

/// A tokio runtime for a command, or the exit code after saying why there is none.
pub fn runtime() -> Result<tokio::runtime::Runtime, ExitStatus> {
    runtime_with(Threads::PerCore)
}

/// A runtime with `threads`, or the exit code after saying why there is none.
pub fn runtime_with(threads: Threads) -> Result<tokio::runtime::Runtime, ExitStatus> {
    let mut builder = match threads {
        Threads::One => tokio::runtime::Builder::new_current_thread(),
        Threads::PerCore => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all().build().map_err(|e| {
        eprintln!("gameday: cannot start the async runtime: {e}");
        ExitStatus::Invalid
    })
}

/// `--runner-not-on-aws`: the same declaration as the scenario's key.
pub fn declare_runner_not_on_aws(scenario: &mut crate::scenario::Scenario, declared: bool) {
    if let (true, Some(aws)) = (declared, scenario.aws.as_mut()) {
        aws.runner_not_on_aws = true;
    }
}

/// The scenario and a runtime to run it on, or the exit code after saying why not.
pub fn scenario_and_runtime(
    path: &Path,
) -> Result<(Scenario, tokio::runtime::Runtime), ExitStatus> {
    let scenario = load_or_report(path)?;
    Ok((scenario, runtime()?))
}
