//! Drives every probe on its own interval, concurrently, and gathers what they
//! see into the timeline.
//!
//! Each tick starts its observation in its own task, stamped when it starts: a
//! request that hangs for seconds does not delay the next one, so the
//! resolution stays one interval even while the service is down.

use super::progress::Latest;
use crate::clock::mono_now;
use crate::probe::{Probe, ProbeContext};
use crate::timeline::{Entry, Observation, What};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

/// At most this many observations of one probe in flight; beyond that a tick is
/// skipped rather than piling up hung requests.
const MAX_IN_FLIGHT: usize = 64;

/// Running probes.
pub struct Observers {
    tasks: JoinSet<()>,
    rx: mpsc::UnboundedReceiver<Entry>,
    /// Latest state of each probe, for the live view.
    pub latest: Arc<Mutex<BTreeMap<String, Latest>>>,
}

impl Observers {
    /// Starts every probe.
    pub fn start(probes: &[Arc<dyn Probe>], ctx: Arc<ProbeContext>) -> Observers {
        let (tx, rx) = mpsc::unbounded_channel();
        let latest = Arc::new(Mutex::new(BTreeMap::new()));
        let mut tasks = JoinSet::new();
        for probe in probes {
            let probe = probe.clone();
            let ctx = ctx.clone();
            let tx = tx.clone();
            let latest = latest.clone();
            tasks.spawn(async move {
                let limit = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
                let mut inflight = JoinSet::new();
                let mut tick = tokio::time::interval(probe.interval());
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    tick.tick().await;
                    while inflight.try_join_next().is_some() {}
                    let Ok(permit) = limit.clone().try_acquire_owned() else {
                        continue;
                    };
                    let (probe, ctx, tx, latest) =
                        (probe.clone(), ctx.clone(), tx.clone(), latest.clone());
                    inflight.spawn(async move {
                        let at = ctx.clock.at(mono_now());
                        for o in probe.observe(&ctx).await {
                            let key = match &o {
                                Observation::HealthCheck { region, .. } => {
                                    format!("{} {region}", probe.name())
                                }
                                _ => probe.name().to_string(),
                            };
                            let seen = Latest {
                                text: o.summary(),
                                good: o.good(),
                            };
                            latest.lock().expect("latest lock").insert(key, seen);
                            let _ = tx.send(Entry {
                                at,
                                source: probe.name().to_string(),
                                what: What::Observation(o),
                            });
                        }
                        drop(permit);
                    });
                }
            });
        }
        Observers { tasks, rx, latest }
    }

    /// Everything observed since the last drain.
    pub fn drain(&mut self) -> Vec<Entry> {
        let mut out = Vec::new();
        while let Ok(e) = self.rx.try_recv() {
            out.push(e);
        }
        out
    }

    /// Stops every probe; observations still in flight are dropped.
    pub async fn stop(mut self) -> Vec<Entry> {
        self.tasks.shutdown().await;
        self.drain()
    }
}
