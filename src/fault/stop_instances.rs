//! `stop-instances` (AWS): stop the chosen running instances; undo starts
//! exactly the instances it stopped.

use super::Fault;
use crate::aws::call::AwsCall;
use crate::environment::Env;
use crate::floor::{FailureMode, RecoveryPath};
use crate::plan::{Action, Step};
use crate::scenario::region::RegionRef;
use crate::scenario::selection::Selection;
use crate::scenario::Target;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Kind name.
pub const KIND: &str = "stop-instances";

/// `[[faults]] kind = "stop-instances"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopInstances {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    /// Region (default primary).
    #[serde(default)]
    pub region: RegionRef,
    /// These instances.
    #[serde(default)]
    pub instance_ids: Vec<String>,
    /// Or the running instances carrying all these tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Only instances in this AZ (`a` or the full name).
    #[serde(default)]
    pub az: Option<String>,
    /// Which of the matching instances: all, count:N, percent:P (default all).
    #[serde(default)]
    pub selection: Selection,
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Fault>, toml::de::Error> {
    Ok(Box::new(StopInstances::deserialize(de)?))
}

#[async_trait::async_trait]
impl Fault for StopInstances {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn check_target(&self, target: Target) -> Result<(), (&'static str, String)> {
        match target {
            Target::Lab => Err(super::only_on(
                Target::Aws,
                KIND,
                "on the lab, use deregister-targets or sever-az",
            )),
            Target::Aws if self.instance_ids.is_empty() && self.tags.is_empty() => Err((
                "kind",
                "say which instances: instance_ids = [\"i-...\"] or tags = { Service = \"app\" }"
                    .into(),
            )),
            Target::Aws => Ok(()),
        }
    }

    fn recovery(&self) -> (RecoveryPath, FailureMode) {
        // A stopped instance refuses connections: its targets fail their checks.
        if self.selection == Selection::All && self.az.is_none() {
            (RecoveryPath::DnsFailover, FailureMode::Error)
        } else {
            (RecoveryPath::TargetGroup, FailureMode::Error)
        }
    }

    async fn plan(&self, env: &Env, _run_id: &str) -> Result<Vec<Step>, String> {
        let aws = env.aws().ok_or("stop-instances runs only on AWS")?;
        let region = aws.description.params.region(self.region.0).to_string();
        let az = self
            .az
            .as_deref()
            .map(|a| super::sever_az::full_az(&region, a));
        let running: Vec<String> = crate::aws::resolve::instances(
            &aws.clients,
            &region,
            &self.instance_ids,
            &self.tags,
            &["running"],
        )
        .await?
        .into_iter()
        .filter(|i| az.as_ref().is_none_or(|a| &i.az == a))
        .map(|i| i.id)
        .collect();
        let n = self.selection.how_many(running.len()).map_err(|e| {
            format!(
                "{e} (running instances in {region}{}); check instance_ids, tags, az and selection",
                az.map(|a| format!(" {a}")).unwrap_or_default()
            )
        })?;
        let chosen = running[..n].to_vec();
        Ok(vec![Step::outage(
            KIND,
            Action::Aws(AwsCall::StopInstances {
                region: region.clone(),
                instance_ids: chosen.clone(),
            }),
            Action::Aws(AwsCall::StartInstances {
                region,
                instance_ids: chosen,
            }),
        )])
    }
}
