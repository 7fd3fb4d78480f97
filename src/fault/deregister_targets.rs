//! `deregister-targets`: remove targets from a region's ALB target group.
//! Undo registers exactly the same targets again: on AWS the exact
//! registrations (id, port, AZ) recorded before the change.

use super::Fault;
use crate::aws::call::{AwsCall, Registration};
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
pub const KIND: &str = "deregister-targets";

/// `[[faults]] kind = "deregister-targets"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeregisterTargets {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    /// Region whose ALB loses targets (default primary).
    #[serde(default)]
    pub region: RegionRef,
    /// Which of the registered targets: all, count:N, percent:P (default all).
    #[serde(default)]
    pub selection: Selection,
    /// Only targets in this AZ (`a`, `b` or the full name).
    #[serde(default)]
    pub az: Option<String>,
    /// AWS: the target groups, by ARN.
    #[serde(default)]
    pub target_groups: Vec<String>,
    /// AWS: the target groups carrying all these tags (when no ARN is given).
    #[serde(default)]
    pub target_group_tags: BTreeMap<String, String>,
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Fault>, toml::de::Error> {
    Ok(Box::new(DeregisterTargets::deserialize(de)?))
}

#[async_trait::async_trait]
impl Fault for DeregisterTargets {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn check_target(&self, target: Target) -> Result<(), (&'static str, String)> {
        match target {
            Target::Lab if !self.target_groups.is_empty() => {
                Err(super::option_for("target_groups", Target::Aws))
            }
            Target::Lab if !self.target_group_tags.is_empty() => {
                Err(super::option_for("target_group_tags", Target::Aws))
            }
            Target::Aws if self.target_groups.is_empty() && self.target_group_tags.is_empty() => Err((
                "kind",
                "on AWS, say which target groups: target_groups = [\"arn:...\"] or target_group_tags = { Service = \"app\" }".into(),
            )),
            _ => Ok(()),
        }
    }

    fn recovery(&self) -> (RecoveryPath, FailureMode) {
        // With every target gone the ALB answers 503 and the region fails over;
        // with some left, the rest serve and customers should not notice.
        if self.selection == Selection::All && self.az.is_none() {
            (RecoveryPath::DnsFailover, FailureMode::Error)
        } else {
            (RecoveryPath::NoOutage, FailureMode::Error)
        }
    }

    async fn plan(&self, env: &Env, _run_id: &str) -> Result<Vec<Step>, String> {
        match env {
            Env::Lab(lab) => self.plan_lab(lab),
            Env::Aws(aws) => self.plan_aws(aws).await,
        }
    }
}

impl DeregisterTargets {
    fn plan_lab(&self, env: &LabDescription) -> Result<Vec<Step>, String> {
        let region = env.region(self.region.0);
        let az = self
            .az
            .as_deref()
            .map(|a| super::sever_az::full_az(&region.name, a));
        let mut candidates: Vec<&str> = region
            .targets
            .iter()
            .filter(|t| t.registered && az.as_ref().is_none_or(|a| &t.az == a))
            .map(|t| t.id.as_str())
            .collect();
        // Deterministic choice, so the plan shows exactly what the run will do.
        candidates.sort_unstable();
        let n = self.selection.how_many(candidates.len()).map_err(|e| {
            format!(
                "{e} (registered targets in {}{}); check selection and az",
                region.name,
                az.map(|a| format!(" AZ {a}")).unwrap_or_default()
            )
        })?;
        let targets: Vec<String> = candidates[..n].iter().map(|s| s.to_string()).collect();
        Ok(vec![Step::outage(
            KIND,
            Action::Lab(LabCall::DeregisterTargets {
                region: region.name.clone(),
                targets: targets.clone(),
            }),
            Action::Lab(LabCall::RegisterTargets {
                region: region.name.clone(),
                targets,
            }),
        )])
    }

    async fn plan_aws(&self, env: &AwsEnv) -> Result<Vec<Step>, String> {
        let region = env.description.params.region(self.region.0).to_string();
        let groups = crate::aws::resolve::target_groups(
            &env.clients,
            &region,
            &self.target_groups,
            &self.target_group_tags,
        )
        .await?;
        if groups.is_empty() {
            return Err(format!(
                "no target group in {region} carries the tags {:?}; check target_group_tags",
                self.target_group_tags
            ));
        }
        let az = self
            .az
            .as_deref()
            .map(|a| super::sever_az::full_az(&region, a));
        let candidates: Vec<_> = crate::aws::resolve::candidates(&env.clients, &region, &groups)
            .await?
            .into_iter()
            .filter(|(_, where_)| az.is_none() || where_.as_ref() == az.as_ref())
            .map(|(c, _)| c)
            .collect();
        let n = self.selection.how_many(candidates.len()).map_err(|e| {
            format!(
                "{e} (targets registered in {}{}); check selection and az",
                groups.join(", "),
                az.map(|a| format!(" in {a}")).unwrap_or_default()
            )
        })?;
        // One step per target group, so each undo re-registers exactly its own.
        let mut by_group: BTreeMap<String, Vec<Registration>> = BTreeMap::new();
        for c in &candidates[..n] {
            by_group
                .entry(c.target_group_arn.clone())
                .or_default()
                .push(c.registration.clone());
        }
        Ok(by_group
            .into_iter()
            .map(|(arn, targets)| {
                Step::outage(
                    KIND,
                    Action::Aws(AwsCall::DeregisterTargets {
                        region: region.clone(),
                        target_group_arn: arn.clone(),
                        targets: targets.clone(),
                    }),
                    Action::Aws(AwsCall::RegisterTargets {
                        region: region.clone(),
                        target_group_arn: arn,
                        targets,
                    }),
                )
            })
            .collect())
    }
}
