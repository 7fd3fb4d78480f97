//! The lab's database: one instance per region, the writer replicating
//! asynchronously to the standby, and lab automation that promotes the standby
//! when the writer has been unreachable long enough.
//!
//! Each instance is served over HTTP behind its region's database gate, so an app
//! reaches it (or not) through the same cuttable network as everything else. A
//! write is acked only once the writer holds it; records still inside the
//! replication lag when the writer dies are really gone after the promotion.

use super::truth::Truth;
use super::Role;
use crate::clock::{mono_now, MonoNs};
use crate::net::gate::Gate;
use crate::net::http::{self, Body};
use hyper::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One stored order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Sequence number chosen by the writer of the order (the canary).
    pub seq: u64,
    /// Which canary (run) wrote it; empty for ordinary orders.
    pub canary: String,
    /// When the writer committed it.
    pub committed_at: MonoNs,
}

/// What an instance currently is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DbRole {
    /// Takes writes.
    Writer,
    /// Replays the writer's log after the replication lag; read-only.
    Replica,
    /// A former writer that lost the writer role while down; diverged, read-only.
    Fenced,
}

struct Instance {
    log: Vec<Record>,
    role: DbRole,
    crashed: bool,
}

struct State {
    instances: [Instance; 2],
    writer: Role,
    writer_lost_since: Option<MonoNs>,
}

/// The two-region database cluster.
pub struct Cluster {
    state: Mutex<State>,
    gates: [Gate; 2],
    truth: Arc<Truth>,
    names: [String; 2],
}

/// Public view of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceView {
    /// Writer, replica or fenced.
    pub role: DbRole,
    /// The process is down (fail-database).
    pub crashed: bool,
    /// Records it holds.
    pub records: usize,
}

impl Cluster {
    /// A cluster whose writer is in the primary region.
    pub fn new(gates: [Gate; 2], truth: Arc<Truth>, names: [String; 2]) -> Self {
        let fresh = |role| Instance {
            log: Vec::new(),
            role,
            crashed: false,
        };
        Cluster {
            state: Mutex::new(State {
                instances: [fresh(DbRole::Writer), fresh(DbRole::Replica)],
                writer: Role::Primary,
                writer_lost_since: None,
            }),
            gates,
            truth,
            names,
        }
    }

    /// The region whose instance takes writes (the cluster writer endpoint).
    pub fn writer(&self) -> Role {
        self.state.lock().expect("db lock").writer
    }

    /// The gate in front of a region's instance.
    pub fn gate(&self, role: Role) -> &Gate {
        &self.gates[role.index()]
    }

    /// Snapshot of one instance.
    pub fn view(&self, role: Role) -> InstanceView {
        let s = self.state.lock().expect("db lock");
        let i = &s.instances[role.index()];
        InstanceView {
            role: i.role,
            crashed: i.crashed,
            records: i.log.len(),
        }
    }

    fn reachable(&self, s: &State, role: Role) -> bool {
        !s.instances[role.index()].crashed && self.gates[role.index()].is_open()
    }

    /// Crashes a region's instance: it stops serving and stops shipping its log.
    pub fn crash(&self, role: Role) -> bool {
        let mut s = self.state.lock().expect("db lock");
        let changed = !s.instances[role.index()].crashed;
        s.instances[role.index()].crashed = true;
        changed
    }

    /// Brings a crashed instance back (idempotent) and fails back if needed.
    pub fn recover(&self, role: Role) -> bool {
        let changed = {
            let mut s = self.state.lock().expect("db lock");
            let changed = s.instances[role.index()].crashed;
            s.instances[role.index()].crashed = false;
            changed
        };
        self.reconcile();
        changed
    }

    /// Restores the original topology once the primary region's instance is
    /// reachable again: if the standby was promoted meanwhile, the old writer is
    /// re-seeded from it (nothing acked since the promotion is lost) and takes the
    /// writer role back. This is the lab's failback; on AWS it is its own scenario.
    pub fn reconcile(&self) {
        let mut s = self.state.lock().expect("db lock");
        if s.writer == Role::Primary || !self.reachable(&s, Role::Primary) {
            return;
        }
        let log = s.instances[Role::Secondary.index()].log.clone();
        s.instances[Role::Primary.index()].log = log;
        s.instances[Role::Primary.index()].role = DbRole::Writer;
        s.instances[Role::Secondary.index()].role = DbRole::Replica;
        s.writer = Role::Primary;
        s.writer_lost_since = None;
        drop(s);
        self.truth.record(
            "database-failed-back",
            &self.names[0],
            "primary re-seeded from the promoted standby and writer again",
        );
    }

    /// One step of replication and promotion automation.
    fn tick(&self, lag: Duration, promotion_delay: Duration, auto_promote: bool) {
        let now = mono_now();
        let mut s = self.state.lock().expect("db lock");
        let writer = s.writer;
        let standby = writer.other();
        let writer_ok = self.reachable(&s, writer);
        let standby_ok = self.reachable(&s, standby);
        if writer_ok {
            s.writer_lost_since = None;
            if standby_ok {
                let lag_ns = lag.as_nanos() as u64;
                let (w, r) = pick(&mut s.instances, writer.index(), standby.index());
                while r.log.len() < w.log.len() {
                    let next = &w.log[r.log.len()];
                    if next.committed_at + lag_ns > now {
                        break;
                    }
                    r.log.push(next.clone());
                }
            }
            return;
        }
        let since = *s.writer_lost_since.get_or_insert(now);
        if auto_promote
            && standby_ok
            && s.instances[standby.index()].role == DbRole::Replica
            && now.saturating_sub(since) >= promotion_delay.as_nanos() as u64
        {
            s.instances[standby.index()].role = DbRole::Writer;
            s.instances[writer.index()].role = DbRole::Fenced;
            s.writer = standby;
            s.writer_lost_since = None;
            let lost = s.instances[writer.index()].log.len() as i64
                - s.instances[standby.index()].log.len() as i64;
            drop(s);
            self.truth.record(
                "database-promoted",
                &self.names[standby.index()],
                format!("standby promoted to writer; {lost} unreplicated records left behind"),
            );
        }
    }

    /// Runs replication and promotion until aborted.
    pub fn spawn_automation(
        self: &Arc<Self>,
        lag: Duration,
        promotion_delay: Duration,
        auto_promote: bool,
    ) -> tokio::task::JoinHandle<()> {
        let cluster = self.clone();
        tokio::spawn(async move {
            // 5 ms keeps the replication lag and the promotion instant accurate to
            // well under any probe interval, at negligible CPU.
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            loop {
                tick.tick().await;
                cluster.tick(lag, promotion_delay, auto_promote);
            }
        })
    }

    /// Handles one HTTP request to a region's instance.
    pub async fn handle(
        self: Arc<Self>,
        role: Role,
        req: Request<hyper::body::Incoming>,
    ) -> Response<Body> {
        let (method, path) = http::route(&req);
        match (method, path.as_str()) {
            (Method::GET, "/ping") => {
                let s = self.state.lock().expect("db lock");
                let i = &s.instances[role.index()];
                if i.crashed {
                    return http::respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "down");
                }
                http::respond(StatusCode::OK, "text/plain", format!("{:?}", i.role))
            }
            (Method::POST, "/write") => {
                let body = match http::read_body(req).await {
                    Ok(b) => b,
                    Err(resp) => return resp,
                };
                let Ok(order) = serde_json::from_slice::<WriteRequest>(&body) else {
                    return http::respond(
                        StatusCode::BAD_REQUEST,
                        "text/plain",
                        "expected {\"seq\":N,\"canary\":\"...\"}",
                    );
                };
                let mut s = self.state.lock().expect("db lock");
                let i = &mut s.instances[role.index()];
                if i.crashed {
                    return http::respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "down");
                }
                if i.role != DbRole::Writer {
                    return http::respond(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "text/plain",
                        "read-only",
                    );
                }
                let committed_at = mono_now();
                i.log.push(Record {
                    seq: order.seq,
                    canary: order.canary,
                    committed_at,
                });
                http::json(
                    StatusCode::OK,
                    &serde_json::json!({ "committed_at": committed_at }),
                )
            }
            (Method::GET, "/read") => {
                let canary = http::query_param(&req, "canary");
                let s = self.state.lock().expect("db lock");
                let i = &s.instances[role.index()];
                if i.crashed {
                    return http::respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "down");
                }
                let seqs: Vec<u64> = match canary {
                    Some(c) => i
                        .log
                        .iter()
                        .filter(|r| r.canary == c)
                        .map(|r| r.seq)
                        .collect(),
                    None => i.log.iter().rev().take(1).map(|r| r.seq).collect(),
                };
                http::json(StatusCode::OK, &seqs)
            }
            _ => http::respond(StatusCode::NOT_FOUND, "text/plain", "no such route"),
        }
    }
}

/// Body of a write.
#[derive(Debug, Serialize, Deserialize)]
pub struct WriteRequest {
    /// Sequence number.
    pub seq: u64,
    /// Writer identity.
    #[serde(default)]
    pub canary: String,
}

fn pick<T>(v: &mut [T; 2], a: usize, b: usize) -> (&mut T, &mut T) {
    debug_assert!(a != b);
    let (x, y) = v.split_at_mut(1);
    if a == 0 {
        (&mut x[0], &mut y[0])
    } else {
        (&mut y[0], &mut x[0])
    }
}
