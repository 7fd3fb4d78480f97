//! The run's figures as OpenMetrics text, for Prometheus: node_exporter's
//! textfile collector (`--metrics-file`) or `gameday report --format
//! metrics` for old runs. Only gauges, so the Prometheus 0.0.4 text parser
//! reads it too (it takes `# UNIT` and `# EOF` for comments).
//!
//! One metric per figure, in seconds, with its resolution beside it
//! (`gameday_detection_seconds`, `gameday_detection_resolution_seconds`); a
//! figure that was not observed is `NaN`, never 0. Labels: `scenario` and
//! `environment` (`lab`, or `aws/<account>`).

use super::{Format, Report};
use crate::measure::{Figure, Measurements};
use crate::verdict::Status;
use std::fmt::Write;

/// OpenMetrics text.
pub struct OpenMetrics;

/// The timed figures, by the names the metrics carry.
const TIMED: [&str; 7] = [
    "detection",
    "dns_flip",
    "first_failure",
    "rto_observed",
    "downtime",
    "write_recovery",
    "rpo_observed",
];

impl Format for OpenMetrics {
    fn render(&self, r: &Report) -> String {
        let labels = labels(r);
        let mut out = String::new();
        if let Some(m) = &r.phases {
            timed(&mut out, m, &labels);
            writes(&mut out, m, &labels);
        }
        run(&mut out, r, &labels);
        out.push_str("# EOF\n");
        out
    }
}

fn labels(r: &Report) -> String {
    let environment = match &r.environment.aws {
        Some(aws) => format!("aws/{}", aws.account),
        None => r.environment.target.clone(),
    };
    format!(
        "scenario=\"{}\",environment=\"{}\"",
        escape(&r.scenario.name),
        escape(&environment)
    )
}

/// A label value as OpenMetrics quotes it.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn gauge(out: &mut String, name: &str, unit: Option<&str>, help: &str, labels: &str, value: f64) {
    let _ = writeln!(out, "# TYPE {name} gauge");
    if let Some(unit) = unit {
        let _ = writeln!(out, "# UNIT {name} {unit}");
    }
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "{name}{{{labels}}} {}", number(value));
}

/// A sample value: `NaN` for what was not observed.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v}")
    }
}

fn seconds(ms: Option<f64>) -> f64 {
    ms.map_or(f64::NAN, |ms| ms / 1000.0)
}

fn timed(out: &mut String, m: &Measurements, labels: &str) {
    for name in TIMED {
        let Some(Figure {
            value_ms,
            resolution_ms,
            ..
        }) = m.figure(name)
        else {
            continue;
        };
        gauge(
            out,
            &format!("gameday_{name}_seconds"),
            Some("seconds"),
            &format!("{name} after t0 (NaN: not observed)"),
            labels,
            seconds(*value_ms),
        );
        gauge(
            out,
            &format!("gameday_{name}_resolution_seconds"),
            Some("seconds"),
            &format!("resolution of {name}: the interval of the probe that observed it"),
            labels,
            resolution_ms / 1000.0,
        );
    }
}

fn writes(out: &mut String, m: &Measurements, labels: &str) {
    let lost = m.lost_writes.count.map_or(f64::NAN, |c| c as f64);
    gauge(
        out,
        "gameday_lost_writes",
        None,
        "acked canary writes the serving region no longer has (NaN: no read-back)",
        labels,
        lost,
    );
    gauge(
        out,
        "gameday_acked_writes",
        None,
        "canary writes acked during the run",
        labels,
        m.lost_writes.acked as f64,
    );
}

fn run(out: &mut String, r: &Report, labels: &str) {
    let breached = r.verdict.iter().filter(|j| j.status != Status::Met).count();
    gauge(
        out,
        "gameday_objectives_breached",
        None,
        "objectives not met (breached or not measured)",
        labels,
        breached as f64,
    );
    gauge(
        out,
        "gameday_exit_code",
        None,
        "the run's exit code: 0 passed, 1 breached, 2 refused, 3 aborted, 4 revert incomplete",
        labels,
        f64::from(r.exit_code),
    );
    gauge(
        out,
        "gameday_revert_complete",
        None,
        "1 when everything was put back and verified",
        labels,
        if r.revert.complete { 1.0 } else { 0.0 },
    );
    gauge(
        out,
        "gameday_finished_timestamp_seconds",
        Some("seconds"),
        "when the run finished (Unix time)",
        labels,
        r.finished_at.timestamp_millis() as f64 / 1000.0,
    );
}
