//! A caching resolver that honours TTLs, as a customer's recursive resolver does:
//! after DNS flips, a customer keeps going to the old region until its cached
//! answer expires.

use crate::clock::{mono_now, MonoNs};
use crate::net::dns::{query_a, DnsError};
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
        let answer = query_a(server, name, timeout).await?;
        let ip = *answer
            .addresses
            .first()
            .ok_or_else(|| DnsError::Rcode("NOERROR with no address".into()))?;
        let expires = mono_now() + u64::from(answer.ttl) * 1_000_000_000;
        *self.cache.lock().expect("resolver lock") = Some((ip, expires));
        Ok(ip)
    }
}
