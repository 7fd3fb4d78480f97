//! Does the customers' endpoint go through the failover record? An endpoint
//! whose host is neither `record_name` nor a CNAME chain ending at it is not
//! moved by the failover at all, and the customer probe would measure
//! something else. `plan` says so; `run` refuses unless `[aws]` declares
//! `endpoint_skips_record = true`.

use super::AwsParams;
use crate::net::resolve::{build, resolve, Resolvers};
use std::time::Duration;

/// How long the check may wait for DNS.
const TIMEOUT: Duration = Duration::from_secs(3);

/// How the endpoint's host reaches the failover record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointPath {
    /// Not looked at (environments built without a scenario's probes).
    Unchecked,
    /// The host is the record.
    IsRecord,
    /// The host is a CNAME chain that ends at the record.
    Chain(Vec<String>),
    /// The host resolves through this chain, which never names the record.
    Elsewhere(Vec<String>),
    /// The host could not be resolved: why.
    Unknown(String),
}

fn bare(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Judges a resolution of `host` (its CNAME chain, or why it failed) against `record`.
pub fn judge(host: &str, record: &str, chain: Result<Vec<String>, String>) -> EndpointPath {
    if bare(host) == bare(record) {
        return EndpointPath::IsRecord;
    }
    match chain {
        Ok(chain) if chain.iter().any(|n| bare(n) == bare(record)) => EndpointPath::Chain(chain),
        Ok(chain) => EndpointPath::Elsewhere(chain),
        Err(why) => EndpointPath::Unknown(why),
    }
}

/// Resolves the endpoint's host through `through` (the customer probe's
/// resolvers) and judges its chain. Changes nothing.
pub async fn trace(params: &AwsParams, through: &Resolvers) -> EndpointPath {
    let (_, host, _, _) = params.endpoint_parts();
    if bare(&host) == bare(&params.record_name) {
        return EndpointPath::IsRecord;
    }
    let chain = match build(through, TIMEOUT) {
        Ok(resolver) => resolve(&resolver, &host, TIMEOUT)
            .await
            .map(|r| r.chain)
            .map_err(|e| format!("resolving {host} through {through}: {e}")),
        Err(e) => Err(e),
    };
    judge(&host, &params.record_name, chain)
}

impl EndpointPath {
    /// What `plan` says about it, when anything.
    pub fn lint(&self, params: &AwsParams) -> Option<String> {
        let record = params.host();
        match self {
            EndpointPath::Unchecked | EndpointPath::IsRecord => None,
            EndpointPath::Chain(chain) => Some(format!(
                "endpoint host is a CNAME chain to the failover record: {}",
                chain.join(" -> ")
            )),
            EndpointPath::Elsewhere(chain) => Some(format!(
                "endpoint host resolves through {} and never reaches the failover record {record}: the customer probe does not test the failover{}",
                chain.join(" -> "),
                if params.endpoint_skips_record {
                    " (declared on purpose: endpoint_skips_record = true)"
                } else {
                    "; point endpoint at the record or a CNAME to it, or set endpoint_skips_record = true in [aws] if that is on purpose"
                }
            )),
            EndpointPath::Unknown(why) => Some(format!(
                "cannot check that the endpoint leads to the failover record {record}: {why}"
            )),
        }
    }

    /// Why a run must not start, when it must not.
    pub fn refusal(&self, params: &AwsParams) -> Option<String> {
        match self {
            EndpointPath::Elsewhere(_) if !params.endpoint_skips_record => self.lint(params),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(names: &[&str]) -> Result<Vec<String>, String> {
        Ok(names.iter().map(|n| n.to_string()).collect())
    }

    #[test]
    fn the_record_itself_a_chain_to_it_and_anything_else() {
        assert_eq!(
            judge("App.Example.com.", "app.example.com", Err("unused".into())),
            EndpointPath::IsRecord
        );
        assert!(matches!(
            judge(
                "api.example.com",
                "app.example.com",
                chain(&["api.example.com", "app.example.com"])
            ),
            EndpointPath::Chain(_)
        ));
        assert!(matches!(
            judge(
                "api.example.com",
                "app.example.com",
                chain(&["api.example.com", "d111.cloudfront.net"])
            ),
            EndpointPath::Elsewhere(_)
        ));
        assert!(matches!(
            judge("api.example.com", "app.example.com", Err("timeout".into())),
            EndpointPath::Unknown(_)
        ));
    }
}
