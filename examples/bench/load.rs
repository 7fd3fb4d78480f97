//! The `[load]` generator: does it hold its declared rate on this machine,
//! and what does that cost the runner. Attached to a standing lab, so the
//! lab's own work of answering is not counted.

use crate::binary::{self, Build, StandingLab};
use crate::process::Cost;
use std::path::Path;

/// The rate measured, a second.
pub const RATE: f64 = 500.0;
/// How far from it the held rate may be, as a share.
pub const GOAL: f64 = 0.02;

/// One load run.
#[derive(serde::Serialize)]
pub struct LoadRun {
    /// The declared rate.
    pub rate: f64,
    /// What the report says was held: mean, fewest and most in one whole second.
    pub held: Option<gameday::measure::load::Held>,
    /// Requests sent, failed and dropped.
    pub sent: u64,
    /// Failed.
    pub failed: u64,
    /// Dropped (in-flight bound).
    pub dropped: u64,
    /// What the runner cost.
    pub cost: Cost,
    /// CPU seconds per wall second.
    pub cores: f64,
}

/// `scenario` with a load of [`RATE`] observing 30 s, attached to a lab.
pub fn run(build: &Build, scenario: &Path, work: &Path) -> anyhow::Result<LoadRun> {
    let lab = StandingLab::start(build, scenario)?;
    let text: String = std::fs::read_to_string(scenario)?
        .lines()
        .filter(|l| !l.starts_with("observe_at_least") && !l.starts_with("timeout"))
        .collect::<Vec<_>>()
        .join("\n");
    let path = work.join("load.toml");
    std::fs::write(
        &path,
        format!(
            "observe_at_least = \"30s\"\ntimeout = \"90s\"\n{text}\n\n[load]\nrate = \"{RATE}/s\"\ncap = \"{RATE}/s\"\nduration = \"2m\"\ntimeout = \"1s\"\n"
        ),
    )?;
    let g = binary::game_day(build, &path, Some(&lab), work)?;
    let load = g
        .report
        .phases
        .as_ref()
        .and_then(|m| m.load.clone())
        .ok_or_else(|| anyhow::anyhow!("the load run measured no load"))?;
    Ok(LoadRun {
        rate: RATE,
        held: load.held,
        sent: load.sent,
        failed: load.failed,
        dropped: load.dropped,
        cores: g.cost.cpu_s / g.cost.wall_s,
        cost: g.cost,
    })
}
