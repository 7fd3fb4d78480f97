//! `error-rate`: stop when a customer probe's failed share over a window rises
//! above a threshold, optionally only for requests to one region. Scope it to
//! the secondary: the primary failing is the point of the game day; the
//! secondary failing while it takes over is the reason to stop.

use super::StopCondition;
use crate::clock::Offset;
use crate::probe::{Probe, ProbeKind};
use crate::scenario::duration::HumanDuration;
use crate::scenario::region::RegionRef;
use crate::timeline::{Observation, Timeline};
use serde::Deserialize;
use std::sync::Arc;

/// Kind name.
pub const KIND: &str = "error-rate";

/// `[[stop_conditions]] kind = "error-rate"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRate {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    /// The http probe to watch (default `customer`).
    #[serde(default = "default_probe")]
    pub probe: String,
    /// Only requests to this region (default: all).
    #[serde(default)]
    pub region: Option<RegionRef>,
    /// Failed share that stops the run, above 0 and at most 1.
    #[serde(deserialize_with = "share")]
    pub above: f64,
    /// The window the share is taken over.
    pub over: HumanDuration,
}

fn default_probe() -> String {
    "customer".into()
}

fn share<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(v > 0.0 && v <= 1.0) {
        return Err(serde::de::Error::custom(format!(
            "above = {v} is not a share; write one above 0 and at most 1 (0.5 = half the requests)"
        )));
    }
    Ok(v)
}

/// Parses the scenario table.
pub fn parse(
    de: toml::de::ValueDeserializer<'_>,
) -> Result<Box<dyn StopCondition>, toml::de::Error> {
    let c = ErrorRate::deserialize(de)?;
    if c.over.get() < std::time::Duration::from_millis(100) {
        return Err(serde::de::Error::custom(format!(
            "over = \"{}\" is too short a window; use at least 100ms",
            c.over
        )));
    }
    Ok(Box::new(c))
}

impl StopCondition for ErrorRate {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn check_probes(&self, probes: &[Arc<dyn Probe>]) -> Result<(), (&'static str, String)> {
        match probes.iter().find(|p| p.name() == self.probe) {
            Some(p) if p.kind() == ProbeKind::Http => Ok(()),
            Some(_) => Err((
                "probe",
                format!(
                    "error-rate watches \"{}\", which is not an http probe",
                    self.probe
                ),
            )),
            None => Err((
                "probe",
                format!(
                    "error-rate watches \"{}\", but no probe has that name",
                    self.probe
                ),
            )),
        }
    }

    fn lookback(&self) -> std::time::Duration {
        self.over.get()
    }

    fn fired(&self, timeline: &Timeline, since: Offset, now: Offset) -> Option<String> {
        let from = Offset(now.0.saturating_sub(self.over.get().as_nanos() as u64)).max(since);
        let region = self.region.map(|r| crate::lab::LabRegion::lab_region(r.0));
        let (mut requests, mut failed) = (0u32, 0u32);
        for (_, source, o) in timeline.observations_since(from) {
            if source != self.probe {
                continue;
            }
            if let Observation::Http {
                requests: n,
                failed: f,
                region: r,
                ..
            } = o
            {
                if region.is_none() || r.as_deref() == region {
                    requests += n;
                    failed += f;
                }
            }
        }
        // A share of a handful of requests is noise, not a signal.
        if requests < 5 {
            return None;
        }
        let rate = failed as f64 / requests as f64;
        (rate > self.above).then(|| {
            format!(
                "{} failed {failed} of {requests} requests{} over {} ({:.0}% > {:.0}%)",
                self.probe,
                region.map(|r| format!(" to {r}")).unwrap_or_default(),
                self.over,
                rate * 100.0,
                self.above * 100.0
            )
        })
    }
}
