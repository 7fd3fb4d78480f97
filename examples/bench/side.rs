//! Side by side on one standing lab, at each of [`INTERVALS`]:
//!
//! - Chaos Toolkit's continuous hypothesis with one HTTP probe;
//! - the floor of that observation (`floor.rs`): one GET on a new
//!   connection with nothing around it, what any tool must at least pay;
//! - gameday running the compare scenario reduced to its customer probe,
//!   so that it makes the same observation as Chaos Toolkit;
//! - gameday running the whole scenario (measured earlier, on its own
//!   standing lab): every probe of a game day, health checks and DNS
//!   queries beside the customer's requests.
//!
//! Each row gives CPU per observation gross, after start-up and at the
//! margin: (CPU at 10 ms - CPU at 100 ms) / (observations at 10 ms -
//! observations at 100 ms) per run, which takes every fixed cost (start-up,
//! the game day's control plane, reports) off and leaves what one more
//! observation costs.

use crate::binary::{Build, StandingLab};
use crate::process::Cost;
use crate::{ctk, floor, ratio_goal, scratch, Attached, BuildFigures, INTERVALS};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

/// What made a row's observations.
#[derive(Clone, PartialEq)]
enum Tool {
    ChaosToolkit,
    Floor,
    /// gameday in one build, with only the customer probe or the whole
    /// scenario.
    Gameday {
        build: String,
        customer_only: bool,
    },
}

impl Tool {
    fn name(&self) -> String {
        match self {
            Tool::ChaosToolkit => "chaostoolkit 1.19".into(),
            Tool::Floor => "floor (one GET)".into(),
            Tool::Gameday {
                build,
                customer_only: true,
            } => format!("gameday {build}, http probe"),
            Tool::Gameday { build, .. } => format!("gameday {build}, all probes"),
        }
    }
}

/// One tool at one interval, over one or more runs.
struct Row {
    tool: Tool,
    interval: &'static str,
    runs: usize,
    observations: f64,
    cpu_s: f64,
    start_up_cpu_s: f64,
    max_rss_mb: f64,
}

impl Row {
    fn gross_ms(&self) -> f64 {
        1e3 * self.cpu_s / self.observations
    }
    fn after_ms(&self) -> f64 {
        1e3 * (self.cpu_s - self.start_up_cpu_s * self.runs as f64) / self.observations
    }
    fn per_run(&self) -> (f64, f64) {
        let n = self.runs.max(1) as f64;
        (self.cpu_s / n, self.observations / n)
    }
    fn of_attached(tool: Tool, interval: &'static str, a: &Attached, start_up: &Cost) -> Row {
        Row {
            tool,
            interval,
            runs: a.costs.len(),
            observations: a.obs(),
            cpu_s: a.cpu_s(),
            start_up_cpu_s: start_up.cpu_s,
            max_rss_mb: a.max_rss_mb(),
        }
    }
}

/// Every row of the side by side.
pub struct SideBySide {
    rows: Vec<Row>,
}

/// The scenario with only its `http` probe and its `rto` objective: the
/// observation Chaos Toolkit makes, and nothing the other probes judge.
pub(crate) fn customer_only(text: &str) -> anyhow::Result<String> {
    let mut doc: toml::Table = text.parse()?;
    if let Some(toml::Value::Array(probes)) = doc.get_mut("probes") {
        probes.retain(|p| p.get("kind").and_then(toml::Value::as_str) == Some("http"));
    }
    if let Some(toml::Value::Table(objectives)) = doc.get_mut("objectives") {
        objectives.retain(|k, _| k == "rto");
    }
    Ok(toml::to_string(&doc)?)
}

/// The floor client `runs` times at one interval, as one row.
fn floor_row(
    lab: &StandingLab,
    interval: &'static str,
    hold_s: f64,
    runs: usize,
    start_up: &Cost,
    work: &Path,
) -> anyhow::Result<Row> {
    let every = humantime::parse_duration(interval)?.as_secs_f64();
    let mut row = Row {
        tool: Tool::Floor,
        interval,
        runs,
        observations: 0.0,
        cpu_s: 0.0,
        start_up_cpu_s: start_up.cpu_s,
        max_rss_mb: 0.0,
    };
    for _ in 0..runs {
        let f = floor::run(&lab.endpoint, every, hold_s, work)?;
        if f.served == 0 {
            anyhow::bail!("the floor client was never served by {}", lab.endpoint);
        }
        row.observations += f.observations as f64;
        row.cpu_s += f.cost.cpu_s;
        row.max_rss_mb = row.max_rss_mb.max(f.cost.max_rss_mb);
    }
    Ok(row)
}

/// Chaos Toolkit, the floor and gameday's customer probe, interleaved
/// interval by interval on one standing lab of `scenario`, each as long as
/// gameday's attached game day there (`holds_s`); then gameday's whole
/// scenario rows from `figures`.
pub fn measure(
    chaos: &Path,
    builds: &[Build],
    figures: &[BuildFigures],
    scenario: &Path,
    holds_s: &[f64],
    runs: usize,
    root: &Path,
) -> anyhow::Result<SideBySide> {
    let work = scratch(root, &["side-by-side"])?;
    let lab = StandingLab::start(&builds[0], scenario)?;
    let ctk_start = ctk::start_up(chaos, &lab.endpoint, &work)?;
    let floor_start = floor::start_up(&lab.endpoint, &work)?;
    let customer = work.join("customer-only.toml");
    std::fs::write(
        &customer,
        customer_only(&std::fs::read_to_string(scenario)?)?,
    )?;
    let mut rows = Vec::new();
    for (interval, hold) in INTERVALS.iter().zip(holds_s) {
        let every = humantime::parse_duration(interval)?.as_secs_f64();
        let c = ctk::run(chaos, &lab.endpoint, every, *hold, &work)?;
        rows.push(Row {
            tool: Tool::ChaosToolkit,
            interval,
            runs: 1,
            observations: c.observations as f64,
            cpu_s: c.cost.cpu_s,
            start_up_cpu_s: ctk_start.cpu_s,
            max_rss_mb: c.cost.max_rss_mb,
        });
        rows.push(floor_row(&lab, interval, *hold, runs, &floor_start, &work)?);
        let variant = crate::variant(&customer, interval, &work)?;
        for (b, f) in builds.iter().zip(figures) {
            let a = Attached::of_runs(b, &variant, &lab, runs, &work);
            if let Some(why) = &a.refused {
                anyhow::bail!(
                    "gameday {} refused the customer-only scenario: {why}",
                    b.label
                );
            }
            let tool = Tool::Gameday {
                build: b.label.clone(),
                customer_only: true,
            };
            rows.push(Row::of_attached(tool, interval, &a, &f.start_up));
        }
    }
    rows.extend(whole_scenario_rows(figures, &crate::stem(scenario)));
    Ok(SideBySide { rows })
}

/// gameday's attached runs of the whole compare scenario, per build.
fn whole_scenario_rows(figures: &[BuildFigures], scenario: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for f in figures {
        let Some((_, _, attached)) = f.scenarios.iter().find(|(n, _, _)| n == scenario) else {
            continue;
        };
        for (interval, a) in INTERVALS.iter().zip(attached) {
            if a.refused.is_none() {
                let tool = Tool::Gameday {
                    build: f.label.clone(),
                    customer_only: false,
                };
                rows.push(Row::of_attached(tool, interval, a, &f.start_up));
            }
        }
    }
    rows
}

/// What the side by side says of one gameday build against Chaos Toolkit.
#[derive(serde::Serialize)]
pub struct Ratios {
    /// The goal, times less CPU per observation after start-up.
    pub goal: f64,
    /// The smallest ratio over both intervals, whole scenario (the goal's
    /// measure, as the issue set it).
    pub whole_scenario: f64,
    /// The same with gameday making Chaos Toolkit's one observation.
    pub customer_only: f64,
    /// Chaos Toolkit's marginal CPU per observation over gameday's,
    /// customer probe only.
    pub customer_only_marginal: f64,
    /// Whether the whole-scenario ratio met the goal at both intervals.
    pub met: bool,
}

impl SideBySide {
    fn find(&self, tool: &Tool, interval: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.tool == *tool && r.interval == interval)
    }

    /// CPU per additional observation, ms, from the run at 100 ms to the
    /// run at 10 ms.
    fn marginal_ms(&self, tool: &Tool) -> Option<f64> {
        let (slow, fast) = (
            self.find(tool, INTERVALS[0])?,
            self.find(tool, INTERVALS[1])?,
        );
        let ((c0, o0), (c1, o1)) = (slow.per_run(), fast.per_run());
        (o1 > o0).then(|| 1e3 * (c1 - c0) / (o1 - o0))
    }

    /// Chaos Toolkit's figure over `tool`'s, the smallest over both
    /// intervals, after start-up.
    fn min_ratio(&self, tool: &Tool) -> f64 {
        INTERVALS
            .iter()
            .filter_map(|i| {
                Some(self.find(&Tool::ChaosToolkit, i)?.after_ms() / self.find(tool, i)?.after_ms())
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// The ceiling: Chaos Toolkit over the floor, after start-up, the
    /// smallest over both intervals; and at the margin.
    pub fn ceiling(&self) -> (f64, Option<f64>) {
        let marginal = self
            .marginal_ms(&Tool::ChaosToolkit)
            .zip(self.marginal_ms(&Tool::Floor))
            .map(|(c, f)| c / f);
        (self.min_ratio(&Tool::Floor), marginal)
    }

    /// Per gameday build: its ratios to Chaos Toolkit.
    pub fn ratios(&self) -> BTreeMap<String, Ratios> {
        let ctk_marginal = self.marginal_ms(&Tool::ChaosToolkit);
        let mut out = BTreeMap::new();
        for r in &self.rows {
            let Tool::Gameday {
                build,
                customer_only: false,
            } = &r.tool
            else {
                continue;
            };
            let customer = Tool::Gameday {
                build: build.clone(),
                customer_only: true,
            };
            let whole = self.min_ratio(&r.tool);
            let goal = ratio_goal(build);
            out.insert(
                build.clone(),
                Ratios {
                    goal,
                    whole_scenario: whole,
                    customer_only: self.min_ratio(&customer),
                    customer_only_marginal: ctk_marginal
                        .zip(self.marginal_ms(&customer))
                        .map_or(f64::NAN, |(c, g)| c / g),
                    met: whole >= goal,
                },
            );
        }
        out
    }

    /// Prints the table and returns its rows for the JSON.
    pub fn print(&self, scenario: &str) -> Vec<serde_json::Value> {
        println!("\nside by side on one standing lab ({scenario}), CPU per observation:");
        println!(
            "{:<28} {:>8} {:>8} {:>10} {:>15} {:>10} {:>9} {:>18}",
            "tool",
            "interval",
            "obs/run",
            "gross",
            "after start-up",
            "marginal",
            "peak RSS",
            "CTK / this (after)"
        );
        let mut doc = Vec::new();
        for interval in INTERVALS {
            let ctk_after = self
                .find(&Tool::ChaosToolkit, interval)
                .map_or(f64::NAN, Row::after_ms);
            for r in self.rows.iter().filter(|r| r.interval == interval) {
                let marginal = self.marginal_ms(&r.tool).unwrap_or(f64::NAN);
                let ratio = ctk_after / r.after_ms();
                println!(
                    "{:<28} {:>8} {:>8.0} {:>8.3}ms {:>13.3}ms {:>8.3}ms {:>7.1}MB {:>17.1}x",
                    r.tool.name(),
                    interval,
                    r.per_run().1,
                    r.gross_ms(),
                    r.after_ms(),
                    marginal,
                    r.max_rss_mb,
                    ratio
                );
                doc.push(json!({
                    "tool": r.tool.name(), "interval": interval, "runs": r.runs,
                    "observations": r.per_run().1, "cpu_per_observation_ms": r.gross_ms(),
                    "cpu_per_observation_after_start_up_ms": r.after_ms(),
                    "marginal_cpu_per_observation_ms": marginal, "max_rss_mb": r.max_rss_mb,
                    "start_up_cpu_ms": r.start_up_cpu_s * 1e3, "ratio_after_start_up": ratio,
                }));
            }
        }
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::customer_only;
    use std::path::Path;

    #[test]
    fn customer_only_keeps_the_http_probe_and_rto() {
        let file = Path::new("scenarios/kill-primary-targets.toml");
        let text = customer_only(&std::fs::read_to_string(file).unwrap()).unwrap();
        let s = gameday::scenario::parse(file, &text).unwrap();
        assert_eq!(s.probes.len(), 1);
        assert_eq!(s.probes[0].kind(), gameday::probe::ProbeKind::Http);
        assert_eq!(s.objectives.rto.to_string(), "8s");
        assert!(s.objectives.rpo.is_none() && s.objectives.max_detection.is_none());
        assert!(s.objectives.max_dns_flip.is_none());
    }
}
