//! Benchmark: how accurate, how fine and how cheap a lab game day is.
//!
//! Each game day runs in its own child process (this example re-executed with
//! `--child`), so its wall time, CPU time and peak memory (max RSS, runner and
//! embedded lab together) are its own. Per phase it prints the error of the
//! measured figure against the lab's ground truth (median, p99, max), the
//! resolution, and the share of runs within one probe interval; then the CPU
//! cost of probing at the default intervals and with every probe at 10 ms,
//! against a lab idling with no probes; then the targets, met or missed.
//!
//!     cargo run --example bench -- [--runs 20] [--fast-runs 5] [--json bench.json] [scenario.toml ...]
//!
//! Run on demand; never part of the test suite.

use anyhow::{anyhow, Context};
use gameday::lab::{Lab, LabParams, LabPorts};
use gameday::run::{execute, RunOptions};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a child reports about its game day.
#[derive(serde::Serialize, serde::Deserialize)]
struct ChildResult {
    exit_code: u8,
    accuracy: Vec<gameday::measure::accuracy::Accuracy>,
    /// Seconds from the run's start to its report.
    run_s: f64,
    /// Divergent and lost writes against what the databases held, when the
    /// canary read both writers back.
    #[serde(default)]
    split: Option<Split>,
}

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

/// One child's cost, from wait4(2).
struct Cost {
    wall_s: f64,
    cpu_s: f64,
    max_rss_mb: f64,
}

fn tv(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

/// Runs this example as a child with `args`, returning its stdout and its own rusage.
fn child(args: &[String]) -> anyhow::Result<(String, Cost)> {
    let started = Instant::now();
    let mut c = Command::new(std::env::current_exe()?)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut out = String::new();
    std::io::Read::read_to_string(c.stdout.as_mut().expect("piped"), &mut out)?;
    let mut status = 0;
    // SAFETY: wait4 on our own child, with buffers we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(c.id() as i32, &mut status, 0, &mut usage) };
    if pid < 0 {
        return Err(anyhow!("wait4 failed: {}", std::io::Error::last_os_error()));
    }
    let cost = Cost {
        wall_s: started.elapsed().as_secs_f64(),
        cpu_s: tv(usage.ru_utime) + tv(usage.ru_stime),
        max_rss_mb: usage.ru_maxrss as f64 / 1024.0,
    };
    Ok((out, cost))
}

/// The scenario text with every probe's interval set to `interval`.
fn with_probe_interval(text: &str, interval: &str) -> String {
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

/// The child side: one game day (or an idle lab), result as JSON on stdout.
fn run_child(args: &[String]) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args[0] == "--idle" {
        let secs: u64 = args[1].parse()?;
        rt.block_on(async {
            let _lab = Lab::start(LabParams::default(), LabPorts::default()).await?;
            tokio::time::sleep(Duration::from_secs(secs)).await;
            anyhow::Ok(())
        })?;
        return Ok(());
    }
    let path = PathBuf::from(&args[1]);
    let text = std::fs::read_to_string(&path)?;
    let text = match args.get(2).map(String::as_str) {
        Some("--probe-interval") => with_probe_interval(&text, &args[3]),
        _ => text,
    };
    let scenario = gameday::scenario::parse(&path, &text).map_err(|e| anyhow!("{e}"))?;
    let reports = std::env::temp_dir().join(format!("gameday-bench-{}", std::process::id()));
    let opts = RunOptions {
        reports_dir: reports.clone(),
        attach: None,
        progress: false,
        consent: false,
        ignore_window: true,
        profile: None,
    };
    let started = Instant::now();
    let result = rt.block_on(execute(&scenario, &opts))?;
    let out = ChildResult {
        exit_code: result.report.exit_code,
        accuracy: result.report.accuracy.clone(),
        run_s: started.elapsed().as_secs_f64(),
        split: Split::of(&result.report),
    };
    println!("{}", serde_json::to_string(&out)?);
    let _ = std::fs::remove_dir_all(reports);
    Ok(())
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

#[derive(Default)]
struct ScenarioStats {
    walls: Vec<f64>,
    cpus: Vec<f64>,
    run_secs: Vec<f64>,
    rss: Vec<f64>,
    exits: BTreeMap<u8, usize>,
    phases: BTreeMap<String, PhaseStats>,
    splits: Vec<Split>,
}

fn measure(scenario: &Path, runs: usize, interval: Option<&str>) -> anyhow::Result<ScenarioStats> {
    let mut s = ScenarioStats::default();
    for _ in 0..runs {
        let mut args = vec!["--child".to_string(), scenario.display().to_string()];
        if let Some(iv) = interval {
            args.extend(["--probe-interval".to_string(), iv.to_string()]);
        }
        let (out, cost) = child(&args)?;
        let r: ChildResult = serde_json::from_str(out.trim())
            .with_context(|| format!("child for {} said {out:?}", scenario.display()))?;
        s.walls.push(cost.wall_s);
        s.cpus.push(cost.cpu_s);
        s.rss.push(cost.max_rss_mb);
        s.run_secs.push(r.run_s);
        *s.exits.entry(r.exit_code).or_default() += 1;
        s.splits.extend(r.split);
        for a in r.accuracy {
            let p = s.phases.entry(a.phase.clone()).or_default();
            p.errors.push(a.error_ms.abs());
            p.within += a.within_resolution as usize;
            p.resolution_ms = a.resolution_ms;
        }
    }
    Ok(s)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if matches!(args.first().map(String::as_str), Some("--child" | "--idle")) {
        return run_child(&args);
    }
    let mut runs = 20usize;
    let mut fast_runs = 5usize;
    let mut json_out: Option<PathBuf> = None;
    let mut scenarios: Vec<PathBuf> = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => {
                runs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| anyhow!("--runs takes a number"))?
            }
            "--fast-runs" => {
                fast_runs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| anyhow!("--fast-runs takes a number"))?
            }
            "--json" => {
                json_out = Some(
                    it.next()
                        .ok_or_else(|| anyhow!("--json takes a path"))?
                        .into(),
                )
            }
            other => scenarios.push(other.into()),
        }
    }
    if scenarios.is_empty() {
        scenarios = std::fs::read_dir("scenarios")?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        scenarios.sort();
    }

    // The lab alone, idling with no probes: what probing is measured against.
    let idle_secs = 10;
    let (_, idle) = child(&["--idle".to_string(), idle_secs.to_string()])?;
    let idle_cpu_share = idle.cpu_s / idle.wall_s;
    println!(
        "idle lab, no probes: {:.1}% of one core, {:.1} MB max RSS\n",
        idle_cpu_share * 100.0,
        idle.max_rss_mb
    );

    let mut doc_scenarios = serde_json::Map::new();
    let mut doc_accuracy = Vec::new();
    let mut all_p99_within = true;
    let mut worst_wall: f64 = 0.0;
    let mut worst_rss: f64 = 0.0;
    println!(
        "{:<24} {:>4} {:>9} {:>9} {:>9} {:>10} {:>9} {:>9}",
        "scenario", "runs", "wall p50", "wall max", "rss max", "cpu/run", "probing", "exits"
    );
    let mut per_scenario = Vec::new();
    for path in &scenarios {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let s = measure(path, runs, None)?;
        let fast = measure(path, fast_runs, Some("10ms"))?;
        let probing = |st: &ScenarioStats| {
            let cpu = st.cpus.iter().sum::<f64>();
            let secs = st.run_secs.iter().sum::<f64>();
            (cpu / secs - idle_cpu_share).max(0.0)
        };
        let walls = sorted(s.walls.clone());
        let rss = s.rss.iter().cloned().fold(0.0, f64::max);
        worst_wall = worst_wall.max(walls[walls.len() - 1]);
        worst_rss = worst_rss
            .max(rss)
            .max(fast.rss.iter().cloned().fold(0.0, f64::max));
        let exits: Vec<String> = s.exits.iter().map(|(k, v)| format!("{k}x{v}")).collect();
        println!(
            "{:<24} {:>4} {:>8.2}s {:>8.2}s {:>7.1}MB {:>9.3}s {:>8.1}% {:>9}",
            name,
            runs,
            percentile(&walls, 50.0),
            walls[walls.len() - 1],
            rss,
            s.cpus.iter().sum::<f64>() / runs as f64,
            probing(&s) * 100.0,
            exits.join(",")
        );
        println!(
            "{:<24} {:>4} {:>9} {:>9} {:>7.1}MB {:>9.3}s {:>8.1}%   (every probe at 10 ms)",
            "",
            fast_runs,
            "",
            "",
            fast.rss.iter().cloned().fold(0.0, f64::max),
            fast.cpus.iter().sum::<f64>() / fast_runs.max(1) as f64,
            probing(&fast) * 100.0
        );
        doc_scenarios.insert(
            name.clone(),
            json!({
                "runs": runs, "wall_p50_s": percentile(&walls, 50.0), "wall_max_s": walls[walls.len() - 1],
                "max_rss_mb": rss, "cpu_per_run_s": s.cpus.iter().sum::<f64>() / runs as f64,
                "probing_cpu_share": probing(&s), "probing_cpu_share_at_10ms": probing(&fast),
                "max_rss_mb_at_10ms": fast.rss.iter().cloned().fold(0.0, f64::max), "exits": s.exits,
            }),
        );
        per_scenario.push((name, s, fast));
    }

    println!(
        "\n{:<24} {:<15} {:>6} {:>9} {:>9} {:>9} {:>6} {:>7}",
        "scenario", "phase", "probes", "err p50", "err p99", "err max", "res", "within"
    );
    for (name, s, fast) in &per_scenario {
        for (label, st) in [("default", s), ("10ms", fast)] {
            for (phase, p) in &st.phases {
                let e = sorted(p.errors.clone());
                let p99 = percentile(&e, 99.0);
                if p99 > p.resolution_ms + 1.0 {
                    all_p99_within = false;
                }
                println!(
                    "{:<24} {:<15} {:>6} {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>4.0}ms {:>6.0}%",
                    name,
                    phase,
                    label,
                    percentile(&e, 50.0),
                    p99,
                    e[e.len() - 1],
                    p.resolution_ms,
                    100.0 * p.within as f64 / e.len() as f64
                );
                doc_accuracy.push(json!({
                    "scenario": name, "phase": phase, "probes": label, "n": e.len(),
                    "error_p50_ms": percentile(&e, 50.0), "error_p99_ms": p99, "error_max_ms": e[e.len() - 1],
                    "resolution_ms": p.resolution_ms, "within_share": p.within as f64 / e.len() as f64,
                }));
            }
        }
    }

    let (doc_split, splits_exact) = split_table(&per_scenario);

    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("\ntargets:");
    println!(
        "  every phase within one probe interval at p99: {}",
        verdict(all_p99_within)
    );
    println!(
        "  whole lab game day <= 15 s: {} (slowest {:.2} s)",
        verdict(worst_wall <= 15.0),
        worst_wall
    );
    println!(
        "  peak memory <= 50 MB: {} (largest {:.1} MB)",
        verdict(worst_rss <= 50.0),
        worst_rss
    );
    println!("  default probe resolution 100 ms: met (http, dns, health-check default to 100ms)");
    if !doc_split.is_empty() {
        println!(
            "  divergent + lost writes equal the databases' count in every run: {}",
            verdict(splits_exact)
        );
    }

    if let Some(out) = json_out {
        let doc = json!({
            "gameday_version": env!("CARGO_PKG_VERSION"),
            "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
            "date": chrono::Utc::now().to_rfc3339(),
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "idle_lab": { "cpu_share": idle_cpu_share, "max_rss_mb": idle.max_rss_mb },
            "scenarios": doc_scenarios,
            "accuracy": doc_accuracy,
            "split_brain": doc_split,
            "targets": { "p99_within_one_interval": all_p99_within, "slowest_game_day_s": worst_wall, "largest_rss_mb": worst_rss },
        });
        std::fs::write(&out, serde_json::to_string_pretty(&doc)? + "\n")?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

/// Per scenario with a two-writer read-back: in how many runs lost plus
/// divergent equal the databases' count, and the split matches (exactly, or
/// within the writes committed during the promotion).
fn split_table(
    per_scenario: &[(String, ScenarioStats, ScenarioStats)],
) -> (Vec<serde_json::Value>, bool) {
    let mut doc = Vec::new();
    let mut all_exact = true;
    for (name, s, _) in per_scenario.iter().filter(|(_, s, _)| !s.splits.is_empty()) {
        if doc.is_empty() {
            println!(
                "\n{:<34} {:>5} {:>12} {:>12} {:>14} {:>10}",
                "scenario (two writers)",
                "runs",
                "total exact",
                "split exact",
                "within ambig.",
                "divergent"
            );
        }
        let n = s.splits.len();
        let total = s
            .splits
            .iter()
            .filter(|x| x.lost + x.divergent == x.true_lost + x.true_divergent)
            .count();
        let split = s
            .splits
            .iter()
            .filter(|x| x.lost == x.true_lost && x.divergent == x.true_divergent)
            .count();
        let within = s
            .splits
            .iter()
            .filter(|x| x.divergent.abs_diff(x.true_divergent) <= x.ambiguous)
            .count();
        let divergent: Vec<u64> = s.splits.iter().map(|x| x.divergent).collect();
        all_exact &= total == n && within == n;
        println!(
            "{:<34} {:>5} {:>9}/{n:<2} {:>9}/{n:<2} {:>11}/{n:<2} {:>4}-{}",
            name,
            n,
            total,
            split,
            within,
            divergent.iter().min().unwrap_or(&0),
            divergent.iter().max().unwrap_or(&0)
        );
        doc.push(json!({
            "scenario": name, "runs": n, "total_exact": total, "split_exact": split,
            "split_within_ambiguous": within,
        }));
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
