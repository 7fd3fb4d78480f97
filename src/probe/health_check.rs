//! `health-check`: reads the health checkers' verdict for both regions, as
//! GetHealthCheckStatus does on Route 53. On AWS it calls GetHealthCheckStatus
//! for each region's health check and applies Route 53's rule (healthy when
//! more than 18% of checkers say so); that API is not meant for high rates,
//! so it is polled at most once a second and the resolution says so.

use super::{Probe, ProbeContext, ProbeKind};
use crate::environment::Env;
use crate::scenario::duration::HumanDuration;
use crate::scenario::Target;
use crate::timeline::Observation;
use crate::words::Role;
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
    super::identity!(ProbeKind::HealthCheck);
    fn check_target(&self, target: Target) -> Result<(), (&'static str, String)> {
        if target == Target::Aws && self.interval.get() < Duration::from_secs(1) {
            return Err((
                "interval",
                format!(
                    "interval {} is too fast for Route 53's GetHealthCheckStatus, which is not meant for high rates; poll every \"1s\" or slower",
                    self.interval
                ),
            ));
        }
        Ok(())
    }

    fn describe(&self, env: &Env) -> String {
        match env {
            Env::Lab(lab) => format!(
                "health-check status of both regions ({} checkers each, every {}, threshold {}, healthy when > 18% say so)",
                lab.params.checkers, lab.params.health_check_interval, lab.params.failure_threshold
            ),
            Env::Aws(aws) => {
                let p = &aws.description.params;
                format!(
                    "Route 53 GetHealthCheckStatus of {} ({}){} every {} (the resolution of detection), healthy when > 18% of checkers say so",
                    p.primary_health_check,
                    p.primary_region,
                    p.secondary_health_check
                        .as_ref()
                        .map(|s| format!(" and {s} ({})", p.secondary_region))
                        .unwrap_or_default(),
                    self.interval
                )
            }
        }
    }

    async fn observe(&self, ctx: &ProbeContext, _at: crate::clock::Offset) -> Vec<Observation> {
        let lab = match &ctx.env {
            Env::Aws(aws) => {
                let p = &aws.description.params;
                let route53 = aws.clients.route53();
                let mut out = Vec::new();
                for role in [Role::Primary, Role::Secondary] {
                    let id = match role {
                        Role::Primary => Some(&p.primary_health_check),
                        Role::Secondary => p.secondary_health_check.as_ref(),
                    };
                    let Some(id) = id else { continue };
                    // A failed status read is no observation, not an unhealthy one.
                    if let Ok(v) = crate::aws::health::status(&route53, id).await {
                        out.push(Observation::HealthCheck {
                            region: p.region(role).to_string(),
                            healthy: v.is_healthy(),
                            checkers_healthy: v.healthy,
                            checkers: v.checkers,
                        });
                    }
                }
                return out;
            }
            Env::Lab(lab) => &lab.client,
        };
        // A failed status read is no observation, not an unhealthy one.
        match lab.health().await {
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
