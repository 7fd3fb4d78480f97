//! Every change the AWS target makes, as data: journaled before it happens,
//! applied through the SDK, and checked afterwards. Each undo is idempotent
//! (applying it twice is harmless) and finds what it must remove by the run's
//! tags, so it works from the journal alone even when the change's own answer
//! (a new ACL id, an experiment id) was lost with the process.

use super::error::explain;
use super::AwsClients;
use crate::clock::mono_now;
use crate::lab::Applied;
use serde::{Deserialize, Serialize};
use std::time::Duration;

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

fn target_descriptions(
    targets: &[Registration],
) -> Result<Vec<aws_sdk_elasticloadbalancingv2::types::TargetDescription>, String> {
    Ok(targets
        .iter()
        .map(|t| {
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id(&t.id)
                .set_port(t.port)
                .set_availability_zone(t.availability_zone.clone())
                .build()
        })
        .collect())
}

fn ec2_filter(name: &str, value: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(name)
        .values(value)
        .build()
}

impl AwsCall {
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
            AwsCall::NotUndone { .. } => None,
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
        }
    }

    /// Makes the call. The time it took effect is when AWS answered: the
    /// change happened between the request and that answer.
    pub async fn apply(&self, aws: &AwsClients) -> Result<Applied, String> {
        match self {
            AwsCall::DeregisterTargets {
                region,
                target_group_arn,
                targets,
            } => {
                aws.region(region)
                    .elbv2
                    .deregister_targets()
                    .target_group_arn(target_group_arn)
                    .set_targets(Some(target_descriptions(targets)?))
                    .send()
                    .await
                    .map_err(|e| {
                        explain(
                            &format!("deregistering targets of {target_group_arn}"),
                            "elasticloadbalancing:DeregisterTargets",
                            &e,
                        )
                    })?;
                Ok(applied(true))
            }
            AwsCall::RegisterTargets {
                region,
                target_group_arn,
                targets,
            } => {
                aws.region(region)
                    .elbv2
                    .register_targets()
                    .target_group_arn(target_group_arn)
                    .set_targets(Some(target_descriptions(targets)?))
                    .send()
                    .await
                    .map_err(|e| {
                        explain(
                            &format!("registering targets in {target_group_arn}"),
                            "elasticloadbalancing:RegisterTargets",
                            &e,
                        )
                    })?;
                Ok(applied(true))
            }
            AwsCall::StopInstances {
                region,
                instance_ids,
            } => {
                aws.region(region)
                    .ec2
                    .stop_instances()
                    .set_instance_ids(Some(instance_ids.clone()))
                    .send()
                    .await
                    .map_err(|e| {
                        explain(
                            &format!("stopping {}", instance_ids.join(", ")),
                            "ec2:StopInstances",
                            &e,
                        )
                    })?;
                Ok(applied(true))
            }
            AwsCall::StartInstances {
                region,
                instance_ids,
            } => {
                aws.region(region)
                    .ec2
                    .start_instances()
                    .set_instance_ids(Some(instance_ids.clone()))
                    .send()
                    .await
                    .map_err(|e| {
                        explain(
                            &format!("starting {}", instance_ids.join(", ")),
                            "ec2:StartInstances",
                            &e,
                        )
                    })?;
                Ok(applied(true))
            }
            AwsCall::SeverSubnet {
                region,
                vpc_id,
                subnet_id,
                original_acl_id,
                run_id,
            } => {
                let ec2 = aws.region(region).ec2;
                let deny = match deny_acls(&ec2, run_id, Some(subnet_id))
                    .await?
                    .into_iter()
                    .next()
                {
                    Some(existing) => existing.acl_id,
                    None => {
                        create_deny_acl(&ec2, vpc_id, subnet_id, original_acl_id, run_id).await?
                    }
                };
                let changed = associate(&ec2, subnet_id, &deny).await?;
                Ok(applied(changed))
            }
            AwsCall::RestoreSubnet {
                region,
                subnet_id,
                original_acl_id,
                run_id,
            } => {
                let ec2 = aws.region(region).ec2;
                let changed = associate(&ec2, subnet_id, original_acl_id).await?;
                let at = mono_now();
                for acl in deny_acls(&ec2, run_id, Some(subnet_id)).await? {
                    ec2.delete_network_acl()
                        .network_acl_id(&acl.acl_id)
                        .send()
                        .await
                        .map_err(|e| {
                            explain(
                                &format!("deleting deny ACL {}", acl.acl_id),
                                "ec2:DeleteNetworkAcl",
                                &e,
                            )
                        })?;
                }
                Ok(Applied {
                    effective_at: at,
                    changed,
                })
            }
            AwsCall::FailoverCluster {
                region,
                cluster,
                target_instance,
            } => {
                aws.region(region)
                    .rds
                    .failover_db_cluster()
                    .db_cluster_identifier(cluster)
                    .set_target_db_instance_identifier(target_instance.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        explain(
                            &format!("failing over DB cluster {cluster}"),
                            "rds:FailoverDBCluster",
                            &e,
                        )
                    })?;
                Ok(applied(true))
            }
            AwsCall::RebootWithFailover { region, instance } => {
                aws.region(region)
                    .rds
                    .reboot_db_instance()
                    .db_instance_identifier(instance)
                    .force_failover(true)
                    .send()
                    .await
                    .map_err(|e| {
                        explain(
                            &format!("rebooting DB instance {instance} with failover"),
                            "rds:RebootDBInstance",
                            &e,
                        )
                    })?;
                Ok(applied(true))
            }
            AwsCall::GlobalFailover {
                region,
                global_cluster,
                target_cluster_arn,
                switchover,
            } => {
                let rds = aws.region(region).rds;
                let doing = format!(
                    "failing over global database {global_cluster} to {target_cluster_arn}"
                );
                if *switchover {
                    rds.switchover_global_cluster()
                        .global_cluster_identifier(global_cluster)
                        .target_db_cluster_identifier(target_cluster_arn)
                        .send()
                        .await
                        .map_err(|e| explain(&doing, "rds:SwitchoverGlobalCluster", &e))?;
                } else {
                    rds.failover_global_cluster()
                        .global_cluster_identifier(global_cluster)
                        .target_db_cluster_identifier(target_cluster_arn)
                        .allow_data_loss(true)
                        .send()
                        .await
                        .map_err(|e| explain(&doing, "rds:FailoverGlobalCluster", &e))?;
                }
                Ok(applied(true))
            }
            AwsCall::StartExperiment {
                region,
                template_id,
                run_id,
            } => start_experiment(aws, region, template_id, run_id).await,
            AwsCall::StopExperiment {
                region,
                template_id,
                run_id,
            } => {
                let fis = aws.region(region).fis;
                let mut changed = false;
                for id in running_experiments(&fis, template_id, run_id).await? {
                    fis.stop_experiment().id(&id).send().await.map_err(|e| {
                        explain(
                            &format!("stopping FIS experiment {id}"),
                            "fis:StopExperiment",
                            &e,
                        )
                    })?;
                    changed = true;
                }
                Ok(applied(changed))
            }
            AwsCall::NotUndone { .. } => Ok(applied(false)),
        }
    }

    /// After this call (an undo) was applied: whether the state it establishes
    /// holds, or what differs.
    pub async fn holds(&self, aws: &AwsClients) -> Result<(), String> {
        match self {
            AwsCall::RegisterTargets {
                region,
                target_group_arn,
                targets,
            } => {
                let now = registrations(aws, region, target_group_arn).await?;
                let missing: Vec<&Registration> = targets
                    .iter()
                    .filter(|t| !now.iter().any(|n| n.id == t.id && n.port == t.port))
                    .collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "{target_group_arn} is missing {}",
                        missing
                            .iter()
                            .map(|t| t.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                }
            }
            AwsCall::StartInstances {
                region,
                instance_ids,
            } => {
                let states = instance_states(aws, region, instance_ids).await?;
                let down: Vec<String> = states
                    .into_iter()
                    .filter(|(_, s)| s != "pending" && s != "running")
                    .map(|(id, s)| format!("{id} is {s}"))
                    .collect();
                if down.is_empty() {
                    Ok(())
                } else {
                    Err(down.join(", "))
                }
            }
            AwsCall::RestoreSubnet {
                region,
                subnet_id,
                original_acl_id,
                run_id,
            } => {
                let ec2 = aws.region(region).ec2;
                let (_, acl) = association_of(&ec2, subnet_id).await?;
                if &acl != original_acl_id {
                    return Err(format!(
                        "subnet {subnet_id} is associated with {acl}, not {original_acl_id}"
                    ));
                }
                let left = deny_acls(&ec2, run_id, Some(subnet_id)).await?;
                if let Some(l) = left.first() {
                    return Err(format!(
                        "deny ACL {} of run {run_id} still exists",
                        l.acl_id
                    ));
                }
                Ok(())
            }
            AwsCall::StopExperiment {
                region,
                template_id,
                run_id,
            } => {
                let fis = aws.region(region).fis;
                let running = running_experiments(&fis, template_id, run_id).await?;
                if running.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "FIS experiment(s) {} still running",
                        running.join(", ")
                    ))
                }
            }
            // The others are changes, not undos, or change nothing.
            _ => Ok(()),
        }
    }
}

/// Where a long-running change (an FIS experiment) stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeState {
    /// The state in a few words, e.g. `experiment EXP1 running`.
    pub state: String,
    /// Set when the change ended without running its course (an FIS
    /// experiment stopped by its own stop condition, or failed): why.
    pub cut_short: Option<String>,
}

impl AwsCall {
    /// For a change that goes on after it is made (an FIS experiment), where it
    /// stands now; `None` for changes that are done once made.
    pub async fn follow(&self, aws: &AwsClients) -> Option<Result<ChangeState, String>> {
        let AwsCall::StartExperiment {
            region,
            template_id,
            run_id,
        } = self
        else {
            return None;
        };
        Some(experiment_state(aws, region, template_id, run_id).await)
    }
}

async fn experiment_state(
    aws: &AwsClients,
    region: &str,
    template_id: &str,
    run_id: &str,
) -> Result<ChangeState, String> {
    use aws_sdk_fis::types::ExperimentStatus;
    let fis = aws.region(region).fis;
    let listed = fis
        .list_experiments()
        .experiment_template_id(template_id)
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("listing experiments of template {template_id}"),
                "fis:ListExperiments",
                &e,
            )
        })?;
    let Some(id) = listed
        .experiments()
        .iter()
        .filter(|x| {
            x.tags()
                .and_then(|t| t.get(TAG_RUN))
                .is_some_and(|r| r == run_id)
        })
        .filter_map(|x| x.id())
        .next()
        .map(str::to_string)
    else {
        return Err(format!(
            "no FIS experiment of run {run_id} from template {template_id}"
        ));
    };
    let x = fis.get_experiment().id(&id).send().await.map_err(|e| {
        explain(
            &format!("following FIS experiment {id}"),
            "fis:GetExperiment",
            &e,
        )
    })?;
    let state = x.experiment().and_then(|x| x.state());
    let status = state.and_then(|s| s.status());
    let reason = state.and_then(|s| s.reason()).unwrap_or("no reason given");
    let name = status
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "unknown".into());
    let cut_short = matches!(
        status,
        Some(
            ExperimentStatus::Failed
                | ExperimentStatus::Stopped
                | ExperimentStatus::Stopping
                | ExperimentStatus::Cancelled
        )
    )
    .then(|| format!("FIS experiment {id} is {name}: {reason}"));
    Ok(ChangeState {
        state: format!("FIS experiment {id} {name}"),
        cut_short,
    })
}

/// The current registrations of a target group.
pub async fn registrations(
    aws: &AwsClients,
    region: &str,
    target_group_arn: &str,
) -> Result<Vec<Registration>, String> {
    let out = aws
        .region(region)
        .elbv2
        .describe_target_health()
        .target_group_arn(target_group_arn)
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("reading the targets of {target_group_arn}"),
                "elasticloadbalancing:DescribeTargetHealth",
                &e,
            )
        })?;
    Ok(out
        .target_health_descriptions()
        .iter()
        .filter_map(|d| d.target())
        .map(|t| Registration {
            id: t.id().unwrap_or_default().to_string(),
            port: t.port(),
            availability_zone: t.availability_zone().map(str::to_string),
        })
        .collect())
}

/// Instance id and state name.
pub async fn instance_states(
    aws: &AwsClients,
    region: &str,
    instance_ids: &[String],
) -> Result<Vec<(String, String)>, String> {
    let out = aws
        .region(region)
        .ec2
        .describe_instances()
        .set_instance_ids(Some(instance_ids.to_vec()))
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("reading instances {}", instance_ids.join(", ")),
                "ec2:DescribeInstances",
                &e,
            )
        })?;
    Ok(out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| {
            (
                i.instance_id().unwrap_or_default().to_string(),
                i.state()
                    .and_then(|s| s.name())
                    .map(|n| n.as_str().to_string())
                    .unwrap_or_else(|| "unknown".into()),
            )
        })
        .collect())
}

/// A deny ACL made by a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenyAcl {
    /// Its id.
    pub acl_id: String,
    /// Run that made it.
    pub run_id: String,
    /// Subnet it severs.
    pub subnet_id: String,
    /// The subnet's original ACL.
    pub original_acl_id: String,
    /// Subnets associated with it now.
    pub associated: Vec<String>,
}

/// Deny ACLs made by `run_id` (any run when empty), for one subnet or all.
pub async fn deny_acls(
    ec2: &aws_sdk_ec2::Client,
    run_id: &str,
    subnet_id: Option<&str>,
) -> Result<Vec<DenyAcl>, String> {
    let mut request = ec2.describe_network_acls();
    request = if run_id.is_empty() {
        request.filters(ec2_filter("tag-key", TAG_RUN))
    } else {
        request.filters(ec2_filter(&format!("tag:{TAG_RUN}"), run_id))
    };
    if let Some(s) = subnet_id {
        request = request.filters(ec2_filter(&format!("tag:{TAG_SUBNET}"), s));
    }
    let out = request.send().await.map_err(|e| {
        explain(
            "looking for gameday's deny ACLs",
            "ec2:DescribeNetworkAcls",
            &e,
        )
    })?;
    Ok(out
        .network_acls()
        .iter()
        .map(|acl| {
            let tag = |k: &str| {
                acl.tags()
                    .iter()
                    .find(|t| t.key() == Some(k))
                    .and_then(|t| t.value())
                    .unwrap_or_default()
                    .to_string()
            };
            DenyAcl {
                acl_id: acl.network_acl_id().unwrap_or_default().to_string(),
                run_id: tag(TAG_RUN),
                subnet_id: tag(TAG_SUBNET),
                original_acl_id: tag(TAG_ORIGINAL_ACL),
                associated: acl
                    .associations()
                    .iter()
                    .filter_map(|a| a.subnet_id().map(str::to_string))
                    .collect(),
            }
        })
        .collect())
}

async fn create_deny_acl(
    ec2: &aws_sdk_ec2::Client,
    vpc_id: &str,
    subnet_id: &str,
    original_acl_id: &str,
    run_id: &str,
) -> Result<String, String> {
    use aws_sdk_ec2::types::{ResourceType, RuleAction, Tag, TagSpecification};
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    let out = ec2
        .create_network_acl()
        .vpc_id(vpc_id)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::NetworkAcl)
                .tags(tag("Name", &format!("gameday-deny-{subnet_id}")))
                .tags(tag(TAG_RUN, run_id))
                .tags(tag(TAG_SUBNET, subnet_id))
                .tags(tag(TAG_ORIGINAL_ACL, original_acl_id))
                .build(),
        )
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("creating a deny ACL in {vpc_id}"),
                "ec2:CreateNetworkAcl",
                &e,
            )
        })?;
    let acl_id = out
        .network_acl()
        .and_then(|a| a.network_acl_id())
        .ok_or("CreateNetworkAcl answered without an ACL id")?
        .to_string();
    // A new custom ACL already denies everything; the explicit rules say so to
    // whoever looks at it in the console.
    for egress in [false, true] {
        ec2.create_network_acl_entry()
            .network_acl_id(&acl_id)
            .rule_number(1)
            .protocol("-1")
            .rule_action(RuleAction::Deny)
            .egress(egress)
            .cidr_block("0.0.0.0/0")
            .send()
            .await
            .map_err(|e| {
                explain(
                    &format!("adding a deny rule to {acl_id}"),
                    "ec2:CreateNetworkAclEntry",
                    &e,
                )
            })?;
    }
    Ok(acl_id)
}

/// The subnet's current ACL association id and ACL id.
pub async fn association_of(
    ec2: &aws_sdk_ec2::Client,
    subnet_id: &str,
) -> Result<(String, String), String> {
    let out = ec2
        .describe_network_acls()
        .filters(ec2_filter("association.subnet-id", subnet_id))
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("reading the network ACL of {subnet_id}"),
                "ec2:DescribeNetworkAcls",
                &e,
            )
        })?;
    out.network_acls()
        .iter()
        .flat_map(|acl| acl.associations())
        .find(|a| a.subnet_id() == Some(subnet_id))
        .map(|a| {
            (
                a.network_acl_association_id()
                    .unwrap_or_default()
                    .to_string(),
                a.network_acl_id().unwrap_or_default().to_string(),
            )
        })
        .ok_or_else(|| {
            format!("subnet {subnet_id} has no network ACL association; check the subnet id")
        })
}

/// Associates the subnet with `acl_id`; false when it already was.
async fn associate(
    ec2: &aws_sdk_ec2::Client,
    subnet_id: &str,
    acl_id: &str,
) -> Result<bool, String> {
    let (association, current) = association_of(ec2, subnet_id).await?;
    if current == acl_id {
        return Ok(false);
    }
    ec2.replace_network_acl_association()
        .association_id(&association)
        .network_acl_id(acl_id)
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("associating {subnet_id} with {acl_id}"),
                "ec2:ReplaceNetworkAclAssociation",
                &e,
            )
        })?;
    Ok(true)
}

async fn running_experiments(
    fis: &aws_sdk_fis::Client,
    template_id: &str,
    run_id: &str,
) -> Result<Vec<String>, String> {
    use aws_sdk_fis::types::ExperimentStatus;
    let out = fis
        .list_experiments()
        .experiment_template_id(template_id)
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("listing experiments of template {template_id}"),
                "fis:ListExperiments",
                &e,
            )
        })?;
    Ok(out
        .experiments()
        .iter()
        .filter(|x| {
            x.tags()
                .and_then(|t| t.get(TAG_RUN))
                .is_some_and(|r| r == run_id)
        })
        .filter(|x| {
            matches!(
                x.state().and_then(|s| s.status()),
                Some(
                    ExperimentStatus::Pending
                        | ExperimentStatus::Initiating
                        | ExperimentStatus::Running
                )
            )
        })
        .filter_map(|x| x.id().map(str::to_string))
        .collect())
}

/// Starts the experiment and waits until its first action starts: that is when
/// the fault takes effect, not when the API answers.
async fn start_experiment(
    aws: &AwsClients,
    region: &str,
    template_id: &str,
    run_id: &str,
) -> Result<Applied, String> {
    use aws_sdk_fis::types::{ExperimentActionStatus, ExperimentStatus};
    let fis = aws.region(region).fis;
    // The run id is the idempotency token: a retried start is the same experiment.
    let token: String = run_id
        .chars()
        .rev()
        .take(64)
        .collect::<String>()
        .chars()
        .rev()
        .collect();
    let out = fis
        .start_experiment()
        .experiment_template_id(template_id)
        .client_token(token)
        .tags(TAG_RUN, run_id)
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("starting FIS experiment from template {template_id}"),
                "fis:StartExperiment",
                &e,
            )
        })?;
    let id = out
        .experiment()
        .and_then(|x| x.id())
        .ok_or("StartExperiment answered without an experiment id")?
        .to_string();
    let deadline = mono_now() + 120_000_000_000;
    loop {
        let x = fis.get_experiment().id(&id).send().await.map_err(|e| {
            explain(
                &format!("following FIS experiment {id}"),
                "fis:GetExperiment",
                &e,
            )
        })?;
        let experiment = x.experiment();
        let status = experiment.and_then(|x| x.state()).and_then(|s| s.status());
        let action_started = experiment.and_then(|x| x.actions()).is_some_and(|actions| {
            actions.values().any(|a| {
                a.start_time().is_some()
                    || matches!(
                        a.state().and_then(|s| s.status()),
                        Some(ExperimentActionStatus::Running | ExperimentActionStatus::Completed)
                    )
            })
        });
        if action_started || matches!(status, Some(ExperimentStatus::Completed)) {
            return Ok(applied(true));
        }
        if let Some(
            s
            @ (ExperimentStatus::Failed | ExperimentStatus::Stopped | ExperimentStatus::Cancelled),
        ) = status
        {
            let reason = experiment
                .and_then(|x| x.state())
                .and_then(|s| s.reason())
                .unwrap_or("no reason given");
            return Err(format!(
                "FIS experiment {id} ended {} before any action started: {reason}",
                s.as_str()
            ));
        }
        if mono_now() > deadline {
            return Err(format!("FIS experiment {id} started no action within 2 minutes; look at it in the FIS console"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
