//! The timeline: every observation and event of one run, in order, on one clock.

pub mod file;

use crate::clock::Offset;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::time::Duration;

/// The most entries one run's timeline holds (about 200 bytes each): with
/// the probe caps of a scenario this is hours of observation; a run that
/// reaches it is stopped and reverted instead of exhausting memory while a
/// fault is in place.
pub const MAX_ENTRIES: usize = 2_000_000;

/// What one probe saw at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "probe", rename_all = "kebab-case")]
pub enum Observation {
    /// A customer request.
    Http {
        /// Served successfully (2xx): every request of this observation.
        ok: bool,
        /// Concurrent requests made (the probe's `requests`).
        #[serde(default = "one", skip_serializing_if = "is_one")]
        requests: u32,
        /// How many of them failed.
        #[serde(default, skip_serializing_if = "is_zero")]
        failed: u32,
        /// HTTP status, when one came back.
        status: Option<u16>,
        /// Region the request went to (from the DNS answer used).
        region: Option<String>,
        /// Time to the full answer or the failure.
        latency_ns: u64,
        /// Why it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// One request of one simulated client of a `customers` population.
    Customer {
        /// The client's class, as the population names it (`fresh`, `jvm`, ...).
        class: String,
        /// The client's number in the population, from 0.
        client: u32,
        /// Served successfully (2xx).
        ok: bool,
        /// HTTP status, when one came back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        /// Region the request went to (from the DNS answer the client used).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        region: Option<String>,
        /// Time to the full answer or the failure.
        latency_ns: u64,
        /// The client resolved the name for this request (its answer had
        /// expired; for a pooled client, it also needed a new connection).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        renewed: bool,
        /// Why it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// One second of the `[load]`'s arrivals, once their requests were
    /// answered (or the load stopped).
    Load {
        /// How long before this entry's timestamp the second began.
        window_before_ns: u64,
        /// Requests sent in that second.
        sent: u32,
        /// Served (2xx).
        ok: u32,
        /// Failed (an error answer, a timeout, no connection).
        failed: u32,
        /// Arrivals not sent: the requests in flight were at their bound.
        #[serde(default, skip_serializing_if = "is_zero")]
        dropped: u32,
        /// Still unanswered when the load stopped.
        #[serde(default, skip_serializing_if = "is_zero")]
        unanswered: u32,
        /// Of the served, those the secondary region answered.
        #[serde(default, skip_serializing_if = "is_zero")]
        on_secondary: u32,
        /// Latency of the answered requests: median, 99th percentile, largest.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        p50_ns: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        /// 99th percentile.
        p99_ns: Option<u64>,
        /// Largest.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ns: Option<u64>,
    },
    /// An answer from the authoritative DNS server.
    Dns {
        /// Region the answered address belongs to.
        region: Option<String>,
        /// Answered address.
        address: Option<Ipv4Addr>,
        /// Answered TTL, seconds.
        ttl: Option<u32>,
        /// Why there was no answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// Health-check status of one region.
    HealthCheck {
        /// Region.
        region: String,
        /// Aggregate verdict.
        healthy: bool,
        /// Checkers reporting healthy.
        checkers_healthy: u32,
        /// All checkers.
        checkers: u32,
    },
    /// One canary write.
    CanaryWrite {
        /// Sequence number written.
        seq: u64,
        /// When it was sent, after the observation's timestamp (0 unless
        /// writer probes went first in the same tick).
        #[serde(default, skip_serializing_if = "is_zero_u64")]
        sent_after_ns: u64,
        /// Acked by the app (committed on the writer).
        acked: bool,
        /// Region the write went to.
        region: Option<String>,
        /// Time until ack or failure.
        latency_ns: u64,
        /// Why it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The canary's read-back after the failover: which sequence numbers the
    /// serving region holds (or, `old_writer`, the old writer's instance, read
    /// directly).
    CanaryReadBack {
        /// Region that served the read.
        region: String,
        /// Sequence numbers present.
        present: Vec<u64>,
        /// Read straight from the old writer's instance, not the serving one.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        old_writer: bool,
    },
    /// One probe write made straight to a region's database instance: does
    /// it take writes (the standby once promoted; the old writer until fenced)?
    WriterProbe {
        /// Region of the instance.
        region: String,
        /// It committed the write.
        accepted: bool,
        /// No answer came (a timeout, a broken connection): whether the
        /// instance takes writes is unknown, so measuring skips it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unreached: bool,
        /// When it was sent, after the observation's timestamp (several are
        /// made in one tick).
        sent_after_ns: u64,
        /// Time until commit or refusal.
        latency_ns: u64,
        /// Why it was refused.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The health of one target group's registered targets.
    TargetHealth {
        /// Region.
        region: String,
        /// Target group (ARN on AWS).
        target_group: String,
        /// Registered targets reported healthy.
        healthy: u32,
        /// Registered targets reported unhealthy (failing their checks).
        unhealthy: u32,
        /// Registered targets.
        registered: u32,
    },
    /// A CloudWatch alarm's state.
    Alarm {
        /// Region.
        region: String,
        /// Alarm name.
        name: String,
        /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
        state: String,
        /// Why it is in that state, as CloudWatch says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The standby's capacity: its Auto Scaling group(s) and target group.
    Capacity {
        /// Instances the group(s) want.
        desired: u32,
        /// Instances in service.
        in_service: u32,
        /// Targets healthy in the standby's target group.
        healthy: u32,
        /// The groups' largest size.
        max: u32,
        /// When a reading failed, why (the counts are then zero).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// An Aurora global database's members, read by the canary after
    /// observing, before anything is put back (AWS).
    GlobalMembership {
        /// Global cluster id.
        global_cluster: String,
        /// The writer member's cluster ARN, if one writes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        writer: Option<String>,
        /// Whether the old primary region's member is a secondary now
        /// (`None`: unknown).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        demoted: Option<bool>,
        /// In one sentence.
        detail: String,
    },
}

impl Observation {
    /// Good (served, acked, healthy), bad (failed, unhealthy, in alarm) or
    /// neither (a DNS answer, a read-back), for the live view's colour.
    pub fn good(&self) -> Option<bool> {
        match self {
            Observation::Http { ok, .. } | Observation::Customer { ok, .. } => Some(*ok),
            Observation::Load { failed, .. } => Some(*failed == 0),
            Observation::HealthCheck { healthy, .. } => Some(*healthy),
            Observation::CanaryWrite { acked, .. } => Some(*acked),
            Observation::Dns { error, .. } => error.as_ref().map(|_| false),
            Observation::Alarm { state, .. } => Some(state != "ALARM"),
            Observation::TargetHealth {
                healthy,
                registered,
                ..
            } => Some(healthy == registered),
            Observation::CanaryReadBack { .. }
            | Observation::WriterProbe { .. }
            | Observation::GlobalMembership { .. } => None,
            Observation::Capacity { error, .. } => error.as_ref().map(|_| false),
        }
    }

    /// The observation in a few words, for people.
    pub fn summary(&self) -> String {
        match self {
            Observation::Http {
                ok,
                status,
                region,
                error,
                ..
            } => request_summary(*ok, *status, region, error),
            Observation::Customer {
                class,
                client,
                ok,
                status,
                region,
                error,
                ..
            } => format!(
                "{class} #{client} {}",
                request_summary(*ok, *status, region, error)
            ),
            Observation::Load {
                sent,
                ok,
                failed,
                dropped,
                p99_ns,
                ..
            } => format!(
                "{sent} sent, {ok} served, {failed} failed{}{}",
                if *dropped > 0 {
                    format!(", {dropped} dropped")
                } else {
                    String::new()
                },
                p99_ns
                    .map(|p| format!(", p99 {}", crate::words::fmt_ms(p as f64 / 1e6)))
                    .unwrap_or_default()
            ),
            Observation::Dns {
                region,
                address,
                error,
                ..
            } => match (region, address) {
                (Some(r), Some(a)) => format!("{a} ({r})"),
                _ => error.clone().unwrap_or_else(|| "no answer".into()),
            },
            Observation::HealthCheck {
                region,
                healthy,
                checkers_healthy,
                checkers,
            } => {
                format!(
                    "{region} {} ({checkers_healthy}/{checkers} checkers)",
                    if *healthy { "healthy" } else { "UNHEALTHY" }
                )
            }
            Observation::CanaryWrite {
                seq, acked, error, ..
            } => {
                format!(
                    "write #{seq} {}{}",
                    if *acked { "acked" } else { "FAILED" },
                    error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
                )
            }
            Observation::CanaryReadBack {
                region,
                present,
                old_writer,
            } => format!(
                "read back {} writes from {region}{}",
                present.len(),
                if *old_writer { " (old writer)" } else { "" }
            ),
            Observation::WriterProbe {
                region,
                accepted,
                unreached,
                error,
                ..
            } => format!(
                "{region} database {}",
                match (accepted, error) {
                    (true, _) => "takes writes".to_string(),
                    (false, Some(e)) if *unreached => format!("did not answer: {e}"),
                    (false, Some(e)) => format!("refuses writes: {e}"),
                    (false, None) => "refuses writes".to_string(),
                }
            ),
            Observation::Alarm {
                region,
                name,
                state,
                ..
            } => format!("alarm {name} ({region}) {state}"),
            Observation::TargetHealth {
                region,
                healthy,
                registered,
                ..
            } => format!("{region} {healthy}/{registered} targets healthy"),
            Observation::GlobalMembership { detail, .. } => detail.clone(),
            Observation::Capacity {
                desired,
                in_service,
                healthy,
                max,
                error,
            } => match error {
                Some(e) => format!("FAILED: {e}"),
                None => format!("desired {desired} of at most {max}, {in_service} in service, {healthy} healthy"),
            },
        }
    }
}

/// A customer request in a few words: `ok 200 eu-central-1`,
/// `FAILED 503 me-central-1: no healthy target`.
fn request_summary(
    ok: bool,
    status: Option<u16>,
    region: &Option<String>,
    error: &Option<String>,
) -> String {
    format!(
        "{} {} {}{}",
        if ok { "ok" } else { "FAILED" },
        status.map(|s| s.to_string()).unwrap_or_default(),
        region.as_deref().unwrap_or(""),
        error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
    )
}

fn one() -> u32 {
    1
}
fn is_one(n: &u32) -> bool {
    *n == 1
}
fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}
fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Whether an entry is an observation or an event of the run itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "kebab-case")]
pub enum What {
    /// A probe observation.
    Observation(Observation),
    /// A step of the run (fault applied, revert, ...).
    Event {
        /// Event name: `fault-applied`, `undo-applied`, `baseline-start`, ...
        name: String,
        /// Specifics.
        detail: String,
    },
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// When, on the run clock (for probes: when the observation started).
    pub at: Offset,
    /// Probe name, or `run`.
    pub source: String,
    /// What.
    pub what: What,
}

impl Entry {
    /// A run event (`fault-applied`, `reverted`, ...) at `at`.
    pub fn event(at: Offset, name: &str, detail: impl Into<String>) -> Entry {
        Entry {
            at,
            source: "run".into(),
            what: What::Event {
                name: name.into(),
                detail: detail.into(),
            },
        }
    }
}

/// Every entry of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timeline {
    /// Entries sorted by time.
    pub entries: Vec<Entry>,
}

impl Timeline {
    /// Adds entries, keeping the order by time.
    pub fn extend(&mut self, entries: impl IntoIterator<Item = Entry>) {
        for e in entries {
            self.push(e);
        }
    }

    /// Adds an entry, keeping the order by time.
    pub fn push(&mut self, entry: Entry) {
        let pos = self.entries.partition_point(|e| e.at <= entry.at);
        self.entries.insert(pos, entry);
    }

    /// Adds a run event.
    pub fn event(&mut self, at: Offset, name: &str, detail: impl Into<String>) {
        self.push(Entry::event(at, name, detail));
    }

    /// Observations with their time.
    pub fn observations(&self) -> impl Iterator<Item = (Offset, &str, &Observation)> {
        self.entries.iter().filter_map(|e| match &e.what {
            What::Observation(o) => Some((e.at, e.source.as_str(), o)),
            What::Event { .. } => None,
        })
    }

    /// Observations at or after `from`, found by binary search (entries are
    /// sorted), so a check of a recent window costs the window, not the run.
    pub fn observations_since(
        &self,
        from: Offset,
    ) -> impl DoubleEndedIterator<Item = (Offset, &str, &Observation)> {
        let start = self.entries.partition_point(|e| e.at < from);
        self.entries[start..].iter().filter_map(|e| match &e.what {
            What::Observation(o) => Some((e.at, e.source.as_str(), o)),
            What::Event { .. } => None,
        })
    }

    /// Whether the timeline holds [`MAX_ENTRIES`]: a run stops there (and
    /// reverts) rather than grow without bound.
    pub fn is_full(&self) -> bool {
        self.entries.len() >= MAX_ENTRIES
    }

    /// The first event named `name`.
    pub fn first_event(&self, name: &str) -> Option<Offset> {
        self.entries.iter().find_map(|e| match &e.what {
            What::Event { name: n, .. } if n == name => Some(e.at),
            _ => None,
        })
    }
}

/// A latency as a duration.
pub fn latency(ns: u64) -> Duration {
    Duration::from_nanos(ns)
}
