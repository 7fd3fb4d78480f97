//! The live view of `gameday run`, drawn in a real terminal: tmux runs a lab
//! game day in a pane of 80 or 140 columns and the test reads the pane with
//! capture-pane as the run goes (a line that did not fit would take two rows
//! of the pane, so the view's rows are counted), and with its escape
//! sequences, to see the colours and that NO_COLOR removes them.

mod common;

use common::{gameday, root, scratch};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of the test's own, removed when dropped.
struct Pane {
    socket: String,
}

impl Pane {
    /// `command` in a detached pane `width` columns wide, kept on exit.
    fn start(name: &str, width: u16, command: &str) -> Pane {
        let pane = Pane {
            socket: format!("gameday-{name}-{}", std::process::id()),
        };
        let ok = pane
            .tmux()
            .args(["-f", "/dev/null", "new-session", "-d", "-x"])
            .arg(width.to_string())
            .args(["-y", "40", "-s", "run"])
            .arg(command)
            .status()
            .unwrap();
        assert!(ok.success());
        pane.tmux()
            .args(["set-option", "-t", "run", "remain-on-exit", "on"])
            .status()
            .unwrap();
        pane
    }

    fn tmux(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket]);
        cmd
    }

    /// The pane's rows, with escapes when `escapes`.
    fn capture(&self, escapes: bool) -> String {
        let mut cmd = self.tmux();
        cmd.args(["capture-pane", "-p", "-t", "run"]);
        if escapes {
            cmd.arg("-e");
        }
        String::from_utf8_lossy(&cmd.output().unwrap().stdout).to_string()
    }

    /// Whether the command in the pane has exited.
    fn dead(&self) -> bool {
        let out = self
            .tmux()
            .args(["display-message", "-p", "-t", "run", "#{pane_dead}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    /// Every frame (plain, with escapes) until the command exits.
    fn frames(&self, limit: Duration) -> Vec<(String, String)> {
        let start = Instant::now();
        let mut frames = Vec::new();
        while start.elapsed() < limit {
            let dead = self.dead();
            frames.push((self.capture(false), self.capture(true)));
            if dead {
                return frames;
            }
            std::thread::sleep(Duration::from_millis(150));
        }
        panic!("the run did not end within {limit:?}");
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

/// The shell command that runs a lab game day into `reports`.
fn run_command(reports: &Path, env: &str) -> String {
    let bin = gameday().get_program().to_string_lossy().to_string();
    format!(
        "cd {} && env {env} {bin} run scenarios/kill-primary-targets.toml --reports {}",
        root().display(),
        reports.display()
    )
}

/// The rows of the live view in a frame: from its header to the last probe.
fn view(frame: &str) -> Option<Vec<&str>> {
    let lines: Vec<&str> = frame.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("gameday kill-primary-targets"))?;
    Some(
        lines[start..]
            .iter()
            .copied()
            .take_while(|l| !l.trim().is_empty())
            .collect(),
    )
}

fn tmux_available() -> bool {
    if Path::new("/usr/bin/tmux").exists() {
        return true;
    }
    common::skip(&common::test_name(), "tmux is not installed");
    false
}

/// Runs the game day at `width` and checks the view in every frame; returns
/// the frames with their escapes.
fn watch(name: &str, width: usize, env: &str) -> Vec<String> {
    let reports = scratch(name);
    let pane = Pane::start(name, width as u16, &run_command(&reports, env));
    let frames = pane.frames(Duration::from_secs(90));
    let views: Vec<Vec<&str>> = frames.iter().filter_map(|(f, _)| view(f)).collect();
    assert!(views.len() >= 3, "too few frames with the view: {frames:?}");
    // Header, bar, then one row per phase (or the note before t0) and one
    // per probe: any more rows and a line wrapped.
    let probes = 5;
    for v in &views {
        let rows = if v[0].contains("observe") {
            2 + 5 + probes
        } else {
            2 + 1 + probes
        };
        assert_eq!(
            v.len(),
            rows,
            "a line of the view did not fit {width} columns: {v:#?}"
        );
        for line in v {
            assert!(console::measure_text_width(line) <= width, "{line:?}");
        }
    }
    // While observing: the bar with the rto marked, every phase on its own
    // line with its floor and objective, every probe on its own line.
    let observing = views
        .iter()
        .rfind(|v| v[0].contains("observe  t0 +"))
        .unwrap_or_else(|| panic!("no frame while observing: {views:?}"));
    assert!(
        observing[1].starts_with('[') && observing[1].contains('R'),
        "{observing:?}"
    );
    assert!(observing[1].ends_with("/ 30.00s"), "{observing:?}");
    for phase in [
        "detection",
        "dns flip",
        "first failure",
        "recovered",
        "writes recovered",
    ] {
        let row = observing
            .iter()
            .find(|l| {
                let after_mark: String = l.trim_start().chars().skip(1).collect();
                after_mark.trim_start().starts_with(phase)
            })
            .unwrap_or_else(|| panic!("{phase}: {observing:?}"));
        assert!(row.contains("floor") && row.contains("objective"), "{row}");
    }
    for probe in [
        "canary",
        "customer",
        "dns",
        "health-check eu-central-1",
        "health-check me-central-1",
    ] {
        assert_eq!(
            observing
                .iter()
                .filter(|l| l.trim_start().starts_with(&format!("{probe} ")))
                .count(),
            1,
            "{probe}: {observing:?}"
        );
    }
    // Detection was observed and ticked in some frame, with its time.
    assert!(
        views
            .iter()
            .flatten()
            .any(|l| l.trim_start().starts_with("✔ detection")),
        "{views:?}"
    );
    let last = &frames.last().unwrap().0;
    assert!(
        last.contains("PASSED") || last.contains("met"),
        "the run's summary follows the view: {last}"
    );
    assert!(
        view(last).is_none(),
        "the view is cleared at the end: {last}"
    );
    frames.into_iter().map(|(_, e)| e).collect()
}

#[test]
fn the_live_view_fits_80_columns_in_colour() {
    if !tmux_available() {
        return;
    }
    let frames = watch("live-80", 80, "TERM=xterm-256color");
    // Green for what is served, red for the unhealthy primary.
    assert!(
        frames.iter().any(|f| f.contains("\u{1b}[32m")),
        "no green in any frame"
    );
    assert!(
        frames.iter().any(|f| f.contains("\u{1b}[31m")),
        "no red in any frame"
    );
}

#[test]
fn the_live_view_fits_140_columns_and_no_color_removes_the_colour() {
    if !tmux_available() {
        return;
    }
    let frames = watch("live-140", 140, "TERM=xterm-256color NO_COLOR=1");
    for f in &frames {
        assert!(
            !f.contains("\u{1b}[3") && !f.contains("\u{1b}[1m") && !f.contains("\u{1b}[2m"),
            "colour despite NO_COLOR: {f:?}"
        );
    }
}

#[test]
fn without_a_terminal_events_are_plain_lines() {
    let reports = scratch("live-plain");
    let out = gameday()
        .current_dir(root())
        .args(["run", "scenarios/kill-primary-targets.toml", "--reports"])
        .arg(&reports)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("] fault-applied: "), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\r'),
        "{stderr:?}"
    );
    assert!(!stderr.contains("observe  t0 +"), "{stderr}");
}

#[test]
fn a_run_whose_reader_goes_away_still_reverts_and_exits_with_its_verdict() {
    // `gameday run ... 2>&1 | head -1`: the pipe closes at once. The run
    // must not die at its next line of output with the fault in place.
    let reports = scratch("live-closed-pipe");
    let mut child = gameday()
        .current_dir(root())
        .args(["run", "scenarios/kill-primary-targets.toml", "--reports"])
        .arg(&reports)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
    let pending = gameday().arg("status").arg(&reports).output().unwrap();
    assert!(
        String::from_utf8_lossy(&pending.stdout).contains("no run"),
        "{}",
        common::explain(&pending)
    );
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(common::only_run_dir(&reports).join("report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["revert"]["complete"], true);
}
