//! Every change the AWS target makes, as data: journaled before it happens,
//! applied through the SDK, and checked afterwards. Each undo is idempotent
//! (applying it twice is harmless) and finds what it must remove by the run's
//! tags, so it works from the journal alone even when the change's own answer
//! (a new ACL id, an experiment id) was lost with the process.
//!
//! This file is the data and the dispatch; the calls live per service.

mod ec2;
mod elbv2;
pub mod fis;
mod rds;
mod route53;

use super::AwsClients;
use crate::clock::mono_now;
use crate::words::{Applied, ChangeError};
use serde::{Deserialize, Serialize};

pub use ec2::{acl_vpc, association_of, deny_acls, instance_states, DenyAcl};
pub use elbv2::registrations;
pub use fis::ChangeState;
pub use route53::leases;

/// Tag on everything gameday creates: the run that made it.
pub const TAG_RUN: &str = "gameday:run-id";
/// Tag on a deny ACL: the subnet it severs.
pub const TAG_SUBNET: &str = "gameday:subnet";
/// Tag on a deny ACL: the ACL the subnet was associated with before.
pub const TAG_ORIGINAL_ACL: &str = "gameday:original-acl";

/// One registration of a target group, exactly as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// Instance id, IP address or Lambda ARN.
    pub id: String,
    /// Port, when registered with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// The AZ given at registration (IP targets outside the VPC), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
}

/// How a call reaches outside the allowed accounts and regions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outside {
    /// It is made in this region.
    Region(String),
    /// It names a resource there: why, in words.
    Resource(String),
}

/// A change to an AWS account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "kebab-case")]
pub enum AwsCall {
    /// ELBv2 DeregisterTargets.
    DeregisterTargets {
        /// Region.
        region: String,
        /// Target group.
        target_group_arn: String,
        /// Exactly these registrations.
        targets: Vec<Registration>,
    },
    /// ELBv2 RegisterTargets.
    RegisterTargets {
        /// Region.
        region: String,
        /// Target group.
        target_group_arn: String,
        /// Exactly these registrations.
        targets: Vec<Registration>,
    },
    /// EC2 StopInstances.
    StopInstances {
        /// Region.
        region: String,
        /// Instances.
        instance_ids: Vec<String>,
    },
    /// EC2 StartInstances.
    StartInstances {
        /// Region.
        region: String,
        /// Instances.
        instance_ids: Vec<String>,
    },
    /// Creates a deny-all network ACL in the subnet's VPC (tagged with the run,
    /// the subnet and its original ACL) and swaps the subnet's association to it.
    SeverSubnet {
        /// Region.
        region: String,
        /// VPC of the subnet.
        vpc_id: String,
        /// Subnet.
        subnet_id: String,
        /// The ACL it was associated with.
        original_acl_id: String,
        /// Run id (tag).
        run_id: String,
    },
    /// Associates the subnet with its original ACL again and deletes the run's
    /// deny ACL for it.
    RestoreSubnet {
        /// Region.
        region: String,
        /// Subnet.
        subnet_id: String,
        /// The ACL to associate.
        original_acl_id: String,
        /// Run id whose deny ACL to delete.
        run_id: String,
    },
    /// RDS FailoverDBCluster (in-region, to a reader).
    FailoverCluster {
        /// Region.
        region: String,
        /// Cluster identifier.
        cluster: String,
        /// Reader to promote, or RDS's choice.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target_instance: Option<String>,
    },
    /// RDS RebootDBInstance with ForceFailover (Multi-AZ instance).
    RebootWithFailover {
        /// Region.
        region: String,
        /// Instance identifier.
        instance: String,
    },
    /// Aurora global database: FailoverGlobalCluster (allowing data loss) or
    /// SwitchoverGlobalCluster to the cluster in the secondary region.
    GlobalFailover {
        /// Region the call is made in.
        region: String,
        /// Global cluster identifier.
        global_cluster: String,
        /// ARN of the secondary cluster to promote.
        target_cluster_arn: String,
        /// Switchover (no data loss, waits for replication) instead of failover.
        switchover: bool,
    },
    /// FIS StartExperiment from a template, tagged with the run.
    StartExperiment {
        /// Region.
        region: String,
        /// Experiment template id.
        template_id: String,
        /// Run id (tag and idempotency token).
        run_id: String,
    },
    /// FIS StopExperiment of every experiment of the run from the template
    /// that is still going.
    StopExperiment {
        /// Region.
        region: String,
        /// Experiment template id.
        template_id: String,
        /// Run id (tag).
        run_id: String,
    },
    /// Nothing: the change is deliberately not undone (a database failover).
    NotUndone {
        /// Why, for the report.
        why: String,
    },
    /// Take the game day's lease: a TXT record beside the failover record.
    TakeLease {
        /// The hosted zone.
        zone_id: String,
        /// `_gameday-lease.<record>`.
        name: String,
        /// The lease, as [`crate::lease::Lease::value`] writes it.
        value: String,
        /// The value of a lapsed lease this one takes over, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaces: Option<String>,
    },
    /// Undo of [`AwsCall::TakeLease`]: delete the record with exactly that value.
    ReleaseLease {
        /// The hosted zone.
        zone_id: String,
        /// `_gameday-lease.<record>`.
        name: String,
        /// The value to delete.
        value: String,
    },
}

fn applied(changed: bool) -> Applied {
    Applied {
        effective_at: mono_now(),
        changed,
    }
}

fn ids(targets: &[Registration]) -> String {
    targets
        .iter()
        .map(|t| match t.port {
            Some(p) => format!("{}:{p}", t.id),
            None => t.id.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl AwsCall {
    /// Whether `self` is exactly the undo gameday plans for `change`: put
    /// back the same registrations, start the same instances, restore the
    /// same subnet to the same ACL, stop the run's own experiment; a
    /// database failover is never undone. A revert applies nothing else.
    pub fn is_undo_of(&self, change: &AwsCall) -> bool {
        use AwsCall::*;
        match (change, self) {
            (
                DeregisterTargets {
                    region,
                    target_group_arn,
                    targets,
                },
                RegisterTargets {
                    region: r,
                    target_group_arn: g,
                    targets: t,
                },
            ) => region == r && target_group_arn == g && targets == t,
            (
                StopInstances {
                    region,
                    instance_ids,
                },
                StartInstances {
                    region: r,
                    instance_ids: i,
                },
            ) => region == r && instance_ids == i,
            (
                SeverSubnet {
                    region,
                    subnet_id,
                    original_acl_id,
                    run_id,
                    ..
                },
                RestoreSubnet {
                    region: r,
                    subnet_id: s,
                    original_acl_id: o,
                    run_id: id,
                },
            ) => region == r && subnet_id == s && original_acl_id == o && run_id == id,
            (
                StartExperiment {
                    region,
                    template_id,
                    run_id,
                },
                StopExperiment {
                    region: r,
                    template_id: t,
                    run_id: id,
                },
            ) => region == r && template_id == t && run_id == id,
            (
                FailoverCluster { .. } | RebootWithFailover { .. } | GlobalFailover { .. },
                NotUndone { .. },
            ) => true,
            (
                TakeLease {
                    zone_id,
                    name,
                    value,
                    ..
                },
                ReleaseLease {
                    zone_id: z,
                    name: n,
                    value: v,
                },
            ) => zone_id == z && name == n && value == v,
            _ => false,
        }
    }

    /// Whether this is the lease rather than a change to the environment.
    pub fn is_lease(&self) -> bool {
        matches!(
            self,
            AwsCall::TakeLease { .. } | AwsCall::ReleaseLease { .. }
        )
    }

    /// Where the call reaches outside `accounts` and `regions`, if it does:
    /// the region it is made in, or a resource (ARN) it names. The one scope
    /// check of a run's guard and of a revert.
    pub fn outside(&self, accounts: &[String], regions: &[String]) -> Option<Outside> {
        if let Some(region) = self.region() {
            if !regions.iter().any(|r| r == region) {
                return Some(Outside::Region(region.to_string()));
            }
        }
        self.arns()
            .into_iter()
            .find_map(|arn| crate::aws::arn::outside(arn, accounts, regions))
            .map(Outside::Resource)
    }

    /// Every ARN the call names, so its account and region can be checked
    /// (a call made in one region can name a resource in another).
    pub fn arns(&self) -> Vec<&str> {
        match self {
            AwsCall::DeregisterTargets {
                target_group_arn, ..
            }
            | AwsCall::RegisterTargets {
                target_group_arn, ..
            } => vec![target_group_arn],
            AwsCall::GlobalFailover {
                target_cluster_arn, ..
            } => vec![target_cluster_arn],
            _ => Vec::new(),
        }
    }

    /// The region the call changes, if it changes one.
    pub fn region(&self) -> Option<&str> {
        match self {
            AwsCall::DeregisterTargets { region, .. }
            | AwsCall::RegisterTargets { region, .. }
            | AwsCall::StopInstances { region, .. }
            | AwsCall::StartInstances { region, .. }
            | AwsCall::SeverSubnet { region, .. }
            | AwsCall::RestoreSubnet { region, .. }
            | AwsCall::FailoverCluster { region, .. }
            | AwsCall::RebootWithFailover { region, .. }
            | AwsCall::GlobalFailover { region, .. }
            | AwsCall::StartExperiment { region, .. }
            | AwsCall::StopExperiment { region, .. } => Some(region),
            AwsCall::NotUndone { .. }
            | AwsCall::TakeLease { .. }
            | AwsCall::ReleaseLease { .. } => None,
        }
    }

    /// The call in a few words, for plans and reports.
    pub fn summary(&self) -> String {
        match self {
            AwsCall::DeregisterTargets { region, target_group_arn, targets } => format!(
                "deregister {} target(s) [{}] from {target_group_arn} ({region})",
                targets.len(),
                ids(targets)
            ),
            AwsCall::RegisterTargets { region, target_group_arn, targets } => format!(
                "register {} target(s) [{}] in {target_group_arn} ({region})",
                targets.len(),
                ids(targets)
            ),
            AwsCall::StopInstances { region, instance_ids } => {
                format!("stop instances {} ({region})", instance_ids.join(", "))
            }
            AwsCall::StartInstances { region, instance_ids } => {
                format!("start instances {} ({region})", instance_ids.join(", "))
            }
            AwsCall::SeverSubnet { region, vpc_id, subnet_id, original_acl_id, .. } => format!(
                "associate subnet {subnet_id} ({vpc_id}, {region}) with a new deny-all network ACL instead of {original_acl_id}"
            ),
            AwsCall::RestoreSubnet { region, subnet_id, original_acl_id, run_id } => format!(
                "associate subnet {subnet_id} ({region}) with {original_acl_id} again and delete the deny ACL of run {run_id}"
            ),
            AwsCall::FailoverCluster { region, cluster, target_instance } => format!(
                "fail over DB cluster {cluster} ({region}) to {}",
                target_instance.as_deref().unwrap_or("a reader of RDS's choice")
            ),
            AwsCall::RebootWithFailover { region, instance } => {
                format!("reboot DB instance {instance} with failover to its standby ({region})")
            }
            AwsCall::GlobalFailover { region, global_cluster, target_cluster_arn, switchover } => format!(
                "{} global database {global_cluster} to {target_cluster_arn} (called in {region})",
                if *switchover { "switch over" } else { "fail over (allowing data loss)" }
            ),
            AwsCall::StartExperiment { region, template_id, run_id } => format!(
                "start FIS experiment from template {template_id} ({region}), tagged {TAG_RUN}={run_id}"
            ),
            AwsCall::StopExperiment { region, template_id, run_id } => format!(
                "stop the FIS experiments of run {run_id} from template {template_id} that still run ({region})"
            ),
            AwsCall::NotUndone { why } => format!("not undone: {why}"),
            AwsCall::TakeLease { zone_id, name, replaces, .. } => match replaces {
                Some(_) => format!("take over the lapsed lease {name} in {zone_id}"),
                None => format!("take the lease {name} in {zone_id} (a TXT record)"),
            },
            AwsCall::ReleaseLease { zone_id, name, .. } => {
                format!("release the lease {name} in {zone_id}")
            }
        }
    }

    /// Makes the call. The time it took effect is when AWS answered: the
    /// change happened between the request and that answer.
    pub async fn apply(&self, aws: &AwsClients) -> Result<Applied, ChangeError> {
        match self {
            AwsCall::DeregisterTargets {
                region,
                target_group_arn,
                targets,
            } => elbv2::deregister(aws, region, target_group_arn, targets).await,
            AwsCall::RegisterTargets {
                region,
                target_group_arn,
                targets,
            } => elbv2::register(aws, region, target_group_arn, targets).await,
            AwsCall::StopInstances {
                region,
                instance_ids,
            } => ec2::set_running(aws, region, instance_ids, false).await,
            AwsCall::StartInstances {
                region,
                instance_ids,
            } => ec2::set_running(aws, region, instance_ids, true).await,
            AwsCall::SeverSubnet {
                region,
                vpc_id,
                subnet_id,
                original_acl_id,
                run_id,
            } => ec2::sever_subnet(aws, region, vpc_id, subnet_id, original_acl_id, run_id).await,
            AwsCall::RestoreSubnet {
                region,
                subnet_id,
                original_acl_id,
                run_id,
            } => ec2::restore_subnet(aws, region, subnet_id, original_acl_id, run_id).await,
            AwsCall::FailoverCluster {
                region,
                cluster,
                target_instance,
            } => rds::failover_cluster(aws, region, cluster, target_instance.as_deref()).await,
            AwsCall::RebootWithFailover { region, instance } => {
                rds::reboot_with_failover(aws, region, instance).await
            }
            AwsCall::GlobalFailover {
                region,
                global_cluster,
                target_cluster_arn,
                switchover,
            } => {
                rds::global_failover(aws, region, global_cluster, target_cluster_arn, *switchover)
                    .await
            }
            AwsCall::StartExperiment {
                region,
                template_id,
                run_id,
            } => fis::start_experiment(aws, region, template_id, run_id).await,
            AwsCall::StopExperiment {
                region,
                template_id,
                run_id,
            } => fis::stop_experiments(aws, region, template_id, run_id).await,
            AwsCall::NotUndone { .. } => Ok(applied(false)),
            AwsCall::TakeLease {
                zone_id,
                name,
                value,
                replaces,
            } => route53::take_lease(aws, zone_id, name, value, replaces.as_deref()).await,
            AwsCall::ReleaseLease {
                zone_id,
                name,
                value,
            } => route53::release_lease(aws, zone_id, name, value).await,
        }
    }

    /// After this call (an undo) was applied: whether the state it establishes
    /// holds, or what differs.
    pub async fn holds(&self, aws: &AwsClients) -> Result<(), ChangeError> {
        match self {
            AwsCall::RegisterTargets {
                region,
                target_group_arn,
                targets,
            } => elbv2::registered(aws, region, target_group_arn, targets).await,
            AwsCall::StartInstances {
                region,
                instance_ids,
            } => ec2::started(aws, region, instance_ids).await,
            AwsCall::RestoreSubnet {
                region,
                subnet_id,
                original_acl_id,
                run_id,
            } => ec2::restored(aws, region, subnet_id, original_acl_id, run_id).await,
            AwsCall::StopExperiment {
                region,
                template_id,
                run_id,
            } => fis::stopped(aws, region, template_id, run_id).await,
            AwsCall::ReleaseLease {
                zone_id,
                name,
                value,
            } => route53::released(aws, zone_id, name, value).await,
            // The others are changes, not undos, or change nothing.
            _ => Ok(()),
        }
    }

    /// For a change that was made: whether it is still in place (targets
    /// still deregistered, the subnet still on the run's deny ACL, the lease
    /// still the run's), or what undid it. Other changes are not checked.
    pub async fn still_in_place(&self, aws: &AwsClients) -> Result<Option<String>, ChangeError> {
        let undone = |what: String| -> Result<Option<String>, ChangeError> {
            Ok(Some(format!(
                "\"{}\" no longer holds: {what}",
                self.summary()
            )))
        };
        match self {
            AwsCall::DeregisterTargets {
                region,
                target_group_arn,
                targets,
            } => {
                let now = registrations(aws, region, target_group_arn).await?;
                match targets
                    .iter()
                    .find(|t| now.iter().any(|n| n.id == t.id && n.port == t.port))
                {
                    Some(t) => undone(format!("{} is registered again", t.id)),
                    None => Ok(None),
                }
            }
            AwsCall::SeverSubnet {
                region,
                subnet_id,
                run_id,
                ..
            } => {
                let ec2 = aws.region(region).ec2;
                let (_, acl) = association_of(&ec2, subnet_id).await?;
                let deny = deny_acls(&ec2, run_id, Some(subnet_id)).await?;
                if deny.iter().any(|d| d.acl_id == acl) {
                    Ok(None)
                } else {
                    undone(format!("{subnet_id} is associated with {acl}"))
                }
            }
            AwsCall::TakeLease {
                zone_id,
                name,
                value,
                ..
            } => {
                if route53::lease_values(aws, zone_id, name)
                    .await?
                    .iter()
                    .any(|v| v == value)
                {
                    Ok(None)
                } else {
                    undone(format!("the lease record {name} was removed"))
                }
            }
            _ => Ok(None),
        }
    }

    /// For a change that goes on after it is made (an FIS experiment), where it
    /// stands now; `None` for changes that are done once made.
    pub async fn follow(&self, aws: &AwsClients) -> Option<Result<ChangeState, ChangeError>> {
        match self {
            AwsCall::StartExperiment {
                region,
                template_id,
                run_id,
            } => Some(fis::experiment_state(aws, region, template_id, run_id).await),
            _ => None,
        }
    }
}
