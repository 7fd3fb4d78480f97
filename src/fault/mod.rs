//! Faults: each breaks one thing and knows how to undo it.
//!
//! One file per fault, registered by name in [`REGISTRY`]; adding a fault is
//! adding a file and one line there. A fault only resolves into [`Step`]s (change
//! plus undo); the run applies them, journaled, so every fault gets the same
//! crash safety for free.

pub mod deregister_targets;
pub mod fail_database;
pub mod fis_experiment;
pub mod isolate_region;
pub mod region_outage;
pub mod sever_az;
pub mod stop_instances;

use crate::environment::Env;
use crate::floor::{FailureMode, RecoveryPath};
use crate::plan::Step;
use crate::scenario::Target;
use toml::de::ValueDeserializer;

/// One kind of breakage.
#[async_trait::async_trait]
pub trait Fault: Send + Sync + std::fmt::Debug {
    /// Its kind, as written in scenarios.
    fn kind(&self) -> &'static str;
    /// Whether it can run on `target` as written; else the key at fault and why.
    fn check_target(&self, _target: Target) -> Result<(), (&'static str, String)> {
        Ok(())
    }
    /// Resolves to concrete changes with undos against the environment, or says
    /// why not. Reads only; `run_id` tags what the run will create.
    async fn plan(&self, env: &Env, run_id: &str) -> Result<Vec<Step>, String>;
    /// How the outage it causes ends, and how health checks fail meanwhile:
    /// what its floor is computed from.
    fn recovery(&self) -> (RecoveryPath, FailureMode);
    /// Why this fault must lose acked writes under `inputs`, if it must
    /// (what makes `rpo = "0s"` impossible).
    fn data_loss(&self, _inputs: &crate::floor::FloorInputs) -> Option<String> {
        None
    }
}

/// Builds a fault from its scenario table.
pub type Parse = fn(ValueDeserializer<'_>) -> Result<Box<dyn Fault>, toml::de::Error>;

/// Every fault, by the kind scenarios name it with.
pub const REGISTRY: &[(&str, Parse)] = &[
    (deregister_targets::KIND, deregister_targets::parse),
    (sever_az::KIND, sever_az::parse),
    (fail_database::KIND, fail_database::parse),
    (region_outage::KIND, region_outage::parse),
    (isolate_region::KIND, isolate_region::parse),
    (stop_instances::KIND, stop_instances::parse),
    (fis_experiment::KIND, fis_experiment::parse),
];

/// The key and message for a fault that only runs on one target.
pub fn only_on(target: Target, kind: &str, hint: &str) -> (&'static str, String) {
    (
        "kind",
        format!(
            "{kind} runs only with target = \"{}\"; {hint}",
            target.as_str()
        ),
    )
}

/// The key and message for an option that applies to the other target.
pub fn option_for(key: &'static str, target: Target) -> (&'static str, String) {
    (
        key,
        format!(
            "{key} applies only with target = \"{}\"; remove it",
            target.as_str()
        ),
    )
}
