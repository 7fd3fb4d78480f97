//! Benchmark: how accurate, how fine and how cheap a lab game day is.
//!
//! Runs each lab scenario N times in this process and prints, per phase, the
//! error of the measured figure against the lab's ground truth (median, p99,
//! max), the resolution, and the share of runs within one probe interval; plus
//! the wall time of a whole game day, CPU time, and this process's peak memory.
//!
//!     cargo run --example bench -- [--runs 20] [--json bench.json] [scenario.toml ...]
//!
//! Run on demand; never part of the test suite.

use gameday::run::{execute, RunOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn rusage() -> (Duration, u64) {
    // SAFETY: getrusage fills a plain struct we own.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    (tv(u.ru_utime) + tv(u.ru_stime), u.ru_maxrss as u64)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[derive(Default)]
struct PhaseStats {
    errors: Vec<f64>,
    within: usize,
    resolution_ms: f64,
}

fn main() -> anyhow::Result<()> {
    let mut runs = 20usize;
    let mut json_out: Option<PathBuf> = None;
    let mut scenarios: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => {
                runs = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| anyhow::anyhow!("--runs takes a number"))?
            }
            "--json" => {
                json_out = Some(
                    args.next()
                        .ok_or_else(|| anyhow::anyhow!("--json takes a path"))?
                        .into(),
                )
            }
            other => scenarios.push(other.into()),
        }
    }
    if scenarios.is_empty() {
        let mut all: Vec<PathBuf> = std::fs::read_dir("scenarios")?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        all.sort();
        scenarios = all;
    }
    let reports = std::env::temp_dir().join(format!("gameday-bench-{}", std::process::id()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let opts = RunOptions {
        reports_dir: reports.clone(),
        attach: None,
        progress: false,
        consent: false,
    };
    let mut results = serde_json::Map::new();
    println!(
        "{:<24} {:>5} {:>10} {:>10} {:>10} {:>9}",
        "scenario", "runs", "wall p50", "wall max", "cpu/run", "exit"
    );
    let mut phases: BTreeMap<(String, String), PhaseStats> = BTreeMap::new();
    for path in &scenarios {
        let scenario = gameday::scenario::load(path)?;
        let mut walls = Vec::new();
        let mut cpus = Vec::new();
        let mut exits = BTreeMap::new();
        for _ in 0..runs {
            let (cpu0, _) = rusage();
            let started = Instant::now();
            let result = rt.block_on(execute(&scenario, &opts))?;
            walls.push(started.elapsed().as_secs_f64());
            cpus.push((rusage().0 - cpu0).as_secs_f64());
            *exits.entry(result.report.exit_code).or_insert(0) += 1;
            for a in &result.report.accuracy {
                let s = phases
                    .entry((scenario.name.clone(), a.phase.clone()))
                    .or_default();
                s.errors.push(a.error_ms.abs());
                s.within += a.within_resolution as usize;
                s.resolution_ms = a.resolution_ms;
            }
            let _ = std::fs::remove_dir_all(&result.dir);
        }
        walls.sort_by(f64::total_cmp);
        let cpu = cpus.iter().sum::<f64>() / cpus.len() as f64;
        let exit_summary: Vec<String> = exits.iter().map(|(k, v)| format!("{k}x{v}")).collect();
        println!(
            "{:<24} {:>5} {:>9.2}s {:>9.2}s {:>9.3}s {:>9}",
            scenario.name,
            runs,
            percentile(&walls, 50.0),
            walls[walls.len() - 1],
            cpu,
            exit_summary.join(",")
        );
        results.insert(
            scenario.name.clone(),
            serde_json::json!({ "runs": runs, "wall_p50_s": percentile(&walls, 50.0), "wall_max_s": walls[walls.len() - 1], "cpu_per_run_s": cpu, "exits": exits }),
        );
    }
    println!();
    println!(
        "{:<24} {:<15} {:>9} {:>9} {:>9} {:>11} {:>8}",
        "scenario", "phase", "err p50", "err p99", "err max", "resolution", "within"
    );
    let mut accuracy = Vec::new();
    for ((scenario, phase), mut s) in phases {
        s.errors.sort_by(f64::total_cmp);
        let n = s.errors.len();
        println!(
            "{:<24} {:<15} {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>9.0}ms {:>7.0}%",
            scenario,
            phase,
            percentile(&s.errors, 50.0),
            percentile(&s.errors, 99.0),
            s.errors[n - 1],
            s.resolution_ms,
            100.0 * s.within as f64 / n as f64
        );
        accuracy.push(serde_json::json!({
            "scenario": scenario, "phase": phase, "n": n,
            "error_p50_ms": percentile(&s.errors, 50.0), "error_p99_ms": percentile(&s.errors, 99.0), "error_max_ms": s.errors[n - 1],
            "resolution_ms": s.resolution_ms, "within_share": s.within as f64 / n as f64,
        }));
    }
    let (_, peak_kb) = rusage();
    println!(
        "\npeak memory (max RSS of this process, runner and lab together): {:.1} MB",
        peak_kb as f64 / 1024.0
    );
    if let Some(out) = json_out {
        let doc = serde_json::json!({
            "gameday_version": env!("CARGO_PKG_VERSION"),
            "date": chrono::Utc::now().to_rfc3339(),
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "scenarios": results, "accuracy": accuracy, "peak_rss_mb": peak_kb as f64 / 1024.0,
        });
        std::fs::write(&out, serde_json::to_string_pretty(&doc)? + "\n")?;
        println!("wrote {}", out.display());
    }
    let _ = std::fs::remove_dir_all(reports);
    Ok(())
}
