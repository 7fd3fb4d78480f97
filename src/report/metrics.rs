//! The run's figures as metrics: [`samples`] lists them once, for every sink
//! (the OpenMetrics text here, CloudWatch and the Pushgateway in
//! `src/publish/`), and [`OpenMetrics`] renders them for Prometheus:
//! node_exporter's textfile collector (`--metrics-file`) or `gameday report
//! --format metrics` for old runs. Only gauges, so the Prometheus 0.0.4 text
//! parser reads it too (it takes `# UNIT` and `# EOF` for comments).
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

/// What a sample counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Seconds.
    Seconds,
    /// A plain number (writes, objectives, an exit code).
    Count,
}

/// One figure of a run as every metrics sink publishes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The stem of the Prometheus name: `gameday_<stem>` (`_seconds` added
    /// for seconds).
    pub stem: String,
    /// The CloudWatch metric name; `None` for what CloudWatch carries
    /// itself (the finish time is the datum's timestamp).
    pub cloudwatch: Option<String>,
    /// Its unit.
    pub unit: Unit,
    /// What it is, for `# HELP`.
    pub help: String,
    /// The value; `NaN` when it was not observed.
    pub value: f64,
}

impl Sample {
    /// The Prometheus metric name.
    pub fn prometheus_name(&self) -> String {
        match self.unit {
            Unit::Seconds => format!("gameday_{}_seconds", self.stem),
            Unit::Count => format!("gameday_{}", self.stem),
        }
    }
}

/// The timed figures: the name reports use and the CloudWatch metric name.
const TIMED: [(&str, &str); 8] = [
    ("detection", "Detection"),
    ("dns_flip", "DnsFlip"),
    ("first_failure", "FirstFailure"),
    ("rto_observed", "RtoObserved"),
    ("downtime", "Downtime"),
    ("write_recovery", "WriteRecovery"),
    ("rpo_observed", "RpoObserved"),
    // Only when the canary watched both writers.
    ("fencing", "Fencing"),
];

/// Where the run happened, as metrics label it: `lab`, or `aws/<account>`.
pub fn environment(r: &Report) -> String {
    match &r.environment.aws {
        Some(aws) => format!("aws/{}", aws.account),
        None => r.environment.target.clone(),
    }
}

/// Every figure of the run, in a fixed order.
pub fn samples(r: &Report) -> Vec<Sample> {
    let mut out = Vec::new();
    if let Some(m) = &r.phases {
        timed(&mut out, m);
        writes(&mut out, m);
    }
    run(&mut out, r);
    out
}

impl Format for OpenMetrics {
    fn render(&self, r: &Report) -> String {
        let labels = format!(
            "scenario=\"{}\",environment=\"{}\"",
            escape(&r.scenario.name),
            escape(&environment(r))
        );
        let mut out = String::new();
        for s in samples(r) {
            gauge(&mut out, &s, &labels);
        }
        out.push_str("# EOF\n");
        out
    }
}

/// A label value as OpenMetrics quotes it.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn gauge(out: &mut String, s: &Sample, labels: &str) {
    let name = s.prometheus_name();
    let _ = writeln!(out, "# TYPE {name} gauge");
    if s.unit == Unit::Seconds {
        let _ = writeln!(out, "# UNIT {name} seconds");
    }
    let _ = writeln!(out, "# HELP {name} {}", s.help);
    let _ = writeln!(out, "{name}{{{labels}}} {}", number(s.value));
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

fn sample(stem: &str, cloudwatch: Option<&str>, unit: Unit, help: String, value: f64) -> Sample {
    Sample {
        stem: stem.to_string(),
        cloudwatch: cloudwatch.map(str::to_string),
        unit,
        help,
        value,
    }
}

fn timed(out: &mut Vec<Sample>, m: &Measurements) {
    for (name, cloudwatch) in TIMED {
        let Some(Figure {
            value_ms,
            resolution_ms,
            ..
        }) = m.figure(name)
        else {
            continue;
        };
        out.push(sample(
            name,
            Some(cloudwatch),
            Unit::Seconds,
            format!("{name} after t0 (NaN: not observed)"),
            seconds(*value_ms),
        ));
        out.push(sample(
            &format!("{name}_resolution"),
            Some(&format!("{cloudwatch}Resolution")),
            Unit::Seconds,
            format!("resolution of {name}: the interval of the probe that observed it"),
            resolution_ms / 1000.0,
        ));
    }
}

fn writes(out: &mut Vec<Sample>, m: &Measurements) {
    out.push(sample(
        "lost_writes",
        Some("LostWrites"),
        Unit::Count,
        "acked canary writes the serving region no longer has (NaN: no read-back)".into(),
        m.lost_writes.count.map_or(f64::NAN, |c| c as f64),
    ));
    out.push(sample(
        "acked_writes",
        Some("AckedWrites"),
        Unit::Count,
        "canary writes acked during the run".into(),
        m.lost_writes.acked as f64,
    ));
    if let Some(d) = &m.divergent_writes {
        out.push(sample(
            "divergent_writes",
            Some("DivergentWrites"),
            Unit::Count,
            "acked canary writes only the old writer has: acked after the standby's promotion"
                .into(),
            d.count as f64,
        ));
    }
}

fn run(out: &mut Vec<Sample>, r: &Report) {
    let breached = r.verdict.iter().filter(|j| j.status != Status::Met).count();
    out.push(sample(
        "objectives_breached",
        Some("ObjectiveBreached"),
        Unit::Count,
        "objectives not met (breached or not measured)".into(),
        breached as f64,
    ));
    out.push(sample(
        "exit_code",
        Some("ExitCode"),
        Unit::Count,
        "the run's exit code: 0 passed, 1 breached, 2 refused, 3 aborted, 4 revert incomplete"
            .into(),
        f64::from(r.exit_code),
    ));
    out.push(sample(
        "revert_complete",
        Some("RevertComplete"),
        Unit::Count,
        "1 when everything was put back and verified".into(),
        if r.revert.complete { 1.0 } else { 0.0 },
    ));
    out.push(sample(
        "finished_timestamp",
        None,
        Unit::Seconds,
        "when the run finished (Unix time)".into(),
        r.finished_at.timestamp_millis() as f64 / 1000.0,
    ));
}
