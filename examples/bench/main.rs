//! Benchmark: what the `gameday` binary users run costs, how accurate it is,
//! and Chaos Toolkit side by side.
//!
//! Every figure is of the `gameday` binary itself, run as a user runs it, in
//! each build found (`target/debug/gameday`, `target/release/gameday`, or
//! `--gameday PATH`, labelled by what its `--version` says): wall time, CPU
//! and peak RSS from wait4(2), with the anonymous / file-backed split sampled
//! from /proc. Per scenario:
//!
//! - the embedded lab (`gameday run`: runner and lab in one process): wall
//!   time, memory, and every measured phase against the lab's ground truth;
//! - attached to a standing `gameday lab` (`gameday run --attach`): the
//!   runner's own CPU per observation and peak RSS, at 100 ms and with
//!   every probe at 10 ms.
//!
//! Then Chaos Toolkit's continuous hypothesis (one HTTP probe) against the
//! same standing lab at 100 ms and 10 ms, beside gameday at the same
//! intervals, the floor of that observation and gameday's customer probe
//! alone (`side.rs`): CPU per observation gross, after start-up and at the
//! margin, and peak RSS.
//!
//!     scripts/bench [--runs 20] [--cost-runs 3] [--long-secs 180] [--json bench/DATE.json] [scenario.toml ...]
//!
//! Then a population of simulated customers: the runner's CPU and memory
//! with 0, 50, 200 and 1,000 clients at one request a second each, and each
//! client class's recovery against the lab's truth over `--population-runs`
//! runs.
//!
//! `--cost-runs 0` skips the attached runs (and so the side by side),
//! `--long-secs 0` the long game days, `--population-runs 0` the population.
//!
//! Run on demand; never part of the test suite.

mod binary;
mod ctk;
mod floor;
mod load;
mod long;
mod population;
mod process;
mod side;

use anyhow::anyhow;
use binary::{Build, StandingLab};
use process::Cost;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Peak RSS goal of the runner, MB, per build.
fn rss_goal_mb(build: &str) -> f64 {
    if build == "release" {
        10.0
    } else {
        20.0
    }
}

/// How many times less CPU per observation than Chaos Toolkit, per build.
fn ratio_goal(build: &str) -> f64 {
    if build == "release" {
        40.0
    } else {
        15.0
    }
}

/// The probe intervals the cost is measured at.
const INTERVALS: [&str; 2] = ["100ms", "10ms"];

/// One run's divergent and lost writes, measured and true.
#[derive(Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Split {
    lost: u64,
    divergent: u64,
    ambiguous: u64,
    true_lost: u64,
    true_divergent: u64,
}

impl Split {
    /// From a report: measured from the phases, true from the lab's
    /// `database-diverged` record of what the old writer alone held.
    fn of(r: &gameday::report::Report) -> Option<Split> {
        let m = r.phases.as_ref()?;
        let d = m.divergent_writes.as_ref()?;
        let (true_lost, true_divergent) =
            gameday::measure::accuracy::discarded_counts(&r.ground_truth, &r.run_id)?;
        Some(Split {
            lost: m.lost_writes.count?,
            divergent: d.count,
            ambiguous: d.ambiguous,
            true_lost,
            true_divergent,
        })
    }
}

/// The scenario text with every probe's interval set to `interval`.
pub(crate) fn with_probe_interval(text: &str, interval: &str) -> String {
    let mut out = Vec::new();
    let mut in_probe = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with('[') {
            in_probe = t.starts_with("[[probes]]");
            out.push(line.to_string());
            if in_probe {
                out.push(format!("interval = \"{interval}\""));
            }
            continue;
        }
        if in_probe && t.starts_with("interval") {
            continue;
        }
        out.push(line.to_string());
    }
    out.join("\n") + "\n"
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

#[derive(Default)]
struct PhaseStats {
    errors: Vec<f64>,
    within: usize,
    resolution_ms: f64,
}

/// One scenario's game days on the embedded lab in one build: cost and
/// accuracy.
#[derive(Default)]
struct Embedded {
    costs: Vec<Cost>,
    exits: BTreeMap<i32, usize>,
    phases: BTreeMap<String, PhaseStats>,
    splits: Vec<Split>,
}

/// The runner's own cost attached to a standing lab, at one probe interval.
#[derive(Default)]
struct Attached {
    costs: Vec<Cost>,
    observations: Vec<usize>,
    /// Why gameday refused to run the scenario at this interval (the
    /// probes' global rate bound, for one).
    refused: Option<String>,
}

impl Attached {
    /// `runs` game days of `scenario` attached to `lab`; the first refusal
    /// ends them.
    fn of_runs(
        build: &Build,
        scenario: &Path,
        lab: &StandingLab,
        runs: usize,
        work: &Path,
    ) -> Attached {
        let mut a = Attached::default();
        for _ in 0..runs {
            match binary::game_day(build, scenario, Some(lab), work) {
                Ok(g) => {
                    a.costs.push(g.cost);
                    a.observations.push(g.observations);
                }
                Err(e) => {
                    a.refused = Some(format!("{e:#}"));
                    break;
                }
            }
        }
        a
    }
    fn cpu_s(&self) -> f64 {
        self.costs.iter().map(|c| c.cpu_s).sum()
    }
    fn obs(&self) -> f64 {
        self.observations.iter().sum::<usize>() as f64
    }
    /// CPU per observation over whole game days, ms.
    fn gross_ms(&self) -> f64 {
        1e3 * self.cpu_s() / self.obs()
    }
    /// The same without each run's start-up (`start_up_cpu_s`), ms.
    fn after_start_up_ms(&self, start_up_cpu_s: f64) -> f64 {
        1e3 * (self.cpu_s() - start_up_cpu_s * self.costs.len() as f64) / self.obs()
    }
    fn max_rss_mb(&self) -> f64 {
        max_of(self.costs.iter().map(|c| c.max_rss_mb))
    }
    fn median_wall_s(&self) -> f64 {
        percentile(&sorted(self.costs.iter().map(|c| c.wall_s).collect()), 50.0)
    }
    fn json(&self, start_up_cpu_s: f64) -> serde_json::Value {
        if let Some(why) = &self.refused {
            return json!({ "refused": why });
        }
        json!({
            "runs": self.costs.len(),
            "observations_per_run": self.obs() / self.costs.len().max(1) as f64,
            "cpu_per_observation_ms": self.gross_ms(),
            "cpu_per_observation_after_start_up_ms": self.after_start_up_ms(start_up_cpu_s),
            "max_rss_mb": self.max_rss_mb(),
            "peak_anon_mb": max_of(self.costs.iter().map(|c| c.peak_anon_mb)),
            "peak_file_mb": max_of(self.costs.iter().map(|c| c.peak_file_mb)),
            "wall_p50_s": self.median_wall_s(),
        })
    }
}

fn max_of(v: impl Iterator<Item = f64>) -> f64 {
    v.fold(0.0, f64::max)
}

/// A scratch folder for one build and scenario.
fn scratch(root: &Path, parts: &[&str]) -> anyhow::Result<PathBuf> {
    let dir = parts.iter().fold(root.to_path_buf(), |d, p| d.join(p));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The scenario rewritten with every probe at `interval`, as a file in `work`.
fn variant(scenario: &Path, interval: &str, work: &Path) -> anyhow::Result<PathBuf> {
    let text = std::fs::read_to_string(scenario)?;
    let path = work.join(format!("probes-{interval}.toml"));
    std::fs::write(&path, with_probe_interval(&text, interval))?;
    Ok(path)
}

fn embedded(build: &Build, scenario: &Path, runs: usize, work: &Path) -> anyhow::Result<Embedded> {
    let mut e = Embedded::default();
    for _ in 0..runs {
        let g = binary::game_day(build, scenario, None, work)?;
        e.costs.push(g.cost);
        *e.exits.entry(g.exit).or_default() += 1;
        e.splits.extend(Split::of(&g.report));
        for a in g.report.accuracy {
            let p = e.phases.entry(a.phase.clone()).or_default();
            p.errors.push(a.error_ms.abs());
            p.within += a.within_resolution as usize;
            p.resolution_ms = a.resolution_ms;
        }
    }
    Ok(e)
}

/// `runs` game days at each of [`INTERVALS`], attached to one standing lab.
fn attached(
    build: &Build,
    scenario: &Path,
    runs: usize,
    work: &Path,
) -> anyhow::Result<Vec<Attached>> {
    let lab = StandingLab::start(build, scenario)?;
    let mut out = Vec::new();
    for interval in INTERVALS {
        let path = variant(scenario, interval, work)?;
        out.push(Attached::of_runs(build, &path, &lab, runs, work));
    }
    Ok(out)
}

/// Everything measured of one build.
struct BuildFigures {
    label: String,
    path: PathBuf,
    start_up: Cost,
    layout: binary::Layout,
    scenarios: Vec<(String, Embedded, Vec<Attached>)>,
}

fn measure_build(
    build: &Build,
    scenarios: &[PathBuf],
    runs: usize,
    cost_runs: usize,
    root: &Path,
) -> anyhow::Result<BuildFigures> {
    let mut figures = BuildFigures {
        label: build.label.clone(),
        path: build.path.clone(),
        start_up: binary::start_up(build, &scenarios[0], &scratch(root, &[&build.label])?)?,
        layout: binary::layout(build)?,
        scenarios: Vec::new(),
    };
    for path in scenarios {
        let name = stem(path);
        let work = scratch(root, &[&build.label, &name])?;
        let e = embedded(build, path, runs, &work)?;
        let a = if cost_runs > 0 {
            attached(build, path, cost_runs, &work)?
        } else {
            Vec::new()
        };
        figures.scenarios.push((name, e, a));
    }
    Ok(figures)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn print_costs(f: &BuildFigures) {
    println!("\n== {} build: {} ==", f.label, f.path.display());
    println!(
        "start-up (gameday validate): {:.1} ms CPU, {:.1} MB peak RSS",
        f.start_up.cpu_s * 1e3,
        f.start_up.max_rss_mb
    );
    println!(
        "function order (link/{}.order): {} of {} names found in the binary; \
         {} of the probes' {} observe functions ordered{}",
        f.label,
        f.layout.found,
        f.layout.listed,
        f.layout.observe_ordered,
        f.layout.observe,
        if f.layout.probe_path_stale() {
            format!(
                " (STALE: the probe path lands among the cold code and costs resident \
                 memory; run `scripts/order-functions {}`)",
                f.label
            )
        } else {
            String::new()
        }
    );
    println!(
        "{:<30} {:>4} {:>8} {:>8} {:>16} {:>16} {:>10} {:>10} {:>8}",
        "scenario",
        "runs",
        "wall p50",
        "wall max",
        "RSS embedded",
        "RSS runner",
        "cpu/obs",
        "cpu/obs",
        "exits"
    );
    println!(
        "{:<30} {:>4} {:>8} {:>8} {:>16} {:>16} {:>10} {:>10}",
        "", "", "", "", "max (anon/file)", "max (anon/file)", "100 ms", "10 ms"
    );
    for (name, e, a) in &f.scenarios {
        let walls = sorted(e.costs.iter().map(|c| c.wall_s).collect());
        let exits: Vec<String> = e.exits.iter().map(|(k, v)| format!("{k}x{v}")).collect();
        println!(
            "{:<30} {:>4} {:>7.2}s {:>7.2}s {:>16} {:>16} {:>10} {:>10} {:>8}",
            name,
            e.costs.len(),
            percentile(&walls, 50.0),
            walls.last().copied().unwrap_or(f64::NAN),
            rss_cell(&e.costs),
            rss_cell(&a.iter().flat_map(|a| a.costs.clone()).collect::<Vec<_>>()),
            per_obs(a.first()),
            per_obs(a.get(1)),
            exits.join(",")
        );
        for why in a.iter().filter_map(|a| a.refused.as_deref()) {
            println!("    refused: {why}");
        }
    }
}

fn per_obs(a: Option<&Attached>) -> String {
    match a {
        Some(a) if a.refused.is_none() => format!("{:.3}ms", a.gross_ms()),
        Some(_) => "refused".into(),
        None => "-".into(),
    }
}

fn rss_cell(costs: &[Cost]) -> String {
    format!(
        "{:.1} ({:.1}/{:.1})",
        max_of(costs.iter().map(|c| c.max_rss_mb)),
        max_of(costs.iter().map(|c| c.peak_anon_mb)),
        max_of(costs.iter().map(|c| c.peak_file_mb))
    )
}

/// Prints the accuracy table of one build; whether every phase is within one
/// probe interval at p99, and the rows for the JSON.
fn print_accuracy(f: &BuildFigures) -> (bool, Vec<serde_json::Value>) {
    println!(
        "\n{:<30} {:<15} {:>9} {:>9} {:>9} {:>6} {:>7}",
        "scenario", "phase", "err p50", "err p99", "err max", "res", "within"
    );
    let mut all_within = true;
    let mut doc = Vec::new();
    for (name, e, _) in &f.scenarios {
        for (phase, p) in &e.phases {
            let errs = sorted(p.errors.clone());
            let p99 = percentile(&errs, 99.0);
            all_within &= p99 <= p.resolution_ms + 1.0;
            let max = errs.last().copied().unwrap_or(f64::NAN);
            let within = p.within as f64 / errs.len() as f64;
            println!(
                "{:<30} {:<15} {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>4.0}ms {:>6.0}%",
                name,
                phase,
                percentile(&errs, 50.0),
                p99,
                max,
                p.resolution_ms,
                100.0 * within
            );
            doc.push(json!({
                "build": f.label, "scenario": name, "phase": phase, "n": errs.len(),
                "error_p50_ms": percentile(&errs, 50.0), "error_p99_ms": p99, "error_max_ms": max,
                "resolution_ms": p.resolution_ms, "within_share": within,
            }));
        }
    }
    (all_within, doc)
}

/// Command line.
struct Args {
    runs: usize,
    cost_runs: usize,
    json: Option<PathBuf>,
    binaries: Vec<PathBuf>,
    chaos: Option<PathBuf>,
    compare: PathBuf,
    long_secs: u64,
    population_runs: usize,
    scenarios: Vec<PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        runs: 20,
        cost_runs: 3,
        json: None,
        binaries: Vec::new(),
        chaos: None,
        compare: PathBuf::from("scenarios/kill-primary-targets.toml"),
        long_secs: 180,
        population_runs: 20,
        scenarios: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| anyhow!("{flag} takes a value"));
        match flag.as_str() {
            "--runs" => a.runs = value()?.parse()?,
            "--cost-runs" => a.cost_runs = value()?.parse()?,
            "--json" => a.json = Some(value()?.into()),
            "--gameday" => a.binaries.push(value()?.into()),
            "--chaos" => a.chaos = Some(value()?.into()),
            "--compare" => a.compare = value()?.into(),
            "--long-secs" => a.long_secs = value()?.parse()?,
            "--population-runs" => a.population_runs = value()?.parse()?,
            _ if flag.starts_with("--") => return Err(anyhow!("unknown option {flag}")),
            _ => a.scenarios.push(flag.into()),
        }
    }
    if a.scenarios.is_empty() {
        a.scenarios = std::fs::read_dir("scenarios")?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        a.scenarios.sort();
    }
    if a.runs == 0 {
        return Err(anyhow!("--runs takes at least 1"));
    }
    Ok(a)
}

fn main() -> anyhow::Result<()> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    match raw.first().map(String::as_str) {
        Some("--launch") => return process::launch(&raw[1..]),
        Some("--floor-client") => return floor::client(&raw[1..]),
        _ => {}
    }
    let a = args()?;
    let builds = binary::builds(&a.binaries)?;
    if builds.is_empty() {
        return Err(anyhow!(
            "no gameday binary to measure: run `cargo build` and `cargo build --release` first, or pass --gameday PATH"
        ));
    }
    let root = std::env::temp_dir().join(format!("gameday-bench-{}", std::process::id()));
    let result = bench(&a, &builds, &root);
    let _ = std::fs::remove_dir_all(&root);
    result
}

fn bench(a: &Args, builds: &[Build], root: &Path) -> anyhow::Result<()> {
    let floor_mb = process::launcher_floor(&scratch(root, &[])?)?;
    println!("peak RSS floor (`true` through the launcher): {floor_mb:.1} MB");
    let mut figures = Vec::new();
    let (mut all_within, mut doc_accuracy) = (true, Vec::new());
    for b in builds {
        let f = measure_build(b, &a.scenarios, a.runs, a.cost_runs, root)?;
        print_costs(&f);
        let (within, rows) = print_accuracy(&f);
        all_within &= within;
        doc_accuracy.extend(rows);
        figures.push(f);
    }
    let compare = stem(&a.compare);
    let holds: Vec<f64> = figures[0]
        .scenarios
        .iter()
        .find(|(n, _, _)| *n == compare)
        .map(|(_, _, att)| att.iter().map(Attached::median_wall_s).collect())
        .unwrap_or_default();
    let side = match &a.chaos {
        Some(chaos) if holds.len() == INTERVALS.len() => Some(side::measure(
            chaos,
            builds,
            &figures,
            &a.compare,
            &holds,
            a.cost_runs,
            root,
        )?),
        _ => None,
    };
    let doc_side = match &side {
        Some(s) => s.print(&compare),
        None => {
            println!(
                "\n(Chaos Toolkit not compared: it needs --chaos and attached runs of {compare})"
            );
            Vec::new()
        }
    };
    let (doc_split, splits_exact) = split_table(&figures);
    let mut goals = print_goals(&figures, all_within, side.as_ref(), splits_exact);
    let doc_long = if a.long_secs > 0 {
        let (rows, met) = long_runs(builds, &a.compare, a.long_secs, root)?;
        goals["long_runs_met"] = met.into();
        rows
    } else {
        Vec::new()
    };
    let doc_population = if a.population_runs > 0 {
        let (rows, met) = population_runs(builds, a.population_runs, root)?;
        goals["population_met"] = met.into();
        rows
    } else {
        Vec::new()
    };
    if let Some(out) = &a.json {
        let doc = json!({
            "gameday_version": env!("CARGO_PKG_VERSION"),
            "date": chrono::Utc::now().to_rfc3339(),
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "peak_rss_floor_mb": floor_mb,
            "builds": figures.iter().map(build_json).collect::<Vec<_>>(),
            "accuracy": doc_accuracy,
            "side_by_side": { "scenario": compare, "rows": doc_side },
            "split_brain": doc_split,
            "long_runs": doc_long,
            "population": doc_population,
            "goals": goals,
        });
        std::fs::write(out, serde_json::to_string_pretty(&doc)? + "\n")?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

fn build_json(f: &BuildFigures) -> serde_json::Value {
    let scenarios: serde_json::Map<String, serde_json::Value> = f
        .scenarios
        .iter()
        .map(|(name, e, a)| {
            let walls = sorted(e.costs.iter().map(|c| c.wall_s).collect());
            let v = json!({
                "embedded": {
                    "runs": e.costs.len(), "wall_p50_s": percentile(&walls, 50.0),
                    "wall_max_s": walls.last(), "exits": e.exits,
                    "cpu_per_run_s": e.costs.iter().map(|c| c.cpu_s).sum::<f64>() / e.costs.len() as f64,
                    "max_rss_mb": max_of(e.costs.iter().map(|c| c.max_rss_mb)),
                    "peak_anon_mb": max_of(e.costs.iter().map(|c| c.peak_anon_mb)),
                    "peak_file_mb": max_of(e.costs.iter().map(|c| c.peak_file_mb)),
                },
                "attached_100ms": a.first().map(|a| a.json(f.start_up.cpu_s)),
                "attached_10ms": a.get(1).map(|a| a.json(f.start_up.cpu_s)),
            });
            (name.clone(), v)
        })
        .collect();
    json!({
        "build": f.label, "binary": f.path, "start_up": f.start_up,
        "function_order": {
                "listed": f.layout.listed,
                "found": f.layout.found,
                "observe": f.layout.observe,
                "observe_ordered": f.layout.observe_ordered,
            },
        "scenarios": scenarios,
    })
}

/// Prints the goals, met or missed, and returns them for the JSON.
fn print_goals(
    figures: &[BuildFigures],
    all_within: bool,
    side: Option<&side::SideBySide>,
    splits_exact: Option<bool>,
) -> serde_json::Value {
    let ratios = side.map(side::SideBySide::ratios).unwrap_or_default();
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let mut doc = serde_json::Map::new();
    println!("\ngoals:");
    println!(
        "  every phase within one probe interval at p99: {}",
        verdict(all_within)
    );
    doc.insert("p99_within_one_interval".into(), all_within.into());
    for f in figures {
        let attached = f.scenarios.iter().flat_map(|(_, _, a)| a.iter());
        let measured = attached.clone().next().is_some();
        let runner = max_of(attached.map(Attached::max_rss_mb));
        let slowest = max_of(
            f.scenarios
                .iter()
                .flat_map(|(_, e, _)| e.costs.iter().map(|c| c.wall_s)),
        );
        let goal = rss_goal_mb(&f.label);
        match measured {
            true => println!(
                "  {} runner peak RSS <= {goal} MB on every scenario: {} (largest {runner:.1} MB)",
                f.label,
                verdict(runner <= goal)
            ),
            // --cost-runs 0: no attached run, so no runner was measured.
            false => println!(
                "  {} runner peak RSS <= {goal} MB on every scenario: not measured (--cost-runs 0)",
                f.label
            ),
        }
        println!(
            "  {} whole lab game day <= 15 s: {} (slowest {slowest:.2} s)",
            f.label,
            verdict(slowest <= 15.0)
        );
        if let Some(r) = ratios.get(&f.label) {
            print_ratio(&f.label, r);
        }
        doc.insert(
            f.label.clone(),
            json!({"largest_runner_rss_mb": measured.then_some(runner), "slowest_game_day_s": slowest, "ratio": ratios.get(&f.label)}),
        );
    }
    if let Some(s) = side {
        let (after, marginal) = s.ceiling();
        println!(
            "  the ceiling of any ratio here, Chaos Toolkit / the floor of its observation: {after:.1}x after start-up, {:.1}x at the margin",
            marginal.unwrap_or(f64::NAN)
        );
        doc.insert(
            "ratio_ceiling".into(),
            json!({"after_start_up": after, "marginal": marginal}),
        );
    }
    if let Some(ok) = splits_exact {
        println!(
            "  divergent + lost writes equal the databases' count in every run: {}",
            verdict(ok)
        );
        doc.insert("split_brain_exact".into(), ok.into());
    }
    serde_json::Value::Object(doc)
}

/// The ratio goal of one build, and the ratios beside it.
fn print_ratio(build: &str, r: &side::Ratios) {
    println!(
        "  {build} at least {}x less CPU per observation than Chaos Toolkit after start-up, at 100 ms and 10 ms: {} ({:.1}x; the customer probe alone {:.1}x, at the margin {:.1}x)",
        r.goal,
        met_word(r.met),
        r.whole_scenario,
        r.customer_only,
        r.customer_only_marginal
    );
}

/// A 10-second and a `long_secs` run per build, every probe at 10 ms,
/// attached; prints them and whether the long-run goals are met.
fn long_runs(
    builds: &[Build],
    scenario: &Path,
    long_secs: u64,
    root: &Path,
) -> anyhow::Result<(Vec<serde_json::Value>, bool)> {
    println!(
        "\nlong game days ({}, attached, every probe at 10 ms):",
        stem(scenario)
    );
    println!(
        "{:<8} {:>9} {:>12} {:>9} {:>8} {:>12} {:>15} {:>12} {:>9}",
        "build",
        "observed",
        "observations",
        "peak RSS",
        "x 10 s",
        "report.json",
        "timeline.jsonl",
        "report.html",
        "Chromium"
    );
    let (mut rows, mut met) = (Vec::new(), true);
    for b in builds {
        let work = scratch(root, &[&b.label, "long"])?;
        let lab = StandingLab::start(b, scenario)?;
        let short = long::run(b, scenario, &lab, 10, &work)?;
        let long = long::run(b, scenario, &lab, long_secs, &work)?;
        let growth = long.cost.max_rss_mb / short.cost.max_rss_mb;
        met &= growth <= 1.5 && long.html_mb < 2.0 && long.chromium_s.is_some_and(|s| s < 5.0);
        for r in [&short, &long] {
            println!(
                "{:<8} {:>8}s {:>12} {:>7.1}MB {:>7.2}x {:>10.2}MB {:>13.2}MB {:>10.2}MB {:>8}",
                b.label,
                r.observe_s,
                r.observations,
                r.cost.max_rss_mb,
                r.cost.max_rss_mb / short.cost.max_rss_mb,
                r.json_mb,
                r.timeline_mb,
                r.html_mb,
                r.chromium_s
                    .map(|s| format!("{s:.2}s"))
                    .unwrap_or("-".into())
            );
            rows.push(json!({"build": b.label, "run": r}));
        }
    }
    println!(
        "  goal: peak RSS <= 1.5x the 10 s run's, report.html < 2 MB, rendered in < 5 s: {}",
        if met { "met" } else { "MISSED" }
    );
    Ok((rows, met))
}

/// Per build: the runner's cost with a growing population (attached,
/// kill-primary-targets, 30 s observed) and each class's recovery against
/// the lab's truth over `runs` embedded runs (primary-region-outage).
fn population_runs(
    builds: &[Build],
    runs: usize,
    root: &Path,
) -> anyhow::Result<(Vec<serde_json::Value>, bool)> {
    let (mut rows, mut met) = (Vec::new(), true);
    for b in builds {
        let work = scratch(root, &[&b.label, "population"])?;
        let kill = Path::new("scenarios/kill-primary-targets.toml");
        let growth = population::growth(b, kill, 30, &work)?;
        met &= print_growth(&b.label, &growth);
        let outage = Path::new("scenarios/primary-region-outage.toml");
        let classes = population::accuracy(b, outage, runs, &work)?;
        met &= print_class_accuracy(&b.label, runs, &classes);
        let load = load::run(b, kill, &work)?;
        met &= print_load(&b.label, &load);
        rows.push(json!({"build": b.label, "growth": growth, "accuracy": classes, "load": load}));
    }
    println!(
        "  goal: every class within one request interval of the truth at p99 over the runs, 200 clients under half a core, the load within 2% of 500/s: {}",
        if met { "met" } else { "MISSED" }
    );
    Ok((rows, met))
}

fn met_word(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

/// The runner's cost with each population size; whether 200 clients stay
/// under the goal.
fn print_growth(build: &str, growth: &[population::Growth]) -> bool {
    println!(
        "\npopulation ({build}, attached, kill-primary-targets, 30 s observed; clients at 1 request/s):"
    );
    println!(
        "{:>8} {:>9} {:>8} {:>8} {:>7} {:>15} {:>9}",
        "clients", "requests", "wall", "CPU", "cores", "CPU/request", "peak RSS"
    );
    let base = &growth[0];
    for g in growth {
        let per_request = match g.requests {
            0 => "-".to_string(),
            n => format!(
                "{:.3} ms",
                (g.cost.cpu_s - base.cost.cpu_s) * 1e3 / n as f64
            ),
        };
        println!(
            "{:>8} {:>9} {:>7.1}s {:>7.2}s {:>7.3} {:>15} {:>7.1}MB",
            g.clients,
            g.requests,
            g.cost.wall_s,
            g.cost.cpu_s,
            g.cores,
            per_request,
            g.cost.max_rss_mb
        );
    }
    let cores_200 = growth
        .iter()
        .find(|g| g.clients == 200)
        .map_or(f64::MAX, |g| g.cores);
    let met = cores_200 < population::CORES_GOAL_200;
    println!(
        "  goal: 200 clients under {} of a core: {} ({cores_200:.3})",
        population::CORES_GOAL_200,
        met_word(met)
    );
    met
}

/// Each class against the truth over the runs; whether every run of
/// every class was within one interval.
fn print_class_accuracy(build: &str, runs: usize, classes: &[population::ClassAccuracy]) -> bool {
    println!(
        "each class against the lab's truth ({build}, {runs} embedded runs of 60 clients, silent region):"
    );
    println!(
        "{:<8} {:>5} {:>8} {:>12} {:>12}",
        "class", "runs", "within", "p99 |error|", "max |error|"
    );
    let mut met = true;
    for c in classes {
        met &= c.within == c.runs && c.runs == runs;
        println!(
            "{:<8} {:>5} {:>8} {:>10.0}ms {:>10.0}ms (resolution {:.0} ms)",
            c.class, c.runs, c.within, c.p99_error_ms, c.max_error_ms, c.resolution_ms
        );
    }
    met
}

/// The load's held rate and cost; whether it held within the goal.
fn print_load(build: &str, load: &load::LoadRun) -> bool {
    let Some(h) = &load.held else {
        println!("load ({build}): held no whole second: MISSED");
        return false;
    };
    let met = (h.mean - load.rate).abs() <= load.rate * load::GOAL;
    println!(
        "load ({build}, attached, {} requests a second declared): held {:.1}/s over {} whole seconds ({:.0} to {:.0}); sent {}, failed {}, dropped {}; runner {:.3} cores, peak RSS {:.1} MB; goal within {:.0}%: {}",
        load.rate,
        h.mean,
        h.seconds,
        h.min,
        h.max,
        load.sent,
        load.failed,
        load.dropped,
        load.cores,
        load.cost.max_rss_mb,
        load::GOAL * 100.0,
        met_word(met)
    );
    met
}

/// Per build and scenario with a two-writer read-back: in how many runs lost
/// plus divergent equal the databases' count, and the split matches
/// (exactly, or within the writes committed during the promotion).
fn split_table(figures: &[BuildFigures]) -> (Vec<serde_json::Value>, Option<bool>) {
    let mut doc = Vec::new();
    let mut all_exact = None;
    for f in figures {
        for (name, e, _) in f.scenarios.iter().filter(|(_, e, _)| !e.splits.is_empty()) {
            if doc.is_empty() {
                println!(
                    "\n{:<40} {:>5} {:>12} {:>12} {:>14} {:>10}",
                    "scenario (two writers)",
                    "runs",
                    "total exact",
                    "split exact",
                    "within ambig.",
                    "divergent"
                );
            }
            let s = &e.splits;
            let n = s.len();
            let count = |f: &dyn Fn(&Split) -> bool| s.iter().filter(|x| f(x)).count();
            let total = count(&|x| x.lost + x.divergent == x.true_lost + x.true_divergent);
            let split = count(&|x| x.lost == x.true_lost && x.divergent == x.true_divergent);
            let within = count(&|x| x.divergent.abs_diff(x.true_divergent) <= x.ambiguous);
            let lo = s.iter().map(|x| x.divergent).min().unwrap_or(0);
            let hi = s.iter().map(|x| x.divergent).max().unwrap_or(0);
            *all_exact.get_or_insert(true) &= total == n && within == n;
            println!(
                "{:<40} {:>5} {:>9}/{n:<2} {:>9}/{n:<2} {:>11}/{n:<2} {:>4}-{hi}",
                format!("{name} ({})", f.label),
                n,
                total,
                split,
                within,
                lo
            );
            doc.push(json!({
                "build": f.label, "scenario": name, "runs": n, "total_exact": total,
                "split_exact": split, "split_within_ambiguous": within,
            }));
        }
    }
    (doc, all_exact)
}

#[cfg(test)]
mod tests {
    use super::with_probe_interval;

    #[test]
    fn rewrites_only_probe_intervals() {
        let text = "name = \"x\"\n[lab]\nhealth_check_interval = \"1s\"\n[[probes]]\nkind = \"http\"\ninterval = \"100ms\"\n[[probes]]\nkind = \"dns\"\n";
        let out = with_probe_interval(text, "10ms");
        assert!(out.contains("health_check_interval = \"1s\""));
        assert_eq!(out.matches("interval = \"10ms\"").count(), 2);
        assert!(!out.contains("\"100ms\""));
    }
}
