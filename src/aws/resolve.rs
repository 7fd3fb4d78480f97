//! Resolving a fault's choice (ARNs, ids or tags, an AZ) to concrete resources,
//! in a deterministic order so the plan shows exactly what the run will do.

use super::call::{association_of, registrations, Registration};
use super::error::explain;
use super::AwsClients;
use std::collections::BTreeMap;

/// A target group's registrations that a fault may take.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Target group.
    pub target_group_arn: String,
    /// The registration.
    pub registration: Registration,
}

fn tags_match(found: &[(String, String)], wanted: &BTreeMap<String, String>) -> bool {
    wanted
        .iter()
        .all(|(k, v)| found.iter().any(|(fk, fv)| fk == k && fv == v))
}

/// Target groups by ARN, or every target group carrying all `tags`.
pub async fn target_groups(
    aws: &AwsClients,
    region: &str,
    arns: &[String],
    tags: &BTreeMap<String, String>,
) -> Result<Vec<String>, String> {
    if !arns.is_empty() {
        return Ok(arns.to_vec());
    }
    let elbv2 = aws.region(region).elbv2;
    let all = elbv2.describe_target_groups().send().await.map_err(|e| {
        explain(
            &format!("listing target groups in {region}"),
            "elasticloadbalancing:DescribeTargetGroups",
            &e,
        )
    })?;
    let arns: Vec<String> = all
        .target_groups()
        .iter()
        .filter_map(|g| g.target_group_arn().map(str::to_string))
        .collect();
    let mut out = Vec::new();
    // DescribeTags takes at most 20 resources per call.
    for chunk in arns.chunks(20) {
        let described = elbv2
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| {
                explain(
                    &format!("reading target group tags in {region}"),
                    "elasticloadbalancing:DescribeTags",
                    &e,
                )
            })?;
        for d in described.tag_descriptions() {
            let found: Vec<(String, String)> = d
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            if tags_match(&found, tags) {
                out.extend(d.resource_arn().map(str::to_string));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Registrations of the target groups, with the AZ each target lives in
/// (instance targets: from EC2; others: as registered).
pub async fn candidates(
    aws: &AwsClients,
    region: &str,
    groups: &[String],
) -> Result<Vec<(Candidate, Option<String>)>, String> {
    let mut out = Vec::new();
    for arn in groups {
        for r in registrations(aws, region, arn).await? {
            out.push(Candidate {
                target_group_arn: arn.clone(),
                registration: r,
            });
        }
    }
    let instance_ids: Vec<String> = out
        .iter()
        .map(|c| c.registration.id.clone())
        .filter(|id| id.starts_with("i-"))
        .collect();
    let zones = if instance_ids.is_empty() {
        BTreeMap::new()
    } else {
        instances(aws, region, &instance_ids, &BTreeMap::new(), &[])
            .await?
            .into_iter()
            .map(|i| (i.id, i.az))
            .collect()
    };
    let mut with_az: Vec<(Candidate, Option<String>)> = out
        .into_iter()
        .map(|c| {
            let az = zones
                .get(&c.registration.id)
                .cloned()
                .or_else(|| c.registration.availability_zone.clone());
            (c, az)
        })
        .collect();
    with_az.sort_by(|a, b| {
        (
            &a.0.target_group_arn,
            &a.0.registration.id,
            a.0.registration.port,
        )
            .cmp(&(
                &b.0.target_group_arn,
                &b.0.registration.id,
                b.0.registration.port,
            ))
    });
    Ok(with_az)
}

/// An EC2 instance as a fault sees it.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Id.
    pub id: String,
    /// AZ.
    pub az: String,
    /// Subnet.
    pub subnet: Option<String>,
    /// State name.
    pub state: String,
}

/// Instances by id, or by tags; only those in `states` when given.
pub async fn instances(
    aws: &AwsClients,
    region: &str,
    ids: &[String],
    tags: &BTreeMap<String, String>,
    states: &[&str],
) -> Result<Vec<Instance>, String> {
    let mut request = aws.region(region).ec2.describe_instances();
    if !ids.is_empty() {
        request = request.set_instance_ids(Some(ids.to_vec()));
    }
    for f in super::tag_filters(tags) {
        request = request.filters(f);
    }
    if !states.is_empty() {
        request = request.filters(super::ec2_filter(
            "instance-state-name",
            states.iter().copied(),
        ));
    }
    let out = request.send().await.map_err(|e| {
        explain(
            &format!("finding instances in {region}"),
            "ec2:DescribeInstances",
            &e,
        )
    })?;
    let mut found: Vec<Instance> = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| Instance {
            id: i.instance_id().unwrap_or_default().to_string(),
            az: i
                .placement()
                .and_then(|p| p.availability_zone())
                .unwrap_or_default()
                .to_string(),
            subnet: i.subnet_id().map(str::to_string),
            state: i
                .state()
                .and_then(|s| s.name())
                .map(|n| n.as_str().to_string())
                .unwrap_or_default(),
        })
        .collect();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

/// A subnet to sever, with what it must be put back to.
#[derive(Debug, Clone)]
pub struct Subnet {
    /// Subnet id.
    pub id: String,
    /// VPC.
    pub vpc: String,
    /// Its network ACL now.
    pub acl: String,
}

/// The subnets of an AZ, optionally only those listed or carrying all `tags`.
pub async fn subnets(
    aws: &AwsClients,
    region: &str,
    az: &str,
    ids: &[String],
    tags: &BTreeMap<String, String>,
) -> Result<Vec<Subnet>, String> {
    let ec2 = aws.region(region).ec2;
    let mut request = ec2
        .describe_subnets()
        .filters(super::ec2_filter("availability-zone", [az]));
    if !ids.is_empty() {
        request = request.set_subnet_ids(Some(ids.to_vec()));
    }
    for f in super::tag_filters(tags) {
        request = request.filters(f);
    }
    let out = request.send().await.map_err(|e| {
        explain(
            &format!("finding the subnets of {az}"),
            "ec2:DescribeSubnets",
            &e,
        )
    })?;
    let mut found = Vec::new();
    for s in out.subnets() {
        let id = s.subnet_id().unwrap_or_default().to_string();
        let (_, acl) = association_of(&ec2, &id).await?;
        found.push(Subnet {
            vpc: s.vpc_id().unwrap_or_default().to_string(),
            id,
            acl,
        });
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

/// The subnets this machine's network interfaces are in, from the instance
/// metadata service (one second per question); an error when it cannot be
/// asked or does not answer (off AWS, metadata disabled, an IMDSv2 hop limit
/// of 1 inside a container): then nobody knows.
pub async fn runner_subnets(aws: &AwsClients) -> Result<Vec<String>, String> {
    let mut builder = aws_config::imds::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(1))
        .read_timeout(std::time::Duration::from_secs(1))
        .max_attempts(1);
    match aws.imds() {
        super::Imds::Off => {
            return Err("instance metadata is disabled (AWS_EC2_METADATA_DISABLED)".into())
        }
        super::Imds::Standard => {}
        super::Imds::At(url) => {
            builder = builder
                .endpoint(url)
                .map_err(|e| format!("instance metadata endpoint {url}: {e}"))?
        }
    }
    let client = builder.build();
    let macs = client
        .get("/latest/meta-data/network/interfaces/macs/")
        .await
        .map_err(|e| format!("the instance metadata service did not answer ({e})"))?;
    let mut out = Vec::new();
    for mac in macs
        .as_ref()
        .lines()
        .map(|l| l.trim().trim_end_matches('/'))
    {
        if mac.is_empty() {
            continue;
        }
        let subnet = client
            .get(format!(
                "/latest/meta-data/network/interfaces/macs/{mac}/subnet-id"
            ))
            .await
            .map_err(|e| {
                format!("the instance metadata service did not say the subnet of {mac} ({e})")
            })?;
        out.push(subnet.as_ref().trim().to_string());
    }
    Ok(out)
}
