//! The canary's two-writer view: each tick it asks each region's database
//! instance directly (not through an app) to take one probe write, under its
//! own canary id: on the lab through the control API, on AWS through a
//! connection of its own to each writer endpoint. The standby taking one marks the promotion; the
//! old writer refusing one marks its fencing. After the run both instances
//! are read back, so writes only the old writer holds are counted from the
//! databases themselves.

use super::postgres::{Connection, Refusal};
use crate::clock::{mono_now, MonoNs};
use crate::environment::LabEnv;
use crate::lab::control::DirectRequest;
use crate::timeline::Observation;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Both writers, watched.
#[derive(Default)]
pub struct WriterWatch {
    next_seq: AtomicU64,
    promoted: AtomicBool,
}

/// The two instances: the writer when the run began and its standby.
pub struct Writers<'a> {
    /// The writer region before the fault.
    pub old: &'a str,
    /// The other region.
    pub standby: &'a str,
}

impl<'a> Writers<'a> {
    /// The lab's writer region and the other one.
    pub fn of(lab: &'a LabEnv) -> Self {
        let old = lab.writer_region.as_str();
        let standby = lab
            .regions
            .iter()
            .map(|r| r.name.as_str())
            .find(|r| *r != old)
            .unwrap_or(old);
        Writers { old, standby }
    }
}

/// The canary id probe writes go under, apart from customers' writes.
pub fn probe_id(run_id: &str) -> String {
    format!("{run_id}.writer-probe")
}

/// One writer instance, where probe writes and the read-back go.
#[derive(Clone, Copy)]
pub enum Instance<'a> {
    /// A lab region's instance, through the control API.
    Lab {
        /// The lab.
        lab: &'a LabEnv,
        /// The instance's region.
        region: &'a str,
    },
    /// An AWS writer (or standby) through its own connection.
    Postgres {
        /// The connection.
        connection: &'a Connection,
        /// The region it is in.
        region: &'a str,
    },
}

impl Instance<'_> {
    /// The region the instance is in.
    pub fn region(&self) -> &str {
        match self {
            Instance::Lab { region, .. } | Instance::Postgres { region, .. } => region,
        }
    }

    /// One probe write under `canary`.
    async fn write(&self, canary: &str, seq: u64, timeout: Duration) -> Result<(), Refusal> {
        match self {
            Instance::Lab { lab, region } => {
                let ask = DirectRequest::Write {
                    region: region.to_string(),
                    seq,
                    canary: canary.to_string(),
                    timeout_ms: timeout.as_millis() as u64,
                };
                match lab.client.direct(&ask).await {
                    Ok(answer) => answer.error.map_or(Ok(()), |e| Err(Refusal::Refused(e))),
                    Err(e) => Err(Refusal::Unreached(e.to_string())),
                }
            }
            Instance::Postgres { connection, .. } => connection.insert(canary, seq).await,
        }
    }

    /// Every customer write of `run_id` the instance holds, read directly.
    pub async fn read(&self, run_id: &str) -> Result<Vec<u64>, String> {
        match self {
            Instance::Lab { lab, region } => {
                let ask = DirectRequest::Read {
                    region: region.to_string(),
                    canary: run_id.to_string(),
                    timeout_ms: 2000,
                };
                let answer = lab.client.direct(&ask).await.map_err(|e| e.to_string())?;
                match answer.error {
                    Some(e) => Err(e),
                    None => Ok(answer.seqs),
                }
            }
            Instance::Postgres { connection, .. } => connection.read_back(run_id).await,
        }
    }
}

impl WriterWatch {
    /// Whether the standby has taken a write (promoted) yet.
    pub fn standby_promoted(&self) -> bool {
        self.promoted.load(Ordering::Relaxed)
    }

    /// Asks `instance` to take one probe write; `standby` when it is the
    /// standby; `tick` is when the observation's tick began (its timestamp).
    /// A write that got no answer (a timeout, a broken connection) says
    /// nothing about whether the instance takes writes, and is marked so.
    pub async fn probe(
        &self,
        instance: Instance<'_>,
        standby: bool,
        run_id: &str,
        timeout: Duration,
        tick: MonoNs,
    ) -> Observation {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let sent = mono_now();
        let outcome =
            tokio::time::timeout(timeout, instance.write(&probe_id(run_id), seq, timeout))
                .await
                .unwrap_or_else(|_| {
                    Err(Refusal::Unreached(format!("no answer within {timeout:?}")))
                });
        if outcome.is_ok() && standby {
            self.promoted.store(true, Ordering::Relaxed);
        }
        if let (Err(Refusal::Unreached(_)), Instance::Postgres { connection, .. }) =
            (&outcome, instance)
        {
            connection.reset().await;
        }
        Observation::WriterProbe {
            region: instance.region().to_string(),
            accepted: outcome.is_ok(),
            unreached: matches!(outcome, Err(Refusal::Unreached(_))),
            sent_after_ns: sent.saturating_sub(tick),
            latency_ns: mono_now() - sent,
            error: outcome.err().map(|r| r.text().to_string()),
        }
    }
}
