//! `http`: a customer request. Resolves the record through a caching resolver
//! honouring the TTL, then calls the app through the region's public endpoint.

use super::resolver::CachingResolver;
use super::{Probe, ProbeContext, ProbeKind};
use crate::clock::mono_now;
use crate::lab::LabDescription;
use crate::scenario::duration::HumanDuration;
use crate::timeline::Observation;
use serde::Deserialize;
use std::time::Duration;

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
    /// Path a customer calls (default `/orders/latest`, which reads the database).
    #[serde(default = "default_path", deserialize_with = "absolute_path")]
    pub path: String,
    #[serde(skip)]
    resolver: CachingResolver,
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
fn default_path() -> String {
    "/orders/latest".into()
}

fn absolute_path<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let path = String::deserialize(d)?;
    if !path.starts_with('/') {
        return Err(serde::de::Error::custom(format!(
            "path \"{path}\" must start with '/', e.g. \"/{path}\""
        )));
    }
    Ok(path)
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Probe>, toml::de::Error> {
    Ok(Box::new(HttpProbe::deserialize(de)?))
}

#[async_trait::async_trait]
impl Probe for HttpProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ProbeKind {
        ProbeKind::Http
    }
    fn interval(&self) -> Duration {
        self.interval.get()
    }
    fn describe(&self, env: &LabDescription) -> String {
        format!(
            "GET http://{}{} as a customer, DNS cached for its TTL, timeout {}",
            env.record.trim_end_matches('.'),
            self.path,
            self.timeout
        )
    }

    async fn observe(&self, ctx: &ProbeContext) -> Vec<Observation> {
        let started = mono_now();
        let timeout = self.timeout.get();
        let host = ctx.env.record.trim_end_matches('.');
        let outcome = async {
            let ip = self
                .resolver
                .resolve(ctx.env.dns, host, timeout)
                .await
                .map_err(|e| (None, e.to_string()))?;
            let region = ctx.env.region_of_ip(ip).map(|r| r.name.clone());
            let endpoint = ctx.env.endpoint_for(ip).ok_or_else(|| {
                (
                    region.clone(),
                    format!("DNS answered {ip}, which is no region's address"),
                )
            })?;
            let left = timeout.saturating_sub(Duration::from_nanos(mono_now() - started));
            crate::net::http::request(endpoint, hyper::Method::GET, host, &self.path, None, left)
                .await
                .map(|reply| (region.clone(), reply))
                .map_err(|e| (region, e.to_string()))
        }
        .await;
        let latency_ns = mono_now() - started;
        vec![match outcome {
            Ok((region, reply)) => Observation::Http {
                ok: reply.status.is_success(),
                status: Some(reply.status.as_u16()),
                region,
                latency_ns,
                error: (!reply.status.is_success()).then(|| {
                    String::from_utf8_lossy(&reply.body)
                        .chars()
                        .take(120)
                        .collect()
                }),
            },
            Err((region, error)) => Observation::Http {
                ok: false,
                status: None,
                region,
                latency_ns,
                error: Some(error),
            },
        }]
    }
}
