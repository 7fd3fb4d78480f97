//! An ALB-like proxy per region: it health-checks its registered targets
//! (interval, timeout, healthy and unhealthy thresholds), routes round-robin to
//! the healthy ones, and answers 503 when none is healthy.

use super::truth::Truth;
use crate::net::http::{self, Body, HttpError};
use hyper::{Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Health of one registered target, as the ALB sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetHealth {
    /// Registered, not yet passed `healthy_threshold` checks.
    Initial,
    /// Receiving traffic.
    Healthy,
    /// Failed `unhealthy_threshold` checks in a row.
    Unhealthy,
    /// Not registered.
    Unused,
}

/// One target behind the ALB.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    /// Target id, e.g. `me-central-1a-t1`.
    pub id: String,
    /// Availability Zone name.
    pub az: String,
    /// Where the ALB reaches it (through the AZ's gate).
    pub addr: SocketAddr,
    /// Registered in the target group.
    pub registered: bool,
    /// Current health.
    pub health: TargetHealth,
    /// An instance slot of the standby's Auto Scaling group
    /// (`[lab.autoscaling]`): the group registers and deregisters it, not
    /// a game day.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub autoscaled: bool,
    #[serde(skip)]
    ok_streak: u32,
    #[serde(skip)]
    fail_streak: u32,
}

/// ALB health-check and routing settings.
#[derive(Debug, Clone, Copy)]
pub struct AlbSettings {
    /// Health-check interval.
    pub interval: Duration,
    /// Health-check timeout.
    pub timeout: Duration,
    /// Successes to become healthy.
    pub healthy_threshold: u32,
    /// Failures to become unhealthy.
    pub unhealthy_threshold: u32,
    /// How long a forwarded request may take before 504.
    pub target_timeout: Duration,
}

/// The load balancer of one region.
pub struct Alb {
    region: String,
    settings: AlbSettings,
    targets: Mutex<Vec<Target>>,
    next: AtomicUsize,
    /// Customers' requests received (not health checks), since the group last read it.
    arrivals: AtomicU64,
    truth: Arc<Truth>,
}

impl Alb {
    /// A load balancer whose targets start registered and healthy.
    pub fn new(
        region: String,
        settings: AlbSettings,
        targets: Vec<(String, String, SocketAddr)>,
        truth: Arc<Truth>,
    ) -> Self {
        let targets = targets
            .into_iter()
            .map(|(id, az, addr)| Target {
                id,
                az,
                addr,
                registered: true,
                health: TargetHealth::Healthy,
                autoscaled: false,
                ok_streak: 0,
                fail_streak: 0,
            })
            .collect();
        Alb {
            region,
            settings,
            targets: Mutex::new(targets),
            next: AtomicUsize::new(0),
            arrivals: AtomicU64::new(0),
            truth,
        }
    }

    /// Makes every target an instance slot of the standby's group, the
    /// first `in_service` of them registered and healthy, the rest not
    /// launched.
    pub fn make_group(&self, in_service: usize) {
        let mut targets = self.targets.lock().expect("alb lock");
        for (i, t) in targets.iter_mut().enumerate() {
            t.autoscaled = true;
            if i >= in_service {
                t.registered = false;
                t.health = TargetHealth::Unused;
            }
        }
    }

    /// Customers' requests received since the last call.
    pub fn take_arrivals(&self) -> u64 {
        self.arrivals.swap(0, Ordering::Relaxed)
    }

    /// Group instances registered now.
    pub fn registered_in_group(&self) -> u32 {
        let targets = self.targets.lock().expect("alb lock");
        targets
            .iter()
            .filter(|t| t.autoscaled && t.registered)
            .count() as u32
    }

    /// Group slots with no instance, in slot order.
    pub fn free_in_group(&self) -> Vec<String> {
        let targets = self.targets.lock().expect("alb lock");
        targets
            .iter()
            .filter(|t| t.autoscaled && !t.registered)
            .map(|t| t.id.clone())
            .collect()
    }

    /// The last registered group instance in slot order (the one scale-in removes).
    pub fn newest_in_group(&self) -> Option<String> {
        let targets = self.targets.lock().expect("alb lock");
        targets
            .iter()
            .rev()
            .find(|t| t.autoscaled && t.registered)
            .map(|t| t.id.clone())
    }

    /// Snapshot of the target group.
    pub fn targets(&self) -> Vec<Target> {
        self.targets.lock().expect("alb lock").clone()
    }

    /// Registers or deregisters targets by id; unknown ids are returned as an error.
    /// Idempotent. Returns whether anything changed.
    pub fn set_registered(&self, ids: &[String], registered: bool) -> Result<bool, String> {
        let mut targets = self.targets.lock().expect("alb lock");
        if let Some(unknown) = ids.iter().find(|id| !targets.iter().any(|t| &t.id == *id)) {
            return Err(format!("no target {unknown} in {}", self.region));
        }
        let mut changed = false;
        for t in targets.iter_mut().filter(|t| ids.contains(&t.id)) {
            if t.registered == registered {
                continue;
            }
            changed = true;
            t.registered = registered;
            t.ok_streak = 0;
            t.fail_streak = 0;
            // A re-registered target must pass its checks before it gets traffic.
            t.health = if registered {
                TargetHealth::Initial
            } else {
                TargetHealth::Unused
            };
        }
        Ok(changed)
    }

    /// Runs the target health checks until aborted.
    pub fn spawn_health_checks(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let alb = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(alb.settings.interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let checks: Vec<(String, SocketAddr)> = alb
                    .targets()
                    .into_iter()
                    .filter(|t| t.registered)
                    .map(|t| (t.id, t.addr))
                    .collect();
                let mut set = tokio::task::JoinSet::new();
                for (id, addr) in checks {
                    let timeout = alb.settings.timeout;
                    set.spawn(async move {
                        let ok = matches!(
                            http::request(addr, hyper::Method::GET, "alb-health-check", "/healthz", None, timeout).await,
                            Ok(r) if r.status.is_success()
                        );
                        (id, ok)
                    });
                }
                while let Some(Ok((id, ok))) = set.join_next().await {
                    alb.record_check(&id, ok);
                }
            }
        })
    }

    fn record_check(&self, id: &str, ok: bool) {
        let mut targets = self.targets.lock().expect("alb lock");
        let Some(t) = targets.iter_mut().find(|t| t.id == id && t.registered) else {
            return;
        };
        if ok {
            t.ok_streak += 1;
            t.fail_streak = 0;
        } else {
            t.fail_streak += 1;
            t.ok_streak = 0;
        }
        let before = t.health;
        if ok && t.health != TargetHealth::Healthy && t.ok_streak >= self.settings.healthy_threshold
        {
            t.health = TargetHealth::Healthy;
        }
        if !ok
            && t.health != TargetHealth::Unhealthy
            && t.fail_streak >= self.settings.unhealthy_threshold
        {
            t.health = TargetHealth::Unhealthy;
        }
        if t.health != before {
            let kind = if t.health == TargetHealth::Healthy {
                "alb-target-healthy"
            } else {
                "alb-target-unhealthy"
            };
            let detail = t.id.clone();
            drop(targets);
            self.truth.record(kind, &self.region, detail);
        }
    }

    /// Forwards one request to a healthy target, round-robin.
    pub async fn handle(self: Arc<Self>, req: Request<hyper::body::Incoming>) -> Response<Body> {
        let (method, route) = http::route(&req);
        if route != "/healthz" {
            self.arrivals.fetch_add(1, Ordering::Relaxed);
        }
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let eligible: Vec<(String, SocketAddr)> = self
            .targets()
            .into_iter()
            .filter(|t| t.registered && t.health == TargetHealth::Healthy)
            .map(|t| (t.id, t.addr))
            .collect();
        let mut resp = if eligible.is_empty() {
            http::respond(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                "no healthy targets",
            )
        } else {
            let (id, addr) = &eligible[self.next.fetch_add(1, Ordering::Relaxed) % eligible.len()];
            let body = match http::read_body(req).await {
                Ok(b) => (!b.is_empty()).then_some(b),
                Err(resp) => return resp,
            };
            match http::request(
                *addr,
                method,
                "app",
                &path,
                body,
                self.settings.target_timeout,
            )
            .await
            {
                Ok(r) => {
                    let mut resp = http::respond(r.status, "application/json", r.body);
                    if let Ok(v) = id.parse() {
                        resp.headers_mut().insert("x-gameday-target", v);
                    }
                    resp
                }
                Err(HttpError::Timeout(_)) => http::respond(
                    StatusCode::GATEWAY_TIMEOUT,
                    "text/plain",
                    format!("target {id} timed out"),
                ),
                Err(e) => http::respond(
                    StatusCode::BAD_GATEWAY,
                    "text/plain",
                    format!("target {id}: {e}"),
                ),
            }
        };
        if let Ok(v) = self.region.parse() {
            resp.headers_mut().insert("x-gameday-region", v);
        }
        resp
    }
}
