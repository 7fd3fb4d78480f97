//! `http`: a customer request. Resolves the record through a caching resolver
//! honouring the TTL, then calls the app through the region's public endpoint.
//! On AWS it resolves through the system's resolver (or the listed ones) and
//! calls the scenario's endpoint over HTTP or HTTPS.

use super::client::ClientClass;
use super::resolver::CustomerResolver;
use super::{Probe, ProbeContext, ProbeKind};
use crate::clock::mono_now;
use crate::environment::Env;
use crate::scenario::duration::HumanDuration;
use crate::timeline::Observation;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls::ClientConfig;

/// `[[probes]] kind = "http"`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpProbe {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    /// Probe name (default `customer`).
    #[serde(default = "default_name")]
    pub name: String,
    /// Interval (default 100ms).
    #[serde(default = "default_interval", deserialize_with = "super::interval")]
    pub interval: HumanDuration,
    /// Request timeout (default 2s).
    #[serde(default = "default_timeout", deserialize_with = "super::timeout")]
    pub timeout: HumanDuration,
    /// Concurrent requests per tick (default 1); the tick counts as served only
    /// when every one was. More requests catch partial outages (one AZ of two
    /// failing) that a single request misses half the time.
    #[serde(default = "default_requests", deserialize_with = "requests_per_tick")]
    pub requests: u32,
    /// Path a customer calls (lab default `/orders/latest`, which reads the
    /// database; AWS default the endpoint's path).
    #[serde(default, deserialize_with = "absolute_path")]
    pub path: Option<String>,
    /// AWS: resolvers to ask (`ip:port`), as customers behind them would;
    /// default the system's (/etc/resolv.conf).
    #[serde(default)]
    pub resolvers: Vec<std::net::SocketAddr>,
    /// AWS: a PEM bundle to trust besides the system's roots for an HTTPS
    /// endpoint (a staging environment behind a private CA).
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// How the customer keeps DNS answers (default: honours the TTL).
    #[serde(default, deserialize_with = "super::client::table")]
    pub client: ClientClass,
    /// This customer's own rto, judged on this probe alone (beside the
    /// scenario's `rto`, which waits for every customer probe).
    #[serde(default, deserialize_with = "own_rto")]
    pub rto: Option<HumanDuration>,
    #[serde(skip)]
    tls: TlsCache,
    #[serde(skip)]
    resolver: CustomerResolver,
    /// A pooled client's idle kept connections.
    #[serde(skip)]
    pool: std::sync::Mutex<Vec<Kept>>,
}

fn default_name() -> String {
    "customer".into()
}
fn default_interval() -> HumanDuration {
    super::ms(100)
}
fn default_timeout() -> HumanDuration {
    super::ms(2000)
}
fn default_requests() -> u32 {
    1
}

pub(super) fn own_rto<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<HumanDuration>, D::Error> {
    let rto = HumanDuration::deserialize(d)?;
    if rto.get().is_zero() {
        return Err(serde::de::Error::custom(
            "rto = \"0s\" cannot be met by a customer who saw the outage; declare the time this client may take to be served again",
        ));
    }
    Ok(Some(rto))
}

fn requests_per_tick<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    if !(1..=32).contains(&n) {
        return Err(serde::de::Error::custom(format!(
            "requests = {n} is out of range; send 1 to 32 requests per tick"
        )));
    }
    Ok(n)
}

pub(super) fn absolute_path<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    let path = String::deserialize(d)?;
    if !path.starts_with('/') {
        return Err(serde::de::Error::custom(format!(
            "path \"{path}\" must start with '/', e.g. \"/{path}\""
        )));
    }
    Ok(Some(path))
}

impl HttpProbe {
    /// Host header and path of the requests.
    fn host_and_path(&self, env: &Env) -> (String, String) {
        host_and_path(env, self.path.as_deref())
    }
}

/// Host header and path of a customer's requests: the probe's `path`, or
/// the lab's `/orders/latest`, or the AWS endpoint's path.
pub(super) fn host_and_path(env: &Env, path: Option<&str>) -> (String, String) {
    match env {
        Env::Lab(lab) => (
            lab.record.trim_end_matches('.').to_string(),
            path.unwrap_or("/orders/latest").to_string(),
        ),
        Env::Aws(aws) => {
            let (_, host, _, default) = aws.description.params.endpoint_parts();
            (host, path.map_or(default, str::to_string))
        }
    }
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Probe>, toml::de::Error> {
    Ok(Box::new(HttpProbe::deserialize(de)?))
}

/// What one request came to: its status, and why it failed, if it did.
pub(super) type Outcome = (Option<u16>, Option<String>);

pub(super) fn outcome(
    reply: Result<crate::net::http::Reply, crate::net::http::HttpError>,
) -> Outcome {
    match reply {
        Ok(reply) if reply.status.is_success() => (Some(reply.status.as_u16()), None),
        Ok(reply) => (
            Some(reply.status.as_u16()),
            Some(
                String::from_utf8_lossy(&reply.body)
                    .chars()
                    .take(120)
                    .collect(),
            ),
        ),
        Err(e) => (None, Some(e.to_string())),
    }
}

/// A customer's TLS configuration, made on first use and kept: the
/// system's roots and a probe's `ca_file`.
#[derive(Default)]
pub(super) struct TlsCache(std::sync::OnceLock<Result<Arc<ClientConfig>, String>>);

impl TlsCache {
    /// The configuration for a destination, when it is HTTPS.
    pub(super) fn for_destination(
        &self,
        tls: bool,
        ca_file: Option<&std::path::Path>,
    ) -> Result<Option<Arc<ClientConfig>>, String> {
        match tls {
            false => Ok(None),
            true => self
                .0
                .get_or_init(|| crate::net::tls::client_config(ca_file))
                .clone()
                .map(Some),
        }
    }
}

/// A customer's GET on a new connection (`Connection: close`) to
/// `endpoint`, over TLS when `tls` holds a configuration.
pub(super) async fn get_new(
    endpoint: std::net::SocketAddr,
    tls: Result<Option<Arc<ClientConfig>>, String>,
    host: &str,
    path: &str,
    timeout: Duration,
) -> Result<crate::net::http::Reply, crate::net::http::HttpError> {
    let tls = tls.map_err(crate::net::http::HttpError::Connect)?;
    crate::net::http::request_to(endpoint, tls, hyper::Method::GET, host, path, None, timeout).await
}

/// A pooled client's kept connection, the region its answer named, and
/// when it was opened and last used (monotonic ns).
struct Kept {
    conn: crate::net::http::Connection,
    region: Option<String>,
    opened: u64,
    used: u64,
}

/// The most idle connections a pooled client keeps.
const MAX_POOL: usize = 32;

impl HttpProbe {
    /// One resolution per tick, as one customer resolver would; then the
    /// requests go out together, each on a new connection.
    async fn fresh_calls(
        &self,
        ctx: &ProbeContext,
        started: u64,
    ) -> (Option<String>, Vec<Outcome>) {
        let timeout = self.timeout.get();
        let (host, path) = self.host_and_path(&ctx.env);
        let target = self
            .resolver
            .destination(&ctx.env, &self.resolvers, timeout, &self.client)
            .await;
        let d = match target {
            Ok(d) => d,
            Err((region, error)) => {
                return (region, vec![(None, Some(error)); self.requests as usize])
            }
        };
        let tls = self.tls.for_destination(d.tls, self.ca_file.as_deref());
        let left = timeout.saturating_sub(Duration::from_nanos(mono_now() - started));
        let (host, path, endpoint) = (&host, &path, d.endpoint);
        let calls = (0..self.requests).map(|_| get_new(endpoint, tls.clone(), host, path, left));
        let outcomes = futures_util::future::join_all(calls)
            .await
            .into_iter()
            .map(outcome)
            .collect();
        (d.region, outcomes)
    }

    /// The requests of a tick, each on an idle kept connection or, when
    /// none is left, a new one (which resolves the name again).
    async fn pooled_calls(
        &self,
        ctx: &ProbeContext,
        started: u64,
        idle: Duration,
        max_age: Option<Duration>,
    ) -> (Option<String>, Vec<Outcome>) {
        let (host, path) = self.host_and_path(&ctx.env);
        let calls =
            (0..self.requests).map(|_| self.pooled_call(ctx, started, &host, &path, idle, max_age));
        let done = futures_util::future::join_all(calls).await;
        let region = done.iter().find_map(|(r, _)| r.clone());
        (region, done.into_iter().map(|(_, o)| o).collect())
    }

    /// One request of a pooled client: a connection that fails or hangs is
    /// dropped; one that answers (even 503) goes back to the pool.
    async fn pooled_call(
        &self,
        ctx: &ProbeContext,
        started: u64,
        host: &str,
        path: &str,
        idle: Duration,
        max_age: Option<Duration>,
    ) -> (Option<String>, Outcome) {
        let timeout = self.timeout.get();
        let mut kept = match self.idle_connection(idle, max_age) {
            Some(kept) => kept,
            None => match self.new_connection(ctx, host, timeout).await {
                Ok(kept) => kept,
                Err((region, error)) => return (region, (None, Some(error))),
            },
        };
        let left = timeout.saturating_sub(Duration::from_nanos(mono_now() - started));
        let reply = kept.conn.get(host, path, left).await;
        let region = kept.region.clone();
        if reply.is_ok() {
            kept.used = mono_now();
            let mut pool = self.pool.lock().expect("pool lock");
            if pool.len() < MAX_POOL {
                pool.push(kept);
            }
        }
        (region, outcome(reply))
    }

    /// An idle kept connection still usable (open, not idle too long, not
    /// too old); the others are dropped.
    fn idle_connection(&self, idle: Duration, max_age: Option<Duration>) -> Option<Kept> {
        let now = mono_now();
        let age = |since: u64| Duration::from_nanos(now.saturating_sub(since));
        let mut pool = self.pool.lock().expect("pool lock");
        pool.retain(|k| {
            !k.conn.is_closed()
                && age(k.used) < idle
                && max_age.is_none_or(|max| age(k.opened) < max)
        });
        pool.pop()
    }

    /// A new connection to where the name resolves now.
    async fn new_connection(
        &self,
        ctx: &ProbeContext,
        host: &str,
        timeout: Duration,
    ) -> Result<Kept, (Option<String>, String)> {
        let d = self
            .resolver
            .destination(&ctx.env, &self.resolvers, timeout, &self.client)
            .await?;
        let region = d.region.clone();
        let tls = self
            .tls
            .for_destination(d.tls, self.ca_file.as_deref())
            .map_err(|e| (region.clone(), e))?;
        let conn = crate::net::http::open(d.endpoint, tls, host, timeout)
            .await
            .map_err(|e| (region.clone(), e.to_string()))?;
        let now = mono_now();
        Ok(Kept {
            conn,
            region,
            opened: now,
            used: now,
        })
    }
}

#[async_trait::async_trait]
impl Probe for HttpProbe {
    super::identity!(ProbeKind::Http);
    fn requests_per_tick(&self) -> u32 {
        self.requests
    }
    fn customer_resolvers(&self) -> Option<&[std::net::SocketAddr]> {
        Some(&self.resolvers)
    }
    fn check_target(&self, target: crate::scenario::Target) -> Result<(), (&'static str, String)> {
        if target == crate::scenario::Target::Lab && !self.resolvers.is_empty() {
            return Err(crate::fault::option_for(
                "resolvers",
                crate::scenario::Target::Aws,
            ));
        }
        if target == crate::scenario::Target::Lab && self.ca_file.is_some() {
            return Err(crate::fault::option_for(
                "ca_file",
                crate::scenario::Target::Aws,
            ));
        }
        Ok(())
    }

    fn client(&self) -> Option<ClientClass> {
        Some(self.client)
    }

    fn rto(&self) -> Option<HumanDuration> {
        self.rto
    }

    fn request_timeout(&self) -> Option<Duration> {
        Some(self.timeout.get())
    }

    fn describe(&self, env: &Env) -> String {
        let (host, path) = self.host_and_path(env);
        let scheme = match env {
            Env::Aws(a) if a.description.params.endpoint_parts().0 => "https",
            _ => "http",
        };
        let through = if self.resolvers.is_empty() {
            match env {
                Env::Lab(l) => format!("the lab's DNS {}", l.dns),
                Env::Aws(_) => "the system resolver".to_string(),
            }
        } else {
            self.resolvers
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "{} x GET {scheme}://{host}{path} as a {} customer, resolved through {through}; it {}; timeout {}",
            self.requests,
            self.client.name(),
            self.client.describe(),
            self.timeout
        )
    }

    async fn observe(&self, ctx: &ProbeContext, _at: crate::clock::Offset) -> Vec<Observation> {
        let started = mono_now();
        let (region, outcomes) = match self.client {
            ClientClass::Pooled {
                idle_timeout,
                max_age,
            } => self.pooled_calls(ctx, started, idle_timeout, max_age).await,
            _ => self.fresh_calls(ctx, started).await,
        };
        let failed = outcomes.iter().filter(|(_, e)| e.is_some()).count() as u32;
        // Report the first failure when there is one: that is what the tick means.
        let (status, error) = outcomes
            .iter()
            .find(|(_, e)| e.is_some())
            .or(outcomes.first())
            .cloned()
            .unwrap_or((None, None));
        vec![Observation::Http {
            ok: failed == 0,
            requests: self.requests,
            failed,
            status,
            region,
            latency_ns: mono_now() - started,
            error,
        }]
    }
}
