//! The standby under the surge: when it first served the declared load
//! (`capacity_recovered`), what the surge cost (`surge_errors`), how the
//! load fared after, and each scaling step the `capacity` probe saw.
//!
//! A second of the load is *held* when its arrivals were served by the
//! secondary within the objectives: at most `max_error_rate` of them failed,
//! dropped or answered by another region, and their p99 latency is at most
//! `max_p99_latency`. `capacity_recovered` is the start of the first run of
//! held seconds that lasts `stable_for` (resolution: one second, the load's).

use super::load::LoadSecond;
use super::Figure;
use crate::clock::Offset;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The load's seconds are one second long: the figures' resolution.
pub const RESOLUTION: Duration = Duration::from_secs(1);
/// The most capacity changes kept.
const MAX_CHANGES: usize = 4000;

/// What "serving the load" means, from the objectives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CapacitySpec {
    /// The largest share of a second's arrivals not served by the secondary.
    pub max_error_rate: f64,
    /// The largest p99 latency of a held second.
    pub max_p99: Duration,
    /// How long after t0 the run stops waiting for it.
    pub give_up_after: Duration,
}

impl CapacitySpec {
    /// Whether `s` was served by the secondary within the thresholds.
    pub fn held(&self, s: &LoadSecond) -> bool {
        let arrivals = f64::from(s.sent + s.dropped);
        let not_served = f64::from(s.failed + s.dropped + s.unanswered);
        let elsewhere = f64::from(s.ok.saturating_sub(s.on_secondary));
        arrivals > 0.0
            && (not_served + elsewhere) / arrivals <= self.max_error_rate
            && s.p99_ms
                .is_some_and(|p| p <= self.max_p99.as_secs_f64() * 1000.0)
    }

    /// Seconds in a row that make `stable_for`.
    fn run_needed(stable_for: Duration) -> usize {
        (stable_for.as_secs_f64() / RESOLUTION.as_secs_f64())
            .ceil()
            .max(1.0) as usize
    }
}

/// The load's seconds from the one that holds t0, as they close (in any
/// order), for the live check: held or not, by second since the run
/// clock's origin.
#[derive(Debug, Clone)]
pub struct CapacityLive {
    spec: CapacitySpec,
    t0: Offset,
    stable_for: Duration,
    held: BTreeMap<u64, bool>,
}

impl CapacityLive {
    /// Nothing seen yet.
    pub fn new(spec: CapacitySpec, t0: Offset, stable_for: Duration) -> Self {
        CapacityLive {
            spec,
            t0,
            stable_for,
            held: BTreeMap::new(),
        }
    }

    /// One closed second that began at `from`.
    pub fn add(&mut self, from: Offset, s: &LoadSecond) {
        if from.0 + 1_000_000_000 <= self.t0.0 || self.held.len() >= super::load::MAX_SECONDS {
            return;
        }
        self.held.insert(from.0 / 1_000_000_000, self.spec.held(s));
    }

    /// The standby has held the load for `stable_for`, or waiting longer
    /// changes no verdict.
    pub fn settled(&self, now: Offset) -> bool {
        let needed = CapacitySpec::run_needed(self.stable_for);
        let mut run = 0;
        let mut last = None;
        for (&second, &held) in &self.held {
            let contiguous = last.is_none_or(|l: u64| second == l + 1);
            run = if held && contiguous {
                run + 1
            } else {
                usize::from(held)
            };
            last = Some(second);
            if run >= needed {
                return true;
            }
        }
        now.since(self.t0) >= self.spec.give_up_after
    }
}

/// One scaling step of the standby's group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingStep {
    /// Desired before.
    pub from: u32,
    /// Desired after.
    pub to: u32,
    /// When the probe first saw the new desired, ms after t0.
    pub decided_ms: f64,
    /// When that many instances were in service, ms after t0.
    pub in_service_ms: Option<f64>,
    /// When that many were healthy in the target group, ms after t0.
    pub healthy_ms: Option<f64>,
}

/// The standby's group as the probe read it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CapacityPoint {
    /// When, ms after t0.
    pub at_ms: f64,
    /// Desired instances.
    pub desired: u32,
    /// In service.
    pub in_service: u32,
    /// Healthy in the target group.
    pub healthy: u32,
}

/// The `capacity` probe's readings, kept when they change.
#[derive(Debug, Clone, Default)]
pub struct CapacityFold {
    points: Vec<CapacityPoint>,
}

impl CapacityFold {
    /// One reading at `at`.
    pub fn add(&mut self, t0: Offset, at: Offset, counts: [u32; 3]) {
        let [desired, in_service, healthy] = counts;
        let same = self.points.last().is_some_and(|p| {
            (p.desired, p.in_service, p.healthy) == (desired, in_service, healthy)
        });
        if same || self.points.len() >= MAX_CHANGES {
            return;
        }
        self.points.push(CapacityPoint {
            at_ms: (at.0 as f64 - t0.0 as f64) / 1e6,
            desired,
            in_service,
            healthy,
        });
    }

    /// Every increase of desired after t0, with when the group got there.
    fn steps(&self) -> Vec<ScalingStep> {
        let mut steps = Vec::new();
        for pair in self.points.windows(2) {
            let (before, p) = (pair[0], pair[1]);
            if p.desired <= before.desired || p.at_ms < 0.0 {
                continue;
            }
            let reached = |f: fn(&CapacityPoint) -> u32| {
                self.points
                    .iter()
                    .find(|q| q.at_ms >= p.at_ms && f(q) >= p.desired)
                    .map(|q| q.at_ms)
            };
            steps.push(ScalingStep {
                from: before.desired,
                to: p.desired,
                decided_ms: p.at_ms,
                in_service_ms: reached(|q| q.in_service),
                healthy_ms: reached(|q| q.healthy),
            });
        }
        steps
    }
}

/// The standby's figures (report.json `phases.capacity`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityFigures {
    /// First second of `stable_for` in which the secondary held the load.
    pub capacity_recovered: Figure,
    /// Arrivals not served from the second that holds the flip (t0 when
    /// DNS was not watched) until capacity_recovered (the end of the load
    /// when it never did).
    pub surge_errors: u64,
    /// The worst second's error rate from capacity_recovered on.
    pub error_rate_after: Option<f64>,
    /// The worst second's p99 latency from capacity_recovered on, ms.
    pub p99_after_ms: Option<f64>,
    /// The thresholds a held second met.
    pub max_error_rate: f64,
    /// ms.
    pub max_p99_ms: f64,
    /// Each scale-out the capacity probe saw.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<ScalingStep>,
    /// The group over time (changes only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub points: Vec<CapacityPoint>,
}

/// The figures from the load's seconds (sorted, ms after t0), the group's
/// readings and the DNS flip (ms after t0).
pub fn figures(
    seconds: &[LoadSecond],
    group: &CapacityFold,
    spec: &CapacitySpec,
    stable_for: Duration,
    flip_ms: Option<f64>,
) -> CapacityFigures {
    let after: Vec<&LoadSecond> = seconds.iter().filter(|s| s.from_ms > -1000.0).collect();
    let needed = CapacitySpec::run_needed(stable_for);
    let start = (0..after.len()).find(|&i| {
        after.len() >= i + needed
            && after[i..i + needed]
                .windows(2)
                .all(|w| (w[1].from_ms - w[0].from_ms - 1000.0).abs() < 1.0)
            && after[i..i + needed].iter().all(|s| spec.held(s))
    });
    let recovered_ms = start.map(|i| after[i].from_ms.max(0.0));
    let capacity_recovered = match recovered_ms {
        Some(ms) => Figure::of(Duration::from_secs_f64(ms / 1000.0), RESOLUTION),
        None => Figure::missing(
            RESOLUTION,
            "the secondary never held the declared load within the objectives for stable_for",
        ),
    };
    let flip = flip_ms.unwrap_or(0.0);
    let until = recovered_ms.unwrap_or(f64::MAX);
    let surge_errors = after
        .iter()
        .filter(|s| s.from_ms + 1000.0 > flip && s.from_ms < until)
        .map(|s| u64::from(s.failed + s.dropped))
        .sum();
    let later: Vec<&&LoadSecond> = after
        .iter()
        .filter(|s| recovered_ms.is_some_and(|r| s.from_ms >= r))
        .collect();
    CapacityFigures {
        capacity_recovered,
        surge_errors,
        error_rate_after: later.iter().filter_map(|s| s.error_rate()).reduce(f64::max),
        p99_after_ms: later.iter().filter_map(|s| s.p99_ms).reduce(f64::max),
        max_error_rate: spec.max_error_rate,
        max_p99_ms: spec.max_p99.as_secs_f64() * 1000.0,
        steps: group.steps(),
        points: group.points.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(from_ms: f64, sent: u32, failed: u32, on_secondary: u32, p99: f64) -> LoadSecond {
        LoadSecond {
            from_ms,
            sent,
            ok: sent - failed,
            failed,
            dropped: 0,
            unanswered: 0,
            on_secondary,
            p50_ms: Some(p99 / 2.0),
            p99_ms: Some(p99),
            max_ms: Some(p99),
        }
    }

    fn spec() -> CapacitySpec {
        CapacitySpec {
            max_error_rate: 0.01,
            max_p99: Duration::from_millis(500),
            give_up_after: Duration::from_secs(60),
        }
    }

    /// The primary serves until t0; the surge fails 70% of the arrivals on
    /// the secondary for six seconds; from 9 s it holds with one slow second
    /// at 11 s, so capacity is recovered from the run of 3 at 12 s.
    fn surge() -> Vec<LoadSecond> {
        let mut s = vec![
            second(-2000.0, 200, 0, 0, 5.0),
            second(-1000.0, 200, 0, 0, 5.0),
        ];
        s.extend((0..3).map(|i| second(f64::from(i) * 1000.0, 200, 200, 0, 900.0)));
        s.extend((3..9).map(|i| second(f64::from(i) * 1000.0, 200, 140, 60, 250.0)));
        s.extend((9..11).map(|i| second(f64::from(i) * 1000.0, 200, 1, 199, 20.0)));
        s.push(second(11_000.0, 200, 0, 200, 800.0));
        s.extend((12..20).map(|i| second(f64::from(i) * 1000.0, 200, 0, 200, 20.0)));
        s
    }

    #[test]
    fn capacity_is_recovered_from_the_first_run_of_held_seconds() {
        let f = figures(
            &surge(),
            &CapacityFold::default(),
            &spec(),
            Duration::from_secs(3),
            Some(3000.0),
        );
        assert_eq!(f.capacity_recovered.value_ms, Some(12_000.0));
        assert_eq!(f.capacity_recovered.resolution_ms, 1000.0);
        // From the flip's second (3 s) to 12 s: six seconds of 140, two of 1, one slow (0).
        assert_eq!(f.surge_errors, 6 * 140 + 2);
        assert_eq!(f.error_rate_after, Some(0.0));
        assert_eq!(f.p99_after_ms, Some(20.0));
    }

    #[test]
    fn a_second_the_primary_served_is_not_held() {
        let s = second(0.0, 200, 0, 100, 5.0);
        assert!(!spec().held(&s));
        assert!(spec().held(&second(0.0, 200, 2, 198, 5.0)));
        assert!(!spec().held(&second(0.0, 200, 3, 197, 5.0)));
    }

    #[test]
    fn never_holding_is_missing_with_a_reason() {
        let s: Vec<LoadSecond> = (0..10)
            .map(|i| second(f64::from(i) * 1000.0, 200, 140, 60, 250.0))
            .collect();
        let f = figures(
            &s,
            &CapacityFold::default(),
            &spec(),
            Duration::from_secs(3),
            None,
        );
        assert_eq!(f.capacity_recovered.value_ms, None);
        assert_eq!(f.surge_errors, 1400);
        assert!(f
            .capacity_recovered
            .note
            .as_deref()
            .unwrap()
            .contains("never held"));
    }

    #[test]
    fn live_settles_on_a_run_of_held_seconds_in_any_order() {
        let t0 = Offset(10_000_000_000);
        let mut live = CapacityLive::new(spec(), t0, Duration::from_secs(2));
        let held = second(0.0, 200, 0, 200, 5.0);
        live.add(Offset(13_000_000_000), &held);
        assert!(!live.settled(Offset(14_000_000_000)));
        live.add(Offset(12_000_000_000), &held);
        assert!(live.settled(Offset(14_000_000_000)));
        let mut never = CapacityLive::new(spec(), t0, Duration::from_secs(2));
        assert!(!never.settled(Offset(69_000_000_000)));
        never.add(Offset(12_000_000_000), &second(0.0, 200, 100, 100, 5.0));
        assert!(never.settled(Offset(70_000_000_000)));
    }

    #[test]
    fn steps_are_timed_from_the_readings() {
        let t0 = Offset(0);
        let mut g = CapacityFold::default();
        let ms = |m: u64| Offset(m * 1_000_000);
        g.add(t0, ms(0), [1, 1, 1]);
        g.add(t0, ms(500), [1, 1, 1]);
        g.add(t0, ms(6000), [5, 1, 1]);
        g.add(t0, ms(10_000), [5, 5, 1]);
        g.add(t0, ms(11_000), [5, 5, 3]);
        g.add(t0, ms(11_500), [5, 5, 5]);
        let steps = g.steps();
        assert_eq!(g.points.len(), 5);
        assert_eq!(
            steps,
            [ScalingStep {
                from: 1,
                to: 5,
                decided_ms: 6000.0,
                in_service_ms: Some(10_000.0),
                healthy_ms: Some(11_500.0),
            }]
        );
    }
}
