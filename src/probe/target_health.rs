//! `target-health`: how many registered targets of each region's target
//! groups pass their health checks. On AWS, DescribeTargetHealth of the target
//! groups behind the load balancers the failover records alias; on the lab,
//! its ALBs' own view. A region whose every registered target fails its checks
//! while customers are still served there is an ALB failing open.

use super::{Probe, ProbeContext, ProbeKind};
use crate::environment::Env;
use crate::lab::alb::TargetHealth;
use crate::scenario::duration::HumanDuration;
use crate::scenario::Target;
use crate::timeline::Observation;
use serde::Deserialize;
use std::time::Duration;

/// `[[probes]] kind = "target-health"`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetHealthProbe {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    /// Probe name (default `target-health`).
    #[serde(default = "default_name")]
    pub name: String,
    /// Interval (default 1s; at least 1s on AWS).
    #[serde(default = "default_interval", deserialize_with = "super::interval")]
    pub interval: HumanDuration,
}

fn default_name() -> String {
    "target-health".into()
}
fn default_interval() -> HumanDuration {
    super::ms(1000)
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Probe>, toml::de::Error> {
    Ok(Box::new(TargetHealthProbe::deserialize(de)?))
}

#[async_trait::async_trait]
impl Probe for TargetHealthProbe {
    super::identity!(ProbeKind::TargetHealth);

    fn check_target(&self, target: Target) -> Result<(), (&'static str, String)> {
        if target == Target::Aws && self.interval.get() < Duration::from_secs(1) {
            return Err((
                "interval",
                "poll DescribeTargetHealth every \"1s\" or slower".into(),
            ));
        }
        Ok(())
    }

    fn describe(&self, env: &Env) -> String {
        match env {
            Env::Lab(_) => "the lab ALBs' target health in both regions".into(),
            Env::Aws(aws) => {
                let groups: Vec<&str> = aws
                    .description
                    .target_groups
                    .iter()
                    .map(|t| t.arn.as_str())
                    .collect();
                if groups.is_empty() {
                    "DescribeTargetHealth: no target group found behind the records' aliases".into()
                } else {
                    format!("DescribeTargetHealth of {}", groups.join(", "))
                }
            }
        }
    }

    async fn observe(&self, ctx: &ProbeContext, _at: crate::clock::Offset) -> Vec<Observation> {
        match &ctx.env {
            Env::Aws(aws) => {
                let mut out = Vec::new();
                for group in &aws.description.target_groups {
                    let Ok(found) = aws
                        .clients
                        .region(&group.region)
                        .elbv2
                        .describe_target_health()
                        .target_group_arn(&group.arn)
                        .send()
                        .await
                    else {
                        continue;
                    };
                    let states: Vec<&str> = found
                        .target_health_descriptions()
                        .iter()
                        .filter_map(|d| d.target_health().and_then(|h| h.state()))
                        .map(|s| s.as_str())
                        .collect();
                    out.push(Observation::TargetHealth {
                        region: group.region.clone(),
                        target_group: group.arn.clone(),
                        healthy: states.iter().filter(|s| **s == "healthy").count() as u32,
                        unhealthy: states.iter().filter(|s| **s == "unhealthy").count() as u32,
                        registered: states.len() as u32,
                    });
                }
                out
            }
            Env::Lab(lab) => match lab.client.describe().await {
                Ok(d) => d
                    .regions
                    .iter()
                    .map(|r| {
                        let registered: Vec<_> =
                            r.targets.iter().filter(|t| t.registered).collect();
                        Observation::TargetHealth {
                            region: r.name.clone(),
                            target_group: format!("{}-app", r.name),
                            healthy: registered
                                .iter()
                                .filter(|t| t.health == TargetHealth::Healthy)
                                .count() as u32,
                            unhealthy: registered
                                .iter()
                                .filter(|t| t.health == TargetHealth::Unhealthy)
                                .count() as u32,
                            registered: registered.len() as u32,
                        }
                    })
                    .collect(),
                Err(_) => Vec::new(),
            },
        }
    }
}
