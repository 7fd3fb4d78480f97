//! `region-outage`: cut a whole region off (public endpoint, every AZ, its
//! database). Undo reconnects it and fails the database back if needed.

use super::Fault;
use crate::environment::Env;
use crate::floor::{FailureMode, RecoveryPath};
use crate::lab::LabCall;
use crate::plan::{Action, Step};
use crate::scenario::region::RegionRef;
use crate::scenario::Target;
use serde::Deserialize;

/// Kind name.
pub const KIND: &str = "region-outage";

/// `[[faults]] kind = "region-outage"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionOutage {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    /// Region that goes dark (default primary).
    #[serde(default)]
    pub region: RegionRef,
    /// How it fails its clients: `silent` (default: every connection hangs,
    /// as behind a deny-all network ACL) or `reset` (every connection is
    /// reset at once, as when the far end's processes are gone).
    #[serde(default)]
    pub mode: OutageMode,
}

/// How a cut-off region fails the connections to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutageMode {
    /// Every connection hangs until its client gives up.
    #[default]
    Silent,
    /// Every connection is reset (TCP RST) at once.
    Reset,
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Fault>, toml::de::Error> {
    Ok(Box::new(RegionOutage::deserialize(de)?))
}

#[async_trait::async_trait]
impl Fault for RegionOutage {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn check_target(&self, target: Target) -> Result<(), (&'static str, String)> {
        match target {
            Target::Lab => Ok(()),
            // A whole region cannot be switched off through an API; FIS can
            // approximate it with a team's own experiment template.
            Target::Aws => Err(super::only_on(
                Target::Lab,
                KIND,
                "on AWS, use kind = \"fis-experiment\" with a template that isolates the region, or sever-az per AZ",
            )),
        }
    }

    fn recovery(&self) -> (RecoveryPath, FailureMode) {
        let mode = match self.mode {
            OutageMode::Silent => FailureMode::Hang,
            OutageMode::Reset => FailureMode::Reset,
        };
        (RecoveryPath::DnsFailover, mode)
    }

    async fn plan(&self, env: &Env, _run_id: &str) -> Result<Vec<Step>, String> {
        let env = env.lab().ok_or("region-outage runs only on the lab")?;
        let region = env.region(self.region.0);
        Ok(vec![Step::outage(
            KIND,
            Action::Lab(LabCall::IsolateRegion {
                region: region.name.clone(),
                reset: self.mode == OutageMode::Reset,
            }),
            Action::Lab(LabCall::RestoreRegion {
                region: region.name.clone(),
            }),
        )])
    }
}
