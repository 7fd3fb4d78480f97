//! `dns`: asks the zone's authoritative server directly, with no cache, which
//! region the failover record names right now.

use super::{Probe, ProbeContext, ProbeKind};
use crate::lab::LabDescription;
use crate::net::dns::query_a;
use crate::scenario::duration::HumanDuration;
use crate::timeline::Observation;
use serde::Deserialize;
use std::time::Duration;

/// `[[probes]] kind = "dns"`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsProbe {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    /// Probe name (default `dns`).
    #[serde(default = "default_name")]
    pub name: String,
    /// Interval (default 100ms).
    #[serde(default = "default_interval", deserialize_with = "super::interval")]
    pub interval: HumanDuration,
    /// Query timeout (default 500ms).
    #[serde(default = "default_timeout", deserialize_with = "super::timeout")]
    pub timeout: HumanDuration,
}

fn default_name() -> String {
    "dns".into()
}
fn default_interval() -> HumanDuration {
    super::ms(100)
}
fn default_timeout() -> HumanDuration {
    super::ms(500)
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Probe>, toml::de::Error> {
    Ok(Box::new(DnsProbe::deserialize(de)?))
}

#[async_trait::async_trait]
impl Probe for DnsProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ProbeKind {
        ProbeKind::Dns
    }
    fn interval(&self) -> Duration {
        self.interval.get()
    }
    fn describe(&self, env: &LabDescription) -> String {
        format!(
            "A {} straight at the authoritative server {} (no cache)",
            env.record, env.dns
        )
    }

    async fn observe(&self, ctx: &ProbeContext) -> Vec<Observation> {
        vec![
            match query_a(ctx.env.dns, &ctx.env.record, self.timeout.get()).await {
                Ok(answer) => {
                    let address = answer.addresses.first().copied();
                    Observation::Dns {
                        region: address
                            .and_then(|ip| ctx.env.region_of_ip(ip))
                            .map(|r| r.name.clone()),
                        address,
                        ttl: Some(answer.ttl),
                        error: None,
                    }
                }
                Err(e) => Observation::Dns {
                    region: None,
                    address: None,
                    ttl: None,
                    error: Some(e.to_string()),
                },
            },
        ]
    }
}
