//! `canary`: writes sequence-numbered orders through the app at a steady rate,
//! as a customer would, records which were acked, and once observing is over
//! reads them back from the region that serves.
//!
//! On AWS it writes straight to PostgreSQL through the connection string in
//! the environment variable `connection_env` (the writer endpoint, which
//! follows a failover), and reads back through the same endpoint. With
//! `both_writers`, it also asks the old primary region's writer
//! (`old_writer_env`) and the standby region's cluster (`standby_env`)
//! directly, as on the lab (probe/writers.rs), and can read an Aurora global
//! database's membership (`global_cluster`). Connection strings never appear
//! in output or reports.

use super::postgres::Connection;
use super::resolver::{CustomerResolver, Destination};
use super::writers::{Instance, WriterWatch, Writers};
use super::{Probe, ProbeContext, ProbeKind};
use crate::clock::mono_now;
use crate::environment::Env;
use crate::net::{dns::query_a, http};
use crate::scenario::duration::HumanDuration;
use crate::scenario::Target;
use crate::timeline::Observation;
use crate::words::Role;
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
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
    /// Also ask both writers directly each tick whether they take writes,
    /// and read both back after the run, to count divergent writes (acked by
    /// the old writer after the standby's promotion) apart from lost ones,
    /// and to time the fencing (probe/writers.rs).
    #[serde(default)]
    pub both_writers: bool,
    /// AWS, with `both_writers`: the environment variable holding the
    /// connection string of the old primary region's own writer endpoint
    /// (the regional cluster endpoint, not one that follows a failover).
    #[serde(default)]
    pub old_writer_env: Option<String>,
    /// AWS, with `both_writers`: the environment variable holding the
    /// connection string of the standby region's cluster endpoint.
    #[serde(default)]
    pub standby_env: Option<String>,
    /// AWS, with `both_writers`: an Aurora global database whose members are
    /// read after observing, to say whether the old writer was demoted.
    #[serde(default)]
    pub global_cluster: Option<String>,
    #[serde(skip)]
    writers: WriterWatch,
    #[serde(skip)]
    next_seq: AtomicU64,
    #[serde(skip)]
    aws: OnceLock<AwsConnections>,
    #[serde(skip)]
    resolver: CustomerResolver,
}

/// The canary's connections on AWS, opened on first use.
struct AwsConnections {
    /// The customers' writer endpoint.
    customer: Connection,
    /// The old primary region's writer and the standby region's cluster,
    /// with their regions, when the canary watches both writers.
    writers: Option<[(Connection, String); 2]>,
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
            Target::Lab => self.aws_only_keys(),
            Target::Aws if self.connection_env.is_none() => Err((
                "kind",
                "on AWS the canary writes to PostgreSQL: add connection_env = \"GAMEDAY_CANARY_DSN\", the environment variable holding the writer's connection string".into(),
            )),
            Target::Aws if self.both_writers && (self.old_writer_env.is_none() || self.standby_env.is_none()) => Err((
                "both_writers",
                "on AWS, both_writers asks each writer directly: add old_writer_env (the variable holding the old primary region's own writer endpoint) and standby_env (the standby region's cluster endpoint)".into(),
            )),
            Target::Aws => self.two_writer_keys(),
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
                "INSERT sequence numbers into gameday_canary through the connection string in ${}, then reads them back through it{}",
                self.connection_env.as_deref().unwrap_or_default(),
                if self.both_writers {
                    format!(
                        "; asks the old writer (${}) and the standby (${}) directly each tick whether they take writes, and reads both back{}",
                        self.old_writer_env.as_deref().unwrap_or_default(),
                        self.standby_env.as_deref().unwrap_or_default(),
                        self.global_cluster
                            .as_ref()
                            .map(|g| format!("; reads global database {g}'s members before the revert"))
                            .unwrap_or_default()
                    )
                } else {
                    String::new()
                }
            ),
        }
    }

    async fn observe(&self, ctx: &ProbeContext, at: crate::clock::Offset) -> Vec<Observation> {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed) + 1;
        // `sent_after_ns` counts from the entry's stamp.
        let started = ctx.clock.origin + at.0;
        match self.both_writers.then(|| self.pair(&ctx.env)).flatten() {
            Some(pair) => self.two_writer_tick(ctx, pair, seq, started).await,
            None => vec![self.customer(ctx, seq, started).await],
        }
    }

    async fn settle(&self, ctx: &ProbeContext, _at: crate::clock::Offset) -> Vec<Observation> {
        if let Some(pair) = self.both_writers.then(|| self.pair(&ctx.env)).flatten() {
            let mut out =
                both_writers_read_back(pair, &ctx.run_id, self.writers.standby_promoted()).await;
            out.extend(self.global_membership(&ctx.env).await);
            return out;
        }
        match &ctx.env {
            Env::Aws(_) => self.aws_read_back(&ctx.run_id).await,
            Env::Lab(lab) => lab_read_back(lab, &ctx.run_id).await,
        }
    }
}

/// The two writers, wherever they are.
#[derive(Clone, Copy)]
struct Pair<'a> {
    /// The writer before the fault.
    old: Instance<'a>,
    /// The other region's instance.
    standby: Instance<'a>,
}

impl CanaryProbe {
    /// Keys that only apply on AWS, if one is set.
    fn aws_only_keys(&self) -> Result<(), (&'static str, String)> {
        let keys = [
            ("connection_env", self.connection_env.is_some()),
            ("ca_file", self.ca_file.is_some()),
            ("old_writer_env", self.old_writer_env.is_some()),
            ("standby_env", self.standby_env.is_some()),
            ("global_cluster", self.global_cluster.is_some()),
        ];
        match keys.iter().find(|(_, set)| *set) {
            Some((key, _)) => Err(crate::fault::option_for(key, Target::Aws)),
            None => Ok(()),
        }
    }

    /// The two-writer keys on AWS need `both_writers`.
    fn two_writer_keys(&self) -> Result<(), (&'static str, String)> {
        let keys = [
            ("old_writer_env", self.old_writer_env.is_some()),
            ("standby_env", self.standby_env.is_some()),
            ("global_cluster", self.global_cluster.is_some()),
        ];
        match keys.iter().find(|(_, set)| *set) {
            Some((key, _)) if !self.both_writers => Err((
                key,
                format!("{key} applies only with both_writers = true; add it, or remove {key}"),
            )),
            _ => Ok(()),
        }
    }

    /// The canary's connections on AWS.
    fn connections(&self, env: &Env) -> &AwsConnections {
        self.aws.get_or_init(|| {
            let open = |var: &Option<String>| {
                Connection::new(var.as_deref().unwrap_or_default(), self.ca_file.clone())
            };
            AwsConnections {
                customer: open(&self.connection_env),
                writers: self.both_writers.then(|| {
                    [
                        (open(&self.old_writer_env), env.region_name(Role::Primary)),
                        (open(&self.standby_env), env.region_name(Role::Secondary)),
                    ]
                }),
            }
        })
    }

    /// Both writers: the lab's instances, or the AWS connections.
    fn pair<'a>(&'a self, env: &'a Env) -> Option<Pair<'a>> {
        match env {
            Env::Lab(lab) => {
                let w = Writers::of(lab);
                Some(Pair {
                    old: Instance::Lab { lab, region: w.old },
                    standby: Instance::Lab {
                        lab,
                        region: w.standby,
                    },
                })
            }
            Env::Aws(_) => {
                let [(old, old_region), (standby, standby_region)] =
                    self.connections(env).writers.as_ref()?;
                Some(Pair {
                    old: Instance::Postgres {
                        connection: old,
                        region: old_region,
                    },
                    standby: Instance::Postgres {
                        connection: standby,
                        region: standby_region,
                    },
                })
            }
        }
    }

    /// One tick of the two-writer case. Standby probes bracket the customer
    /// write until the promotion is seen, so a write is placed before or
    /// after it to within its own round trip. The old writer is asked first,
    /// so a fencing made before the promotion is seen no later than the
    /// promotion (unless both fall between the same two probes).
    async fn two_writer_tick(
        &self,
        ctx: &ProbeContext,
        pair: Pair<'_>,
        seq: u64,
        started: crate::clock::MonoNs,
    ) -> Vec<Observation> {
        let timeout = self.timeout.get();
        let probe = |instance, standby| {
            self.writers
                .probe(instance, standby, &ctx.run_id, timeout, started)
        };
        let mut out = Vec::with_capacity(4);
        out.push(probe(pair.old, false).await);
        if !self.writers.standby_promoted() {
            out.push(probe(pair.standby, true).await);
        }
        out.push(self.customer(ctx, seq, started).await);
        if !self.writers.standby_promoted() {
            out.push(probe(pair.standby, true).await);
        }
        out
    }

    /// One customer write: through the app on the lab, through the writer
    /// endpoint on AWS.
    async fn customer(
        &self,
        ctx: &ProbeContext,
        seq: u64,
        tick: crate::clock::MonoNs,
    ) -> Observation {
        match &ctx.env {
            Env::Lab(lab) => self.customer_write(ctx, lab, seq, tick).await,
            Env::Aws(_) => self.aws_write(ctx, seq, tick).await,
        }
    }

    /// One INSERT through the customers' writer endpoint.
    async fn aws_write(
        &self,
        ctx: &ProbeContext,
        seq: u64,
        tick: crate::clock::MonoNs,
    ) -> Observation {
        let sent = mono_now();
        let customer = &self.connections(&ctx.env).customer;
        let outcome = tokio::time::timeout(self.timeout.get(), customer.insert(&ctx.run_id, seq))
            .await
            .unwrap_or_else(|_| {
                Err(super::postgres::Refusal::Unreached(format!(
                    "no commit within {}",
                    self.timeout
                )))
            });
        if outcome.is_err() {
            // A broken connection is opened anew on the next write, as an app would.
            customer.reset().await;
        }
        Observation::CanaryWrite {
            seq,
            sent_after_ns: sent.saturating_sub(tick),
            acked: outcome.is_ok(),
            region: None,
            latency_ns: mono_now() - sent,
            error: outcome.err().map(|r| r.text().to_string()),
        }
    }

    /// The read-back through the customers' writer endpoint (a few tries).
    async fn aws_read_back(&self, run_id: &str) -> Vec<Observation> {
        let Some(connections) = self.aws.get() else {
            return Vec::new();
        };
        for _ in 0..5 {
            if let Ok(Ok(present)) = tokio::time::timeout(
                Duration::from_secs(5),
                connections.customer.read_back(run_id),
            )
            .await
            {
                return vec![Observation::CanaryReadBack {
                    region: "writer endpoint".into(),
                    present,
                    old_writer: false,
                }];
            }
            connections.customer.reset().await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Vec::new()
    }

    /// The global database's members, read from the standby region (the
    /// old one may be cut off), when the scenario names one.
    async fn global_membership(&self, env: &Env) -> Option<Observation> {
        let (Some(global), Env::Aws(aws)) = (&self.global_cluster, env) else {
            return None;
        };
        let params = &aws.description.params;
        let rds = aws.clients.region(&params.secondary_region).rds;
        let read = crate::aws::global::members(&rds, &params.secondary_region, global);
        let demotion = match tokio::time::timeout(Duration::from_secs(10), read).await {
            Ok(Ok(members)) => {
                crate::aws::global::demotion(global, &members, &params.primary_region)
            }
            Ok(Err(e)) => unknown_demotion(e),
            Err(_) => unknown_demotion(format!(
                "reading global database {global}: no answer within 10 s"
            )),
        };
        Some(Observation::GlobalMembership {
            global_cluster: global.clone(),
            writer: demotion.writer,
            demoted: demotion.demoted,
            detail: demotion.detail,
        })
    }

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
            } = self
                .resolver
                .destination(&ctx.env, &[], timeout, &Default::default())
                .await?;
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
}

/// What is said when the membership could not be read.
fn unknown_demotion(why: String) -> crate::aws::global::Demotion {
    crate::aws::global::Demotion {
        writer: None,
        demoted: None,
        detail: format!("whether the old writer was demoted is unknown: {why}"),
    }
}

/// Both instances, read directly (a few tries each): the writer now (the
/// standby once it took a write, else the old writer still) and the old
/// writer. Through an app the read could land on either side of the cut.
async fn both_writers_read_back(pair: Pair<'_>, run_id: &str, promoted: bool) -> Vec<Observation> {
    let new = if promoted { pair.standby } else { pair.old };
    let mut out = Vec::new();
    for (instance, old_writer) in [(new, false), (pair.old, true)] {
        for _ in 0..5 {
            if let Ok(Ok(present)) =
                tokio::time::timeout(Duration::from_secs(5), instance.read(run_id)).await
            {
                out.push(Observation::CanaryReadBack {
                    region: instance.region().to_string(),
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

/// Without both writers, on the lab: the serving region's app, read back
/// through the region the authoritative server names now.
async fn lab_read_back(lab: &crate::environment::LabEnv, run_id: &str) -> Vec<Observation> {
    // Ask the authoritative server, uncached, which region serves now, and read
    // from there. A few tries: the read-back must not be lost to one blip.
    let host = lab.record.trim_end_matches('.');
    let path = format!("/orders?canary={}", run_id);
    for _ in 0..5 {
        let Ok(answer) = query_a(lab.dns, &lab.record, Duration::from_secs(1)).await else {
            continue;
        };
        let Some(ip) = answer.addresses.first().copied() else {
            continue;
        };
        let (Some(region), Some(endpoint)) = (lab.region_of_ip(ip), lab.endpoint_for(ip)) else {
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
