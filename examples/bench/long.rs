//! Long game days: a run with every probe at 10 ms observing for minutes
//! holds as many observations as a 30-minute game day at the default 100 ms.
//! Its runner's peak RSS is compared with that of a 10-second run, and its
//! report's size and headless Chromium's time to render report.html are
//! measured.

use crate::binary::{self, Build, StandingLab};
use crate::process::Cost;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// One long (or short) attached run.
#[derive(serde::Serialize)]
pub struct LongRun {
    /// Seconds observed after t0 at least.
    pub observe_s: u64,
    /// What the runner cost.
    pub cost: Cost,
    /// Probe observations.
    pub observations: usize,
    /// report.json, MB.
    pub json_mb: f64,
    /// timeline.jsonl (the timeline, streamed during the run), MB; 0 for
    /// a gameday that kept the timeline inside report.json.
    pub timeline_mb: f64,
    /// report.html, MB.
    pub html_mb: f64,
    /// Headless Chromium's wall time to load and render report.html
    /// (browser start-up included), when Chromium is installed.
    pub chromium_s: Option<f64>,
}

/// `text` with every probe at 10 ms and at least `observe_s` of observing.
fn long_variant(text: &str, observe_s: u64) -> String {
    let body: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("observe_at_least") && !l.starts_with("timeout"))
        .collect();
    let head = format!(
        "observe_at_least = \"{observe_s}s\"\ntimeout = \"{}s\"\n",
        observe_s + 60
    );
    head + &crate::with_probe_interval(&body.join("\n"), "10ms")
}

/// Runs the scenario attached to `lab`, observing for `observe_s`.
pub fn run(
    build: &Build,
    scenario: &Path,
    lab: &StandingLab,
    observe_s: u64,
    work: &Path,
) -> anyhow::Result<LongRun> {
    let path = work.join(format!("long-{observe_s}s.toml"));
    std::fs::write(
        &path,
        long_variant(&std::fs::read_to_string(scenario)?, observe_s),
    )?;
    let g = binary::game_day(build, &path, Some(lab), work)?;
    let size = |name: &str| {
        std::fs::metadata(g.dir.join(name))
            .map(|m| m.len() as f64 / 1e6)
            .unwrap_or(0.0)
    };
    Ok(LongRun {
        observe_s,
        cost: g.cost,
        observations: g.observations,
        json_mb: size("report.json"),
        timeline_mb: size("timeline.jsonl"),
        html_mb: size("report.html"),
        chromium_s: render(&g.dir.join("report.html"), work),
    })
}

/// Headless Chromium's wall time to load and lay out `html`, seconds.
fn render(html: &Path, work: &Path) -> Option<f64> {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .map(PathBuf::from)
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })?;
    let started = Instant::now();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.join("chromium").display()
        ))
        .arg("--dump-dom")
        .arg(format!("file://{}", html.display()))
        .stderr(Stdio::null())
        .output()
        .ok()?;
    (out.status.success() && !out.stdout.is_empty()).then(|| started.elapsed().as_secs_f64())
}
