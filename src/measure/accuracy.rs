//! How far each measured phase is from the lab's ground truth.
//!
//! Only the lab has ground truth. Some phases have a legitimate delay on top of
//! the truth (a customer's resolver keeps the old answer for up to one TTL after
//! the flip); that delay is the `allowance`, and only distance outside
//! `[truth, truth + allowance]` counts as error.

use super::Measurements;
use crate::lab::truth::TruthEvent;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A ground-truth event on the run's clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthMark {
    /// When, on the run clock, ms.
    pub at_ms: f64,
    /// What.
    pub kind: String,
    /// Where.
    pub region: String,
    /// Specifics.
    pub detail: String,
}

impl TruthMark {
    /// Converts a lab event to the run's clock.
    pub fn from_event(e: &TruthEvent, origin: u64) -> Self {
        TruthMark {
            at_ms: (e.at as f64 - origin as f64) / 1e6,
            kind: e.kind.clone(),
            region: e.region.clone(),
            detail: e.detail.clone(),
        }
    }
}

/// What the lab's databases held after an isolation: the canary records of
/// `run_id` only the old writer had (`database-diverged`, read from both
/// instances before the failback), as (lost, divergent): committed before or
/// after the standby's promotion. `None` when a record cannot be read.
pub fn discarded_counts(truth: &[TruthMark], run_id: &str) -> Option<(u64, u64)> {
    let mut out = (0, 0);
    for t in truth.iter().filter(|t| t.kind == "database-diverged") {
        let detail: serde_json::Value = serde_json::from_str(&t.detail).ok()?;
        for rec in detail["discarded"].as_array()? {
            if rec["canary"] != run_id {
                continue;
            }
            if rec["after_promotion"].as_bool()? {
                out.1 += 1;
            } else {
                out.0 += 1;
            }
        }
    }
    Some(out)
}

/// One phase compared with ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Phase name.
    pub phase: String,
    /// Measured, ms after t0.
    pub measured_ms: f64,
    /// Truth, ms after t0.
    pub truth_ms: f64,
    /// Legitimate extra delay after the truth, ms.
    pub allowance_ms: f64,
    /// Distance outside `[truth, truth + allowance]`, signed, ms.
    pub error_ms: f64,
    /// Resolution of the measurement, ms.
    pub resolution_ms: f64,
    /// |error| within one resolution.
    pub within_resolution: bool,
}

fn compare(
    phase: &str,
    measured: Option<f64>,
    truth: Option<f64>,
    allowance: f64,
    resolution: f64,
) -> Option<Accuracy> {
    let (measured, truth) = (measured?, truth?);
    let error = if measured < truth {
        measured - truth
    } else if measured > truth + allowance {
        measured - truth - allowance
    } else {
        0.0
    };
    Some(Accuracy {
        phase: phase.into(),
        measured_ms: measured,
        truth_ms: truth,
        allowance_ms: allowance,
        error_ms: (error * 1000.0).round() / 1000.0,
        resolution_ms: resolution,
        // A probe's own round trip is part of one observation; allow 1 ms of it.
        within_resolution: error.abs() <= resolution + 1.0,
    })
}

/// The standby's instances: healthy at t0, and needed to hold the `[load]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandbyNeed {
    /// Healthy in its target group at t0.
    pub initial: u32,
    /// Needed to hold the load.
    pub needed: u32,
}

/// The first moment after t0 (ms after it) when the load balancer of
/// `region` had `need.needed` healthy targets, replaying its health events
/// from `need.initial` (an instance that flaps counts as it flaps).
fn enough_healthy(truth: &[TruthMark], t0: f64, region: &str, need: StandbyNeed) -> Option<f64> {
    let mut healthy = i64::from(need.initial);
    if healthy >= i64::from(need.needed) {
        return Some(0.0);
    }
    for e in truth
        .iter()
        .filter(|e| e.at_ms >= t0 - 0.001 && e.region == region)
    {
        match e.kind.as_str() {
            "alb-target-healthy" => healthy += 1,
            "alb-target-unhealthy" => healthy -= 1,
            _ => continue,
        }
        if healthy >= i64::from(need.needed) {
            return Some(e.at_ms - t0);
        }
    }
    None
}

/// The first moment from `from_ms` (ms after t0) when no target of
/// `region` was shedding, replaying each target's `target-shedding` and
/// `target-serving` events; `None` when one never stopped.
fn stopped_shedding(truth: &[TruthMark], t0: f64, region: &str, from_ms: f64) -> Option<f64> {
    let mut shedding = std::collections::BTreeSet::new();
    let mut quiet_since = Some(f64::MIN);
    for e in truth.iter().filter(|e| e.region == region) {
        let at = e.at_ms - t0;
        if at > from_ms && shedding.is_empty() {
            break;
        }
        match e.kind.as_str() {
            "target-shedding" => shedding.insert(e.detail.as_str()),
            "target-serving" => shedding.remove(e.detail.as_str()),
            _ => continue,
        };
        quiet_since = shedding.is_empty().then_some(at);
    }
    quiet_since.map(|at| at.max(from_ms))
}

/// How long after the standby held the load (`held`, ms after t0) a
/// customer may still be turned away: the TTL, or until the last of its
/// targets that shed stopped shedding. When one was still shedding as the
/// run ended (at exactly the load's rate four instances of 60 a second may
/// never drain before a fifth is healthy), the truth bounds the recovery
/// only from below: any `measured` after `held` is within.
fn draining(
    truth: &[TruthMark],
    t0: f64,
    region: &str,
    held: f64,
    ttl: f64,
    measured: Option<f64>,
) -> f64 {
    if stopped_shedding(truth, t0, region, held).is_none() {
        return open_span(measured, held, ttl);
    }
    let drained = Marks { truth, t0 }
        .after("target-serving", region)
        .last()
        .copied();
    ttl.max(drained.map_or(0.0, |d| d - held))
}

/// The allowance after `held` when a target of the standby was still
/// shedding as the run ended: the truth cannot say when it stops, so a
/// `measured` moment after `held` is within (at least `least`).
fn open_span(measured: Option<f64>, held: f64, least: f64) -> f64 {
    measured.map_or(least, |m| least.max(m - held))
}

/// `capacity_recovered` against the moment the standby had enough healthy
/// targets (`held`, ms after t0). A target saturated before then still
/// turns requests away until its queue drains: the standby holds the load
/// from one moment to the other (open-ended when one never drained).
fn capacity_recovered(
    c: &super::capacity::CapacityFigures,
    truth: &[TruthMark],
    t0: f64,
    secondary: &str,
    held: Option<f64>,
) -> Option<Accuracy> {
    let measured = c.capacity_recovered.value_ms;
    let allowance = held.map_or(0.0, |h| match stopped_shedding(truth, t0, secondary, h) {
        Some(drained) => drained - h,
        None => open_span(measured, h, 0.0),
    });
    compare(
        "capacity_recovered",
        measured,
        held,
        allowance,
        c.capacity_recovered.resolution_ms,
    )
}

/// The truth's marks, read as ms after t0.
#[derive(Clone, Copy)]
struct Marks<'a> {
    truth: &'a [TruthMark],
    t0: f64,
}

impl Marks<'_> {
    /// When each mark of `kind` in `region` was made, from t0 on.
    fn after(&self, kind: &str, region: &str) -> Vec<f64> {
        self.truth
            .iter()
            .filter(|e| e.at_ms >= self.t0 - 0.001 && e.kind == kind && e.region == region)
            .map(|e| e.at_ms - self.t0)
            .collect()
    }
}

/// The truth's instants the later phases are judged from (ms after t0).
struct Instants {
    /// The lab flipped the record to the secondary.
    flip: Option<f64>,
    /// The secondary's database was promoted.
    promoted: Option<f64>,
    /// The standby had the targets the `[load]` needs.
    held: Option<f64>,
}

/// Compares every phase that has a ground truth. `standby`: what the
/// standby had and needs for the `[load]`, when it has one and its capacity
/// is known.
pub fn assess(
    m: &Measurements,
    truth: &[TruthMark],
    primary: &str,
    secondary: &str,
    dns_ttl: Duration,
    standby: Option<StandbyNeed>,
) -> Vec<Accuracy> {
    let marks = Marks { truth, t0: m.t0_ms };
    let flip = marks
        .after("dns-answer-changed", secondary)
        .first()
        .copied();
    // The standby holds the load once the last instance it needed turned
    // healthy (from the flip when it needed none).
    let held = standby
        .and_then(|need| enough_healthy(truth, m.t0_ms, secondary, need))
        .map(|at| flip.map_or(at, |f| at.max(f)));
    let at = Instants {
        flip,
        promoted: marks.after("database-promoted", secondary).first().copied(),
        held,
    };
    let mut out = failover(m, marks, primary, &at);
    if let (Some(p), Some(flip)) = (&m.population, flip) {
        out.extend(population(p, flip));
    }
    if let Some(c) = &m.capacity {
        out.extend(capacity_recovered(c, truth, m.t0_ms, secondary, held));
    }
    if m.first_failure.value_ms.is_some() {
        let ttl = dns_ttl.as_secs_f64() * 1000.0;
        out.extend(recovery(m, marks, (primary, secondary), &at, ttl));
    }
    out
}

/// Detection, the DNS flip, the promotion and the fencing against the truth.
fn failover(m: &Measurements, marks: Marks, primary: &str, at: &Instants) -> Vec<Accuracy> {
    let detection = marks
        .after("health-check-unhealthy", primary)
        .first()
        .copied();
    let mut out = Vec::new();
    out.extend(compare(
        "detection",
        m.detection.value_ms,
        detection,
        0.0,
        m.detection.resolution_ms,
    ));
    out.extend(compare(
        "dns_flip",
        m.dns_flip.value_ms,
        at.flip,
        0.0,
        m.dns_flip.resolution_ms,
    ));
    if let Some(d) = &m.divergent_writes {
        out.extend(compare(
            "promotion",
            d.promotion_ms,
            at.promoted,
            0.0,
            d.resolution_ms,
        ));
    }
    if let (Some(f), Some(p)) = (&m.fencing, at.promoted) {
        let fenced = marks.after("old-writer-fenced", primary).first().copied();
        // Fenced before the promotion reads as 0.
        out.extend(compare(
            "fencing",
            f.value_ms,
            fenced.map(|x| (x - p).max(0.0)),
            0.0,
            f.resolution_ms,
        ));
    }
    out
}

/// The customers' recovery and the writes' against the truth, for a run
/// whose customers saw the outage; `ttl` in ms.
fn recovery(
    m: &Measurements,
    marks: Marks,
    (primary, secondary): (&str, &str),
    at: &Instants,
    ttl: f64,
) -> Vec<Accuracy> {
    // Customers recover when their resolver's cached answer expires after the
    // flip; without a flip, when the ALB stops routing to the broken targets.
    let alb_truth = marks.after("alb-target-unhealthy", primary).last().copied();
    // A standby that sheds the load serves a customer steadily from
    // when it holds it, and surely once its last saturated target
    // stopped turning requests away (a customer may be lucky before).
    let (recovery_truth, allowance) = match (at.flip, at.held) {
        (Some(f), Some(h)) if h > f => (
            Some(h),
            draining(
                marks.truth,
                marks.t0,
                secondary,
                h,
                ttl,
                m.recovered.value_ms,
            ),
        ),
        (Some(f), _) => (Some(f), ttl),
        (None, _) => (alb_truth, 0.0),
    };
    let mut out = Vec::new();
    out.extend(compare(
        "recovered",
        m.recovered.value_ms,
        recovery_truth,
        allowance,
        m.recovered.resolution_ms,
    ));
    let write_truth = match (at.flip, at.promoted) {
        (Some(f), Some(p)) => Some(f.max(p)),
        (f, p) => f.or(p),
    };
    let write_allowance = if at.flip.is_some() { ttl } else { 0.0 };
    if m.write_recovery.note.is_none() {
        out.extend(compare(
            "write_recovery",
            m.write_recovery.value_ms,
            write_truth,
            write_allowance,
            m.write_recovery.resolution_ms,
        ));
    }
    out
}

/// Each class of a population against the lab's truth, client by client:
/// a client is served by the secondary from its first request on a DNS
/// answer it resolved after the lab flipped the record (`flip`, ms after
/// t0; a request in flight across the flip counts when the answer named
/// the secondary, which the lab answers only after it). One row per class:
/// the client at the 99th percentile of distance.
fn population(p: &super::population::PopulationFigures, flip: f64) -> Vec<Accuracy> {
    p.classes
        .iter()
        .enumerate()
        .filter_map(|(i, class)| {
            let mut compared: Vec<Accuracy> = p
                .traces
                .iter()
                .filter(|t| t.class == i && t.failed)
                .filter_map(|t| {
                    let truth = t
                        .renewals
                        .iter()
                        .find(|r| r.resolved_after(flip))
                        .map(|r| r.at_ms);
                    compare(
                        &format!("client {}", t.client),
                        t.recovered_ms,
                        truth,
                        0.0,
                        p.resolution_ms,
                    )
                })
                .collect();
            compared.sort_by(|a, b| a.error_ms.abs().total_cmp(&b.error_ms.abs()));
            let rank = (99 * compared.len()).div_ceil(100).max(1);
            let mut worst = compared.get(rank - 1)?.clone();
            worst.phase = format!(
                "recovered p99 ({}: {}, {} clients; {})",
                p.probe,
                class.class,
                compared.len(),
                worst.phase
            );
            Some(worst)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A truth mark of the standby's region.
    fn mark(at_ms: f64, kind: &str, detail: &str) -> TruthMark {
        TruthMark {
            at_ms,
            kind: kind.into(),
            region: "eu-central-1".into(),
            detail: detail.into(),
        }
    }

    /// The pilot light flaps unhealthy under the surge and back: the third
    /// healthy event is not the third healthy instance.
    #[test]
    fn the_standby_holds_when_enough_targets_are_healthy_at_once() {
        let truth = [
            mark(4000.0, "alb-target-unhealthy", ""),
            mark(5000.0, "alb-target-healthy", ""),
            mark(9000.0, "alb-target-healthy", ""),
            mark(9001.0, "alb-target-healthy", ""),
            mark(9500.0, "alb-target-healthy", ""),
            mark(9502.0, "alb-target-healthy", ""),
        ];
        let need = StandbyNeed {
            initial: 1,
            needed: 4,
        };
        assert_eq!(
            enough_healthy(&truth, 1000.0, "eu-central-1", need),
            Some(8500.0)
        );
        let none = StandbyNeed {
            initial: 4,
            needed: 4,
        };
        assert_eq!(
            enough_healthy(&truth, 1000.0, "eu-central-1", none),
            Some(0.0)
        );
    }

    /// The lone instance sheds from 3 s; four are healthy at 8.5 s and it
    /// drains by 8.9 s; another target sheds briefly at 9.5 s, after.
    #[test]
    fn the_standby_holds_once_its_saturated_targets_drain() {
        let truth = [
            mark(4000.0, "target-shedding", "i-1"),
            mark(6000.0, "target-shedding", "i-2"),
            mark(7000.0, "target-serving", "i-2"),
            mark(9900.0, "target-serving", "i-1"),
            mark(10_500.0, "target-shedding", "i-3"),
            mark(10_600.0, "target-serving", "i-3"),
        ];
        assert_eq!(
            stopped_shedding(&truth, 1000.0, "eu-central-1", 7500.0),
            Some(8900.0)
        );
        assert_eq!(
            stopped_shedding(&truth, 1000.0, "eu-central-1", 9000.0),
            Some(9000.0)
        );
        assert_eq!(
            stopped_shedding(&truth, 1000.0, "us-east-1", 7500.0),
            Some(7500.0)
        );
        assert_eq!(
            stopped_shedding(&truth[..3], 1000.0, "eu-central-1", 6000.0),
            None
        );
    }

    /// pilot-light-under-provisioned at exactly its capacity: the fourth
    /// instance is healthy at 26 s (t0 3 s), no target ever drains, and a
    /// customer is turned away now and then until the run ends. Its
    /// recovery 4.4 s after the fourth instance is not late by the truth;
    /// one before it still is early.
    #[test]
    fn a_standby_that_never_drains_bounds_recovery_only_from_below() {
        let truth = [
            mark(6000.0, "target-shedding", "i-1"),
            mark(13_000.0, "target-shedding", "i-2"),
            mark(22_000.0, "target-shedding", "i-3"),
        ];
        let (t0, held, ttl) = (3000.0, 23_000.0, 1000.0);
        assert_eq!(
            draining(&truth, t0, "eu-central-1", held, ttl, Some(27_400.0)),
            4400.0
        );
        assert_eq!(
            draining(&truth, t0, "eu-central-1", held, ttl, Some(22_000.0)),
            ttl
        );
        let late = compare("recovered", Some(27_400.0), Some(held), 4400.0, 100.0).unwrap();
        assert_eq!(late.error_ms, 0.0);
        let early = compare("recovered", Some(22_000.0), Some(held), ttl, 100.0).unwrap();
        assert_eq!(early.error_ms, -1000.0);
        // Drained: the allowance runs to the last target that stopped
        // shedding, and no further.
        let drained = [
            mark(6000.0, "target-shedding", "i-1"),
            mark(27_000.0, "target-serving", "i-1"),
        ];
        assert_eq!(
            draining(&drained, t0, "eu-central-1", held, ttl, Some(40_000.0)),
            1000.0
        );
        assert_eq!(
            draining(&drained, t0, "eu-central-1", 20_000.0, ttl, Some(40_000.0)),
            4000.0
        );
    }

    /// The same standby, judged for `capacity_recovered`: held 1.2 s after
    /// the fourth instance by the load's seconds is not late while a target
    /// was still shedding at the end; with every target drained at 24 s it
    /// is 200 ms past the span.
    #[test]
    fn capacity_recovered_is_open_ended_while_a_target_still_sheds() {
        let figures = |at_ms: f64| super::super::capacity::CapacityFigures {
            capacity_recovered: super::super::Figure {
                value_ms: Some(at_ms),
                resolution_ms: 1000.0,
                note: None,
            },
            surge_errors: 0,
            error_rate_after: None,
            p99_after_ms: None,
            max_error_rate: 0.01,
            max_p99_ms: 500.0,
            steps: Vec::new(),
            points: Vec::new(),
        };
        let (t0, held) = (3000.0, Some(23_000.0));
        let shedding = [mark(6000.0, "target-shedding", "i-1")];
        let a =
            capacity_recovered(&figures(24_200.0), &shedding, t0, "eu-central-1", held).unwrap();
        assert_eq!((a.allowance_ms, a.error_ms), (1200.0, 0.0));
        let a =
            capacity_recovered(&figures(22_000.0), &shedding, t0, "eu-central-1", held).unwrap();
        assert_eq!(a.error_ms, -1000.0);
        let drained = [
            mark(6000.0, "target-shedding", "i-1"),
            mark(27_000.0, "target-serving", "i-1"),
        ];
        let a = capacity_recovered(&figures(24_200.0), &drained, t0, "eu-central-1", held).unwrap();
        assert_eq!((a.allowance_ms, a.error_ms), (1000.0, 200.0));
    }

    #[test]
    fn error_is_outside_the_allowance() {
        let a = compare("x", Some(1500.0), Some(1000.0), 1000.0, 100.0).unwrap();
        assert_eq!(a.error_ms, 0.0);
        let a = compare("x", Some(2150.0), Some(1000.0), 1000.0, 100.0).unwrap();
        assert_eq!(a.error_ms, 150.0);
        assert!(!a.within_resolution);
        let a = compare("x", Some(950.0), Some(1000.0), 0.0, 100.0).unwrap();
        assert_eq!(a.error_ms, -50.0);
        assert!(a.within_resolution);
        assert!(compare("x", None, Some(1.0), 0.0, 1.0).is_none());
    }
}
