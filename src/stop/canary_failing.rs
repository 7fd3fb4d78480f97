//! `canary-failing`: stop when canary writes have failed without a single ack
//! for longer than a limit: the database is not coming back on its own.

use super::StopCondition;
use crate::clock::Offset;
use crate::probe::{Probe, ProbeKind};
use crate::scenario::duration::HumanDuration;
use crate::timeline::{Observation, Timeline};
use serde::Deserialize;
use std::sync::Arc;

/// Kind name.
pub const KIND: &str = "canary-failing";

/// `[[stop_conditions]] kind = "canary-failing"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanaryFailing {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    /// How long writes may fail in a row.
    pub longer_than: HumanDuration,
}

/// Parses the scenario table.
pub fn parse(
    de: toml::de::ValueDeserializer<'_>,
) -> Result<Box<dyn StopCondition>, toml::de::Error> {
    let c = CanaryFailing::deserialize(de)?;
    if c.longer_than.get() < std::time::Duration::from_millis(100) {
        return Err(serde::de::Error::custom(format!(
            "longer_than = \"{}\" is too short; use at least 100ms",
            c.longer_than
        )));
    }
    Ok(Box::new(c))
}

impl StopCondition for CanaryFailing {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn check_probes(&self, probes: &[Arc<dyn Probe>]) -> Result<(), (&'static str, String)> {
        if probes.iter().any(|p| p.kind() == ProbeKind::Canary) {
            Ok(())
        } else {
            Err((
                "kind",
                "canary-failing needs a [[probes]] table with kind = \"canary\"".into(),
            ))
        }
    }

    fn lookback(&self) -> std::time::Duration {
        self.longer_than.get()
    }

    fn fired(&self, timeline: &Timeline, since: Offset, now: Offset) -> Option<String> {
        // Start of the current streak of failed writes, if the newest one
        // failed: read backwards from now to the newest acked write, so the
        // cost is the streak, not the run.
        let mut streak: Option<Offset> = None;
        for (at, _, o) in timeline.observations_since(since).rev() {
            if let Observation::CanaryWrite { acked, .. } = o {
                if *acked {
                    break;
                }
                streak = Some(at);
            }
        }
        let start = streak?;
        (now.since(start) > self.longer_than.get()).then(|| {
            format!(
                "canary writes have failed for {:.1}s, longer than {}",
                now.since(start).as_secs_f64(),
                self.longer_than
            )
        })
    }
}
