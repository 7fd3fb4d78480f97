//! Chaos Toolkit side by side: its continuous steady-state hypothesis with one
//! HTTP probe against the same standing lab, measured the same way.

use crate::process::{self, Cost};
use anyhow::{anyhow, Context};
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// One `chaos run`: its cost and how many times the probe ran.
pub struct CtkRun {
    /// What the `chaos` process cost.
    pub cost: Cost,
    /// Probe executions (before, during and after).
    pub observations: usize,
}

/// The experiment: one HTTP probe of the lab's customer endpoint as the
/// hypothesis, and a method that only holds the run open for `hold_s`.
fn experiment(endpoint: &str, hold_s: f64) -> serde_json::Value {
    let request = json!({
        "type": "http",
        "url": format!("http://{endpoint}/orders/latest"),
        "headers": {"Host": "app.lab.gameday.test"},
        "timeout": 1,
    });
    json!({
        "version": "1.0.0",
        "title": "gameday bench: the lab's customer path",
        "description": "one HTTP probe, continuously",
        "steady-state-hypothesis": {
            "title": "customers are served",
            "probes": [{"type": "probe", "name": "customer", "tolerance": 200, "provider": request}],
        },
        "method": [{"type": "action", "name": "hold", "provider": request, "pauses": {"after": hold_s}}],
    })
}

/// Runs the hypothesis every `every_s` for `hold_s` against `endpoint`.
pub fn run(
    chaos: &Path,
    endpoint: &str,
    every_s: f64,
    hold_s: f64,
    work: &Path,
) -> anyhow::Result<CtkRun> {
    let exp = work.join("experiment.json");
    let journal = work.join("journal.json");
    std::fs::write(&exp, experiment(endpoint, hold_s).to_string())?;
    let _ = std::fs::remove_file(&journal);
    let mut cmd = Command::new(chaos);
    cmd.current_dir(work)
        .args(["--no-log-file", "--settings", "/dev/null", "run"])
        .args(["--hypothesis-strategy", "continuously"])
        .arg("--hypothesis-frequency")
        .arg(every_s.to_string())
        .arg("--journal-path")
        .arg(&journal)
        .arg(&exp);
    let (_, cost) = process::run(cmd, &work.join("chaos.out"))?;
    let text = std::fs::read_to_string(&journal)
        .with_context(|| format!("chaos wrote no journal ({})", journal.display()))?;
    let j: serde_json::Value = serde_json::from_str(&text)?;
    let during = j["steady_states"]["during"]
        .as_array()
        .ok_or_else(|| anyhow!("the journal has no continuous hypothesis runs"))?
        .len();
    let edges = ["before", "after"]
        .iter()
        .filter(|k| j["steady_states"][**k].is_object())
        .count();
    Ok(CtkRun {
        cost,
        observations: during + edges,
    })
}

/// What `chaos validate` costs on the same experiment: the interpreter and
/// Chaos Toolkit starting and reading it, taken off "after start-up".
pub fn start_up(chaos: &Path, endpoint: &str, work: &Path) -> anyhow::Result<Cost> {
    let exp = work.join("experiment.json");
    std::fs::write(&exp, experiment(endpoint, 0.0).to_string())?;
    let mut cmd = Command::new(chaos);
    cmd.current_dir(work)
        .args(["--no-log-file", "--settings", "/dev/null", "validate"])
        .arg(&exp);
    Ok(process::run(cmd, &work.join("validate.out"))?.1)
}
