//! `sever-az`: drop all traffic of one Availability Zone, as a deny-all network
//! ACL on its subnets would. Undo lets the traffic through again.

use super::Fault;
use crate::floor::{FailureMode, RecoveryPath};
use crate::lab::{LabCall, LabDescription};
use crate::plan::{Action, Step};
use crate::scenario::region::RegionRef;
use serde::Deserialize;

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

impl Fault for SeverAz {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn recovery(&self) -> (RecoveryPath, FailureMode) {
        (RecoveryPath::TargetGroup, FailureMode::Hang)
    }

    fn plan(&self, env: &LabDescription) -> Result<Vec<Step>, String> {
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
}
