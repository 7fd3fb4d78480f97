//! EC2: instances, and the deny-all network ACLs of `sever-az`.

use super::{applied, TAG_ORIGINAL_ACL, TAG_RUN, TAG_SUBNET};
use crate::aws::ec2_filter;
use crate::aws::error::explain;
use crate::aws::AwsClients;
use crate::clock::mono_now;
use crate::words::{Applied, ChangeError};

/// StopInstances (`running` false) or StartInstances (`running` true).
pub async fn set_running(
    aws: &AwsClients,
    region: &str,
    instance_ids: &[String],
    running: bool,
) -> Result<Applied, ChangeError> {
    let ec2 = aws.region(region).ec2;
    let ids = Some(instance_ids.to_vec());
    let doing = |verb: &str| format!("{verb} {}", instance_ids.join(", "));
    if running {
        ec2.start_instances()
            .set_instance_ids(ids)
            .send()
            .await
            .map_err(|e| explain(&doing("starting"), "ec2:StartInstances", &e))?;
    } else {
        ec2.stop_instances()
            .set_instance_ids(ids)
            .send()
            .await
            .map_err(|e| explain(&doing("stopping"), "ec2:StopInstances", &e))?;
    }
    Ok(applied(true))
}

/// Whether every instance is pending or running.
pub async fn started(
    aws: &AwsClients,
    region: &str,
    instance_ids: &[String],
) -> Result<(), ChangeError> {
    let down: Vec<String> = instance_states(aws, region, instance_ids)
        .await?
        .into_iter()
        .filter(|(_, s)| s != "pending" && s != "running")
        .map(|(id, s)| format!("{id} is {s}"))
        .collect();
    if down.is_empty() {
        Ok(())
    } else {
        Err(down.join(", ").into())
    }
}

/// The run's deny ACL for the subnet (found by tags, else created), then the
/// subnet associated with it.
pub async fn sever_subnet(
    aws: &AwsClients,
    region: &str,
    vpc_id: &str,
    subnet_id: &str,
    original_acl_id: &str,
    run_id: &str,
) -> Result<Applied, ChangeError> {
    let ec2 = aws.region(region).ec2;
    let deny = match deny_acls(&ec2, run_id, Some(subnet_id))
        .await?
        .into_iter()
        .next()
    {
        Some(existing) => existing.acl_id,
        None => create_deny_acl(&ec2, vpc_id, subnet_id, original_acl_id, run_id).await?,
    };
    let changed = associate(&ec2, subnet_id, &deny).await?;
    Ok(applied(changed))
}

/// The subnet back on its original ACL, then the run's deny ACL deleted.
pub async fn restore_subnet(
    aws: &AwsClients,
    region: &str,
    subnet_id: &str,
    original_acl_id: &str,
    run_id: &str,
) -> Result<Applied, ChangeError> {
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

/// Whether the subnet is on its original ACL and the run's deny ACL is gone.
pub async fn restored(
    aws: &AwsClients,
    region: &str,
    subnet_id: &str,
    original_acl_id: &str,
    run_id: &str,
) -> Result<(), ChangeError> {
    let ec2 = aws.region(region).ec2;
    let (_, acl) = association_of(&ec2, subnet_id).await?;
    if acl != original_acl_id {
        return Err(
            format!("subnet {subnet_id} is associated with {acl}, not {original_acl_id}").into(),
        );
    }
    if let Some(left) = deny_acls(&ec2, run_id, Some(subnet_id)).await?.first() {
        return Err(format!("deny ACL {} of run {run_id} still exists", left.acl_id).into());
    }
    Ok(())
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
    /// Its VPC.
    pub vpc_id: String,
    /// Whether every entry denies (what gameday creates): an ACL with any
    /// allow rule is not one of gameday's, whatever its tags say.
    pub deny_all: bool,
}

/// Deny ACLs made by `run_id` (any run when empty), for one subnet or all.
pub async fn deny_acls(
    ec2: &aws_sdk_ec2::Client,
    run_id: &str,
    subnet_id: Option<&str>,
) -> Result<Vec<DenyAcl>, String> {
    let mut request = ec2.describe_network_acls();
    request = if run_id.is_empty() {
        request.filters(ec2_filter("tag-key", [TAG_RUN]))
    } else {
        request.filters(ec2_filter(format!("tag:{TAG_RUN}"), [run_id]))
    };
    if let Some(s) = subnet_id {
        request = request.filters(ec2_filter(format!("tag:{TAG_SUBNET}"), [s]));
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
                vpc_id: acl.vpc_id().unwrap_or_default().to_string(),
                deny_all: !acl.is_default().unwrap_or(false)
                    && acl
                        .entries()
                        .iter()
                        .all(|e| e.rule_action() == Some(&aws_sdk_ec2::types::RuleAction::Deny)),
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

/// The VPC of a network ACL, or why it cannot be read (it does not exist).
pub async fn acl_vpc(ec2: &aws_sdk_ec2::Client, acl_id: &str) -> Result<String, String> {
    let out = ec2
        .describe_network_acls()
        .network_acl_ids(acl_id)
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("reading network ACL {acl_id}"),
                "ec2:DescribeNetworkAcls",
                &e,
            )
            .message
        })?;
    out.network_acls()
        .first()
        .and_then(|a| a.vpc_id())
        .map(str::to_string)
        .ok_or_else(|| format!("network ACL {acl_id} does not exist"))
}

/// The subnet's current ACL association id and ACL id.
pub async fn association_of(
    ec2: &aws_sdk_ec2::Client,
    subnet_id: &str,
) -> Result<(String, String), String> {
    let out = ec2
        .describe_network_acls()
        .filters(ec2_filter("association.subnet-id", [subnet_id]))
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
