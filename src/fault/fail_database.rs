//! `fail-database`: crash a region's database instance. Lab automation promotes
//! the standby after `promotion_delay`; undo restarts the instance and, if the
//! standby was promoted, fails back (re-seeds the old writer from it).

use super::Fault;
use crate::floor::{FailureMode, RecoveryPath};
use crate::lab::{LabCall, LabDescription};
use crate::plan::{Action, Step};
use crate::scenario::duration::HumanDuration;
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
    /// Cut replication this long before the crash, so the writes in between are
    /// lost for real (t0 stays the crash).
    #[serde(default)]
    pub cut_replication_before: Option<HumanDuration>,
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Fault>, toml::de::Error> {
    Ok(Box::new(FailDatabase::deserialize(de)?))
}

impl Fault for FailDatabase {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn recovery(&self) -> (RecoveryPath, FailureMode) {
        // The deep /healthz answers 503 once its database call times out.
        (RecoveryPath::DnsFailover, FailureMode::Error)
    }

    fn plan(&self, env: &LabDescription) -> Result<Vec<Step>, String> {
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
