//! `deregister-targets`: remove targets from a region's ALB target group.
//! Undo registers exactly the same targets again.

use super::Fault;
use crate::floor::{FailureMode, RecoveryPath};
use crate::lab::{LabCall, LabDescription};
use crate::plan::{Action, Step};
use crate::scenario::region::RegionRef;
use crate::scenario::selection::Selection;
use serde::Deserialize;

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
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Fault>, toml::de::Error> {
    Ok(Box::new(DeregisterTargets::deserialize(de)?))
}

impl Fault for DeregisterTargets {
    fn kind(&self) -> &'static str {
        KIND
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

    fn plan(&self, env: &LabDescription) -> Result<Vec<Step>, String> {
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
}
