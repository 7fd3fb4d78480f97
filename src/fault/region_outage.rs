//! `region-outage`: cut a whole region off (public endpoint, every AZ, its
//! database). Undo reconnects it and fails the database back if needed.

use super::Fault;
use crate::floor::{FailureMode, RecoveryPath};
use crate::lab::{LabCall, LabDescription};
use crate::plan::{Action, Step};
use crate::scenario::region::RegionRef;
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
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Fault>, toml::de::Error> {
    Ok(Box::new(RegionOutage::deserialize(de)?))
}

impl Fault for RegionOutage {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn recovery(&self) -> (RecoveryPath, FailureMode) {
        (RecoveryPath::DnsFailover, FailureMode::Hang)
    }

    fn plan(&self, env: &LabDescription) -> Result<Vec<Step>, String> {
        let region = env.region(self.region.0);
        Ok(vec![Step::outage(
            KIND,
            Action::Lab(LabCall::IsolateRegion {
                region: region.name.clone(),
            }),
            Action::Lab(LabCall::RestoreRegion {
                region: region.name.clone(),
            }),
        )])
    }
}
