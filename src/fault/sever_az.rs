//! `sever-az`: drop all traffic of one Availability Zone. On the lab its gates
//! hold every connection; on AWS each chosen subnet of the AZ is associated
//! with a new deny-all network ACL, tagged with the run id and the subnet's
//! original ACL so that `gameday revert --sweep` can restore it from AWS alone.
//! Undo associates the original ACL again and deletes the deny ACL.

use super::Fault;
use crate::aws::call::AwsCall;
use crate::aws::AwsEnv;
use crate::environment::Env;
use crate::floor::{FailureMode, RecoveryPath};
use crate::lab::{LabCall, LabDescription};
use crate::plan::{Action, Step};
use crate::scenario::region::RegionRef;
use crate::scenario::selection::Selection;
use crate::scenario::Target;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Kind name.
pub const KIND: &str = "sever-az";

/// `[[faults]] kind = "sever-az"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverAz {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    /// Region of the AZ (default primary).
    #[serde(default)]
    pub region: RegionRef,
    /// The AZ: `a`, `b` or the full name such as `me-central-1a`.
    pub az: String,
    /// AWS: only these subnets of the AZ.
    #[serde(default)]
    pub subnets: Vec<String>,
    /// AWS: only the subnets of the AZ carrying all these tags.
    #[serde(default)]
    pub subnet_tags: BTreeMap<String, String>,
    /// AWS: which of the matching subnets (default all).
    #[serde(default)]
    pub selection: Selection,
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Fault>, toml::de::Error> {
    Ok(Box::new(SeverAz::deserialize(de)?))
}

/// Expands a short AZ suffix to the full AZ name of a region.
pub fn full_az(region: &str, az: &str) -> String {
    if az.starts_with(region) {
        az.to_string()
    } else {
        format!("{region}{az}")
    }
}

#[async_trait::async_trait]
impl Fault for SeverAz {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn check_target(&self, target: Target) -> Result<(), (&'static str, String)> {
        match target {
            Target::Lab if !self.subnets.is_empty() => {
                Err(super::option_for("subnets", Target::Aws))
            }
            Target::Lab if !self.subnet_tags.is_empty() => {
                Err(super::option_for("subnet_tags", Target::Aws))
            }
            Target::Lab if self.selection != Selection::All => {
                Err(super::option_for("selection", Target::Aws))
            }
            _ => Ok(()),
        }
    }

    fn recovery(&self) -> (RecoveryPath, FailureMode) {
        (RecoveryPath::TargetGroup, FailureMode::Hang)
    }

    async fn plan(&self, env: &Env, run_id: &str) -> Result<Vec<Step>, String> {
        match env {
            Env::Lab(lab) => self.plan_lab(lab),
            Env::Aws(aws) => self.plan_aws(aws, run_id).await,
        }
    }
}

impl SeverAz {
    fn plan_lab(&self, env: &LabDescription) -> Result<Vec<Step>, String> {
        let region = env.region(self.region.0);
        let az = full_az(&region.name, &self.az);
        if !region.azs.contains(&az) {
            return Err(format!(
                "no Availability Zone \"{}\" in {}; it has {}",
                self.az,
                region.name,
                region.azs.join(", ")
            ));
        }
        Ok(vec![Step::outage(
            KIND,
            Action::Lab(LabCall::SeverAz {
                region: region.name.clone(),
                az: az.clone(),
            }),
            Action::Lab(LabCall::RestoreAz {
                region: region.name.clone(),
                az,
            }),
        )])
    }

    async fn plan_aws(&self, env: &AwsEnv, run_id: &str) -> Result<Vec<Step>, String> {
        let region = env.description.params.region(self.region.0).to_string();
        let az = full_az(&region, &self.az);
        let found = crate::aws::resolve::subnets(
            &env.clients,
            &region,
            &az,
            &self.subnets,
            &self.subnet_tags,
        )
        .await?;
        let n = self.selection.how_many(found.len()).map_err(|e| {
            format!("{e} (subnets of {az} matching subnets/subnet_tags); check az, subnets and subnet_tags")
        })?;
        let chosen = &found[..n];
        // Cutting the runner off would leave nobody to undo it.
        let mine = match crate::aws::resolve::runner_subnets(&env.clients).await {
            Ok(mine) => mine,
            Err(_) if env.description.params.runner_not_on_aws => Vec::new(),
            Err(why) => {
                return Err(format!(
                    "cannot tell which subnet this runner is in: {why}; severing {az} could cut gameday off from AWS before it can undo. If the runner is not on AWS, pass --runner-not-on-aws (or set runner_not_on_aws = true in [aws]); on EC2, let gameday reach the instance metadata service (IMDSv2 hop limit 2 in containers)"
                ))
            }
        };
        if let Some(s) = chosen.iter().find(|s| mine.contains(&s.id)) {
            return Err(format!(
                "subnet {} is the one this runner is in (instance metadata); severing it would cut gameday off from AWS before it can undo; run from elsewhere or exclude it with subnet_tags",
                s.id
            ));
        }
        if let Some(s) = chosen.iter().find(|s| s.acl.is_empty()) {
            return Err(format!(
                "subnet {} has no network ACL to restore; check it in the console",
                s.id
            ));
        }
        Ok(chosen
            .iter()
            .map(|s| {
                Step::outage(
                    KIND,
                    Action::Aws(AwsCall::SeverSubnet {
                        region: region.clone(),
                        vpc_id: s.vpc.clone(),
                        subnet_id: s.id.clone(),
                        original_acl_id: s.acl.clone(),
                        run_id: run_id.to_string(),
                    }),
                    Action::Aws(AwsCall::RestoreSubnet {
                        region: region.clone(),
                        subnet_id: s.id.clone(),
                        original_acl_id: s.acl.clone(),
                        run_id: run_id.to_string(),
                    }),
                )
            })
            .collect())
    }
}
