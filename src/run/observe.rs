//! Drives every probe on its own interval, concurrently, and gathers what they
//! see into the timeline.
//!
//! Each tick starts its observation in its own task, stamped when it starts: a
//! request that hangs for seconds does not delay the next one, so the
//! resolution stays one interval even while the service is down.

use super::progress::Latest;
use crate::clock::{mono_now, Offset};
use crate::probe::{Probe, ProbeContext};
use crate::timeline::{Entry, Observation, What};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

/// At most this many observations of one probe in flight; beyond that a tick is
/// skipped rather than piling up hung requests.
const MAX_IN_FLIGHT: usize = 64;

/// How long stopping waits for the observations still in flight (a canary
/// write committed but not yet acked is evidence); any left after it are
/// dropped.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Running probes.
pub struct Observers {
    tasks: JoinSet<()>,
    /// Tells every probe to stop ticking and finish what is in flight.
    stopping: tokio::sync::watch::Sender<bool>,
    rx: mpsc::UnboundedReceiver<Entry>,
    /// Latest state of each probe, for the live view.
    pub latest: Arc<Mutex<BTreeMap<String, Latest>>>,
    in_flight: InFlight,
}

/// When each observation still in flight started (how many per instant):
/// no entry can arrive stamped before the oldest, so everything before it
/// can be written out in order.
#[derive(Clone, Default)]
struct InFlight(Arc<Mutex<BTreeMap<Offset, usize>>>);

impl InFlight {
    /// Registers an observation started at `at` until the guard drops
    /// (sent, or its task cancelled).
    fn start(&self, at: Offset) -> InFlightGuard {
        *self
            .0
            .lock()
            .expect("in-flight lock")
            .entry(at)
            .or_default() += 1;
        InFlightGuard {
            set: self.clone(),
            at,
        }
    }

    fn oldest(&self) -> Option<Offset> {
        self.0
            .lock()
            .expect("in-flight lock")
            .keys()
            .next()
            .copied()
    }
}

struct InFlightGuard {
    set: InFlight,
    at: Offset,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut map = self.set.0.lock().expect("in-flight lock");
        if let Some(n) = map.get_mut(&self.at) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.at);
            }
        }
    }
}

impl Observers {
    /// Starts every probe.
    pub fn start(probes: &[Arc<dyn Probe>], ctx: Arc<ProbeContext>) -> Observers {
        let (tx, rx) = mpsc::unbounded_channel();
        let latest = Arc::new(Mutex::new(BTreeMap::new()));
        let in_flight = InFlight::default();
        let (stopping, stop_rx) = tokio::sync::watch::channel(false);
        let mut tasks = JoinSet::new();
        for probe in probes {
            let mut stop_rx = stop_rx.clone();
            let probe = probe.clone();
            let ctx = ctx.clone();
            let tx = tx.clone();
            let latest = latest.clone();
            let in_flight = in_flight.clone();
            tasks.spawn(async move {
                let limit = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
                let mut inflight = JoinSet::new();
                let mut tick = tokio::time::interval(probe.interval());
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = stop_rx.wait_for(|stop| *stop) => break,
                    }
                    while inflight.try_join_next().is_some() {}
                    let Ok(permit) = limit.clone().try_acquire_owned() else {
                        continue;
                    };
                    let (probe, ctx, tx, latest) =
                        (probe.clone(), ctx.clone(), tx.clone(), latest.clone());
                    let at = ctx.clock.at(mono_now());
                    let started = in_flight.start(at);
                    inflight.spawn(async move {
                        for o in probe.observe(&ctx, at).await {
                            let key = match &o {
                                Observation::HealthCheck { region, .. } => {
                                    format!("{} {region}", probe.name())
                                }
                                Observation::Customer { class, .. } => {
                                    format!("{} {class}", probe.name())
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
                        drop((permit, started));
                    });
                }
                while inflight.join_next().await.is_some() {}
            });
        }
        Observers {
            tasks,
            stopping,
            rx,
            latest,
            in_flight,
        }
    }

    /// When the oldest observation still in flight started: none that
    /// arrives later is stamped before it.
    pub fn oldest_in_flight(&self) -> Option<Offset> {
        self.in_flight.oldest()
    }

    /// Everything observed since the last drain.
    pub fn drain(&mut self) -> Vec<Entry> {
        let mut out = Vec::new();
        while let Ok(e) = self.rx.try_recv() {
            out.push(e);
        }
        out
    }

    /// Stops every probe: no new tick, and the observations in flight get
    /// up to [`DRAIN`] to finish; any still running then are dropped.
    pub async fn stop(mut self) -> Vec<Entry> {
        let _ = self.stopping.send(true);
        let finished = async { while self.tasks.join_next().await.is_some() {} };
        let _ = tokio::time::timeout(DRAIN, finished).await;
        self.tasks.shutdown().await;
        self.drain()
    }
}
