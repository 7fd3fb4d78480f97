//! Stop conditions: signals that end a game day early, revert, and exit 3.
//!
//! One file per condition, registered by name in [`REGISTRY`]. Each looks at the
//! timeline as it grows. They are also checked over the baseline: a condition
//! already firing before any fault refuses the run (exit 2).

pub mod alarm;
pub mod canary_failing;
pub mod error_rate;

use crate::clock::Offset;
use crate::probe::Probe;
use crate::timeline::Timeline;
use std::sync::Arc;
use toml::de::ValueDeserializer;

/// One reason to stop.
pub trait StopCondition: Send + Sync + std::fmt::Debug {
    /// Its kind, as written in scenarios.
    fn kind(&self) -> &'static str;
    /// Checks that the probes it reads exist; the key at fault and why not.
    fn check_probes(&self, probes: &[Arc<dyn Probe>]) -> Result<(), (&'static str, String)>;
    /// Why to stop now, looking at the timeline from `since` to `now`; None to go on.
    fn fired(&self, timeline: &Timeline, since: Offset, now: Offset) -> Option<String>;
    /// How far back before `now` [`fired`](StopCondition::fired) reads: the
    /// run keeps at least that much of its timeline in memory.
    fn lookback(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

/// Builds a condition from its scenario table.
pub type Parse = fn(ValueDeserializer<'_>) -> Result<Box<dyn StopCondition>, toml::de::Error>;

/// Every condition, by the kind scenarios name it with.
pub const REGISTRY: &[(&str, Parse)] = &[
    (error_rate::KIND, error_rate::parse),
    (canary_failing::KIND, canary_failing::parse),
    (alarm::KIND, alarm::parse),
];
