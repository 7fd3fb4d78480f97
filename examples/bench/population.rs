//! A population of simulated customers (`kind = "customers"`): how the
//! runner's CPU and memory grow with it (attached to a standing lab, so the
//! lab's own work is not counted), and how each class's recovery agrees
//! with the lab's ground truth over many runs (embedded lab).

use crate::binary::{self, Build, StandingLab};
use crate::process::Cost;
use std::path::Path;

/// Population sizes the growth is measured at (0: no population, the
/// other probes alone).
pub const SIZES: [u32; 4] = [0, 50, 200, 1000];
/// The runner's CPU goal with 200 clients, in cores.
pub const CORES_GOAL_200: f64 = 0.5;

/// Classes without a pool: the growth scenario fails by 503s, which pin a
/// pool without a maximum age for good.
const GROWTH_CLASSES: &str = r#"
[[probes.classes]]
client = { class = "fresh" }
share = 0.6

[[probes.classes]]
name = "jvm"
client = { class = "cached", cache_for = "5s" }
share = 0.2

[[probes.classes]]
name = "isp"
client = { class = "stale-resolver", min_ttl = "8s" }
share = 0.2
"#;

/// Every class, against a silent region.
const ACCURACY_CLASSES: &str = r#"
[[probes.classes]]
client = { class = "fresh" }
share = 0.5

[[probes.classes]]
client = { class = "pooled" }
share = 0.2

[[probes.classes]]
name = "jvm"
client = { class = "cached", cache_for = "5s" }
share = 0.2

[[probes.classes]]
name = "isp"
client = { class = "stale-resolver", min_ttl = "8s" }
share = 0.1
"#;

/// `text` observing at least `observe_s`, with a TTL of 2 s and, when
/// `clients` > 0, a population of them in `classes` (rto 30 s).
fn with_population(text: &str, observe_s: u64, clients: u32, classes: &str) -> String {
    let body: Vec<&str> = text
        .lines()
        .filter(|l| {
            !l.starts_with("observe_at_least")
                && !l.starts_with("timeout")
                && !l.starts_with("dns_ttl")
        })
        .collect();
    let mut out = format!(
        "observe_at_least = \"{observe_s}s\"\ntimeout = \"{}s\"\n{}\n",
        observe_s + 60,
        body.join("\n")
    );
    out = match out.contains("[lab]\n") {
        true => out.replacen("[lab]\n", "[lab]\ndns_ttl = \"2s\"\n", 1),
        false => out.replacen("[[faults]]", "[lab]\ndns_ttl = \"2s\"\n\n[[faults]]", 1),
    };
    if clients > 0 {
        out.push_str(&format!(
            "\n[[probes]]\nkind = \"customers\"\nclients = {clients}\ninterval = \"1s\"\ntimeout = \"2s\"\nrto = \"30s\"\n{classes}"
        ));
    }
    out
}

/// One population size's cost.
#[derive(serde::Serialize)]
pub struct Growth {
    /// Simulated clients.
    pub clients: u32,
    /// Their requests in the run.
    pub requests: usize,
    /// What the runner cost.
    pub cost: Cost,
    /// CPU seconds per wall second.
    pub cores: f64,
}

/// The runner's cost with each of [`SIZES`], attached to a standing lab,
/// observing `observe_s` after t0.
pub fn growth(
    build: &Build,
    scenario: &Path,
    observe_s: u64,
    work: &Path,
) -> anyhow::Result<Vec<Growth>> {
    let lab = StandingLab::start(build, scenario)?;
    let text = std::fs::read_to_string(scenario)?;
    SIZES
        .iter()
        .map(|&clients| {
            let path = work.join(format!("population-{clients}.toml"));
            std::fs::write(
                &path,
                with_population(&text, observe_s, clients, GROWTH_CLASSES),
            )?;
            let g = binary::game_day(build, &path, Some(&lab), work)?;
            let requests = customer_requests(&g.report)?;
            Ok(Growth {
                clients,
                requests,
                cores: g.cost.cpu_s / g.cost.wall_s,
                cost: g.cost,
            })
        })
        .collect()
}

fn customer_requests(report: &gameday::report::Report) -> anyhow::Result<usize> {
    let mut n = 0;
    for entry in report.entries().map_err(|e| anyhow::anyhow!("{e}"))? {
        let entry = entry.map_err(|e| anyhow::anyhow!("{e}"))?;
        n += matches!(
            entry.what,
            gameday::timeline::What::Observation(gameday::timeline::Observation::Customer { .. })
        ) as usize;
    }
    Ok(n)
}

/// One class over every run: each run's distance to the truth of its
/// client at the 99th percentile (the report's accuracy row).
#[derive(serde::Serialize)]
pub struct ClassAccuracy {
    /// The class.
    pub class: String,
    /// Runs with a row for it.
    pub runs: usize,
    /// Runs within one request interval.
    pub within: usize,
    /// The 99th percentile over runs of |error|, ms.
    pub p99_error_ms: f64,
    /// The largest |error|, ms.
    pub max_error_ms: f64,
    /// The request interval, ms.
    pub resolution_ms: f64,
}

/// `runs` embedded game days of a 60-client population of every class
/// against a silent region; per class, how far from the lab's truth.
pub fn accuracy(
    build: &Build,
    scenario: &Path,
    runs: usize,
    work: &Path,
) -> anyhow::Result<Vec<ClassAccuracy>> {
    let path = work.join("population-accuracy.toml");
    let text = std::fs::read_to_string(scenario)?;
    std::fs::write(&path, with_population(&text, 3, 60, ACCURACY_CLASSES))?;
    let mut errors: std::collections::BTreeMap<String, (Vec<f64>, usize, f64)> = Default::default();
    for _ in 0..runs {
        let g = binary::game_day(build, &path, None, work)?;
        for a in &g.report.accuracy {
            let Some(class) = a.phase.strip_prefix("recovered p99 (customers: ") else {
                continue;
            };
            let class = class.split(',').next().unwrap_or(class).to_string();
            let e = errors.entry(class).or_default();
            e.0.push(a.error_ms.abs());
            e.1 += a.within_resolution as usize;
            e.2 = a.resolution_ms;
        }
    }
    Ok(errors
        .into_iter()
        .map(|(class, (mut errs, within, resolution_ms))| {
            errs.sort_by(f64::total_cmp);
            let rank = (99 * errs.len()).div_ceil(100).max(1);
            ClassAccuracy {
                class,
                runs: errs.len(),
                within,
                p99_error_ms: errs[rank - 1],
                max_error_ms: errs[errs.len() - 1],
                resolution_ms,
            }
        })
        .collect())
}
