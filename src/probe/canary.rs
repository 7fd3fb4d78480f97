//! `canary`: writes sequence-numbered orders through the app at a steady rate,
//! as a customer would, records which were acked, and once observing is over
//! reads them back from the region that serves.
//!
//! On AWS it writes straight to PostgreSQL through the connection string in
//! the environment variable `connection_env` (the writer endpoint, which
//! follows a failover), and reads back through the same endpoint. The
//! connection string never appears in output or reports.

use super::resolver::{CustomerResolver, Destination};
use super::writers::{WriterWatch, Writers};
use super::{Probe, ProbeContext, ProbeKind};
use crate::clock::mono_now;
use crate::environment::Env;
use crate::net::{dns::query_a, http};
use crate::scenario::duration::HumanDuration;
use crate::scenario::Target;
use crate::timeline::Observation;
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// `[[probes]] kind = "canary"`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanaryProbe {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    /// Probe name (default `canary`).
    #[serde(default = "default_name")]
    pub name: String,
    /// Interval between writes (default 100ms).
    #[serde(default = "default_interval", deserialize_with = "super::interval")]
    pub interval: HumanDuration,
    /// Write timeout (default 1s).
    #[serde(default = "default_timeout", deserialize_with = "super::timeout")]
    pub timeout: HumanDuration,
    /// AWS: name of the environment variable holding the PostgreSQL
    /// connection string (e.g. `GAMEDAY_CANARY_DSN`).
    #[serde(default)]
    pub connection_env: Option<String>,
    /// AWS: a PEM bundle to trust besides the system's roots, for TLS to the
    /// database (e.g. the Amazon RDS `global-bundle.pem`). TLS is required
    /// (and the certificate verified) unless the connection string names
    /// another `sslmode`: `prefer` would let TLS be stripped on the way.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// Lab: also ask both writers directly each tick whether they take
    /// writes, and read both back after the run, to count divergent writes
    /// (acked by the old writer after the standby's promotion) apart from
    /// lost ones, and to time the fencing (probe/writers.rs).
    #[serde(default)]
    pub both_writers: bool,
    #[serde(skip)]
    writers: WriterWatch,
    #[serde(skip)]
    next_seq: AtomicU64,
    #[serde(skip)]
    database: tokio::sync::Mutex<Option<tokio_postgres::Client>>,
    #[serde(skip)]
    resolver: CustomerResolver,
}

fn default_name() -> String {
    "canary".into()
}
fn default_interval() -> HumanDuration {
    super::ms(100)
}
fn default_timeout() -> HumanDuration {
    super::ms(1000)
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Probe>, toml::de::Error> {
    Ok(Box::new(CanaryProbe::deserialize(de)?))
}

#[async_trait::async_trait]
impl Probe for CanaryProbe {
    super::identity!(ProbeKind::Canary);
    fn check_target(&self, target: Target) -> Result<(), (&'static str, String)> {
        match target {
            Target::Lab if self.connection_env.is_some() => {
                Err(crate::fault::option_for("connection_env", Target::Aws))
            }
            Target::Lab if self.ca_file.is_some() => {
                Err(crate::fault::option_for("ca_file", Target::Aws))
            }
            Target::Aws if self.both_writers => {
                Err(crate::fault::option_for("both_writers", Target::Lab))
            }
            Target::Aws if self.connection_env.is_none() => Err((
                "kind",
                "on AWS the canary writes to PostgreSQL: add connection_env = \"GAMEDAY_CANARY_DSN\", the environment variable holding the writer's connection string".into(),
            )),
            _ => Ok(()),
        }
    }

    fn watches_both_writers(&self) -> bool {
        self.both_writers
    }

    fn describe(&self, env: &Env) -> String {
        match env {
            Env::Lab(lab) => format!(
                "POST http://{}/orders with sequence numbers, then reads them back from the serving region{}",
                lab.record.trim_end_matches('.'),
                if self.both_writers {
                    "; asks both writers directly each tick whether they take writes, and reads the old writer back too"
                } else {
                    ""
                }
            ),
            Env::Aws(_) => format!(
                "INSERT sequence numbers into gameday_canary through the connection string in ${}, then reads them back through it",
                self.connection_env.as_deref().unwrap_or_default()
            ),
        }
    }

    async fn observe(&self, ctx: &ProbeContext) -> Vec<Observation> {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let started = mono_now();
        let timeout = self.timeout.get();
        if let Env::Aws(_) = ctx.env {
            let outcome = tokio::time::timeout(timeout, self.insert(seq, &ctx.run_id))
                .await
                .unwrap_or_else(|_| Err(format!("no commit within {}", self.timeout)));
            if outcome.is_err() {
                // A broken connection is opened anew on the next write, as an app would.
                *self.database.lock().await = None;
            }
            return vec![Observation::CanaryWrite {
                seq,
                sent_after_ns: 0,
                acked: outcome.is_ok(),
                region: None,
                latency_ns: mono_now() - started,
                error: outcome.err(),
            }];
        }
        let Env::Lab(lab) = &ctx.env else {
            return Vec::new();
        };
        if !self.both_writers {
            return vec![self.customer_write(ctx, lab, seq, started).await];
        }
        // Standby probes bracket the customer write until the promotion is
        // seen, so a write is placed before or after it to within its own
        // round trip.
        // The old writer is asked first, so a fencing made before the
        // promotion is seen no later than the promotion.
        let w = Writers::of(lab);
        let mut out = Vec::with_capacity(4);
        out.push(
            self.writers
                .probe(lab, w.old, &ctx.run_id, timeout, started)
                .await,
        );
        if !self.writers.standby_promoted() {
            out.push(
                self.writers
                    .probe(lab, w.standby, &ctx.run_id, timeout, started)
                    .await,
            );
        }
        out.push(self.customer_write(ctx, lab, seq, started).await);
        if !self.writers.standby_promoted() {
            out.push(
                self.writers
                    .probe(lab, w.standby, &ctx.run_id, timeout, started)
                    .await,
            );
        }
        out
    }

    async fn settle(&self, ctx: &ProbeContext) -> Vec<Observation> {
        let lab = match &ctx.env {
            Env::Lab(lab) => lab,
            Env::Aws(_) => {
                for _ in 0..5 {
                    if let Ok(Ok(present)) =
                        tokio::time::timeout(Duration::from_secs(5), self.read_back(&ctx.run_id))
                            .await
                    {
                        return vec![Observation::CanaryReadBack {
                            region: "writer endpoint".into(),
                            present,
                            old_writer: false,
                        }];
                    }
                    *self.database.lock().await = None;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                return Vec::new();
            }
        };
        if self.both_writers {
            return both_writers_read_back(lab, &ctx.run_id, self.writers.standby_promoted()).await;
        }
        // Ask the authoritative server, uncached, which region serves now, and read
        // from there. A few tries: the read-back must not be lost to one blip.
        let host = lab.record.trim_end_matches('.');
        let path = format!("/orders?canary={}", ctx.run_id);
        for _ in 0..5 {
            let Ok(answer) = query_a(lab.dns, &lab.record, Duration::from_secs(1)).await else {
                continue;
            };
            let Some(ip) = answer.addresses.first().copied() else {
                continue;
            };
            let (Some(region), Some(endpoint)) = (lab.region_of_ip(ip), lab.endpoint_for(ip))
            else {
                continue;
            };
            if let Ok(r) = http::request(
                endpoint,
                hyper::Method::GET,
                host,
                &path,
                None,
                Duration::from_secs(2),
            )
            .await
            {
                if let (true, Ok(present)) = (
                    r.status.is_success(),
                    serde_json::from_slice::<Vec<u64>>(&r.body),
                ) {
                    return vec![Observation::CanaryReadBack {
                        region: region.name.clone(),
                        present,
                        old_writer: false,
                    }];
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Vec::new()
    }
}

impl CanaryProbe {
    /// One order posted as a customer would: resolved, through the app.
    async fn customer_write(
        &self,
        ctx: &ProbeContext,
        lab: &crate::environment::LabEnv,
        seq: u64,
        tick: crate::clock::MonoNs,
    ) -> Observation {
        let sent = mono_now();
        let timeout = self.timeout.get();
        let host = lab.record.trim_end_matches('.');
        let body = serde_json::json!({ "seq": seq, "canary": ctx.run_id }).to_string();
        let outcome = async {
            let Destination {
                region, endpoint, ..
            } = self.resolver.destination(&ctx.env, &[], timeout).await?;
            let left = timeout.saturating_sub(Duration::from_nanos(mono_now() - sent));
            match http::request(
                endpoint,
                hyper::Method::POST,
                host,
                "/orders",
                Some(body.into()),
                left,
            )
            .await
            {
                Ok(r) if r.status.is_success() => Ok(region),
                Ok(r) => Err((
                    region,
                    format!(
                        "{} {}",
                        r.status.as_u16(),
                        String::from_utf8_lossy(&r.body)
                            .chars()
                            .take(100)
                            .collect::<String>()
                    ),
                )),
                Err(e) => Err((region, e.to_string())),
            }
        }
        .await;
        let latency_ns = mono_now() - sent;
        let sent_after_ns = sent - tick;
        match outcome {
            Ok(region) => Observation::CanaryWrite {
                seq,
                sent_after_ns,
                acked: true,
                region,
                latency_ns,
                error: None,
            },
            Err((region, error)) => Observation::CanaryWrite {
                seq,
                sent_after_ns,
                acked: false,
                region,
                latency_ns,
                error: Some(error),
            },
        }
    }

    /// The open connection, or a new one (creating the canary table).
    async fn client(
        &self,
    ) -> Result<tokio::sync::MutexGuard<'_, Option<tokio_postgres::Client>>, String> {
        let mut guard = self.database.lock().await;
        if guard.is_none() {
            let var = self.connection_env.as_deref().unwrap_or_default();
            let dsn = std::env::var(var).map_err(|_| {
                format!("${var} is not set; export the canary's connection string in it")
            })?;
            let tls = crate::net::tls::client_config(self.ca_file.as_deref())?;
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new((*tls).clone());
            // The error text of a failed connection never includes the string itself.
            let (client, connection) = connection_config(&dsn, var)?
                .connect(tls)
                .await
                .map_err(|e| format!("connecting through ${var}: {}", chain(&e)))?;
            tokio::spawn(connection);
            client
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS gameday_canary (
                        run_id text NOT NULL,
                        seq bigint NOT NULL,
                        written_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (run_id, seq))",
                )
                .await
                .map_err(|e| format!("creating gameday_canary: {}", chain(&e)))?;
            *guard = Some(client);
        }
        Ok(guard)
    }

    async fn insert(&self, seq: u64, run_id: &str) -> Result<(), String> {
        let guard = self.client().await?;
        let client = guard.as_ref().ok_or("no connection")?;
        client
            .execute(
                "INSERT INTO gameday_canary (run_id, seq) VALUES ($1, $2)",
                &[&run_id, &(seq as i64)],
            )
            .await
            .map(|_| ())
            .map_err(|e| chain(&e))
    }

    async fn read_back(&self, run_id: &str) -> Result<Vec<u64>, String> {
        let guard = self.client().await?;
        let client = guard.as_ref().ok_or("no connection")?;
        let rows = client
            .query(
                "SELECT seq FROM gameday_canary WHERE run_id = $1 ORDER BY seq",
                &[&run_id],
            )
            .await
            .map_err(|e| chain(&e))?;
        Ok(rows.iter().map(|r| r.get::<_, i64>(0) as u64).collect())
    }
}

/// Both instances, read directly (a few tries each): the writer now (the
/// standby once it took a write, else the old writer still) and the old
/// writer. Through an app the read could land on either side of the cut.
async fn both_writers_read_back(
    lab: &crate::environment::LabEnv,
    run_id: &str,
    promoted: bool,
) -> Vec<Observation> {
    let w = Writers::of(lab);
    let new = if promoted { w.standby } else { w.old };
    let mut out = Vec::new();
    for (region, old_writer) in [(new, false), (w.old, true)] {
        for _ in 0..5 {
            if let Ok(present) = WriterWatch::read(lab, region, run_id).await {
                out.push(Observation::CanaryReadBack {
                    region: region.to_string(),
                    present,
                    old_writer,
                });
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    out
}

/// The connection string in `$var`, with TLS required when it names no
/// `sslmode` (libpq's default, `prefer`, falls back to plain text when TLS is
/// refused, which anyone on the path can do). The error never quotes the
/// string: it holds a password.
fn connection_config(dsn: &str, var: &str) -> Result<tokio_postgres::Config, String> {
    let mut config: tokio_postgres::Config = dsn.parse().map_err(|_| {
        format!("the connection string in ${var} cannot be parsed; use key=value pairs (host=... user=... dbname=...) or a postgresql:// URL")
    })?;
    if !dsn.to_ascii_lowercase().contains("sslmode") {
        config.ssl_mode(tokio_postgres::config::SslMode::Require);
    }
    Ok(config)
}

/// An error and its causes, in one line ("error performing TLS handshake:
/// server does not support TLS").
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::connection_config;
    use tokio_postgres::config::SslMode;

    #[test]
    fn tls_is_required_unless_the_connection_string_says_otherwise() {
        let mode = |dsn: &str| connection_config(dsn, "DSN").unwrap().get_ssl_mode();
        assert_eq!(mode("host=db user=app dbname=orders"), SslMode::Require);
        assert_eq!(mode("postgresql://app@db/orders"), SslMode::Require);
        assert_eq!(mode("host=db user=app sslmode=disable"), SslMode::Disable);
        assert_eq!(
            mode("postgresql://app@db/orders?sslmode=prefer"),
            SslMode::Prefer
        );
        let err = connection_config("host='db password=s3cret", "DSN").unwrap_err();
        assert!(err.contains("$DSN") && !err.contains("s3cret"), "{err}");
    }
}
