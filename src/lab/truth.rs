//! The lab's ground truth: when each change really took effect, on the shared
//! monotonic clock. Measurements are judged against it.

use crate::clock::{mono_now, MonoNs};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// One thing that really happened in the lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthEvent {
    /// When it took effect.
    pub at: MonoNs,
    /// What happened: `targets-deregistered`, `health-check-unhealthy`, `dns-answer-changed`, ...
    pub kind: String,
    /// The region it happened in.
    pub region: String,
    /// Specifics (target ids, new answer, ...).
    pub detail: String,
}

/// Append-only ground-truth log.
#[derive(Default)]
pub struct Truth {
    events: Mutex<Vec<TruthEvent>>,
}

impl Truth {
    /// Records an event now and returns its stamp.
    pub fn record(&self, kind: &str, region: &str, detail: impl Into<String>) -> MonoNs {
        self.record_at(mono_now(), kind, region, detail)
    }

    /// Records an event that took effect at `at` (a change whose effect came
    /// before the work that completed it) and returns that stamp.
    pub fn record_at(
        &self,
        at: MonoNs,
        kind: &str,
        region: &str,
        detail: impl Into<String>,
    ) -> MonoNs {
        let mut events = self.events.lock().expect("truth lock");
        let pos = events.partition_point(|e| e.at <= at);
        events.insert(
            pos,
            TruthEvent {
                at,
                kind: kind.to_string(),
                region: region.to_string(),
                detail: detail.into(),
            },
        );
        at
    }

    /// Every event so far, in order.
    pub fn events(&self) -> Vec<TruthEvent> {
        self.events.lock().expect("truth lock").clone()
    }
}
