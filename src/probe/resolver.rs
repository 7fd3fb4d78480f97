//! A customer's resolver (`net::resolve`), made on first use and kept for
//! the run with its cache, and where the customer's request goes.
//!
//! The DNS probe does not use this: it asks one authoritative server for raw
//! answers (`net::dns::query_a`).

use crate::environment::Env;
use crate::net::resolve::{build, resolve, Resolved, Resolvers};
use hickory_resolver::TokioResolver;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

/// A customer's resolver, made on first use and kept (with its cache) for
/// the run.
#[derive(Default)]
pub struct CustomerResolver {
    resolver: OnceLock<Result<TokioResolver, String>>,
}

impl CustomerResolver {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resolves `name` through `through` (the first call decides the servers).
    pub async fn resolve(
        &self,
        through: &Resolvers,
        name: &str,
        timeout: Duration,
    ) -> Result<Resolved, String> {
        let resolver = self
            .resolver
            .get_or_init(|| build(through, timeout))
            .as_ref()
            .map_err(|e| e.clone())?;
        resolve(resolver, name, timeout).await
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

impl CustomerResolver {
    /// Resolves the environment's customer name as a customer would and maps
    /// the answer to its region and endpoint. On failure, the region (when the
    /// answer named one) and why.
    pub async fn destination(
        &self,
        env: &Env,
        resolvers: &[SocketAddr],
        timeout: Duration,
    ) -> Result<Destination, (Option<String>, String)> {
        let (through, host) = env.customer_query(resolvers);
        let resolved = self
            .resolve(&through, &host, timeout)
            .await
            .map_err(|e| (None, format!("resolving {host} through {through}: {e}")))?;
        env.destination(resolved.addresses[0]).await
    }
}
