//! `[load]`: the customers' load, sent through the customers' path (DNS,
//! then the region's endpoint) at a declared rate whatever the answers: an
//! open model, so a slow standby does not slow the arrivals down, as it
//! does not slow real customers down. Bounded by a hard cap the rate may
//! not exceed, a duration, and the requests in flight (an arrival with no
//! room is counted as dropped by the generator, never queued).
//!
//! ```toml
//! [load]
//! rate = "200/s"      # arrivals a second (or "12000/m")
//! cap = "250/s"       # the most this load may ever send; required
//! duration = "10m"    # the longest it runs (default 10m, at most 1h)
//! timeout = "2s"
//! ```
//!
//! It runs from the baseline until observing ends (a stop condition, the
//! timeout, recovery) or its duration, whichever is first, and reports one
//! `load` entry per second of arrivals: sent, served, failed, dropped and
//! the latency of those answered.

use super::client::ClientClass;
use super::http::{absolute_path, get_new, host_and_path, TlsCache};
use super::resolver::CustomerResolver;
use super::{Probe, ProbeContext, ProbeKind};
use crate::clock::{mono_now, Offset};
use crate::environment::Env;
use crate::scenario::duration::HumanDuration;
use crate::scenario::Target;
use crate::timeline::Observation;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The highest cap on the lab (loopback).
pub const MAX_CAP_LAB: f64 = 2000.0;
/// The highest cap on AWS: synthetic traffic against a real endpoint.
pub const MAX_CAP_AWS: f64 = 400.0;
/// The longest a load may run.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// The most requests in flight, whatever the cap and timeout.
const MAX_IN_FLIGHT: usize = 4096;
/// The probe name its entries carry.
pub const NAME: &str = "load";

/// Requests a second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(pub f64);

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/s", self.0)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
        let text = String::deserialize(d)?;
        let bad = || {
            serde::de::Error::custom(format!(
                "\"{text}\" is not a rate; write requests per second or minute, e.g. \"200/s\" or \"12000/m\""
            ))
        };
        let (n, per) = text.trim().split_once('/').ok_or_else(bad)?;
        let n: f64 = n.trim().parse().map_err(|_| bad())?;
        let per_s = match per.trim() {
            "s" => 1.0,
            "m" => 60.0,
            _ => return Err(bad()),
        };
        if !(n.is_finite() && n > 0.0) {
            return Err(serde::de::Error::custom(format!(
                "rate \"{text}\" must be more than 0"
            )));
        }
        Ok(Rate(n / per_s))
    }
}

/// The `[load]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadParams {
    /// Arrivals a second.
    pub rate: Rate,
    /// The most this load may send; required.
    #[serde(default)]
    pub cap: Option<Rate>,
    /// The longest it runs (default 10m).
    #[serde(default = "default_duration")]
    pub duration: HumanDuration,
    /// Request timeout (default 2s).
    #[serde(default = "default_timeout", deserialize_with = "super::timeout")]
    pub timeout: HumanDuration,
    /// Path the requests call (lab default `/orders/latest`; AWS default
    /// the endpoint's path).
    #[serde(default, deserialize_with = "absolute_path")]
    pub path: Option<String>,
    /// AWS: resolvers to ask (`ip:port`); default the system's.
    #[serde(default)]
    pub resolvers: Vec<std::net::SocketAddr>,
}

fn default_duration() -> HumanDuration {
    HumanDuration(Duration::from_secs(600))
}
fn default_timeout() -> HumanDuration {
    super::ms(2000)
}

impl LoadParams {
    /// Its bounds; the key at fault and why.
    pub fn check(&self, target: Target) -> Result<(), (&'static str, String)> {
        let Some(cap) = self.cap else {
            return Err((
                "rate",
                format!(
                    "rate = \"{}\" has no cap; add cap = \"...\", the most this load may ever send (at least the rate)",
                    self.rate
                ),
            ));
        };
        let bound = match target {
            Target::Lab => MAX_CAP_LAB,
            Target::Aws => MAX_CAP_AWS,
        };
        if cap.0 > bound {
            return Err((
                "cap",
                format!(
                    "cap = \"{cap}\" is above the {} bound of {bound}/s{}",
                    target.as_str(),
                    if target == Target::Aws {
                        " for synthetic traffic against a real endpoint"
                    } else {
                        ""
                    }
                ),
            ));
        }
        if self.rate.0 > cap.0 {
            return Err((
                "rate",
                format!(
                    "rate = \"{}\" is above its cap \"{cap}\"; lower the rate or raise the cap",
                    self.rate
                ),
            ));
        }
        if self.duration.get().is_zero() || self.duration.get() > MAX_DURATION {
            return Err((
                "duration",
                format!("duration = \"{}\" is out of range; a load runs for more than 0s and at most 1h", self.duration),
            ));
        }
        if target == Target::Lab && !self.resolvers.is_empty() {
            return Err(crate::fault::option_for("resolvers", Target::Aws));
        }
        Ok(())
    }

    /// The most requests it can send.
    pub fn most_requests(&self) -> u64 {
        (self.rate.0 * self.duration.get().as_secs_f64()).ceil() as u64
    }

    /// The most requests in flight: a whole timeout of arrivals at the cap.
    fn in_flight(&self) -> usize {
        let cap = self.cap.map_or(self.rate.0, |c| c.0);
        ((cap * self.timeout.get().as_secs_f64()).ceil() as usize + 1).min(MAX_IN_FLIGHT)
    }
}

/// One second of arrivals, while its requests are answered.
#[derive(Default)]
struct Bucket {
    sent: u32,
    ok: u32,
    failed: u32,
    dropped: u32,
    open: u32,
    on_secondary: u32,
    /// Latencies of the answered requests, µs.
    latencies: Vec<u32>,
}

/// The generator's seconds, by index since the run clock's origin.
type Buckets = Arc<Mutex<BTreeMap<u64, Bucket>>>;

/// The load: a probe the scenario makes from `[load]`.
pub struct Load {
    /// Its table.
    pub params: LoadParams,
    buckets: Buckets,
    generator: OnceLock<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// From the scenario's `[load]` table.
    pub fn new(params: LoadParams) -> Load {
        Load {
            params,
            buckets: Arc::default(),
            generator: OnceLock::new(),
        }
    }

    /// Seconds whose requests have all been answered (or, `all`, every
    /// second), taken out as observations stamped at `now`.
    fn closed(&self, now: Offset, all: bool) -> Vec<Observation> {
        let mut buckets = self.buckets.lock().expect("load buckets");
        let current = now.0 / 1_000_000_000;
        let done: Vec<u64> = buckets
            .iter()
            .filter(|(s, b)| all || (**s < current && b.open == 0))
            .map(|(s, _)| *s)
            .collect();
        done.into_iter()
            .filter_map(|s| {
                let b = buckets.remove(&s)?;
                Some(observation(s, b, now))
            })
            .collect()
    }
}

/// One second's figures as a `load` entry stamped at `now`.
fn observation(second: u64, mut b: Bucket, now: Offset) -> Observation {
    b.latencies.sort_unstable();
    let at = |p: usize| {
        let rank = (p * b.latencies.len()).div_ceil(100).max(1);
        b.latencies.get(rank - 1).map(|us| u64::from(*us) * 1000)
    };
    Observation::Load {
        window_before_ns: now.0.saturating_sub(second * 1_000_000_000),
        sent: b.sent,
        ok: b.ok,
        failed: b.failed,
        dropped: b.dropped,
        unanswered: b.open,
        on_secondary: b.on_secondary,
        p50_ns: at(50),
        p99_ns: at(99),
        max_ns: at(100),
    }
}

/// What the generator needs, owned.
struct Sender {
    env: Env,
    clock: crate::clock::RunClock,
    host: String,
    path: String,
    resolvers: Vec<std::net::SocketAddr>,
    timeout: Duration,
    resolver: CustomerResolver,
    tls: TlsCache,
    /// The secondary region's name, to count what it served.
    secondary: String,
}

impl Sender {
    /// One request as a fresh customer: resolved (the TTL honoured), on a
    /// new connection. Whether it was served, and whether by the secondary.
    async fn one(&self) -> (bool, bool) {
        let fresh = ClientClass::default();
        let Ok(to) = self
            .resolver
            .destination(&self.env, &self.resolvers, self.timeout, &fresh)
            .await
        else {
            return (false, false);
        };
        let tls = self.tls.for_destination(to.tls, None);
        let reply = get_new(to.endpoint, tls, &self.host, &self.path, self.timeout).await;
        let ok = matches!(reply, Ok(r) if r.status.is_success());
        (
            ok,
            ok && to.region.as_deref() == Some(self.secondary.as_str()),
        )
    }
}

/// Sends arrivals at `rate` until `duration` has passed: arrival n is due
/// n / rate after the start, whatever happened to the others.
async fn generate(
    sender: Arc<Sender>,
    rate: f64,
    duration: Duration,
    in_flight: usize,
    buckets: Buckets,
) {
    let limit = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let start = tokio::time::Instant::now();
    let mut requests = tokio::task::JoinSet::new();
    for n in 0u64.. {
        let due = Duration::from_secs_f64(n as f64 / rate);
        if due >= duration {
            break;
        }
        tokio::time::sleep_until(start + due).await;
        while requests.try_join_next().is_some() {}
        let second = sender.clock.now().0 / 1_000_000_000;
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            buckets
                .lock()
                .expect("load buckets")
                .entry(second)
                .or_default()
                .dropped += 1;
            continue;
        };
        {
            let mut b = buckets.lock().expect("load buckets");
            let bucket = b.entry(second).or_default();
            bucket.sent += 1;
            bucket.open += 1;
        }
        let (sender, buckets) = (sender.clone(), buckets.clone());
        requests.spawn(async move {
            let began = mono_now();
            let (ok, on_secondary) = sender.one().await;
            let us = ((mono_now() - began) / 1000).min(u64::from(u32::MAX)) as u32;
            let mut b = buckets.lock().expect("load buckets");
            let bucket = b.entry(second).or_default();
            bucket.open -= 1;
            match ok {
                true => bucket.ok += 1,
                false => bucket.failed += 1,
            }
            bucket.on_secondary += u32::from(on_secondary);
            bucket.latencies.push(us);
            drop(permit);
        });
    }
    while requests.join_next().await.is_some() {}
}

#[async_trait::async_trait]
impl Probe for Load {
    fn name(&self) -> &str {
        NAME
    }
    fn kind(&self) -> ProbeKind {
        ProbeKind::Load
    }
    /// One entry per second of arrivals.
    fn interval(&self) -> Duration {
        Duration::from_secs(1)
    }
    /// Counted at its cap against the scenario's rate bound on AWS.
    fn requests_per_tick(&self) -> u32 {
        self.params.cap.map_or(self.params.rate.0, |c| c.0).ceil() as u32
    }
    fn check_target(&self, target: Target) -> Result<(), (&'static str, String)> {
        self.params.check(target)
    }
    fn load_rate(&self) -> Option<f64> {
        Some(self.params.rate.0)
    }

    fn describe(&self, env: &Env) -> String {
        let p = &self.params;
        let (host, path) = host_and_path(env, p.path.as_deref());
        format!(
            "{} requests a second (open model: arrivals do not wait for answers; cap {}), for at most {} (at most {} requests), each a GET of http(s)://{host}{path} as a fresh customer; timeout {}",
            p.rate.0,
            p.cap.map_or("none".into(), |c| c.to_string()),
            p.duration,
            p.most_requests(),
            p.timeout
        )
    }

    async fn observe(&self, ctx: &ProbeContext, at: crate::clock::Offset) -> Vec<Observation> {
        self.generator.get_or_init(|| {
            let p = &self.params;
            let (host, path) = host_and_path(&ctx.env, p.path.as_deref());
            let sender = Arc::new(Sender {
                env: ctx.env.clone(),
                clock: ctx.clock,
                host,
                path,
                resolvers: p.resolvers.clone(),
                timeout: p.timeout.get(),
                resolver: CustomerResolver::new(),
                tls: TlsCache::default(),
                secondary: ctx.env.region_name(crate::words::Role::Secondary),
            });
            tokio::spawn(generate(
                sender,
                p.rate.0,
                p.duration.get(),
                p.in_flight(),
                self.buckets.clone(),
            ))
        });
        self.closed(at, false)
    }

    /// Stops the load (requests in flight are abandoned).
    fn stop(&self) {
        if let Some(g) = self.generator.get() {
            g.abort();
        }
    }

    /// The seconds left, with what was still unanswered.
    async fn settle(&self, _ctx: &ProbeContext, at: crate::clock::Offset) -> Vec<Observation> {
        self.stop();
        self.closed(at, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A closed second's entry, stamped when its tick began, places the
    /// second on the whole second of the run clock it was counted in,
    /// however late the tick's observation ran.
    #[test]
    fn a_closed_second_begins_on_its_whole_second() {
        let load = Load::new(toml::from_str("rate = \"200/s\"\ncap = \"250/s\"").unwrap());
        load.buckets.lock().unwrap().insert(
            11,
            Bucket {
                sent: 200,
                ok: 200,
                ..Bucket::default()
            },
        );
        let at = Offset(12_018_810_064);
        let out = load.closed(at, false);
        let [Observation::Load {
            window_before_ns,
            sent,
            ..
        }] = out.as_slice()
        else {
            panic!("{out:?}")
        };
        assert_eq!((at.0 - window_before_ns, *sent), (11_000_000_000, 200));
        // A second still open at the stamp stays.
        load.buckets.lock().unwrap().insert(12, Bucket::default());
        assert!(load.closed(at, false).is_empty());
    }
}
