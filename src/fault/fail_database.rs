//! `fail-database`: crash a region's database instance. Lab automation promotes
//! the standby after `promotion_delay`; undo restarts the instance and, if the
//! standby was promoted, fails back (re-seeds the old writer from it).

use super::Fault;
use crate::lab::{LabCall, LabDescription};
use crate::plan::{Action, Step};
use crate::scenario::region::RegionRef;
use serde::Deserialize;

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
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Fault>, toml::de::Error> {
    Ok(Box::new(FailDatabase::deserialize(de)?))
}

impl Fault for FailDatabase {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn plan(&self, env: &LabDescription) -> Result<Vec<Step>, String> {
        let region = env.region(self.region.0);
        if region.database.crashed {
            return Err(format!(
                "the {} database is already down; revert the previous run first (gameday revert)",
                region.name
            ));
        }
        Ok(vec![Step {
            fault: KIND.into(),
            apply: Action::Lab(LabCall::FailDatabase {
                region: region.name.clone(),
            }),
            undo: Action::Lab(LabCall::RestoreDatabase {
                region: region.name.clone(),
            }),
        }])
    }
}
