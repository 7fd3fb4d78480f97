//! The customers' load (`[load]`), second by second: how many requests
//! arrived, were served, failed or were dropped, and the latency of those
//! answered, from the baseline through the failover; then the rate it held
//! and its worst second after t0.

use super::ms;
use crate::clock::Offset;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The most seconds kept (a load runs at most an hour).
pub(crate) const MAX_SECONDS: usize = 4000;

/// One second of arrivals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadSecond {
    /// When the second began, ms after t0 (negative: the baseline).
    pub from_ms: f64,
    /// Requests sent.
    pub sent: u32,
    /// Served (2xx).
    pub ok: u32,
    /// Failed.
    pub failed: u32,
    /// Arrivals not sent: the requests in flight were at their bound.
    pub dropped: u32,
    /// Unanswered when the load stopped.
    pub unanswered: u32,
    /// Served by the secondary region.
    #[serde(default)]
    pub on_secondary: u32,
    /// Latency of the answered: median, 99th percentile, largest, ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Largest, ms.
    pub max_ms: Option<f64>,
}

impl LoadSecond {
    /// Failed (and dropped) arrivals over every arrival of the second.
    pub fn error_rate(&self) -> Option<f64> {
        let arrivals = self.sent + self.dropped;
        (arrivals > 0).then(|| f64::from(self.failed + self.dropped) / f64::from(arrivals))
    }
}

/// One `load` entry, as the fold needs it.
#[derive(Debug, Clone, Copy)]
pub struct LoadEntry {
    /// When the second began.
    pub from: Offset,
    /// sent, ok, failed, dropped, unanswered, served by the secondary.
    pub counts: [u32; 6],
    /// p50, p99 and largest latency, ns.
    pub latency_ns: [Option<u64>; 3],
}

/// The load's seconds so far.
#[derive(Debug, Clone, Default)]
pub struct LoadFold {
    seconds: Vec<LoadSecond>,
}

impl LoadEntry {
    /// The second it describes, ms after `t0`.
    pub fn second(&self, t0: Offset) -> LoadSecond {
        let e = self;
        let [sent, ok, failed, dropped, unanswered, on_secondary] = e.counts;
        let latency = |i: usize| e.latency_ns[i].map(|ns| ms(Duration::from_nanos(ns)));
        LoadSecond {
            from_ms: (e.from.0 as f64 - t0.0 as f64) / 1e6,
            sent,
            ok,
            failed,
            dropped,
            unanswered,
            on_secondary,
            p50_ms: latency(0),
            p99_ms: latency(1),
            max_ms: latency(2),
        }
    }
}

impl LoadFold {
    /// One more second.
    pub fn add(&mut self, t0: Offset, e: LoadEntry) {
        if self.seconds.len() < MAX_SECONDS {
            self.seconds.push(e.second(t0));
        }
    }

    /// The load's figures, when it sent anything.
    pub fn figures(&self, rate: f64) -> Option<LoadFigures> {
        if self.seconds.is_empty() {
            return None;
        }
        let mut seconds = self.seconds.clone();
        seconds.sort_by(|a, b| a.from_ms.total_cmp(&b.from_ms));
        let total = |f: fn(&LoadSecond) -> u32| seconds.iter().map(|s| u64::from(f(s))).sum();
        // From the second that holds t0.
        let after: Vec<&LoadSecond> = seconds.iter().filter(|s| s.from_ms > -1000.0).collect();
        // The first and last seconds are partial (the load starts and stops
        // inside them): the held rate is over the whole ones between.
        let whole: Vec<f64> = match seconds.len() {
            0..=2 => Vec::new(),
            n => seconds[1..n - 1]
                .iter()
                .map(|s| f64::from(s.sent + s.dropped))
                .collect(),
        };
        // The first of the worst seconds.
        let worst = |key: fn(&LoadSecond) -> Option<f64>| {
            after
                .iter()
                .filter_map(|s| Some((key(s)?, s.from_ms)))
                .fold(None, |best: Option<(f64, f64)>, x| match best {
                    Some(b) if b.0 >= x.0 => Some(b),
                    _ => Some(x),
                })
        };
        Some(LoadFigures {
            rate,
            sent: total(|s| s.sent),
            served: total(|s| s.ok),
            failed: total(|s| s.failed),
            dropped: total(|s| s.dropped),
            unanswered: total(|s| s.unanswered),
            failed_after_t0: after.iter().map(|s| u64::from(s.failed + s.dropped)).sum(),
            held: Held::of(&whole),
            worst_error_rate: worst(LoadSecond::error_rate),
            worst_p99_ms: worst(|s| s.p99_ms),
            seconds,
        })
    }
}

/// The arrivals a second the generator held over its whole seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Held {
    /// Whole seconds.
    pub seconds: usize,
    /// Their mean.
    pub mean: f64,
    /// The fewest in one.
    pub min: f64,
    /// The most in one.
    pub max: f64,
}

impl Held {
    fn of(whole: &[f64]) -> Option<Held> {
        if whole.is_empty() {
            return None;
        }
        Some(Held {
            seconds: whole.len(),
            mean: whole.iter().sum::<f64>() / whole.len() as f64,
            min: whole.iter().copied().fold(f64::MAX, f64::min),
            max: whole.iter().copied().fold(0.0, f64::max),
        })
    }
}

/// The load's figures (report.json `phases.load`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadFigures {
    /// The declared rate, a second.
    pub rate: f64,
    /// Requests sent.
    pub sent: u64,
    /// Served.
    pub served: u64,
    /// Failed.
    pub failed: u64,
    /// Arrivals not sent (in-flight bound).
    pub dropped: u64,
    /// Unanswered when the load stopped.
    pub unanswered: u64,
    /// Failed or dropped arrivals from the second that holds t0 on: what
    /// the failover cost the load.
    pub failed_after_t0: u64,
    /// The rate held over the whole seconds (arrivals, sent or dropped).
    pub held: Option<Held>,
    /// The worst second's error rate from the one that holds t0, and when
    /// it began (ms after t0).
    pub worst_error_rate: Option<(f64, f64)>,
    /// The worst second's p99 latency after t0, ms, and when it began.
    pub worst_p99_ms: Option<(f64, f64)>,
    /// Every second.
    pub seconds: Vec<LoadSecond>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_summed_and_the_worst_is_after_t0() {
        let t0 = Offset(10_000_000_000);
        let mut f = LoadFold::default();
        for s in 5u64..20 {
            let failing = (11..14).contains(&s);
            let sent = if s == 5 || s == 19 { 40 } else { 100 };
            f.add(
                t0,
                LoadEntry {
                    from: Offset(s * 1_000_000_000),
                    counts: [
                        sent,
                        if failing { 10 } else { sent },
                        if failing { 90 } else { 0 },
                        0,
                        0,
                        0,
                    ],
                    latency_ns: [
                        Some(2_000_000),
                        Some(if failing { 2_000_000_000 } else { 9_000_000 }),
                        None,
                    ],
                },
            );
        }
        let l = f.figures(100.0).unwrap();
        assert_eq!((l.sent, l.failed, l.failed_after_t0), (1380, 270, 270));
        let held = l.held.unwrap();
        assert_eq!(
            (held.seconds, held.mean, held.min, held.max),
            (13, 100.0, 100.0, 100.0)
        );
        assert_eq!(l.worst_error_rate, Some((0.9, 1000.0)));
        assert_eq!(l.worst_p99_ms, Some((2000.0, 1000.0)));
        assert_eq!(l.seconds[0].from_ms, -5000.0);
    }
}
