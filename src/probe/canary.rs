//! `canary`: writes sequence-numbered orders through the app at a steady rate,
//! as a customer would, records which were acked, and once observing is over
//! reads them back from the region that serves.

use super::resolver::{CachingResolver, Destination};
use super::{Probe, ProbeContext, ProbeKind};
use crate::clock::mono_now;
use crate::lab::LabDescription;
use crate::net::{dns::query_a, http};
use crate::scenario::duration::HumanDuration;
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
    #[serde(skip)]
    next_seq: AtomicU64,
    #[serde(skip)]
    resolver: CachingResolver,
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
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ProbeKind {
        ProbeKind::Canary
    }
    fn interval(&self) -> Duration {
        self.interval.get()
    }
    fn describe(&self, env: &LabDescription) -> String {
        format!(
            "POST http://{}/orders with sequence numbers, then reads them back from the serving region",
            env.record.trim_end_matches('.')
        )
    }

    async fn observe(&self, ctx: &ProbeContext) -> Vec<Observation> {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let started = mono_now();
        let timeout = self.timeout.get();
        let host = ctx.env.record.trim_end_matches('.');
        let body = serde_json::json!({ "seq": seq, "canary": ctx.run_id }).to_string();
        let outcome = async {
            let Destination { region, endpoint } =
                self.resolver.destination(&ctx.env, timeout).await?;
            let left = timeout.saturating_sub(Duration::from_nanos(mono_now() - started));
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
        let latency_ns = mono_now() - started;
        vec![match outcome {
            Ok(region) => Observation::CanaryWrite {
                seq,
                acked: true,
                region,
                latency_ns,
                error: None,
            },
            Err((region, error)) => Observation::CanaryWrite {
                seq,
                acked: false,
                region,
                latency_ns,
                error: Some(error),
            },
        }]
    }

    async fn settle(&self, ctx: &ProbeContext) -> Vec<Observation> {
        // Ask the authoritative server, uncached, which region serves now, and read
        // from there. A few tries: the read-back must not be lost to one blip.
        let host = ctx.env.record.trim_end_matches('.');
        let path = format!("/orders?canary={}", ctx.run_id);
        for _ in 0..5 {
            let Ok(answer) = query_a(ctx.env.dns, &ctx.env.record, Duration::from_secs(1)).await
            else {
                continue;
            };
            let Some(ip) = answer.addresses.first().copied() else {
                continue;
            };
            let (Some(region), Some(endpoint)) =
                (ctx.env.region_of_ip(ip), ctx.env.endpoint_for(ip))
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
                    }];
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Vec::new()
    }
}
