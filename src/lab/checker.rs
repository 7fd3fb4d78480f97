//! Route 53-like health checking of each region's public `/healthz`.
//!
//! Several independent checkers each request the endpoint every interval, with a
//! timeout, staggered across the interval as Route 53's are. One checker flips
//! its view after `failure_threshold` consecutive failures (or successes). A
//! region is healthy while more than 18% of the checkers say so. The failover
//! answer follows from both regions' status, and fails open when both are
//! unhealthy, as Route 53 does.

use super::truth::Truth;
use crate::net::http;
use crate::words::Role;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Route 53's rule: healthy when more than 18% of checkers report healthy.
pub fn aggregate_healthy(healthy: usize, total: usize) -> bool {
    total > 0 && healthy * 100 > total * 18
}

/// Which region the failover record answers, given both regions' health.
/// Both unhealthy: Route 53 treats all as healthy and answers the primary (fail-open).
pub fn failover_answer(primary_healthy: bool, secondary_healthy: bool) -> Role {
    if primary_healthy || !secondary_healthy {
        Role::Primary
    } else {
        Role::Secondary
    }
}

/// Health-check status of one region, as GetHealthCheckStatus would give it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionHealth {
    /// Region name.
    pub region: String,
    /// Aggregate verdict (18% rule).
    pub healthy: bool,
    /// Each checker's current view.
    pub checkers: Vec<bool>,
}

#[derive(Clone, Copy)]
struct Checker {
    healthy: bool,
    ok_streak: u32,
    fail_streak: u32,
}

/// Checker settings.
#[derive(Debug, Clone, Copy)]
pub struct CheckerSettings {
    /// Request interval.
    pub interval: Duration,
    /// Consecutive results that flip a checker.
    pub failure_threshold: u32,
    /// Request timeout.
    pub timeout: Duration,
    /// Number of checkers per region.
    pub checkers: usize,
}

/// The checkers of both regions and the failover decision they drive.
pub struct HealthCheckers {
    settings: CheckerSettings,
    state: Mutex<[Vec<Checker>; 2]>,
    names: [String; 2],
    truth: Arc<Truth>,
}

impl HealthCheckers {
    /// All checkers start healthy (the lab starts in steady state).
    pub fn new(settings: CheckerSettings, names: [String; 2], truth: Arc<Truth>) -> Self {
        let fresh = vec![
            Checker {
                healthy: true,
                ok_streak: 0,
                fail_streak: 0
            };
            settings.checkers
        ];
        HealthCheckers {
            settings,
            state: Mutex::new([fresh.clone(), fresh]),
            names,
            truth,
        }
    }

    /// Current status of a region.
    pub fn status(&self, role: Role) -> RegionHealth {
        let s = self.state.lock().expect("checker lock");
        let checkers: Vec<bool> = s[role.index()].iter().map(|c| c.healthy).collect();
        RegionHealth {
            region: self.names[role.index()].clone(),
            healthy: aggregate_healthy(checkers.iter().filter(|h| **h).count(), checkers.len()),
            checkers,
        }
    }

    /// The region the failover record currently answers.
    pub fn answer(&self) -> Role {
        failover_answer(
            self.status(Role::Primary).healthy,
            self.status(Role::Secondary).healthy,
        )
    }

    fn record(&self, role: Role, index: usize, ok: bool) {
        let before_answer = self.answer();
        let before = self.status(role).healthy;
        {
            let mut s = self.state.lock().expect("checker lock");
            let c = &mut s[role.index()][index];
            if ok {
                c.ok_streak += 1;
                c.fail_streak = 0;
                if c.ok_streak >= self.settings.failure_threshold {
                    c.healthy = true;
                }
            } else {
                c.fail_streak += 1;
                c.ok_streak = 0;
                if c.fail_streak >= self.settings.failure_threshold {
                    c.healthy = false;
                }
            }
        }
        let after = self.status(role);
        let region = &self.names[role.index()];
        if after.healthy != before {
            let kind = if after.healthy {
                "health-check-healthy"
            } else {
                "health-check-unhealthy"
            };
            let healthy = after.checkers.iter().filter(|h| **h).count();
            self.truth.record(
                kind,
                region,
                format!("{healthy}/{} checkers healthy", after.checkers.len()),
            );
        }
        let after_answer = self.answer();
        if after_answer != before_answer {
            let name = &self.names[after_answer.index()];
            self.truth.record(
                "dns-answer-changed",
                name,
                format!("failover record now answers {name}"),
            );
        }
    }

    /// Starts every checker of a region against `endpoint` until aborted.
    pub fn spawn(
        self: &Arc<Self>,
        role: Role,
        endpoint: SocketAddr,
        host: String,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        (0..self.settings.checkers)
            .map(|index| {
                let me = self.clone();
                let host = host.clone();
                tokio::spawn(async move {
                    let interval = me.settings.interval;
                    // Stagger the checkers across the interval, as Route 53's are.
                    let offset = interval.mul_f64(index as f64 / me.settings.checkers as f64);
                    tokio::time::sleep(offset).await;
                    let mut tick = tokio::time::interval(interval);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        tick.tick().await;
                        let ok = matches!(
                            http::request(endpoint, hyper::Method::GET, &host, "/healthz", None, me.settings.timeout).await,
                            Ok(r) if r.status.is_success()
                        );
                        me.record(role, index, ok);
                    }
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighteen_percent_rule() {
        assert!(!aggregate_healthy(0, 5));
        assert!(aggregate_healthy(1, 5)); // 20% > 18%
        assert!(!aggregate_healthy(2, 16)); // 12.5%
        assert!(!aggregate_healthy(2, 12)); // 16.7%
        assert!(aggregate_healthy(3, 16)); // 18.75%
        assert!(!aggregate_healthy(0, 0));
    }

    #[test]
    fn failover_fails_open() {
        assert_eq!(failover_answer(true, true), Role::Primary);
        assert_eq!(failover_answer(false, true), Role::Secondary);
        assert_eq!(failover_answer(false, false), Role::Primary);
        assert_eq!(failover_answer(true, false), Role::Primary);
    }
}
