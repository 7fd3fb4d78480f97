//! `capacity`: the standby's capacity over time, desired / in service /
//! healthy, read and never changed. On AWS, DescribeAutoScalingGroups of the
//! secondary region's groups (those named in `groups`, or else every group
//! attached to a target group behind the secondary's load balancer) and
//! DescribeTargetHealth of the target groups they are attached to; on the lab, the standby's
//! group (`[lab.autoscaling]`) or, without one, its fixed targets.
//!
//! ```toml
//! [[probes]]
//! kind = "capacity"
//! interval = "1s"
//! groups = ["orders-standby"]   # AWS only; default: found from the target groups
//! ```

use super::{Probe, ProbeContext, ProbeKind};
use crate::environment::Env;
use crate::lab::alb::TargetHealth;
use crate::lab::control::RegionDescription;
use crate::scenario::duration::HumanDuration;
use crate::scenario::Target;
use crate::timeline::Observation;
use crate::words::Role;
use aws_sdk_autoscaling::types::AutoScalingGroup;
use serde::Deserialize;
use std::time::Duration;

/// The most groups read, named or found.
pub const MAX_GROUPS: usize = 10;
/// The most pages of groups read when finding them.
const MAX_PAGES: usize = 10;

/// `[[probes]] kind = "capacity"`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityProbe {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    /// Probe name (default `capacity`).
    #[serde(default = "default_name")]
    pub name: String,
    /// Interval (default 1s; at least 1s on AWS).
    #[serde(default = "default_interval", deserialize_with = "super::interval")]
    pub interval: HumanDuration,
    /// AWS: the standby's Auto Scaling group names.
    #[serde(default)]
    pub groups: Vec<String>,
}

fn default_name() -> String {
    "capacity".into()
}
fn default_interval() -> HumanDuration {
    super::ms(1000)
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Probe>, toml::de::Error> {
    Ok(Box::new(CapacityProbe::deserialize(de)?))
}

/// Desired, in service, healthy and max of the lab's standby.
fn lab_counts(r: &RegionDescription) -> [u32; 4] {
    let registered = r.targets.iter().filter(|t| t.registered);
    let in_service = registered.clone().count() as u32;
    let healthy = registered
        .filter(|t| t.health == TargetHealth::Healthy)
        .count() as u32;
    match r.group {
        Some(g) => [g.desired, in_service, healthy, g.max],
        None => [in_service, in_service, healthy, in_service],
    }
}

fn observation(counts: Result<[u32; 4], String>) -> Observation {
    let (c, error) = match counts {
        Ok(c) => (c, None),
        Err(e) => ([0; 4], Some(e)),
    };
    Observation::Capacity {
        desired: c[0],
        in_service: c[1],
        healthy: c[2],
        max: c[3],
        error,
    }
}

#[async_trait::async_trait]
impl Probe for CapacityProbe {
    super::identity!(ProbeKind::Capacity);

    fn check_target(&self, target: Target) -> Result<(), (&'static str, String)> {
        match target {
            Target::Lab if !self.groups.is_empty() => {
                Err(crate::fault::option_for("groups", Target::Aws))
            }
            Target::Aws if self.interval.get() < Duration::from_secs(1) => Err((
                "interval",
                "poll DescribeAutoScalingGroups every \"1s\" or slower".into(),
            )),
            Target::Aws if self.groups.len() > MAX_GROUPS => Err((
                "groups",
                format!(
                    "{} groups is more than {MAX_GROUPS}; name the standby's groups only",
                    self.groups.len()
                ),
            )),
            _ => Ok(()),
        }
    }

    fn describe(&self, env: &Env) -> String {
        match env {
            Env::Lab(_) => "the lab standby's capacity: its group's desired size, instances in service and healthy targets (read only)".into(),
            Env::Aws(aws) => {
                let region = &aws.description.params.secondary_region;
                let groups = if self.groups.is_empty() {
                    "the groups attached to its target groups".to_string()
                } else {
                    self.groups.join(", ")
                };
                format!("DescribeAutoScalingGroups in {region} ({groups}) and DescribeTargetHealth of its target groups (read only)")
            }
        }
    }

    /// On AWS: a standby whose groups cannot grow to what the primary's
    /// groups run in service.
    async fn lint(&self, env: &Env) -> Vec<String> {
        match env {
            Env::Aws(aws) => aws_lint(aws, &self.groups).await.into_iter().collect(),
            Env::Lab(_) => Vec::new(),
        }
    }

    async fn observe(&self, ctx: &ProbeContext, _at: crate::clock::Offset) -> Vec<Observation> {
        let counts = match &ctx.env {
            Env::Lab(lab) => lab
                .client
                .describe()
                .await
                .map(|d| lab_counts(d.region(Role::Secondary)))
                .map_err(|e| e.to_string()),
            Env::Aws(aws) => aws_counts(aws, &self.groups).await,
        };
        vec![observation(counts)]
    }
}

/// The secondary's groups and the target groups they are attached to, summed.
async fn aws_counts(
    aws: &crate::aws::discover::AwsEnv,
    named: &[String],
) -> Result<[u32; 4], String> {
    let region = aws.description.params.secondary_region.clone();
    let clients = aws.clients.region(&region);
    let groups = groups_in(aws, &region, named).await?;
    if groups.is_empty() {
        return Err(format!(
            "no Auto Scaling group in {region} {}; name them with groups = [...]",
            if named.is_empty() {
                "is attached to the secondary's target groups"
            } else {
                "has those names"
            }
        ));
    }
    let mut attached: Vec<&str> = groups
        .iter()
        .flat_map(|g| g.target_group_arns())
        .map(String::as_str)
        .collect();
    attached.sort_unstable();
    attached.dedup();
    let mut healthy = 0;
    for arn in attached.into_iter().take(MAX_GROUPS) {
        healthy += healthy_targets(&clients.elbv2, arn).await?;
    }
    let sum = |f: fn(&AutoScalingGroup) -> u32| groups.iter().map(f).sum::<u32>();
    Ok([
        sum(|g| g.desired_capacity().unwrap_or(0).max(0) as u32),
        sum(|g| {
            g.instances()
                .iter()
                .filter(|i| i.lifecycle_state().map(|s| s.as_str()) == Some("InService"))
                .count() as u32
        }),
        healthy,
        sum(|g| g.max_size().unwrap_or(0).max(0) as u32),
    ])
}

/// The groups of `region` named, or attached to its target groups behind
/// the failover records' load balancers.
async fn groups_in(
    aws: &crate::aws::discover::AwsEnv,
    region: &str,
    named: &[String],
) -> Result<Vec<AutoScalingGroup>, String> {
    let behind: Vec<&str> = aws
        .description
        .target_groups
        .iter()
        .filter(|t| t.region == region)
        .map(|t| t.arn.as_str())
        .collect();
    standby_groups(&aws.clients.region(region).autoscaling, named, &behind).await
}

/// The standby's largest size against what the primary's groups run in
/// service now; a group that cannot be read says so.
async fn aws_lint(aws: &crate::aws::discover::AwsEnv, named: &[String]) -> Option<String> {
    let p = &aws.description.params;
    let read = async {
        let primary = groups_in(aws, &p.primary_region, &[]).await?;
        let standby = groups_in(aws, &p.secondary_region, named).await?;
        Ok::<_, String>((primary, standby))
    };
    let (primary, standby) = match read.await {
        Ok(both) => both,
        Err(e) => {
            return Some(format!(
                "the capacity probe cannot read the Auto Scaling groups: {e}"
            ))
        }
    };
    let in_service: usize = primary
        .iter()
        .flat_map(|g| g.instances())
        .filter(|i| i.lifecycle_state().map(|s| s.as_str()) == Some("InService"))
        .count();
    let most: i64 = standby
        .iter()
        .map(|g| i64::from(g.max_size().unwrap_or(0)))
        .sum();
    let names = |gs: &[AutoScalingGroup]| {
        gs.iter()
            .filter_map(|g| g.auto_scaling_group_name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    (!standby.is_empty() && most < in_service as i64).then(|| {
        format!(
            "the standby's Auto Scaling groups in {} ({}) can grow to {most} instance(s) while the primary's ({}) run {in_service} in service: after a failover the standby cannot hold what the primary holds; raise their MaxSize to at least {in_service}",
            p.secondary_region,
            names(&standby),
            names(&primary)
        )
    })
}

/// Targets DescribeTargetHealth calls healthy in one target group.
async fn healthy_targets(
    elbv2: &aws_sdk_elasticloadbalancingv2::Client,
    arn: &str,
) -> Result<u32, String> {
    let found = elbv2
        .describe_target_health()
        .target_group_arn(arn)
        .send()
        .await
        .map_err(|e| {
            crate::aws::error::explain(
                &format!("DescribeTargetHealth of {arn}"),
                "elasticloadbalancing:DescribeTargetHealth",
                &e,
            )
            .to_string()
        })?;
    Ok(found
        .target_health_descriptions()
        .iter()
        .filter(|d| {
            d.target_health()
                .and_then(|h| h.state())
                .map(|s| s.as_str())
                == Some("healthy")
        })
        .count() as u32)
}

/// The named groups, or those attached to the target groups `behind` the
/// secondary's load balancer (bounded).
async fn standby_groups(
    client: &aws_sdk_autoscaling::Client,
    named: &[String],
    behind: &[&str],
) -> Result<Vec<AutoScalingGroup>, String> {
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = client
            .describe_auto_scaling_groups()
            .set_auto_scaling_group_names((!named.is_empty()).then(|| named.to_vec()))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| {
                crate::aws::error::explain(
                    "DescribeAutoScalingGroups of the standby's groups",
                    "autoscaling:DescribeAutoScalingGroups",
                    &e,
                )
                .to_string()
            })?;
        found.extend(
            page.auto_scaling_groups()
                .iter()
                .filter(|g| {
                    !named.is_empty()
                        || g.target_group_arns()
                            .iter()
                            .any(|arn| behind.contains(&arn.as_str()))
                })
                .cloned(),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() || found.len() >= MAX_GROUPS {
            break;
        }
    }
    found.truncate(MAX_GROUPS);
    Ok(found)
}
