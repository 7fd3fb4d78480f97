//! `fail-database`: crash a region's database instance. Lab automation promotes
//! the standby after `promotion_delay`; undo restarts the instance and, if the
//! standby was promoted, fails back (re-seeds the old writer from it).
//!
//! On AWS: `FailoverDBCluster` (Aurora, in-region, to a reader),
//! `RebootDBInstance` with ForceFailover (Multi-AZ instance), or an Aurora
//! global database failover or switchover to the secondary region. A failover
//! is not undone: the report says so, and a failback is its own scenario.

use super::Fault;
use crate::aws::call::AwsCall;
use crate::aws::error::explain;
use crate::aws::AwsEnv;
use crate::environment::Env;
use crate::floor::{FailureMode, RecoveryPath};
use crate::lab::{LabCall, LabDescription};
use crate::plan::{Action, Step};
use crate::scenario::duration::HumanDuration;
use crate::scenario::region::RegionRef;
use crate::scenario::Target;
use serde::Deserialize;

/// How an AWS database fails over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AwsMode {
    /// FailoverDBCluster: a reader of the Aurora cluster becomes the writer.
    Failover,
    /// RebootDBInstance with ForceFailover: a Multi-AZ instance's standby takes over.
    RebootFailover,
    /// FailoverGlobalCluster allowing data loss: the secondary region's cluster takes over.
    GlobalFailover,
    /// SwitchoverGlobalCluster: the same without data loss, after replication catches up.
    GlobalSwitchover,
}

/// Kind name.
pub const KIND: &str = "fail-database";

/// `[[faults]] kind = "fail-database"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailDatabase {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    /// Region whose instance crashes (default primary).
    #[serde(default)]
    pub region: RegionRef,
    /// Cut replication this long before the crash, so the writes in between are
    /// lost for real (t0 stays the crash).
    #[serde(default)]
    pub cut_replication_before: Option<HumanDuration>,
    /// AWS: how it fails over (default: failover for a cluster, reboot-failover
    /// for an instance; required for a global database).
    #[serde(default)]
    pub mode: Option<AwsMode>,
    /// AWS: Aurora DB cluster identifier (failover).
    #[serde(default)]
    pub cluster: Option<String>,
    /// AWS: the reader to promote (default: RDS's choice).
    #[serde(default)]
    pub target_instance: Option<String>,
    /// AWS: Multi-AZ DB instance identifier (reboot-failover).
    #[serde(default)]
    pub instance: Option<String>,
    /// AWS: global cluster identifier (global-failover, global-switchover).
    #[serde(default)]
    pub global_cluster: Option<String>,
    /// AWS: ARN of the secondary region's cluster to promote.
    #[serde(default)]
    pub target_cluster: Option<String>,
}

const NOT_UNDONE: &str = "a database failover is not undone by default; fail back with its own scenario once replication has caught up";

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Fault>, toml::de::Error> {
    Ok(Box::new(FailDatabase::deserialize(de)?))
}

#[async_trait::async_trait]
impl Fault for FailDatabase {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn check_target(&self, target: Target) -> Result<(), (&'static str, String)> {
        let aws_keys = [
            ("mode", self.mode.is_some()),
            ("cluster", self.cluster.is_some()),
            ("target_instance", self.target_instance.is_some()),
            ("instance", self.instance.is_some()),
            ("global_cluster", self.global_cluster.is_some()),
            ("target_cluster", self.target_cluster.is_some()),
        ];
        match target {
            Target::Lab => match aws_keys.iter().find(|(_, set)| *set) {
                Some((key, _)) => Err(super::option_for(key, Target::Aws)),
                None => Ok(()),
            },
            Target::Aws => {
                if self.cut_replication_before.is_some() {
                    return Err(super::option_for("cut_replication_before", Target::Lab));
                }
                self.aws_mode().map(|_| ())
            }
        }
    }

    fn recovery(&self) -> (RecoveryPath, FailureMode) {
        // The deep /healthz answers 503 once its database call times out.
        (RecoveryPath::DnsFailover, FailureMode::Error)
    }

    async fn plan(&self, env: &Env, _run_id: &str) -> Result<Vec<Step>, String> {
        match env {
            Env::Lab(lab) => self.plan_lab(lab),
            Env::Aws(aws) => self.plan_aws(aws).await,
        }
    }
}

impl FailDatabase {
    /// The AWS mode, from `mode` or from which identifier is given.
    fn aws_mode(&self) -> Result<AwsMode, (&'static str, String)> {
        let given = [
            self.cluster.is_some(),
            self.instance.is_some(),
            self.global_cluster.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        if given != 1 {
            return Err((
                "kind",
                "on AWS, name exactly one of cluster = \"...\" (Aurora failover), instance = \"...\" (Multi-AZ reboot with failover) or global_cluster = \"...\" (with target_cluster)".into(),
            ));
        }
        let mode = match (self.mode, &self.cluster, &self.instance) {
            (Some(m), _, _) => m,
            (None, Some(_), _) => AwsMode::Failover,
            (None, _, Some(_)) => AwsMode::RebootFailover,
            (None, _, _) => {
                return Err((
                    "global_cluster",
                    "a global database needs mode = \"global-switchover\" (no data loss) or \"global-failover\" (allows data loss)".into(),
                ))
            }
        };
        let fits = match mode {
            AwsMode::Failover => self.cluster.is_some(),
            AwsMode::RebootFailover => self.instance.is_some(),
            AwsMode::GlobalFailover | AwsMode::GlobalSwitchover => {
                if self.global_cluster.is_some() && self.target_cluster.is_none() {
                    return Err((
                        "global_cluster",
                        "a global failover needs target_cluster = \"arn:aws:rds:...\" (the secondary region's cluster)".into(),
                    ));
                }
                self.global_cluster.is_some()
            }
        };
        if !fits {
            return Err((
                "mode",
                "mode does not match the identifier: failover takes cluster, reboot-failover takes instance, global-* take global_cluster".into(),
            ));
        }
        Ok(mode)
    }

    async fn plan_aws(&self, env: &AwsEnv) -> Result<Vec<Step>, String> {
        let mode = self.aws_mode().map_err(|(_, m)| m)?;
        let region = env.description.params.region(self.region.0).to_string();
        let rds = env.clients.region(&region).rds;
        let apply = match mode {
            AwsMode::Failover => {
                let cluster = self.cluster.clone().unwrap_or_default();
                let out = rds
                    .describe_db_clusters()
                    .db_cluster_identifier(&cluster)
                    .send()
                    .await
                    .map_err(|e| {
                        explain(
                            &format!("reading DB cluster {cluster} in {region}"),
                            "rds:DescribeDBClusters",
                            &e,
                        )
                    })?;
                let members = out
                    .db_clusters()
                    .first()
                    .map(|c| c.db_cluster_members().to_vec())
                    .unwrap_or_default();
                let readers: Vec<String> = members
                    .iter()
                    .filter(|m| m.is_cluster_writer() != Some(true))
                    .filter_map(|m| m.db_instance_identifier().map(str::to_string))
                    .collect();
                if readers.is_empty() {
                    return Err(format!("DB cluster {cluster} in {region} has no reader to fail over to; add a reader instance"));
                }
                if let Some(t) = &self.target_instance {
                    if !readers.contains(t) {
                        return Err(format!(
                            "target_instance {t} is not a reader of {cluster}; its readers: {}",
                            readers.join(", ")
                        ));
                    }
                }
                AwsCall::FailoverCluster {
                    region: region.clone(),
                    cluster,
                    target_instance: self.target_instance.clone(),
                }
            }
            AwsMode::RebootFailover => {
                let instance = self.instance.clone().unwrap_or_default();
                let out = rds
                    .describe_db_instances()
                    .db_instance_identifier(&instance)
                    .send()
                    .await
                    .map_err(|e| {
                        explain(
                            &format!("reading DB instance {instance} in {region}"),
                            "rds:DescribeDBInstances",
                            &e,
                        )
                    })?;
                let multi_az = out
                    .db_instances()
                    .first()
                    .and_then(|i| i.multi_az())
                    .unwrap_or(false);
                if !multi_az {
                    return Err(format!("DB instance {instance} in {region} is not Multi-AZ: a reboot with failover has no standby to go to"));
                }
                AwsCall::RebootWithFailover {
                    region: region.clone(),
                    instance,
                }
            }
            AwsMode::GlobalFailover | AwsMode::GlobalSwitchover => {
                let global = self.global_cluster.clone().unwrap_or_default();
                let target = self.target_cluster.clone().unwrap_or_default();
                let members = crate::aws::global::members(&rds, &region, &global).await?;
                match members.iter().find(|m| m.arn == target) {
                    None => {
                        return Err(format!(
                            "target_cluster {target} is not a member of global database {global}; its members: {}",
                            members.iter().map(|m| m.arn.as_str()).collect::<Vec<_>>().join(", ")
                        ))
                    }
                    Some(m) if m.writer => {
                        return Err(format!("target_cluster {target} is already the writer of {global}; name the secondary region's cluster"))
                    }
                    Some(_) => {}
                }
                AwsCall::GlobalFailover {
                    region: region.clone(),
                    global_cluster: global,
                    target_cluster_arn: target,
                    switchover: mode == AwsMode::GlobalSwitchover,
                }
            }
        };
        Ok(vec![Step::outage(
            KIND,
            Action::Aws(apply),
            Action::Aws(AwsCall::NotUndone {
                why: NOT_UNDONE.into(),
            }),
        )])
    }

    fn plan_lab(&self, env: &LabDescription) -> Result<Vec<Step>, String> {
        let region = env.region(self.region.0);
        if region.database.crashed {
            return Err(format!(
                "the {} database is already down; revert the previous run first (gameday revert)",
                region.name
            ));
        }
        let crash = Step::outage(
            KIND,
            Action::Lab(LabCall::FailDatabase {
                region: region.name.clone(),
            }),
            Action::Lab(LabCall::RestoreDatabase {
                region: region.name.clone(),
            }),
        );
        Ok(match self.cut_replication_before {
            Some(before) => vec![
                Step {
                    starts_outage: false,
                    ..Step::outage(
                        KIND,
                        Action::Lab(LabCall::CutReplication),
                        Action::Lab(LabCall::RestoreReplication),
                    )
                },
                Step {
                    delay_ms: before.get().as_millis() as u64,
                    ..crash
                },
            ],
            None => vec![crash],
        })
    }
}
