//! `isolate-region`: cut a region off from the health checkers and from the
//! other region, but not from everyone: its database keeps running and stays
//! writable, and a share of customers still reach it. The standby is promoted
//! after `promotion_delay`; whoever still reaches the old region keeps
//! writing to the old writer until it is fenced (split-brain). Undo
//! reconnects it and fails the database back, discarding what only the old
//! writer took.
//!
//! On AWS a region is isolated with a `fis-experiment` of the Cross-Region:
//! Connectivity kind (its start and end go on the timeline).

use super::Fault;
use crate::environment::Env;
use crate::floor::{FailureMode, RecoveryPath};
use crate::lab::database::Fencing;
use crate::lab::LabCall;
use crate::plan::{Action, Step};
use crate::scenario::region::RegionRef;
use crate::scenario::Target;
use serde::{Deserialize, Deserializer};

/// Kind name.
pub const KIND: &str = "isolate-region";

/// `[[faults]] kind = "isolate-region"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IsolateRegion {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    /// Region cut off (default primary).
    #[serde(default)]
    pub region: RegionRef,
    /// Share of customers that still reach it, 0 to 1 (default 1: only the
    /// health checkers and the other region lose it).
    #[serde(default = "all", deserialize_with = "share")]
    pub reachable_share: f64,
    /// When the lab fences the old writer if the standby is promoted:
    /// `"before-promotion"`, `"after:5s"` or `"never"` (default).
    #[serde(default = "never", deserialize_with = "fencing")]
    pub fence_old_writer: Fencing,
    /// Reconnect by itself after this long (default: stay cut off until the
    /// run reverts it), as an FIS cross-region connectivity action ends
    /// after its duration.
    #[serde(default)]
    pub lasts: Option<crate::scenario::duration::HumanDuration>,
}

fn all() -> f64 {
    1.0
}

fn never() -> Fencing {
    Fencing::Never
}

fn share<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    use serde::de::Error;
    let v = f64::deserialize(d)?;
    if !(0.0..=1.0).contains(&v) {
        return Err(D::Error::custom(format!(
            "reachable_share = {v} is not a share; write one from 0 (no customer reaches the region) to 1 (every customer does)"
        )));
    }
    Ok(v)
}

/// Parses `"before-promotion"`, `"after:5s"` or `"never"`.
pub fn parse_fencing(text: &str) -> Result<Fencing, String> {
    let usage = "write fence_old_writer = \"before-promotion\", \"after:5s\" or \"never\"";
    match text.trim() {
        "before-promotion" => Ok(Fencing::BeforePromotion),
        "never" => Ok(Fencing::Never),
        other => {
            let delay = other
                .strip_prefix("after:")
                .ok_or_else(|| format!("\"{text}\" is not a fencing; {usage}"))?;
            let d = humantime::parse_duration(delay.trim()).map_err(|e| {
                format!("\"{delay}\" in \"{text}\" is not a duration ({e}); {usage}")
            })?;
            if d > crate::scenario::duration::MAX_DURATION {
                return Err(format!("\"{text}\" fences after more than 24h; {usage}"));
            }
            Ok(Fencing::After {
                ms: d.as_millis() as u64,
            })
        }
    }
}

fn fencing<'de, D: Deserializer<'de>>(d: D) -> Result<Fencing, D::Error> {
    let text = String::deserialize(d)?;
    parse_fencing(&text).map_err(serde::de::Error::custom)
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Fault>, toml::de::Error> {
    Ok(Box::new(IsolateRegion::deserialize(de)?))
}

#[async_trait::async_trait]
impl Fault for IsolateRegion {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn check_target(&self, target: Target) -> Result<(), (&'static str, String)> {
        match target {
            Target::Lab => Ok(()),
            Target::Aws => Err(super::only_on(
                Target::Lab,
                KIND,
                "on AWS, isolate a region with kind = \"fis-experiment\" and a template of the Cross-Region: Connectivity kind",
            )),
        }
    }

    fn recovery(&self) -> (RecoveryPath, FailureMode) {
        // The health checkers' requests go unanswered.
        (RecoveryPath::DnsFailover, FailureMode::Hang)
    }

    fn data_loss(&self, inputs: &crate::floor::FloorInputs) -> Option<String> {
        if inputs.asynchronous != Some(true) {
            return None;
        }
        Some(if self.leaves_two_writers() {
            let fenced = match self.fence_old_writer {
                Fencing::After { ms } => format!(
                    "is fenced only {} after the promotion, so what it acks meanwhile diverges",
                    humantime::format_duration(std::time::Duration::from_millis(ms))
                ),
                _ => "is never fenced, so what it acks after the promotion diverges".into(),
            };
            format!(
                "with asynchronous replication the writes acked after the region is cut never reach the standby, and the old writer {fenced}; fence it before the promotion (fence_old_writer = \"before-promotion\") and allow the promotion delay in rpo, or replicate synchronously"
            )
        } else {
            "with asynchronous replication the writes acked after the region is cut and before the old writer is fenced never reach the standby; allow the promotion delay in rpo, or replicate synchronously".into()
        })
    }

    async fn plan(&self, env: &Env, _run_id: &str) -> Result<Vec<Step>, String> {
        let env = env.lab().ok_or("isolate-region runs only on the lab")?;
        let region = env.region(self.region.0);
        Ok(vec![Step::outage(
            KIND,
            Action::Lab(LabCall::PartitionRegion {
                region: region.name.clone(),
                reachable_permille: (self.reachable_share * 1000.0).round() as u32,
                fencing: self.fence_old_writer,
                lasts_ms: self.lasts.map(|d| d.get().as_millis() as u64),
            }),
            Action::Lab(LabCall::ReconnectRegion {
                region: region.name.clone(),
            }),
        )])
    }
}

impl IsolateRegion {
    /// Whether the old writer can keep acking writes after the promotion.
    pub fn leaves_two_writers(&self) -> bool {
        self.fence_old_writer != Fencing::BeforePromotion
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fencing_is_written_the_three_ways() {
        assert_eq!(
            parse_fencing("before-promotion"),
            Ok(Fencing::BeforePromotion)
        );
        assert_eq!(parse_fencing("never"), Ok(Fencing::Never));
        assert_eq!(parse_fencing("after:5s"), Ok(Fencing::After { ms: 5000 }));
        assert_eq!(parse_fencing("after:250ms"), Ok(Fencing::After { ms: 250 }));
        for bad in ["soon", "after:", "after:5", "after:-1s", "before"] {
            let e = parse_fencing(bad).unwrap_err();
            assert!(e.contains("before-promotion"), "{bad}: {e}");
        }
    }
}
