//! `fis-experiment` (AWS): start an AWS FIS experiment from a template. t0 is
//! when its first action starts, not when the API answers; undo stops the
//! run's experiment if it still runs (an abort stops it too, through the undo).

use super::Fault;
use crate::aws::call::AwsCall;
use crate::aws::error::explain;
use crate::environment::Env;
use crate::floor::{FailureMode, RecoveryPath};
use crate::plan::{Action, Step};
use crate::scenario::region::RegionRef;
use crate::scenario::Target;
use serde::Deserialize;

/// Kind name.
pub const KIND: &str = "fis-experiment";

/// `[[faults]] kind = "fis-experiment"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FisExperiment {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    /// Region the template lives in (default primary).
    #[serde(default)]
    pub region: RegionRef,
    /// Experiment template id (`EXT...`).
    pub template_id: String,
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Fault>, toml::de::Error> {
    Ok(Box::new(FisExperiment::deserialize(de)?))
}

#[async_trait::async_trait]
impl Fault for FisExperiment {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn check_target(&self, target: Target) -> Result<(), (&'static str, String)> {
        match target {
            Target::Lab => Err(super::only_on(
                Target::Aws,
                KIND,
                "on the lab, use region-outage, sever-az, deregister-targets or fail-database",
            )),
            Target::Aws if self.template_id.trim().is_empty() => Err((
                "template_id",
                "template_id is empty; give the FIS experiment template id (EXT...)".into(),
            )),
            Target::Aws => Ok(()),
        }
    }

    fn recovery(&self) -> (RecoveryPath, FailureMode) {
        // What a template breaks is the team's; the floor assumes the
        // quickest regional failover, so it never overstates the minimum.
        (RecoveryPath::DnsFailover, FailureMode::Error)
    }

    async fn plan(&self, env: &Env, run_id: &str) -> Result<Vec<Step>, String> {
        let aws = env.aws().ok_or("fis-experiment runs only on AWS")?;
        let region = aws.description.params.region(self.region.0).to_string();
        let template = aws
            .clients
            .region(&region)
            .fis
            .get_experiment_template()
            .id(&self.template_id)
            .send()
            .await
            .map_err(|e| {
                explain(
                    &format!(
                        "reading FIS experiment template {} in {region}",
                        self.template_id
                    ),
                    "fis:GetExperimentTemplate",
                    &e,
                )
            })?;
        let params = &aws.description.params;
        if let Some(t) = template.experiment_template() {
            within_scope(t, &params.allowed_accounts, &params.regions_allowed()).map_err(|why| {
                format!(
                    "template {} reaches outside the scenario's scope: {why}; FIS would act there with its own role, so gameday refuses it",
                    self.template_id
                )
            })?;
        }
        Ok(vec![Step::outage(
            KIND,
            Action::Aws(AwsCall::StartExperiment {
                region: region.clone(),
                template_id: self.template_id.clone(),
                run_id: run_id.to_string(),
            }),
            Action::Aws(AwsCall::StopExperiment {
                region,
                template_id: self.template_id.clone(),
                run_id: run_id.to_string(),
            }),
        )])
    }
}

/// FIS action parameters that name another region (cross-region actions).
const REGION_PARAMETERS: [&str; 2] = ["region", "regions"];

/// Whether everything a template can act on is inside the allowed accounts
/// and regions: it targets one account, every target ARN is inside, and no
/// action or target parameter names a region outside.
pub fn within_scope(
    t: &aws_sdk_fis::types::ExperimentTemplate,
    accounts: &[String],
    regions: &[String],
) -> Result<(), String> {
    use aws_sdk_fis::types::AccountTargeting;
    let targeting = t.experiment_options().and_then(|o| o.account_targeting());
    if targeting == Some(&AccountTargeting::MultiAccount)
        || t.target_account_configurations_count().unwrap_or(0) > 0
    {
        return Err("it targets several accounts (multi-account experiment options)".into());
    }
    for (name, target) in t.targets().into_iter().flatten() {
        for arn in target.resource_arns() {
            if let Some(why) = crate::aws::arn::outside(arn, accounts, regions) {
                return Err(format!("target {name}: {why}"));
            }
        }
        outside_regions(&format!("target {name}"), target.parameters(), regions)?;
    }
    for (name, action) in t.actions().into_iter().flatten() {
        outside_regions(&format!("action {name}"), action.parameters(), regions)?;
    }
    Ok(())
}

fn outside_regions(
    what: &str,
    parameters: Option<&std::collections::HashMap<String, String>>,
    regions: &[String],
) -> Result<(), String> {
    for (key, value) in parameters.into_iter().flatten() {
        if !REGION_PARAMETERS.contains(&key.as_str()) {
            continue;
        }
        for region in value.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            if !regions.iter().any(|r| r == region) {
                return Err(format!(
                    "{what} parameter {key} names {region}, not in the allowed regions [{}]",
                    regions.join(", ")
                ));
            }
        }
    }
    Ok(())
}
