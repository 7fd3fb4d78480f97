//! A customer's resolver (`net::resolve`), made on first use and kept for
//! the run with its cache, and where the customer's request goes. The
//! client's class (`probe::client`) decides how long an answer is kept.
//!
//! The DNS probe does not use this: it asks one authoritative server for raw
//! answers (`net::dns::query_a`).

use super::client::ClientClass;
use crate::clock::mono_now;
use crate::environment::Env;
use crate::net::resolve::{build_keeping, resolve, Resolved, Resolvers};
use hickory_resolver::TokioResolver;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// A customer's resolver, made on first use and kept (with its cache) for
/// the run.
#[derive(Default)]
pub struct CustomerResolver {
    resolver: OnceLock<Result<TokioResolver, String>>,
    /// A `cached` client's answer and when it was resolved (monotonic ns).
    held: Mutex<Option<(Resolved, u64)>>,
}

impl CustomerResolver {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resolves `name` through `through` as a client of `class` would (the
    /// first call decides the servers): a `cached` client reuses its answer
    /// until `cache_for` has passed, whatever the TTL.
    pub async fn resolve(
        &self,
        through: &Resolvers,
        name: &str,
        timeout: Duration,
        class: &ClientClass,
    ) -> Result<Resolved, String> {
        if let ClientClass::Cached { cache_for } = class {
            let held = self.held.lock().expect("held answer").clone();
            if let Some((answer, at)) = held {
                let age = Duration::from_nanos(mono_now().saturating_sub(at));
                if cache_for.is_none_or(|keep| age < keep) {
                    return Ok(answer);
                }
            }
        }
        let resolver = self
            .resolver
            .get_or_init(|| build_keeping(through, timeout, class.min_ttl()))
            .as_ref()
            .map_err(|e| e.clone())?;
        let answer = resolve(resolver, name, timeout).await?;
        if let ClientClass::Cached { .. } = class {
            *self.held.lock().expect("held answer") = Some((answer.clone(), mono_now()));
        }
        Ok(answer)
    }
}

/// Where a customer's request goes: the region its DNS answer names and the
/// endpoint to connect to.
#[derive(Debug, Clone)]
pub struct Destination {
    /// Region of the answered address.
    pub region: Option<String>,
    /// Where to connect.
    pub endpoint: SocketAddr,
    /// Over TLS.
    pub tls: bool,
}

impl CustomerResolver {
    /// Resolves the environment's customer name as a customer would and maps
    /// the answer to its region and endpoint. On failure, the region (when the
    /// answer named one) and why.
    pub async fn destination(
        &self,
        env: &Env,
        resolvers: &[SocketAddr],
        timeout: Duration,
        class: &ClientClass,
    ) -> Result<Destination, (Option<String>, String)> {
        let (through, host) = env.customer_query(resolvers);
        let resolved = self
            .resolve(&through, &host, timeout, class)
            .await
            .map_err(|e| (None, format!("resolving {host} through {through}: {e}")))?;
        env.destination(resolved.addresses[0]).await
    }
}
