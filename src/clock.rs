//! The one clock of a run.
//!
//! Durations come from the system-wide monotonic clock (`CLOCK_MONOTONIC`), which
//! every process on the machine shares: a lab running as its own process
//! (`gameday lab`) stamps its ground truth on the same clock as the runner.
//! Wall-clock time (chrono, UTC) is only for display.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Nanoseconds on the system monotonic clock. Comparable across processes of one boot.
pub type MonoNs = u64;

/// Reads the system-wide monotonic clock.
pub fn mono_now() -> MonoNs {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The clock of one run: an origin on the monotonic clock plus the wall time it maps to.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct RunClock {
    /// Monotonic origin of the run.
    pub origin: MonoNs,
    /// Wall-clock time at the origin, for display only.
    pub origin_wall: DateTime<Utc>,
}

impl RunClock {
    /// Starts a run clock now.
    pub fn start() -> Self {
        Self {
            origin: mono_now(),
            origin_wall: Utc::now(),
        }
    }

    /// Time since the origin.
    pub fn now(&self) -> Offset {
        self.at(mono_now())
    }

    /// A monotonic stamp as an offset on this run's clock (saturating at 0).
    pub fn at(&self, mono: MonoNs) -> Offset {
        Offset(mono.saturating_sub(self.origin))
    }

    /// Wall-clock time of an offset, for display.
    pub fn wall(&self, at: Offset) -> DateTime<Utc> {
        self.origin_wall + chrono::Duration::nanoseconds(at.0 as i64)
    }

    /// Where another system's wall-clock time falls on this run's clock (a
    /// time AWS recorded, say), if after the origin; as exact as the two
    /// clocks agree.
    pub fn offset_of_wall(&self, t: DateTime<Utc>) -> Option<Offset> {
        let ns = (t - self.origin_wall).num_nanoseconds()?;
        u64::try_from(ns).ok().map(Offset)
    }
}

/// A point on a run's clock, in nanoseconds since the run started.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Offset(pub u64);

impl Offset {
    /// The span from `earlier` to `self`, or zero if `earlier` is later.
    pub fn since(self, earlier: Offset) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// This offset moved later by `d`.
    pub fn plus(self, d: Duration) -> Offset {
        Offset(self.0 + d.as_nanos() as u64)
    }

    /// Seconds as a float, for display.
    pub fn secs(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

/// Formats a duration the way an SRE reads it: `3.412s`, `250ms`.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.3}s", d.as_secs_f64())
    }
}
