//! The lab's database: one instance per region, the writer replicating to the
//! standby, and lab automation that promotes the standby when the writer has
//! been unreachable for `promotion_delay`.
//!
//! Two engines sit behind one trait: the embedded one (in process, replication
//! lag modelled exactly) and real PostgreSQL streaming replication. Apps reach
//! either through their region's database gate, so a severed region or a
//! crashed instance looks the same to them.

pub mod embedded;
pub mod postgres;

use crate::net::gate::Gate;
use crate::words::Role;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What an instance currently is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DbRole {
    /// Takes writes.
    Writer,
    /// Replays the writer's log; read-only.
    Replica,
    /// A former writer that lost the writer role while down; diverged, read-only.
    Fenced,
}

/// Public view of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceView {
    /// Writer, replica or fenced.
    pub role: DbRole,
    /// The process is down (fail-database).
    pub crashed: bool,
    /// Records it holds (embedded engine only; PostgreSQL is not asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<usize>,
}

/// Which engine runs the lab's database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// In process, no dependencies (default).
    #[default]
    Embedded,
    /// Real PostgreSQL streaming replication (needs the server binaries).
    Postgres,
}

/// How the writer replicates to the standby.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Replication {
    /// The writer acks before the standby has the write (default).
    #[default]
    Async,
    /// The writer acks only once the standby has flushed the write.
    Sync,
}

/// The lab's two-region database, whichever engine runs it.
#[async_trait::async_trait]
pub trait Database: Send + Sync {
    /// The region whose instance takes writes (the cluster writer endpoint).
    fn writer(&self) -> Role;
    /// Snapshot of one instance.
    fn view(&self, role: Role) -> InstanceView;
    /// The gate apps reach a region's instance through.
    fn gate(&self, role: Role) -> &Gate;
    /// The gate the replication stream crosses, where there is one.
    fn replication_gate(&self) -> Option<&Gate> {
        None
    }
    /// A libpq passfile for reading the database directly, when it needs a password.
    fn passfile(&self) -> Option<std::path::PathBuf> {
        None
    }
    /// The CA that signed the database's TLS certificate, when it serves TLS.
    fn ca_file(&self) -> Option<std::path::PathBuf> {
        None
    }
    /// Holds on the replication link (non-empty: nothing replicates).
    fn replication_holds(&self) -> Vec<String>;
    /// Crashes a region's instance at once. Returns whether it was running.
    async fn crash(&self, role: Role) -> Result<bool, String>;
    /// Restarts a crashed instance, then fails back if needed. Returns whether it was down.
    async fn recover(&self, role: Role) -> Result<bool, String>;
    /// Restores the original topology once the primary region's instance is
    /// reachable again: if the standby was promoted meanwhile, the old writer is
    /// re-seeded from it and takes the writer role back (the lab's failback).
    async fn reconcile(&self) -> Result<(), String>;
    /// Cuts (or restores) replication from the writer to the standby. Returns whether it changed.
    async fn set_replication_cut(&self, cut: bool) -> Result<bool, String>;
    /// Replication and promotion automation, until aborted.
    fn spawn_automation(self: std::sync::Arc<Self>) -> tokio::task::JoinHandle<()>;
    /// Stops every instance and removes what the engine created on disk.
    fn shutdown(&self);

    /// App side: whether a region's instance answers.
    async fn ping(&self, role: Role, timeout: Duration) -> Result<(), String>;
    /// App side: writes one order to a region's instance; Ok once committed there.
    async fn write(
        &self,
        role: Role,
        seq: u64,
        canary: &str,
        timeout: Duration,
    ) -> Result<(), String>;
    /// App side: the newest order's sequence number, if any.
    async fn latest(&self, role: Role, timeout: Duration) -> Result<Vec<u64>, String>;
    /// App side: every sequence number a canary wrote.
    async fn canary(&self, role: Role, canary: &str, timeout: Duration)
        -> Result<Vec<u64>, String>;
}
