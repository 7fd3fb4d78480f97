//! The canary's two-writer view on the lab: each tick it asks each region's
//! database instance directly (not through an app) to take one probe write,
//! under its own canary id. The standby taking one marks the promotion; the
//! old writer refusing one marks its fencing. After the run both instances
//! are read back, so writes only the old writer holds are counted from the
//! databases themselves.

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

impl WriterWatch {
    /// Whether the standby has taken a write (promoted) yet.
    pub fn standby_promoted(&self) -> bool {
        self.promoted.load(Ordering::Relaxed)
    }

    /// Asks `region`'s instance to take one probe write; `tick` is when the
    /// observation's tick began (its timestamp).
    pub async fn probe(
        &self,
        lab: &LabEnv,
        region: &str,
        run_id: &str,
        timeout: Duration,
        tick: MonoNs,
    ) -> Observation {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let sent = mono_now();
        let ask = DirectRequest::Write {
            region: region.to_string(),
            seq,
            canary: probe_id(run_id),
            timeout_ms: timeout.as_millis() as u64,
        };
        let error = match tokio::time::timeout(timeout, lab.client.direct(&ask)).await {
            Ok(Ok(answer)) => answer.error,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!("no answer within {timeout:?}")),
        };
        let accepted = error.is_none();
        if accepted && region != Writers::of(lab).old {
            self.promoted.store(true, Ordering::Relaxed);
        }
        Observation::WriterProbe {
            region: region.to_string(),
            accepted,
            sent_after_ns: sent.saturating_sub(tick),
            latency_ns: mono_now() - sent,
            error,
        }
    }

    /// Every customer write `region`'s instance holds, read directly.
    pub async fn read(lab: &LabEnv, region: &str, run_id: &str) -> Result<Vec<u64>, String> {
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
}
