//! RDS: cluster, Multi-AZ and global database failovers (never undone).

use super::applied;
use crate::aws::error::explain;
use crate::aws::AwsClients;
use crate::words::{Applied, ChangeError};

/// FailoverDBCluster.
pub async fn failover_cluster(
    aws: &AwsClients,
    region: &str,
    cluster: &str,
    target_instance: Option<&str>,
) -> Result<Applied, ChangeError> {
    aws.region(region)
        .rds
        .failover_db_cluster()
        .db_cluster_identifier(cluster)
        .set_target_db_instance_identifier(target_instance.map(str::to_string))
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

/// RebootDBInstance with ForceFailover.
pub async fn reboot_with_failover(
    aws: &AwsClients,
    region: &str,
    instance: &str,
) -> Result<Applied, ChangeError> {
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

/// SwitchoverGlobalCluster, or FailoverGlobalCluster allowing data loss.
pub async fn global_failover(
    aws: &AwsClients,
    region: &str,
    global_cluster: &str,
    target_cluster_arn: &str,
    switchover: bool,
) -> Result<Applied, ChangeError> {
    let rds = aws.region(region).rds;
    let doing = format!("failing over global database {global_cluster} to {target_cluster_arn}");
    if switchover {
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
