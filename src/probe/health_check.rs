//! `health-check`: reads the health checkers' verdict for both regions, as
//! GetHealthCheckStatus does on Route 53.

use super::{Probe, ProbeContext, ProbeKind};
use crate::lab::LabDescription;
use crate::scenario::duration::HumanDuration;
use crate::timeline::Observation;
use serde::Deserialize;
use std::time::Duration;

/// `[[probes]] kind = "health-check"`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckProbe {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    /// Probe name (default `health-check`).
    #[serde(default = "default_name")]
    pub name: String,
    /// Interval (default 100ms).
    #[serde(default = "default_interval", deserialize_with = "super::interval")]
    pub interval: HumanDuration,
}

fn default_name() -> String {
    "health-check".into()
}
fn default_interval() -> HumanDuration {
    super::ms(100)
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Probe>, toml::de::Error> {
    Ok(Box::new(HealthCheckProbe::deserialize(de)?))
}

#[async_trait::async_trait]
impl Probe for HealthCheckProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ProbeKind {
        ProbeKind::HealthCheck
    }
    fn interval(&self) -> Duration {
        self.interval.get()
    }
    fn describe(&self, env: &LabDescription) -> String {
        format!(
            "health-check status of both regions ({} checkers each, every {}, threshold {}, healthy when > 18% say so)",
            env.params.checkers, env.params.health_check_interval, env.params.failure_threshold
        )
    }

    async fn observe(&self, ctx: &ProbeContext) -> Vec<Observation> {
        // A failed status read is no observation, not an unhealthy one.
        match ctx.lab.health().await {
            Ok(regions) => regions
                .into_iter()
                .map(|r| Observation::HealthCheck {
                    checkers_healthy: r.checkers.iter().filter(|h| **h).count() as u32,
                    checkers: r.checkers.len() as u32,
                    region: r.region,
                    healthy: r.healthy,
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}
