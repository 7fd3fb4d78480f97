//! The embedded database engine: in process, one instance per region, each
//! served over HTTP behind its region's database gate. The writer's log reaches
//! the standby `replication_lag` after each commit; a write is acked once the
//! writer holds it, so records still inside the lag when the writer dies are
//! really gone after the promotion.

use super::{Database, DbRole, Fencing, InstanceView, Isolation};
use crate::clock::{mono_now, MonoNs};
use crate::lab::truth::Truth;
use crate::net::gate::Gate;
use crate::net::http::{self, Body};
use crate::words::Role;
use bytes::Bytes;
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

struct Instance {
    log: Vec<Record>,
    role: DbRole,
    crashed: bool,
}

struct State {
    instances: [Instance; 2],
    writer: Role,
    writer_lost_since: Option<MonoNs>,
    replication_cut: bool,
    isolation: Option<Isolation>,
    /// When the standby was last promoted (until the failback).
    promoted_at: Option<MonoNs>,
}

/// Replication and promotion settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Delay from commit on the writer to the record on the standby.
    pub lag: Duration,
    /// How long the writer must be unreachable before the standby is promoted.
    pub promotion_delay: Duration,
    /// Whether lab automation promotes at all.
    pub auto_promote: bool,
    /// Synchronous replication: a write is acked only once the standby has it.
    pub synchronous: bool,
}

/// The two-region embedded database.
pub struct Cluster {
    state: Mutex<State>,
    gates: [Gate; 2],
    truth: Arc<Truth>,
    names: [String; 2],
    settings: Settings,
}

impl Cluster {
    /// A cluster whose writer is in the primary region.
    pub fn new(
        gates: [Gate; 2],
        truth: Arc<Truth>,
        names: [String; 2],
        settings: Settings,
    ) -> Self {
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
                replication_cut: false,
                isolation: None,
                promoted_at: None,
            }),
            gates,
            truth,
            names,
            settings,
        }
    }

    fn reachable(&self, s: &State, role: Role) -> bool {
        !s.instances[role.index()].crashed && self.gates[role.index()].is_open()
    }

    fn crash_now(&self, role: Role) -> bool {
        let mut s = self.state.lock().expect("db lock");
        let changed = !s.instances[role.index()].crashed;
        s.instances[role.index()].crashed = true;
        changed
    }

    fn recover_now(&self, role: Role) -> bool {
        let changed = {
            let mut s = self.state.lock().expect("db lock");
            let changed = s.instances[role.index()].crashed;
            s.instances[role.index()].crashed = false;
            changed
        };
        self.reconcile_now();
        changed
    }

    /// As seen from the other region: reachable and not cut off.
    fn reachable_across(&self, s: &State, role: Role) -> bool {
        self.reachable(s, role) && !Isolation::cuts(s.isolation.as_ref(), role)
    }

    fn reconcile_now(&self) {
        let mut s = self.state.lock().expect("db lock");
        if s.writer == Role::Primary || !self.reachable(&s, Role::Primary) || s.isolation.is_some()
        {
            return;
        }
        let promoted_at = s.promoted_at.take().unwrap_or(0);
        let records = |role: Role| -> Vec<_> {
            s.instances[role.index()]
                .log
                .iter()
                .map(|r| (r.canary.clone(), r.seq, r.committed_at))
                .collect()
        };
        let discarded = super::discarded(
            records(Role::Primary),
            records(Role::Secondary),
            promoted_at,
        );
        if !discarded.is_empty() {
            self.truth.record(
                "database-diverged",
                &self.names[0],
                super::discarded_detail(&discarded),
            );
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
    fn tick(&self) {
        let now = mono_now();
        let mut s = self.state.lock().expect("db lock");
        self.fence_if_due(&mut s, now);
        let writer = s.writer;
        if self.reachable_across(&s, writer) {
            s.writer_lost_since = None;
            self.replicate(&mut s, now);
            return;
        }
        let since = *s.writer_lost_since.get_or_insert(now);
        let standby = writer.other();
        if self.settings.auto_promote
            && self.reachable_across(&s, standby)
            && s.instances[standby.index()].role == DbRole::Replica
            && now.saturating_sub(since) >= self.settings.promotion_delay.as_nanos() as u64
        {
            self.promote(s, standby);
        }
    }

    /// Ships the writer's log to a reachable standby, `lag` behind.
    fn replicate(&self, s: &mut State, now: MonoNs) {
        let writer = s.writer;
        let standby = writer.other();
        if !self.reachable_across(s, standby)
            || s.replication_cut
            || s.instances[standby.index()].role != DbRole::Replica
        {
            return;
        }
        let lag_ns = self.settings.lag.as_nanos() as u64;
        let (w, r) = pick(&mut s.instances, writer.index(), standby.index());
        while r.log.len() < w.log.len() {
            let next = &w.log[r.log.len()];
            if next.committed_at + lag_ns > now && !self.settings.synchronous {
                break;
            }
            r.log.push(next.clone());
        }
    }

    /// Promotes the standby. An unreachable old writer is fenced with it (nothing
    /// reaches it anyway); an isolated one is fenced as its isolation says.
    fn promote(&self, mut s: std::sync::MutexGuard<'_, State>, standby: Role) {
        let old = standby.other();
        let fencing = s.isolation.map(|i| i.fencing);
        if fencing == Some(Fencing::BeforePromotion) {
            self.fence(&mut s, old);
        }
        s.instances[standby.index()].role = DbRole::Writer;
        if fencing.is_none() {
            s.instances[old.index()].role = DbRole::Fenced;
        }
        s.writer = standby;
        s.writer_lost_since = None;
        let now = mono_now();
        if let Some(i) = s.isolation.as_mut() {
            i.promoted_at = Some(now);
        }
        s.promoted_at = Some(now);
        let lost = s.instances[old.index()].log.len() as i64
            - s.instances[standby.index()].log.len() as i64;
        drop(s);
        self.truth.record_at(
            now,
            "database-promoted",
            &self.names[standby.index()],
            format!("standby promoted to writer; {lost} unreplicated records left behind"),
        );
    }

    /// Fences the isolated old writer once its delay after the promotion is up.
    fn fence_if_due(&self, s: &mut State, now: MonoNs) {
        if let Some(i) = s.isolation {
            if i.fence_due(now) {
                self.fence(s, i.region);
            }
        }
    }

    /// Makes an old writer refuse writes (read-only), recorded as truth.
    fn fence(&self, s: &mut State, old: Role) {
        let i = &mut s.instances[old.index()];
        if i.role != DbRole::Writer {
            return;
        }
        i.role = DbRole::Fenced;
        self.truth.record(
            "old-writer-fenced",
            &self.names[old.index()],
            "old writer refuses writes (read-only)",
        );
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
                let order = match WriteRequest::read(req).await {
                    Ok(order) => order,
                    Err(resp) => return resp,
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
                let record = Record {
                    seq: order.seq,
                    canary: order.canary,
                    committed_at,
                };
                if self.settings.synchronous {
                    // Commit on both or neither, as a synchronous standby does; with
                    // the standby unreachable the writer waits, so the write fails.
                    let standby = role.other();
                    let standby_ok =
                        !s.replication_cut && s.isolation.is_none() && self.reachable(&s, standby);
                    if !standby_ok {
                        return http::respond(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "text/plain",
                            "waiting for the synchronous standby",
                        );
                    }
                    let (w, r) = pick(&mut s.instances, role.index(), standby.index());
                    if r.log.len() == w.log.len() {
                        r.log.push(record.clone());
                    }
                    w.log.push(record);
                } else {
                    s.instances[role.index()].log.push(record);
                }
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

impl WriteRequest {
    /// Reads one from a request body, or the 400 to answer.
    pub async fn read(req: Request<hyper::body::Incoming>) -> Result<WriteRequest, Response<Body>> {
        let body = http::read_body(req).await?;
        serde_json::from_slice(&body).map_err(|_| {
            http::respond(
                StatusCode::BAD_REQUEST,
                "text/plain",
                "expected {\"seq\":N,\"canary\":\"...\"}",
            )
        })
    }
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

impl Cluster {
    async fn call(
        &self,
        role: Role,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        timeout: Duration,
    ) -> Result<Bytes, String> {
        let gate = self.gates[role.index()].listen;
        match http::request(gate, method, "db.lab", path, body, timeout).await {
            Ok(r) if r.status.is_success() => Ok(r.body),
            Ok(r) => Err(format!(
                "database answered {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            )),
            Err(e) => Err(format!("database unreachable: {e}")),
        }
    }
}

#[async_trait::async_trait]
impl Database for Cluster {
    fn writer(&self) -> Role {
        self.state.lock().expect("db lock").writer
    }

    fn view(&self, role: Role) -> InstanceView {
        let s = self.state.lock().expect("db lock");
        let i = &s.instances[role.index()];
        InstanceView {
            role: i.role,
            crashed: i.crashed,
            records: Some(i.log.len()),
        }
    }

    fn gate(&self, role: Role) -> &Gate {
        &self.gates[role.index()]
    }

    fn replication_holds(&self) -> Vec<String> {
        let s = self.state.lock().expect("db lock");
        let mut holds = Vec::new();
        if s.replication_cut {
            holds.push("cut-replication".into());
        }
        if s.isolation.is_some() {
            holds.push("isolate-region".into());
        }
        holds
    }

    async fn crash(&self, role: Role) -> Result<bool, String> {
        Ok(self.crash_now(role))
    }

    async fn recover(&self, role: Role) -> Result<bool, String> {
        Ok(self.recover_now(role))
    }

    async fn reconcile(&self) -> Result<(), String> {
        self.reconcile_now();
        Ok(())
    }

    async fn set_isolation(&self, isolation: Option<Isolation>) -> Result<bool, String> {
        let mut s = self.state.lock().expect("db lock");
        let changed = Isolation::differs(s.isolation, isolation);
        if changed {
            s.isolation = isolation;
        }
        Ok(changed)
    }

    fn isolation(&self) -> Option<Isolation> {
        self.state.lock().expect("db lock").isolation
    }

    async fn set_replication_cut(&self, cut: bool) -> Result<bool, String> {
        let mut s = self.state.lock().expect("db lock");
        let changed = s.replication_cut != cut;
        s.replication_cut = cut;
        Ok(changed)
    }

    fn spawn_automation(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            // 5 ms keeps the replication lag and the promotion instant accurate to
            // well under any probe interval.
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            loop {
                tick.tick().await;
                self.tick();
            }
        })
    }

    fn shutdown(&self) {}

    async fn ping(&self, role: Role, timeout: Duration) -> Result<(), String> {
        self.call(role, Method::GET, "/ping", None, timeout)
            .await
            .map(|_| ())
    }

    async fn write(
        &self,
        role: Role,
        seq: u64,
        canary: &str,
        timeout: Duration,
    ) -> Result<(), String> {
        let body = serde_json::to_vec(&WriteRequest {
            seq,
            canary: canary.to_string(),
        })
        .map_err(|e| e.to_string())?;
        self.call(role, Method::POST, "/write", Some(body.into()), timeout)
            .await
            .map(|_| ())
    }

    async fn latest(&self, role: Role, timeout: Duration) -> Result<Vec<u64>, String> {
        let body = self.call(role, Method::GET, "/read", None, timeout).await?;
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    }

    async fn canary(
        &self,
        role: Role,
        canary: &str,
        timeout: Duration,
    ) -> Result<Vec<u64>, String> {
        let body = self
            .call(
                role,
                Method::GET,
                &format!("/read?canary={canary}"),
                None,
                timeout,
            )
            .await?;
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    }
}
