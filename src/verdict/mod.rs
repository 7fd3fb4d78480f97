//! The verdict: each objective met or breached, with the measured value and its
//! resolution, and the exit code a CI job acts on.

use crate::measure::{Figure, Measurements};
use crate::scenario::Objectives;
use crate::words::ExitStatus;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How one objective came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Measured at or under the declared limit.
    Met,
    /// Measured over the limit, or never reached.
    Breached,
    /// Could not be measured; a game day cannot claim what it did not see.
    NotMeasured,
}

/// One objective judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    /// `rto`, `rpo`, `max_detection` or `max_dns_flip`.
    pub objective: String,
    /// Declared limit, ms (percent when `unit` is `percent`).
    pub declared_ms: f64,
    /// Measured value, ms (percent when `unit` is `percent`).
    pub measured_ms: Option<f64>,
    /// Resolution of the measurement, ms.
    pub resolution_ms: f64,
    /// Outcome.
    pub status: Status,
    /// Why, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What the limit and the value count (absent: ms).
    #[serde(default, skip_serializing_if = "Unit::is_ms")]
    pub unit: Unit,
}

/// What a judgement's figures count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    /// Milliseconds.
    #[default]
    Ms,
    /// Percent of requests.
    Percent,
}

impl Unit {
    fn is_ms(&self) -> bool {
        *self == Unit::Ms
    }
}

impl Judgement {
    /// Whether its limit is a moment after t0 (drawn on the timeline): not
    /// a window of data, a latency or a rate.
    pub fn is_deadline(&self) -> bool {
        self.unit == Unit::Ms && !matches!(self.objective.as_str(), "rpo" | "max_p99_latency")
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every objective met.
    Passed,
    /// An objective breached or not measured.
    Breached,
    /// Refused before anything changed (invalid input, guard, steady state).
    Refused,
    /// Stopped early (signal, timeout before recovery); everything reverted.
    Aborted,
    /// The revert did not restore everything: a person must look.
    RevertIncomplete,
}

impl Outcome {
    /// How the process exits for this outcome.
    pub fn exit_status(self) -> ExitStatus {
        match self {
            Outcome::Passed => ExitStatus::Ok,
            Outcome::Breached => ExitStatus::Breached,
            Outcome::Refused => ExitStatus::Invalid,
            Outcome::Aborted => ExitStatus::Aborted,
            Outcome::RevertIncomplete => ExitStatus::RevertIncomplete,
        }
    }

    /// The process exit code (see [`ExitStatus`]).
    pub fn exit_code(self) -> u8 {
        self.exit_status().code()
    }
}

fn judge_one(
    objective: &str,
    declared: Duration,
    figure: &Figure,
    missing_is: Status,
) -> Judgement {
    let (status, note) = match figure.value() {
        Some(v) if v <= declared => (Status::Met, figure.note.clone()),
        Some(_) => (Status::Breached, figure.note.clone()),
        None => (missing_is, figure.note.clone()),
    };
    Judgement {
        objective: objective.into(),
        declared_ms: declared.as_secs_f64() * 1000.0,
        measured_ms: figure.value_ms,
        resolution_ms: figure.resolution_ms,
        status,
        note,
        unit: Unit::Ms,
    }
}

/// An old writer never fenced breaches; with no promotion there was
/// nothing to fence, which is not a measurement either way.
fn judge_fencing(declared: Duration, m: &Measurements) -> Judgement {
    let missing = Figure::missing(
        Duration::ZERO,
        "the canary did not watch both writers (both_writers = true)",
    );
    let figure = m.fencing.as_ref().unwrap_or(&missing);
    let never = figure
        .note
        .as_deref()
        .is_some_and(|n| n.starts_with("never"));
    let missing_is = if never {
        Status::Breached
    } else {
        Status::NotMeasured
    };
    judge_one("max_fencing", declared, figure, missing_is)
}

/// Judges every declared objective.
pub fn judge(objectives: &Objectives, m: &Measurements) -> Vec<Judgement> {
    let mut out = judge_run(objectives, m);
    out.extend(objectives.clients.iter().map(|c| judge_client(c, m)));
    out.extend(objectives.population.iter().map(|p| judge_population(p, m)));
    out
}

/// A population's rto, or one class's, on its recovery at the declared
/// percentile of clients: a percentile that falls on a client never
/// recovered breaches.
fn judge_population(p: &crate::scenario::PopulationObjective, m: &Measurements) -> Judgement {
    let name = format!("rto ({})", p.name());
    let figures = m.population.as_ref().and_then(|f| match &p.class {
        None => Some(&f.all),
        Some(c) => f.classes.iter().find(|k| k.class == *c),
    });
    match figures {
        Some(f) => {
            let missing_is = match f.not_recovered {
                0 => Status::NotMeasured,
                _ => Status::Breached,
            };
            judge_one(&name, p.rto.get(), &f.at_percentile, missing_is)
        }
        None => judge_one(
            &name,
            p.rto.get(),
            &Figure::missing(Duration::ZERO, "the population was not measured"),
            Status::NotMeasured,
        ),
    }
}

/// A customer probe's own rto, on its own figures: never recovering breaches.
fn judge_client(c: &crate::scenario::ClientObjective, m: &Measurements) -> Judgement {
    let name = format!("rto ({})", c.probe);
    match m.customers.iter().find(|f| f.probe == c.probe) {
        Some(f) => judge_one(&name, c.rto.get(), &f.recovered, Status::Breached),
        None => judge_one(
            &name,
            c.rto.get(),
            &Figure::missing(Duration::ZERO, "the probe was not measured on its own"),
            Status::NotMeasured,
        ),
    }
}

/// The scenario's own objectives.
fn judge_run(objectives: &Objectives, m: &Measurements) -> Vec<Judgement> {
    // Never recovering, or never detecting, breaches the objective: the limit passed.
    let mut out = vec![judge_one(
        "rto",
        objectives.rto.get(),
        &m.rto_observed,
        Status::Breached,
    )];
    // Without a declared rpo the run claims nothing about data.
    if let Some(rpo) = objectives.rpo {
        out.push(judge_one(
            "rpo",
            rpo.get(),
            &m.rpo_observed,
            Status::NotMeasured,
        ));
    }
    if let Some(d) = objectives.max_detection {
        out.push(judge_one(
            "max_detection",
            d.get(),
            &m.detection,
            Status::Breached,
        ));
    }
    if let Some(d) = objectives.max_dns_flip {
        out.push(judge_one(
            "max_dns_flip",
            d.get(),
            &m.dns_flip,
            Status::Breached,
        ));
    }
    if let Some(d) = objectives.max_fencing {
        out.push(judge_fencing(d.get(), m));
    }
    // A failover that only "worked" because DNS failed open proves nothing.
    if let Some(why) = &m.fail_open {
        out.push(Judgement {
            objective: "secondary_proven".into(),
            declared_ms: 0.0,
            measured_ms: None,
            resolution_ms: m.detection.resolution_ms,
            status: Status::Breached,
            note: Some(why.clone()),
            unit: Unit::Ms,
        });
    }
    out.extend(judge_capacity(objectives, m));
    out
}

/// The standby under the load: time to capacity (never holding breaches),
/// and after it the worst second's error rate and p99 latency.
fn judge_capacity(objectives: &Objectives, m: &Measurements) -> Vec<Judgement> {
    let unmeasured = Figure::missing(Duration::ZERO, "no [load]: the capacity was not measured");
    let (recovered, after) = match &m.capacity {
        Some(c) => (c.capacity_recovered.clone(), Some(c)),
        None => (unmeasured.clone(), None),
    };
    let never = recovered.value_ms.is_none() && after.is_some();
    let mut out = Vec::new();
    if let Some(d) = objectives.max_time_to_capacity {
        out.push(judge_one(
            "max_time_to_capacity",
            d.get(),
            &recovered,
            Status::Breached,
        ));
    }
    if let Some(d) = objectives.max_p99_latency {
        let figure = match after.and_then(|c| c.p99_after_ms) {
            Some(p) => Figure::of(
                Duration::from_secs_f64(p / 1000.0),
                Duration::from_millis(1),
            )
            .with_note("worst second after capacity_recovered"),
            None => recovered.clone(),
        };
        let missing_is = if never {
            Status::Breached
        } else {
            Status::NotMeasured
        };
        out.push(judge_one("max_p99_latency", d.get(), &figure, missing_is));
    }
    if let Some(p) = objectives.max_error_rate {
        let measured = after.and_then(|c| c.error_rate_after).map(|r| r * 100.0);
        let status = match measured {
            Some(v) if v <= p.0 => Status::Met,
            Some(_) => Status::Breached,
            None if never => Status::Breached,
            None => Status::NotMeasured,
        };
        out.push(Judgement {
            objective: "max_error_rate".into(),
            declared_ms: p.0,
            measured_ms: measured,
            resolution_ms: 0.0,
            status,
            note: match measured {
                Some(_) => Some("worst second after capacity_recovered".into()),
                None => recovered.note.clone(),
            },
            unit: Unit::Percent,
        });
    }
    out
}

/// The outcome of a completed (not aborted) run from its judgements.
pub fn outcome(judgements: &[Judgement]) -> Outcome {
    if judgements.iter().all(|j| j.status == Status::Met) {
        Outcome::Passed
    } else {
        Outcome::Breached
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn met_breached_and_missing() {
        let d = Duration::from_secs(5);
        let f = Figure::of(Duration::from_secs(4), Duration::from_millis(100));
        assert_eq!(
            judge_one("rto", d, &f, Status::Breached).status,
            Status::Met
        );
        let f = Figure::of(Duration::from_secs(5), Duration::from_millis(100));
        assert_eq!(
            judge_one("rto", d, &f, Status::Breached).status,
            Status::Met
        );
        let f = Figure::of(Duration::from_millis(5001), Duration::from_millis(100));
        assert_eq!(
            judge_one("rto", d, &f, Status::Breached).status,
            Status::Breached
        );
        let f = Figure::missing(Duration::from_millis(100), "never recovered");
        assert_eq!(
            judge_one("rto", d, &f, Status::Breached).status,
            Status::Breached
        );
        assert_eq!(
            judge_one("rpo", d, &f, Status::NotMeasured).status,
            Status::NotMeasured
        );
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Outcome::Passed.exit_code(), 0);
        assert_eq!(Outcome::Breached.exit_code(), 1);
        assert_eq!(Outcome::Refused.exit_code(), 2);
        assert_eq!(Outcome::Aborted.exit_code(), 3);
        assert_eq!(Outcome::RevertIncomplete.exit_code(), 4);
    }
}
