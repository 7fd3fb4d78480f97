//! `alarm` (AWS): stop when any CloudWatch alarm the `alarm` probe watches is
//! in ALARM: whatever the game day is doing, the alarm says customers hurt.

use super::StopCondition;
use crate::clock::Offset;
use crate::probe::{Probe, ProbeKind};
use crate::timeline::{Observation, Timeline};
use serde::Deserialize;
use std::sync::Arc;

/// Kind name.
pub const KIND: &str = "alarm";

/// `[[stop_conditions]] kind = "alarm"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmFiring {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
}

/// Parses the scenario table.
pub fn parse(
    de: toml::de::ValueDeserializer<'_>,
) -> Result<Box<dyn StopCondition>, toml::de::Error> {
    Ok(Box::new(AlarmFiring::deserialize(de)?))
}

impl StopCondition for AlarmFiring {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn check_probes(&self, probes: &[Arc<dyn Probe>]) -> Result<(), (&'static str, String)> {
        if probes.iter().any(|p| p.kind() == ProbeKind::Alarm) {
            Ok(())
        } else {
            Err((
                "kind",
                "the alarm stop condition needs a [[probes]] table with kind = \"alarm\" naming the alarms".into(),
            ))
        }
    }

    fn fired(&self, timeline: &Timeline, since: Offset, _now: Offset) -> Option<String> {
        // The newest state of each alarm decides.
        let mut latest: std::collections::BTreeMap<(&str, &str), (&str, Option<&str>)> =
            Default::default();
        for (_, _, o) in timeline.observations_since(since) {
            if let Observation::Alarm {
                region,
                name,
                state,
                reason,
            } = o
            {
                latest.insert((region, name), (state, reason.as_deref()));
            }
        }
        latest
            .into_iter()
            .find(|(_, (state, _))| *state == "ALARM")
            .map(|((region, name), (_, reason))| {
                format!(
                    "CloudWatch alarm {name} ({region}) is in ALARM{}",
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                )
            })
    }
}
