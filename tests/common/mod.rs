//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Slack for comparing times of acked writes: an ack is its send time plus its
/// latency, so two acks one canary interval apart differ by the interval plus
/// the difference of their latencies (a few ms on loopback, more on a busy CI).
pub const ACK_JITTER_MS: f64 = 10.0;

/// The built `gameday` binary.
pub fn gameday() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gameday"))
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gameday-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Runs `gameday run` on a shipped scenario into `reports`.
pub fn run_scenario(scenario: &str, reports: &Path, extra: &[&str]) -> Output {
    gameday()
        .current_dir(root())
        .args([
            "run",
            &format!("scenarios/{scenario}.toml"),
            "--no-progress",
            "--reports",
        ])
        .arg(reports)
        .args(extra)
        .env("GITHUB_STEP_SUMMARY", reports.join("step-summary.md"))
        .output()
        .expect("run gameday")
}

/// The one report.json written under `reports`.
pub fn only_report(reports: &Path) -> serde_json::Value {
    let runs: Vec<PathBuf> = std::fs::read_dir(reports)
        .expect("reports dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(
        runs.len(),
        1,
        "expected one run folder in {}: {runs:?}",
        reports.display()
    );
    let text = std::fs::read_to_string(runs[0].join("report.json")).expect("report.json");
    serde_json::from_str(&text).expect("report.json is JSON")
}

/// The one run folder under `reports`.
pub fn only_run_dir(reports: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(reports)
        .expect("reports dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

/// Explains a failed run.
pub fn explain(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
