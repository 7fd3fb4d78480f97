//! `customers`: a population of simulated clients, each class of them a
//! share of the population, each client keeping its own DNS answer or
//! connection on its own schedule, as a real population does (it is not
//! synchronised to t0: every client's cache or connection starts at a
//! different point of its lifetime).
//!
//! ```toml
//! [[probes]]
//! kind = "customers"
//! clients = 200            # simulated clients, each one request per interval
//! interval = "1s"
//! rto_percentile = 90      # the rto is judged on the 90th percentile client
//! [[probes.classes]]
//! client = { class = "fresh" }
//! share = 0.6
//! [[probes.classes]]
//! name = "jvm"
//! client = { class = "cached", cache_for = "30s" }
//! share = 0.4
//! rto = "2m"               # this class's own objective
//! ```
//!
//! Each client sends one request per interval, the population spread over
//! [`SLOTS`] ticks of it. A client still waiting on its last request skips
//! its turn, as a blocked client thread does. Every request is one
//! `customer` observation: class, client, region, outcome, latency, and
//! whether it used a new DNS answer or connection. `measure::population`
//! measures them client by client.

use super::client::ClientClass;
use super::http::{absolute_path, get_new, host_and_path, outcome, own_rto, Outcome, TlsCache};
use super::resolver::Destination;
use super::{Probe, ProbeContext, ProbeKind};
use crate::clock::mono_now;
use crate::environment::Env;
use crate::measure::population::{ClassSpec, PopulationSpec};
use crate::net::resolve::{build_uncached, resolve};
use crate::scenario::duration::HumanDuration;
use crate::scenario::Target;
use crate::timeline::Observation;
use hickory_resolver::TokioResolver;
use serde::{Deserialize, Deserializer};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_rustls::rustls::ClientConfig;

/// The most simulated clients one population has.
pub const MAX_CLIENTS: u32 = 2000;
/// The most classes one population has.
pub const MAX_CLASSES: usize = 8;
/// The most requests a second a population sends on the lab (loopback).
/// On AWS it counts towards the scenario's cap for every probe together.
pub const MAX_RATE: f64 = 1000.0;
/// Each client's interval is cut in this many ticks; client `n` sends on
/// tick `n % SLOTS`, so the population's requests are spread over it.
pub const SLOTS: u32 = 10;
/// A request may take at most this many intervals: the run keeps at most
/// 64 ticks of a probe in flight.
const MAX_TIMEOUT_INTERVALS: u32 = 6;

/// `[[probes]] kind = "customers"`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customers {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    /// Probe name (default `customers`).
    #[serde(default = "default_name")]
    pub name: String,
    /// Simulated clients, 1 to [`MAX_CLIENTS`].
    pub clients: u32,
    /// Each client's request interval (default 1s; 1s to 60s).
    #[serde(default = "default_interval", deserialize_with = "interval")]
    pub interval: HumanDuration,
    /// Request timeout (default 2s).
    #[serde(default = "default_timeout", deserialize_with = "super::timeout")]
    pub timeout: HumanDuration,
    /// The percentile of clients the rto is judged at (default 100: every
    /// simulated customer).
    #[serde(default = "default_percentile", deserialize_with = "percentile")]
    pub rto_percentile: u8,
    /// The population's rto (default: the scenario's).
    #[serde(default, deserialize_with = "own_rto")]
    pub rto: Option<HumanDuration>,
    /// Path the clients call (lab default `/orders/latest`; AWS default the
    /// endpoint's path).
    #[serde(default, deserialize_with = "absolute_path")]
    pub path: Option<String>,
    /// AWS: resolvers to ask (`ip:port`); default the system's.
    #[serde(default)]
    pub resolvers: Vec<std::net::SocketAddr>,
    /// AWS: a PEM bundle to trust besides the system's roots.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// The classes, each a share of the clients.
    #[serde(default)]
    pub classes: Vec<Class>,
    #[serde(skip)]
    state: OnceLock<State>,
    #[serde(skip)]
    tick: AtomicU32,
}

/// `[[probes.classes]]`: one kind of client and its share.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Class {
    /// Its name in the reports (default the class's, e.g. `cached`).
    #[serde(default, deserialize_with = "label")]
    pub name: Option<String>,
    /// How its clients keep answers and connections.
    #[serde(deserialize_with = "super::client::table")]
    pub client: ClientClass,
    /// Its share of the clients, more than 0 and at most 1.
    #[serde(deserialize_with = "share")]
    pub share: f64,
    /// Its own rto, judged at the population's percentile.
    #[serde(default, deserialize_with = "own_rto")]
    pub rto: Option<HumanDuration>,
}

impl Class {
    /// Its name in the population.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(self.client.name())
    }
}

fn default_name() -> String {
    "customers".into()
}
fn default_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(1))
}
fn default_timeout() -> HumanDuration {
    super::ms(2000)
}
fn default_percentile() -> u8 {
    100
}

fn interval<'de, D: Deserializer<'de>>(d: D) -> Result<HumanDuration, D::Error> {
    let v = HumanDuration::deserialize(d)?;
    if v.get() < Duration::from_secs(1) || v.get() > Duration::from_secs(60) {
        return Err(serde::de::Error::custom(format!(
            "interval \"{v}\" is out of range; each simulated client requests every 1s to 60s"
        )));
    }
    Ok(v)
}

fn percentile<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let p = i64::deserialize(d)?;
    match u8::try_from(p) {
        Ok(p @ 1..=100) => Ok(p),
        _ => Err(serde::de::Error::custom(format!(
            "rto_percentile = {p} is out of range; use 1 to 100 (100: every simulated customer)"
        ))),
    }
}

fn share<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let s = f64::deserialize(d)?;
    if !(s > 0.0 && s <= 1.0) {
        return Err(serde::de::Error::custom(format!(
            "share = {s} is out of range; a class is more than 0 and at most 1 of the population (60% is 0.6)"
        )));
    }
    Ok(s)
}

fn label<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    let fine = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if s.is_empty() || s.len() > 32 || !s.chars().all(fine) {
        return Err(serde::de::Error::custom(format!(
            "name = {s:?} must be 1 to 32 letters, digits, '-' or '_'"
        )));
    }
    Ok(Some(s))
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Probe>, toml::de::Error> {
    Ok(Box::new(Customers::deserialize(de)?))
}

impl Customers {
    /// Each class's number of clients: its share of them, rounded so that
    /// they add up (largest remainders first).
    pub fn counts(&self) -> Vec<u32> {
        let exact: Vec<f64> = self
            .classes
            .iter()
            .map(|c| c.share * f64::from(self.clients))
            .collect();
        let mut counts: Vec<u32> = exact.iter().map(|e| e.floor() as u32).collect();
        let mut order: Vec<usize> = (0..exact.len()).collect();
        order.sort_by(|a, b| {
            (exact[*b] - exact[*b].floor()).total_cmp(&(exact[*a] - exact[*a].floor()))
        });
        let given: u32 = counts.iter().sum();
        for i in order
            .into_iter()
            .take(self.clients.saturating_sub(given) as usize)
        {
            counts[i] += 1;
        }
        counts
    }

    /// Requests a second the whole population sends.
    fn rate(&self) -> f64 {
        f64::from(self.clients) / self.interval.get().as_secs_f64()
    }

    /// The population's bounds and its classes' shares; the key at fault
    /// and why.
    fn check(&self, target: Target) -> Result<(), (&'static str, String)> {
        if self.clients == 0 || self.clients > MAX_CLIENTS {
            return Err((
                "clients",
                format!(
                    "clients = {} is out of range; simulate 1 to {MAX_CLIENTS} customers",
                    self.clients
                ),
            ));
        }
        if target == Target::Lab && self.rate() > MAX_RATE {
            return Err((
                "clients",
                format!(
                    "{} clients each requesting every {} send {:.0} requests a second; at most {MAX_RATE:.0} (fewer clients or a longer interval)",
                    self.clients,
                    self.interval,
                    self.rate()
                ),
            ));
        }
        if self.timeout.get() > self.interval.get() * MAX_TIMEOUT_INTERVALS {
            return Err((
                "timeout",
                format!(
                    "timeout {} is more than {MAX_TIMEOUT_INTERVALS} intervals of {}; shorten it or lengthen the interval",
                    self.timeout, self.interval
                ),
            ));
        }
        self.check_classes()
    }

    fn check_classes(&self) -> Result<(), (&'static str, String)> {
        if self.classes.is_empty() || self.classes.len() > MAX_CLASSES {
            return Err((
                "classes",
                format!(
                    "{} classes; declare 1 to {MAX_CLASSES} [[probes.classes]] tables, each with client = {{ class = ... }} and share",
                    self.classes.len()
                ),
            ));
        }
        let sum: f64 = self.classes.iter().map(|c| c.share).sum();
        if (sum - 1.0).abs() > 0.001 {
            return Err((
                "classes",
                format!("the classes' shares sum to {sum:.3}; they must sum to 1 (a class of 60% is share = 0.6)"),
            ));
        }
        for (i, c) in self.classes.iter().enumerate() {
            if self.classes[..i].iter().any(|d| d.label() == c.label()) {
                return Err((
                    "classes",
                    format!(
                        "two classes are named \"{}\"; give each a distinct name = \"...\"",
                        c.label()
                    ),
                ));
            }
        }
        match self.counts().iter().position(|n| *n == 0) {
            Some(i) => Err((
                "classes",
                format!(
                    "class \"{}\" gets no client: share {} of {} clients rounds to none; raise its share or clients",
                    self.classes[i].label(),
                    self.classes[i].share,
                    self.clients
                ),
            )),
            None => Ok(()),
        }
    }
}

/// The clients and what they share: the resolver (which keeps nothing:
/// each client keeps its own answer) and the TLS configuration.
struct State {
    clients: Vec<tokio::sync::Mutex<Client>>,
    resolver: OnceLock<Result<TokioResolver, String>>,
    tls: TlsCache,
}

/// One simulated client.
struct Client {
    class: usize,
    /// Where in its cache's or connection's lifetime it stands at its first
    /// request, in (0, 1]: the first answer or connection lasts this share
    /// of a whole one.
    phase: f64,
    /// It has made a request.
    started: bool,
    /// Its DNS answer and until when it keeps it (monotonic ns; `None`:
    /// forever).
    held: Option<(Destination, Option<u64>)>,
    /// A pooled client's connection.
    conn: Option<Kept>,
}

/// A pooled client's connection, the region its answer named, when it
/// must be replaced (its maximum age) and when it was last used.
struct Kept {
    conn: crate::net::http::Connection,
    region: Option<String>,
    replace_at: Option<u64>,
    used: u64,
}

/// `d` scaled by `f`, in ns.
fn part(d: Duration, f: f64) -> u64 {
    (d.as_nanos() as f64 * f) as u64
}

impl Customers {
    fn state(&self) -> &State {
        self.state.get_or_init(|| {
            let counts = self.counts();
            let mut clients = Vec::new();
            for (class, n) in counts.into_iter().enumerate() {
                for k in 0..n {
                    clients.push(tokio::sync::Mutex::new(Client {
                        class,
                        // Evenly over the lifetime, so the population is
                        // the same from one run to the next.
                        phase: (f64::from(k) + 0.5) / f64::from(n),
                        started: false,
                        held: None,
                        conn: None,
                    }));
                }
            }
            State {
                clients,
                resolver: OnceLock::new(),
                tls: TlsCache::default(),
            }
        })
    }

    /// The TLS configuration, when the destination is HTTPS.
    fn tls(&self, state: &State, tls: bool) -> Result<Option<Arc<ClientConfig>>, String> {
        state.tls.for_destination(tls, self.ca_file.as_deref())
    }

    /// Asks the customers' resolvers (nothing cached in between): where
    /// the name points now, and for how long the answer may be kept.
    async fn lookup(
        &self,
        ctx: &ProbeContext,
        state: &State,
    ) -> Result<(Destination, Duration), (Option<String>, String)> {
        let timeout = self.timeout.get();
        let (through, host) = ctx.env.customer_query(&self.resolvers);
        let resolver = state
            .resolver
            .get_or_init(|| build_uncached(&through, timeout))
            .as_ref()
            .map_err(|e| (None, e.clone()))?;
        let answer = resolve(resolver, &host, timeout)
            .await
            .map_err(|e| (None, format!("resolving {host} through {through}: {e}")))?;
        let to = ctx.env.destination(answer.addresses[0]).await?;
        Ok((to, answer.record_ttl))
    }

    /// The client's DNS answer: the one it holds, or, once that expired,
    /// a new one kept as its class keeps answers (a pooled client's
    /// resolver honours the TTL). Whether it is new; on failure, the
    /// region (when the answer named one) and why.
    async fn answer(
        &self,
        ctx: &ProbeContext,
        state: &State,
        client: &mut Client,
        keeps: ClientClass,
        started: u64,
    ) -> Result<(Destination, bool), (Option<String>, String)> {
        if let Some((to, until)) = &client.held {
            if until.is_none_or(|u| started < u) {
                return Ok((to.clone(), false));
            }
        }
        let (to, ttl) = self.lookup(ctx, state).await?;
        let share = if client.started { 1.0 } else { client.phase };
        let until = keeps.keeps_answer(ttl).map(|k| started + part(k, share));
        client.held = Some((to.clone(), until));
        Ok((to, true))
    }

    /// One request of a client that resolves through its own cache, on a
    /// new connection: the region, whether the answer was new, the outcome.
    async fn cached_request(
        &self,
        ctx: &ProbeContext,
        state: &State,
        client: &mut Client,
        class: ClientClass,
        started: u64,
    ) -> (Option<String>, bool, Outcome) {
        let (to, renewed) = match self.answer(ctx, state, client, class, started).await {
            Ok(answer) => answer,
            // No answer came: the client holds nothing new.
            Err((region, e)) => return (region, false, (None, Some(e))),
        };
        let (host, path) = host_and_path(&ctx.env, self.path.as_deref());
        let left = self
            .timeout
            .get()
            .saturating_sub(Duration::from_nanos(mono_now() - started));
        let reply = get_new(to.endpoint, self.tls(state, to.tls), &host, &path, left).await;
        (to.region, renewed, outcome(reply))
    }

    /// One request of a pooled client on its kept connection, or a new one
    /// (resolving the name) when it has none usable; a connection whose
    /// request fails or hangs is dropped, one answering an error is kept.
    async fn pooled_request(
        &self,
        ctx: &ProbeContext,
        state: &State,
        client: &mut Client,
        (idle, max_age): (Duration, Option<Duration>),
        started: u64,
    ) -> (Option<String>, bool, Outcome) {
        let usable = client.conn.as_ref().is_some_and(|k| {
            !k.conn.is_closed()
                && started.saturating_sub(k.used) < idle.as_nanos() as u64
                && k.replace_at.is_none_or(|at| started < at)
        });
        let mut renewed = false;
        if !usable {
            client.conn = None;
            match self.connect(ctx, state, client, max_age, started).await {
                Ok((kept, new_answer)) => {
                    client.conn = Some(kept);
                    renewed = new_answer;
                }
                Err((region, e, renewed)) => return (region, renewed, (None, Some(e))),
            }
        }
        let Some(kept) = client.conn.as_mut() else {
            return (None, renewed, (None, Some("no connection".into())));
        };
        let (host, path) = host_and_path(&ctx.env, self.path.as_deref());
        let left = self
            .timeout
            .get()
            .saturating_sub(Duration::from_nanos(mono_now() - started));
        let reply = kept.conn.get(&host, &path, left).await;
        let region = kept.region.clone();
        match reply.is_ok() {
            true => kept.used = mono_now(),
            false => client.conn = None,
        }
        (region, renewed, outcome(reply))
    }

    /// A pooled client's new connection to where its answer points, and
    /// whether the answer is new; on failure, the region, why, and whether
    /// the answer was new all the same.
    async fn connect(
        &self,
        ctx: &ProbeContext,
        state: &State,
        client: &mut Client,
        max_age: Option<Duration>,
        started: u64,
    ) -> Result<(Kept, bool), (Option<String>, String, bool)> {
        let fresh = ClientClass::default();
        let (to, renewed) = self
            .answer(ctx, state, client, fresh, started)
            .await
            .map_err(|(region, e)| (region, e, false))?;
        let (host, _) = host_and_path(&ctx.env, self.path.as_deref());
        let tls = self
            .tls(state, to.tls)
            .map_err(|e| (to.region.clone(), e, renewed))?;
        let conn = crate::net::http::open(to.endpoint, tls, &host, self.timeout.get())
            .await
            .map_err(|e| (to.region.clone(), e.to_string(), renewed))?;
        let share = if client.started { 1.0 } else { client.phase };
        let kept = Kept {
            conn,
            region: to.region,
            replace_at: max_age.map(|age| started + part(age, share)),
            used: mono_now(),
        };
        Ok((kept, renewed))
    }

    /// Client `n`'s request, unless it is still waiting on its last one.
    async fn request(&self, ctx: &ProbeContext, state: &State, n: u32) -> Option<Observation> {
        let mut client = state.clients.get(n as usize)?.try_lock().ok()?;
        let class = &self.classes[client.class];
        let started = mono_now();
        let (region, renewed, (status, error)) = match class.client {
            ClientClass::Pooled {
                idle_timeout,
                max_age,
            } => {
                self.pooled_request(ctx, state, &mut client, (idle_timeout, max_age), started)
                    .await
            }
            other => {
                self.cached_request(ctx, state, &mut client, other, started)
                    .await
            }
        };
        client.started = true;
        Some(Observation::Customer {
            class: class.label().to_string(),
            client: n,
            ok: error.is_none(),
            status,
            region,
            latency_ns: mono_now() - started,
            renewed,
            error,
        })
    }
}

#[async_trait::async_trait]
impl Probe for Customers {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ProbeKind {
        ProbeKind::Customers
    }
    /// One tick: a [`SLOTS`]th of each client's interval.
    fn interval(&self) -> Duration {
        self.interval.get() / SLOTS
    }
    fn shown_interval(&self) -> Duration {
        self.interval.get()
    }
    fn requests_per_tick(&self) -> u32 {
        self.clients.div_ceil(SLOTS)
    }
    fn customer_resolvers(&self) -> Option<&[std::net::SocketAddr]> {
        Some(&self.resolvers)
    }
    fn request_timeout(&self) -> Option<Duration> {
        Some(self.timeout.get())
    }

    fn check_target(&self, target: Target) -> Result<(), (&'static str, String)> {
        if target == Target::Lab && !self.resolvers.is_empty() {
            return Err(crate::fault::option_for("resolvers", Target::Aws));
        }
        if target == Target::Lab && self.ca_file.is_some() {
            return Err(crate::fault::option_for("ca_file", Target::Aws));
        }
        self.check(target)
    }

    fn population(&self, scenario_rto: Duration, stable_for: Duration) -> Option<PopulationSpec> {
        let mut first = 0;
        let classes = self
            .classes
            .iter()
            .zip(self.counts())
            .map(|(c, clients)| {
                let spec = ClassSpec {
                    label: c.label().to_string(),
                    client: c.client,
                    first,
                    clients,
                    rto: c.rto.map(|r| r.get()),
                };
                first += clients;
                spec
            })
            .collect();
        Some(PopulationSpec {
            probe: self.name.clone(),
            interval: self.interval.get(),
            timeout: self.timeout.get(),
            percentile: self.rto_percentile,
            rto: self.rto.map_or(scenario_rto, |r| r.get()),
            stable_for,
            classes,
        })
    }

    fn describe(&self, env: &Env) -> String {
        let (host, path) = host_and_path(env, self.path.as_deref());
        let classes: Vec<String> = self
            .classes
            .iter()
            .zip(self.counts())
            .map(|(c, n)| format!("{n} {} ({})", c.label(), c.client.describe()))
            .collect();
        format!(
            "{} simulated customers, each a GET http(s)://{host}{path} every {} ({:.0} requests a second): {}; rto judged at p{}; timeout {}",
            self.clients,
            self.interval,
            self.rate(),
            classes.join(", "),
            self.rto_percentile,
            self.timeout
        )
    }

    async fn observe(&self, ctx: &ProbeContext, _at: crate::clock::Offset) -> Vec<Observation> {
        let state = self.state();
        let slot = self.tick.fetch_add(1, Ordering::Relaxed) % SLOTS;
        let due = (slot..self.clients).step_by(SLOTS as usize);
        let requests = due.map(|n| self.request(ctx, state, n));
        futures_util::future::join_all(requests)
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}
