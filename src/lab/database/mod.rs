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

/// When the lab's promotion automation fences the old writer of an isolated
/// region (makes it refuse writes). Writes it acks between the promotion and
/// the fencing are divergent: they exist only on the old side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "when", rename_all = "kebab-case")]
pub enum Fencing {
    /// Fenced just before the standby is promoted, as a STONITH step in a
    /// promotion script does: no divergent writes.
    BeforePromotion,
    /// Fenced this long after the promotion.
    After {
        /// Delay after the promotion, ms.
        ms: u64,
    },
    /// Never fenced while isolated: it takes writes until the region is reconnected.
    Never,
}

impl std::fmt::Display for Fencing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fencing::BeforePromotion => f.write_str("before-promotion"),
            Fencing::After { ms } => write!(
                f,
                "after:{}",
                humantime::format_duration(Duration::from_millis(*ms))
            ),
            Fencing::Never => f.write_str("never"),
        }
    }
}

/// A region cut off from the health checkers and from the other region (its
/// database keeps running and stays writable for its own apps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Isolation {
    /// The region cut off.
    pub region: Role,
    /// When its writer is fenced if the standby is promoted meanwhile.
    pub fencing: Fencing,
    /// When the standby was promoted during this isolation.
    pub promoted_at: Option<crate::clock::MonoNs>,
}

impl Isolation {
    /// Starts an isolation of `region`.
    pub fn new(region: Role, fencing: Fencing) -> Self {
        Isolation {
            region,
            fencing,
            promoted_at: None,
        }
    }

    /// Whether `next` is a different isolation (region or fencing) from `now`.
    pub fn differs(now: Option<Isolation>, next: Option<Isolation>) -> bool {
        now.map(|i| (i.region, i.fencing)) != next.map(|i| (i.region, i.fencing))
    }

    /// Whether `role`'s instance is cut off from the other region.
    pub fn cuts(iso: Option<&Isolation>, role: Role) -> bool {
        iso.is_some_and(|i| i.region == role)
    }

    /// The instance an app in `from` writes to: its own region's when `from`
    /// is isolated (the only one it can reach, whatever it has become);
    /// `None` when the writer is on the far side of the cut.
    pub fn writer_for(iso: Option<&Isolation>, writer: Role, from: Role) -> Option<Role> {
        match iso {
            Some(i) if i.region == from => Some(from),
            Some(i) if i.region == writer => None,
            _ => Some(writer),
        }
    }

    /// Whether the old writer is due to be fenced at `now`.
    pub fn fence_due(&self, now: crate::clock::MonoNs) -> bool {
        match (self.fencing, self.promoted_at) {
            (Fencing::After { ms }, Some(at)) => now >= at + ms * 1_000_000,
            _ => false,
        }
    }
}

/// One canary record the old writer held and the promoted standby did not,
/// read from both instances before the failback discards it (ground truth).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discarded {
    /// The canary (run) that wrote it.
    pub canary: String,
    /// Its sequence number.
    pub seq: u64,
    /// When the old writer committed it, on the lab's monotonic clock.
    pub committed_at: crate::clock::MonoNs,
    /// Committed after the standby's promotion: divergent (else lost).
    pub after_promotion: bool,
}

/// Canary records the old writer holds and the promoted standby lacks, each
/// `(canary, seq, committed_at)` as the engine stores it, marked by whether
/// it was committed after `promoted_at`. Ordinary orders (no canary) are
/// left out.
pub fn discarded(
    old: Vec<(String, u64, crate::clock::MonoNs)>,
    new: Vec<(String, u64, crate::clock::MonoNs)>,
    promoted_at: crate::clock::MonoNs,
) -> Vec<Discarded> {
    let kept: std::collections::HashSet<(String, u64)> = new
        .into_iter()
        .map(|(canary, seq, _)| (canary, seq))
        .collect();
    old.into_iter()
        .filter(|(canary, seq, _)| !canary.is_empty() && !kept.contains(&(canary.clone(), *seq)))
        .map(|(canary, seq, committed_at)| Discarded {
            canary,
            seq,
            committed_at,
            after_promotion: committed_at > promoted_at,
        })
        .collect()
}

/// The truth event's detail: every discarded canary record, as JSON.
pub fn discarded_detail(records: &[Discarded]) -> String {
    serde_json::json!({ "discarded": records }).to_string()
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
    /// Isolates a region (or, with `None`, reconnects whichever is isolated):
    /// replication stops, the standby sees the writer as gone (and is
    /// promoted after `promotion_delay`), apps reach only their own region's
    /// instance. Returns whether it changed. Reconnecting does not fail back:
    /// [`Database::reconcile`] does.
    async fn set_isolation(&self, isolation: Option<Isolation>) -> Result<bool, String>;
    /// The isolation in force, if any.
    fn isolation(&self) -> Option<Isolation>;
    /// The instance an app in `from` writes to, or `None` when the writer is
    /// across a cut link.
    fn writer_for(&self, from: Role) -> Option<Role> {
        Isolation::writer_for(self.isolation().as_ref(), self.writer(), from)
    }
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
