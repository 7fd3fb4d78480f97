//! Probes: each watches one signal and emits timestamped observations.
//!
//! One file per probe, registered by name in [`REGISTRY`]. The run drives every
//! probe on its own interval, concurrently; the interval is the resolution of
//! every figure the probe's observations measure.

pub mod alarm;
pub mod canary;
pub mod capacity;
pub mod client;
pub mod customers;
pub mod dns;
pub mod health_check;
pub mod http;
pub mod load;
pub mod postgres;
pub mod resolver;
pub mod target_health;
pub mod writers;

use crate::clock::RunClock;
use crate::environment::Env;
use crate::scenario::duration::HumanDuration;
use crate::scenario::Target;
use crate::timeline::Observation;
use serde::{Deserialize, Deserializer, Serialize};
use std::time::Duration;
use toml::de::ValueDeserializer;

/// The kinds of signal a probe can watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeKind {
    /// Customer requests through DNS.
    Http,
    /// A population of simulated customers of several client classes.
    Customers,
    /// The customers' load (`[load]`).
    Load,
    /// The authoritative DNS answer, uncached.
    Dns,
    /// The health checkers' verdict.
    HealthCheck,
    /// Sequence-numbered writes, read back after the failover.
    Canary,
    /// CloudWatch alarms (AWS).
    Alarm,
    /// Target group health behind each region's load balancer.
    TargetHealth,
    /// The standby's capacity: its Auto Scaling group and healthy targets.
    Capacity,
}

impl ProbeKind {
    /// As written in scenarios.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeKind::Http => "http",
            ProbeKind::Customers => "customers",
            ProbeKind::Load => "load",
            ProbeKind::Dns => "dns",
            ProbeKind::HealthCheck => "health-check",
            ProbeKind::Canary => "canary",
            ProbeKind::Alarm => "alarm",
            ProbeKind::TargetHealth => "target-health",
            ProbeKind::Capacity => "capacity",
        }
    }
}

/// The name, kind and interval every probe has, from its `name` and
/// `interval` fields: one line in each probe's `impl Probe`.
macro_rules! identity {
    ($kind:expr) => {
        fn name(&self) -> &str {
            &self.name
        }
        fn kind(&self) -> $crate::probe::ProbeKind {
            $kind
        }
        fn interval(&self) -> std::time::Duration {
            self.interval.get()
        }
    };
}
pub(crate) use identity;

/// What a probe can use while observing.
pub struct ProbeContext {
    /// The environment (addresses, record name, AWS clients).
    pub env: Env,
    /// The run clock.
    pub clock: RunClock,
    /// Run id (the canary tags its writes with it).
    pub run_id: String,
}

/// One watcher of one signal.
#[async_trait::async_trait]
pub trait Probe: Send + Sync {
    /// Name, unique in a scenario.
    fn name(&self) -> &str;
    /// Kind.
    fn kind(&self) -> ProbeKind;
    /// Interval between observations.
    fn interval(&self) -> Duration;
    /// The interval people read: how often one watcher asks (a population's
    /// clients each ask once per its interval, over many ticks).
    fn shown_interval(&self) -> Duration {
        self.interval()
    }
    /// Requests one observation sends (for the scenario's rate cap).
    fn requests_per_tick(&self) -> u32 {
        1
    }
    /// Whether it can watch `target` as written; else the key at fault and why.
    fn check_target(&self, _target: Target) -> Result<(), (&'static str, String)> {
        Ok(())
    }
    /// What it watches, for the plan.
    fn describe(&self, env: &Env) -> String;
    /// The resolvers customers ask, for a probe that plays customers.
    fn customer_resolvers(&self) -> Option<&[std::net::SocketAddr]> {
        None
    }
    /// How the customer it plays keeps DNS answers, for a customer probe.
    fn client(&self) -> Option<client::ClientClass> {
        None
    }
    /// The customers it plays, as the floors need them: one per client
    /// class.
    fn floor_clients(&self) -> Vec<crate::floor::FloorClient> {
        match (self.client(), self.request_timeout()) {
            (Some(class), Some(timeout)) => vec![crate::floor::FloorClient {
                probe: self.name().to_string(),
                class,
                timeout,
            }],
            _ => Vec::new(),
        }
    }
    /// What it finds wrong in what it will watch (read only), for the plan.
    async fn lint(&self, _env: &Env) -> Vec<String> {
        Vec::new()
    }
    /// The requests a second it sends as the customers' load (`[load]`).
    fn load_rate(&self) -> Option<f64> {
        None
    }
    /// How long one request may take before it is given up.
    fn request_timeout(&self) -> Option<Duration> {
        None
    }
    /// A customer probe's own rto objective, judged on it alone.
    fn rto(&self) -> Option<HumanDuration> {
        None
    }
    /// The population it plays, for a `customers` probe, judged against
    /// its own rto or `scenario_rto`.
    fn population(
        &self,
        _scenario_rto: Duration,
        _stable_for: Duration,
    ) -> Option<crate::measure::population::PopulationSpec> {
        None
    }
    /// Whether it asks both writers directly whether they take writes (the
    /// canary's `both_writers`), which the fencing figure needs.
    fn watches_both_writers(&self) -> bool {
        false
    }
    /// Makes one observation (or several, e.g. one per region), to be
    /// stamped `at` on the run clock (when its tick began).
    async fn observe(&self, ctx: &ProbeContext, at: crate::clock::Offset) -> Vec<Observation>;
    /// Stops whatever it runs on its own (the load's generator), whether
    /// or not the run got to inject anything.
    fn stop(&self) {}
    /// Final observations once observing is over, before anything is reverted.
    /// Stamped `at`.
    async fn settle(&self, _ctx: &ProbeContext, _at: crate::clock::Offset) -> Vec<Observation> {
        Vec::new()
    }
}

/// Builds a probe from its scenario table.
pub type Parse = fn(ValueDeserializer<'_>) -> Result<Box<dyn Probe>, toml::de::Error>;

/// Every probe, by the kind scenarios name it with.
pub const REGISTRY: &[(&str, Parse)] = &[
    ("http", http::parse),
    ("customers", customers::parse),
    ("dns", dns::parse),
    ("health-check", health_check::parse),
    ("canary", canary::parse),
    ("alarm", alarm::parse),
    ("target-health", target_health::parse),
    ("capacity", capacity::parse),
];

/// Each customer probe's name and client class.
pub fn clients(probes: &[std::sync::Arc<dyn Probe>]) -> Vec<(&str, client::ClientClass)> {
    probes
        .iter()
        .filter_map(|p| Some((p.name(), p.client()?)))
        .collect()
}

/// Each customer probe's client, as the floors need it.
pub fn floor_clients(probes: &[std::sync::Arc<dyn Probe>]) -> Vec<crate::floor::FloorClient> {
    probes.iter().flat_map(|p| p.floor_clients()).collect()
}

/// Requests a second the customers send through the load balancers, when
/// the scenario has a `[load]`: the load and the customer probes' own.
pub fn customer_rate(probes: &[std::sync::Arc<dyn Probe>]) -> Option<f64> {
    let load = probes.iter().find_map(|p| p.load_rate())?;
    let watching: f64 = probes
        .iter()
        .filter(|p| matches!(p.kind(), ProbeKind::Http | ProbeKind::Customers))
        .map(|p| f64::from(p.requests_per_tick()) / p.interval().as_secs_f64())
        .sum();
    Some(load + watching)
}

/// The scenario's population, as the floors need it (its objectives are
/// the scenario's; only its classes, percentile and timeout count here).
pub fn population(
    probes: &[std::sync::Arc<dyn Probe>],
) -> Option<crate::measure::population::PopulationSpec> {
    probes
        .iter()
        .find_map(|p| p.population(Duration::ZERO, Duration::ZERO))
}

/// Deserializes a probe interval: 10ms to 60s.
pub fn interval<'de, D: Deserializer<'de>>(d: D) -> Result<HumanDuration, D::Error> {
    let v = HumanDuration::deserialize(d)?;
    if v.get() < Duration::from_millis(10) || v.get() > Duration::from_secs(60) {
        return Err(serde::de::Error::custom(format!(
            "interval \"{v}\" is out of range; probe every 10ms to 60s"
        )));
    }
    Ok(v)
}

/// Deserializes a probe timeout: 10ms to 60s.
pub fn timeout<'de, D: Deserializer<'de>>(d: D) -> Result<HumanDuration, D::Error> {
    let v = HumanDuration::deserialize(d)?;
    if v.get() < Duration::from_millis(10) || v.get() > Duration::from_secs(60) {
        return Err(serde::de::Error::custom(format!(
            "timeout \"{v}\" is out of range; use 10ms to 60s"
        )));
    }
    Ok(v)
}

pub(crate) fn ms(n: u64) -> HumanDuration {
    HumanDuration(Duration::from_millis(n))
}
