//! History across runs: per scenario, the key figures of every saved run, the
//! median of the previous runs, and a regression flag when the newest run is
//! worse than that median by more than a configurable share.
//!
//! An increase only counts when it is also larger than the figure's resolution:
//! a 60 ms "regression" measured with a 100 ms probe is noise, not news.

pub mod html;
pub mod render;

use crate::report::{self, Report};
use crate::verdict::Outcome;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Figures tracked over time, in the order they are shown.
pub const FIGURES: [&str; 4] = ["rto_observed", "rpo_observed", "detection", "dns_flip"];

/// One run, as history sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunPoint {
    /// Run id.
    pub run_id: String,
    /// Start (UTC).
    pub started_at: DateTime<Utc>,
    /// Outcome.
    pub outcome: Outcome,
    /// Figure -> value in ms (absent when not observed).
    pub figures: BTreeMap<String, Option<f64>>,
    /// Figure -> resolution in ms.
    pub resolution: BTreeMap<String, f64>,
    /// The run's report.json.
    #[serde(default)]
    pub report: PathBuf,
}

/// The newest run got worse.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Regression {
    /// Figure.
    pub figure: String,
    /// Newest value, ms (`None`: no longer observed at all).
    pub newest_ms: Option<f64>,
    /// Median of the previous runs, ms.
    pub median_ms: f64,
    /// Increase over the median as a share (0.25 = 25%); `None` when not observed.
    pub increase: Option<f64>,
}

/// One scenario's history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioHistory {
    /// Scenario name.
    pub scenario: String,
    /// Runs, oldest first.
    pub runs: Vec<RunPoint>,
    /// Median of each figure over the runs before the newest.
    pub previous_median: BTreeMap<String, Option<f64>>,
    /// Regressions of the newest run.
    pub regressions: Vec<Regression>,
}

/// Every scenario's history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct History {
    /// Share over the median that counts as a regression.
    pub threshold: f64,
    /// Per scenario, by name.
    pub scenarios: Vec<ScenarioHistory>,
    /// Files that could not be read, with why.
    pub skipped: Vec<String>,
}

impl History {
    /// Whether any scenario's newest run regressed.
    pub fn has_regression(&self) -> bool {
        self.scenarios.iter().any(|s| !s.regressions.is_empty())
    }
}

/// The median of some values.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn point(r: &Report, file: &Path) -> RunPoint {
    let mut figures = BTreeMap::new();
    let mut resolution = BTreeMap::new();
    if let Some(m) = &r.phases {
        for name in FIGURES {
            if let Some(f) = m.figure(name) {
                figures.insert(name.to_string(), f.value_ms);
                resolution.insert(name.to_string(), f.resolution_ms);
            }
        }
    }
    RunPoint {
        run_id: r.run_id.clone(),
        started_at: r.started_at,
        outcome: r.outcome,
        figures,
        resolution,
        report: file.to_path_buf(),
    }
}

/// Analyses the runs of one scenario (any order).
pub fn analyse(scenario: &str, mut runs: Vec<RunPoint>, threshold: f64) -> ScenarioHistory {
    runs.sort_by_key(|r| r.started_at);
    // Refused runs measured nothing; they appear in the list but not in medians.
    let measured: Vec<&RunPoint> = runs.iter().filter(|r| !r.figures.is_empty()).collect();
    let mut previous_median = BTreeMap::new();
    let mut regressions = Vec::new();
    if let Some((newest, previous)) = measured.split_last() {
        for figure in FIGURES {
            let values: Vec<f64> = previous
                .iter()
                .filter_map(|r| r.figures.get(figure).copied().flatten())
                .collect();
            let med = median(&values);
            previous_median.insert(figure.to_string(), med);
            let Some(med) = med else { continue };
            let resolution = newest.resolution.get(figure).copied().unwrap_or(0.0);
            match newest.figures.get(figure).copied().flatten() {
                Some(v) if v > med * (1.0 + threshold) && v - med > resolution => {
                    regressions.push(Regression {
                        figure: figure.into(),
                        newest_ms: Some(v),
                        median_ms: med,
                        increase: Some(if med > 0.0 {
                            (v - med) / med
                        } else {
                            f64::INFINITY
                        }),
                    })
                }
                // Observed before, not any more (e.g. never recovered): worse.
                None if newest.figures.contains_key(figure) => regressions.push(Regression {
                    figure: figure.into(),
                    newest_ms: None,
                    median_ms: med,
                    increase: None,
                }),
                _ => {}
            }
        }
    }
    ScenarioHistory {
        scenario: scenario.into(),
        runs,
        previous_median,
        regressions,
    }
}

/// How deep under the folder `gameday history` looks for run folders: a
/// run folder (1), `reports/<run>` (2), a downloaded CI artifact
/// `<artifact>/reports/<run>` (3), one more level of grouping (4).
pub const MAX_DEPTH: usize = 4;
/// The most reports one history reads; the rest are named as skipped.
pub const MAX_REPORTS: usize = 10_000;

/// Every `report.json` under `dir`, at most [`MAX_DEPTH`] folders down,
/// sorted; symlinks are not followed.
fn report_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<std::fs::DirEntry> =
        std::fs::read_dir(dir)?.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir {
            continue;
        }
        let report = entry.path().join("report.json");
        if report.is_file() {
            out.push(report);
        } else if depth < MAX_DEPTH {
            // A folder that cannot be read is not a run folder; skip it.
            let _ = report_files(&entry.path(), depth + 1, out);
        }
    }
    Ok(())
}

/// Reads every run's report.json under `dir` (run folders, reports
/// folders, downloaded CI artifacts holding them) and analyses each
/// scenario. A run found twice (the same history carried into two
/// artifacts) counts once.
pub fn collect(dir: &Path, threshold: f64) -> std::io::Result<History> {
    let mut by_scenario: BTreeMap<String, Vec<RunPoint>> = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut files = Vec::new();
    report_files(dir, 1, &mut files)?;
    if files.len() > MAX_REPORTS {
        skipped.push(format!(
            "{} reports past the first {MAX_REPORTS} under {} (point history at a narrower folder)",
            files.len() - MAX_REPORTS,
            dir.display()
        ));
        files.truncate(MAX_REPORTS);
    }
    let mut seen = std::collections::HashSet::new();
    for f in files {
        match report::read(&f) {
            Ok(r) if !seen.insert(r.run_id.clone()) => {}
            Ok(r) => by_scenario
                .entry(r.scenario.name.clone())
                .or_default()
                .push(point(&r, &f)),
            Err(e) => skipped.push(e.to_string()),
        }
    }
    let scenarios = by_scenario
        .into_iter()
        .map(|(name, runs)| analyse(&name, runs, threshold))
        .collect();
    Ok(History {
        threshold,
        scenarios,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(i: i64, rto: Option<f64>) -> RunPoint {
        let mut figures = BTreeMap::new();
        figures.insert("rto_observed".to_string(), rto);
        let mut resolution = BTreeMap::new();
        resolution.insert("rto_observed".to_string(), 100.0);
        RunPoint {
            run_id: format!("r{i}"),
            started_at: DateTime::from_timestamp(1_700_000_000 + i * 86400, 0).unwrap(),
            outcome: Outcome::Passed,
            figures,
            resolution,
            report: PathBuf::new(),
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn flags_only_real_regressions() {
        let base: Vec<RunPoint> = (0..5)
            .map(|i| run(i, Some(3000.0 + i as f64 * 10.0)))
            .collect();
        // 50% worse: flagged.
        let mut runs = base.clone();
        runs.push(run(9, Some(4550.0)));
        let h = analyse("s", runs, 0.2);
        assert_eq!(h.regressions.len(), 1);
        assert_eq!(h.previous_median["rto_observed"], Some(3020.0));
        // 10% worse: under the threshold.
        let mut runs = base.clone();
        runs.push(run(9, Some(3322.0)));
        assert!(analyse("s", runs, 0.2).regressions.is_empty());
        // Better: never flagged.
        let mut runs = base.clone();
        runs.push(run(9, Some(1000.0)));
        assert!(analyse("s", runs, 0.2).regressions.is_empty());
        // Over the share but within one resolution: noise.
        let small: Vec<RunPoint> = (0..3)
            .map(|i| run(i, Some(100.0)))
            .chain([run(9, Some(180.0))])
            .collect();
        assert!(analyse("s", small, 0.2).regressions.is_empty());
        // Never recovered any more: flagged.
        let mut runs = base;
        runs.push(run(9, None));
        assert_eq!(analyse("s", runs, 0.2).regressions[0].newest_ms, None);
        // A single run has nothing to compare with.
        assert!(analyse("s", vec![run(0, Some(9e9))], 0.2)
            .regressions
            .is_empty());
    }
}
