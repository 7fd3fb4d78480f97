//! `dns`: asks the zone's authoritative server directly, with no cache, which
//! region the failover record names right now. On AWS those are the hosted
//! zone's own name servers, from its delegation set, asked in turn.

use super::{Probe, ProbeContext, ProbeKind};
use crate::environment::Env;
use crate::net::dns::query_a;
use crate::scenario::duration::HumanDuration;
use crate::scenario::Target;
use crate::timeline::Observation;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

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
    /// AWS: ask these servers (`ip:port`) instead of the delegation set's.
    #[serde(default)]
    pub name_servers: Vec<SocketAddr>,
    #[serde(skip)]
    next: AtomicUsize,
    #[serde(skip)]
    resolved: Mutex<Vec<SocketAddr>>,
}

impl DnsProbe {
    /// The authoritative servers to ask.
    async fn servers(&self, env: &Env) -> Result<Vec<SocketAddr>, String> {
        match env {
            Env::Lab(lab) => Ok(vec![lab.dns]),
            Env::Aws(_) if !self.name_servers.is_empty() => Ok(self.name_servers.clone()),
            Env::Aws(aws) => {
                let cached = self.resolved.lock().expect("dns lock").clone();
                if !cached.is_empty() {
                    return Ok(cached);
                }
                let mut found = Vec::new();
                for ns in &aws.description.name_servers {
                    if let Ok(addrs) = tokio::net::lookup_host((ns.trim_end_matches('.'), 53)).await
                    {
                        found.extend(addrs.filter(|a| a.is_ipv4()).take(1));
                    }
                }
                if found.is_empty() {
                    return Err(format!(
                        "none of the zone's name servers ({}) resolves; check the delegation set or list name_servers",
                        aws.description.name_servers.join(", ")
                    ));
                }
                *self.resolved.lock().expect("dns lock") = found.clone();
                Ok(found)
            }
        }
    }
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
    super::identity!(ProbeKind::Dns);
    fn check_target(&self, target: Target) -> Result<(), (&'static str, String)> {
        if target == Target::Lab && !self.name_servers.is_empty() {
            return Err(crate::fault::option_for("name_servers", Target::Aws));
        }
        Ok(())
    }

    fn describe(&self, env: &Env) -> String {
        match env {
            Env::Lab(lab) => format!(
                "A {} straight at the authoritative server {} (no cache)",
                lab.record, lab.dns
            ),
            Env::Aws(aws) => {
                let servers = if self.name_servers.is_empty() {
                    format!(
                        "the zone's name servers {}",
                        aws.description.name_servers.join(", ")
                    )
                } else {
                    self.name_servers
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!(
                    "A {} straight at {servers}, in turn (no cache)",
                    aws.description.params.host()
                )
            }
        }
    }

    async fn observe(&self, ctx: &ProbeContext, _at: crate::clock::Offset) -> Vec<Observation> {
        let record = ctx.env.record();
        let answered = match self.servers(&ctx.env).await {
            Ok(servers) => {
                let server = servers[self.next.fetch_add(1, Ordering::Relaxed) % servers.len()];
                query_a(server, &record, self.timeout.get())
                    .await
                    .map_err(|e| e.to_string())
            }
            Err(e) => Err(e),
        };
        vec![match answered {
            Ok(answer) => {
                let address = answer.addresses.first().copied();
                let region = match (&ctx.env, address) {
                    (Env::Lab(lab), Some(ip)) => lab.region_of_ip(ip).map(|r| r.name.clone()),
                    (Env::Aws(aws), Some(ip)) => {
                        aws.addresses.region_of(&aws.description, ip.into()).await
                    }
                    (_, None) => None,
                };
                Observation::Dns {
                    region,
                    address,
                    ttl: Some(answer.ttl),
                    error: None,
                }
            }
            Err(e) => Observation::Dns {
                region: None,
                address: None,
                ttl: None,
                error: Some(e),
            },
        }]
    }
}
