//! ELBv2: target registrations.

use super::{applied, Registration};
use crate::aws::error::explain;
use crate::aws::AwsClients;
use crate::words::{Applied, ChangeError};

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

/// DeregisterTargets of exactly these registrations.
pub async fn deregister(
    aws: &AwsClients,
    region: &str,
    target_group_arn: &str,
    targets: &[Registration],
) -> Result<Applied, ChangeError> {
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

/// RegisterTargets of exactly these registrations.
pub async fn register(
    aws: &AwsClients,
    region: &str,
    target_group_arn: &str,
    targets: &[Registration],
) -> Result<Applied, ChangeError> {
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

/// Whether every one of `targets` is registered again.
pub async fn registered(
    aws: &AwsClients,
    region: &str,
    target_group_arn: &str,
    targets: &[Registration],
) -> Result<(), ChangeError> {
    let now = registrations(aws, region, target_group_arn).await?;
    let missing: Vec<&str> = targets
        .iter()
        .filter(|t| !now.iter().any(|n| n.id == t.id && n.port == t.port))
        .map(|t| t.id.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("{target_group_arn} is missing {}", missing.join(", ")).into())
    }
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
