//! Faults: each breaks one thing and knows how to undo it.
//!
//! One file per fault, registered by name in [`REGISTRY`]; adding a fault is
//! adding a file and one line there. A fault only resolves into [`Step`]s (change
//! plus undo); the run applies them, journaled, so every fault gets the same
//! crash safety for free.

pub mod deregister_targets;
pub mod fail_database;
pub mod region_outage;
pub mod sever_az;

use crate::floor::{FailureMode, RecoveryPath};
use crate::lab::LabDescription;
use crate::plan::Step;
use toml::de::ValueDeserializer;

/// One kind of breakage.
pub trait Fault: Send + Sync + std::fmt::Debug {
    /// Its kind, as written in scenarios.
    fn kind(&self) -> &'static str;
    /// Resolves to concrete changes with undos against the environment, or says why not.
    fn plan(&self, env: &LabDescription) -> Result<Vec<Step>, String>;
    /// How the outage it causes ends, and how health checks fail meanwhile:
    /// what its floor is computed from.
    fn recovery(&self) -> (RecoveryPath, FailureMode);
}

/// Builds a fault from its scenario table.
pub type Parse = fn(ValueDeserializer<'_>) -> Result<Box<dyn Fault>, toml::de::Error>;

/// Every fault, by the kind scenarios name it with.
pub const REGISTRY: &[(&str, Parse)] = &[
    (deregister_targets::KIND, deregister_targets::parse),
    (sever_az::KIND, sever_az::parse),
    (fail_database::KIND, fail_database::parse),
    (region_outage::KIND, region_outage::parse),
];
