//! Lab parameters: lab-friendly defaults, each settable per scenario under `[lab]`.

use super::database::{Engine, Replication};
use crate::scenario::duration::HumanDuration;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How the embedded lab is built. Defaults give a whole game day in about ten seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LabParams {
    /// Route 53-like request interval of each health checker.
    pub health_check_interval: HumanDuration,
    /// Consecutive failures (or successes) that flip one checker's view.
    pub failure_threshold: u32,
    /// Number of independent checkers; a region is healthy when more than 18% say so.
    pub checkers: u32,
    /// How long one checker waits for `/healthz`.
    pub health_check_timeout: HumanDuration,
    /// TTL of the failover records, whole seconds.
    pub dns_ttl: HumanDuration,
    /// Asynchronous replication lag from the writer to the standby.
    pub replication_lag: HumanDuration,
    /// How long the writer must be unreachable before lab automation promotes the standby.
    pub promotion_delay: HumanDuration,
    /// Whether lab automation promotes the standby at all.
    pub auto_promote: bool,
    /// ALB target health-check interval.
    pub alb_health_interval: HumanDuration,
    /// Consecutive successes before the ALB routes to a target again.
    pub alb_healthy_threshold: u32,
    /// Consecutive failures before the ALB stops routing to a target.
    pub alb_unhealthy_threshold: u32,
    /// ALB health-check timeout.
    pub alb_health_timeout: HumanDuration,
    /// How long the ALB waits for a target before answering 504.
    pub alb_target_timeout: HumanDuration,
    /// HTTP targets in each Availability Zone.
    pub targets_per_az: u32,
    /// How long the app waits for its database before it gives up.
    pub app_db_timeout: HumanDuration,
    /// Database engine: `embedded` (default) or `postgres` (real streaming replication).
    pub database: Engine,
    /// `async` (default) or `sync` replication.
    pub replication: Replication,
    /// PostgreSQL only: `recovery_min_apply_delay` on the replica (replays late, loses nothing).
    pub replay_delay: HumanDuration,
    /// PostgreSQL only: serve TLS with a certificate from a CA made for the lab
    /// (made in-process), as RDS does; plain connections still work.
    pub database_tls: bool,
    /// Requests a second each target serves (0: unbounded). Beyond it
    /// requests queue for at most `target_queue`, then get a 503.
    #[serde(deserialize_with = "crate::scenario::duration::count")]
    pub target_capacity: u32,
    /// The longest a request waits at a saturated target.
    pub target_queue: HumanDuration,
    /// The standby's Auto Scaling group (`[lab.autoscaling]`): the
    /// secondary's targets become its instances.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<super::autoscaler::Autoscaling>,
}

impl Default for LabParams {
    fn default() -> Self {
        let ms = |n| HumanDuration(Duration::from_millis(n));
        LabParams {
            health_check_interval: ms(1000),
            failure_threshold: 3,
            checkers: 5,
            health_check_timeout: ms(500),
            dns_ttl: ms(1000),
            replication_lag: ms(200),
            promotion_delay: ms(2000),
            auto_promote: true,
            alb_health_interval: ms(500),
            alb_healthy_threshold: 2,
            alb_unhealthy_threshold: 2,
            alb_health_timeout: ms(250),
            alb_target_timeout: ms(1000),
            targets_per_az: 1,
            app_db_timeout: ms(200),
            database: Engine::Embedded,
            replication: Replication::Async,
            replay_delay: ms(0),
            database_tls: false,
            target_capacity: 0,
            target_queue: ms(250),
            autoscaling: None,
        }
    }
}

impl LabParams {
    /// Checks values that parse but cannot describe a working lab. Returns the key at
    /// fault and the reason.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let positive = [
            ("health_check_interval", self.health_check_interval),
            ("health_check_timeout", self.health_check_timeout),
            ("dns_ttl", self.dns_ttl),
            ("alb_health_interval", self.alb_health_interval),
            ("alb_health_timeout", self.alb_health_timeout),
            ("alb_target_timeout", self.alb_target_timeout),
            ("app_db_timeout", self.app_db_timeout),
            ("target_queue", self.target_queue),
        ];
        for (key, d) in positive {
            if d.get() < Duration::from_millis(10) {
                return Err((
                    key,
                    format!("{key} = \"{d}\" is too short; use at least 10ms"),
                ));
            }
        }
        let counts = [
            ("failure_threshold", self.failure_threshold, 1, 10),
            ("checkers", self.checkers, 1, 64),
            ("alb_healthy_threshold", self.alb_healthy_threshold, 1, 10),
            (
                "alb_unhealthy_threshold",
                self.alb_unhealthy_threshold,
                1,
                10,
            ),
            ("targets_per_az", self.targets_per_az, 1, 8),
        ];
        for (key, v, lo, hi) in counts {
            if !(lo..=hi).contains(&v) {
                return Err((
                    key,
                    format!("{key} = {v} is out of range; use {lo} to {hi}"),
                ));
            }
        }
        if self.dns_ttl.get().subsec_nanos() != 0 {
            return Err((
                "dns_ttl",
                format!(
                    "dns_ttl = \"{}\" is not whole seconds; DNS TTLs are counted in seconds",
                    self.dns_ttl
                ),
            ));
        }
        if self.health_check_timeout >= self.health_check_interval {
            return Err((
                "health_check_timeout",
                "health_check_timeout must be shorter than health_check_interval".into(),
            ));
        }
        if self.alb_health_timeout >= self.alb_health_interval {
            return Err((
                "alb_health_timeout",
                "alb_health_timeout must be shorter than alb_health_interval".into(),
            ));
        }
        if self.app_db_timeout >= self.health_check_timeout
            || self.app_db_timeout >= self.alb_health_timeout
        {
            return Err((
                "app_db_timeout",
                "app_db_timeout must be shorter than both health-check timeouts, or a dead \
                 database looks like a hung target instead of a failing one"
                    .into(),
            ));
        }
        if self.target_queue >= self.alb_target_timeout {
            return Err((
                "target_queue",
                "target_queue must be shorter than alb_target_timeout, or a queued request times out at the load balancer before the target sheds it".into(),
            ));
        }
        if self.target_capacity > 100_000 {
            return Err((
                "target_capacity",
                format!("target_capacity = {} is out of range; use 0 (unbounded) to 100000 requests a second", self.target_capacity),
            ));
        }
        if let Some(a) = &self.autoscaling {
            a.check(self.target_capacity)?;
        }
        if self.database != Engine::Postgres && self.database_tls {
            return Err((
                "database_tls",
                "database_tls applies to database = \"postgres\"; the embedded database speaks no TLS".into(),
            ));
        }
        if self.database != Engine::Postgres && !self.replay_delay.get().is_zero() {
            return Err((
                "replay_delay",
                "replay_delay applies to database = \"postgres\"; the embedded database models its delay with replication_lag".into(),
            ));
        }
        Ok(())
    }
}
