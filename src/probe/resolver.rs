//! A caching resolver that honours TTLs, as a customer's recursive resolver does:
//! after DNS flips, a customer keeps going to the old region until its cached
//! answer expires.

use crate::clock::{mono_now, MonoNs};
use crate::environment::Env;
use crate::net::dns::{resolve_a, DnsError};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

/// Resolves one name through one server, caching answers for their TTL.
pub struct CachingResolver {
    cache: Mutex<Option<(Ipv4Addr, MonoNs)>>,
}

impl Default for CachingResolver {
    fn default() -> Self {
        Self::new()
    }
}

impl CachingResolver {
    /// An empty cache.
    pub fn new() -> Self {
        CachingResolver {
            cache: Mutex::new(None),
        }
    }

    /// The cached address while its TTL lasts, else a fresh answer.
    pub async fn resolve(
        &self,
        server: SocketAddr,
        name: &str,
        timeout: Duration,
    ) -> Result<Ipv4Addr, DnsError> {
        let now = mono_now();
        if let Some((ip, expires)) = *self.cache.lock().expect("resolver lock") {
            if now < expires {
                return Ok(ip);
            }
        }
        let answer = resolve_a(server, name, timeout).await?;
        let ip = *answer
            .addresses
            .first()
            .ok_or_else(|| DnsError::Rcode("NOERROR with no address".into()))?;
        let expires = mono_now() + u64::from(answer.ttl) * 1_000_000_000;
        *self.cache.lock().expect("resolver lock") = Some((ip, expires));
        Ok(ip)
    }
}

/// Where a customer's request goes: the region its DNS answer names and the
/// endpoint to connect to.
pub struct Destination {
    /// Region of the answered address.
    pub region: Option<String>,
    /// Where to connect.
    pub endpoint: SocketAddr,
    /// Over TLS.
    pub tls: bool,
}

/// The first `nameserver` of /etc/resolv.conf: the system's resolver.
pub fn system_resolver() -> Result<SocketAddr, String> {
    let text = std::fs::read_to_string("/etc/resolv.conf").map_err(|e| {
        format!("cannot read /etc/resolv.conf ({e}); list resolvers = [\"ip:53\"] in the probe")
    })?;
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|ip| ip.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .next()
        .ok_or_else(|| {
            "no nameserver in /etc/resolv.conf; list resolvers = [\"ip:53\"] in the probe".into()
        })
}

impl CachingResolver {
    /// Resolves the environment's customer name as a customer would and maps
    /// the answer to its region and endpoint. On failure, the region (when the
    /// answer named one) and why.
    pub async fn destination(
        &self,
        env: &Env,
        resolvers: &[SocketAddr],
        timeout: Duration,
    ) -> Result<Destination, (Option<String>, String)> {
        let (server, host) = env.customer_query(resolvers).map_err(|e| (None, e))?;
        let ip = self
            .resolve(server, &host, timeout)
            .await
            .map_err(|e| (None, format!("resolving {host} through {server}: {e}")))?;
        env.destination(ip).await
    }
}
