//! Publishing a run's figures where teams already look, after the run: the
//! OpenMetrics file for node_exporter's textfile collector, a Pushgateway,
//! CloudWatch. One file per sink behind [`Publisher`].
//!
//! Publishing changes nothing that needs putting back, so it is not
//! journaled; it happens after the verdict and the revert, and a failure is
//! one warning line on stderr: the exit code stays the verdict's.

pub mod cloudwatch;
pub mod file;
pub mod pushgateway;

use crate::report::Report;
use crate::words::ChangeError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// The longest one sink may take, retries included: a dead endpoint delays
/// the end of a run by this much at most.
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(30);

/// The scenario's `[metrics]` table; `gameday run`'s flags add to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsParams {
    /// Write OpenMetrics text here (replaced atomically).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// PUT OpenMetrics text to this Pushgateway (`http://host:9091`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushgateway: Option<String>,
    /// PutMetricData to CloudWatch, namespace `Gameday`.
    #[serde(default)]
    pub cloudwatch: bool,
    /// The region CloudWatch is in (default: the AWS target's primary
    /// region, or the credentials' configured region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudwatch_region: Option<String>,
}

impl MetricsParams {
    /// Checks the table: the key at fault and why.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if let Some(url) = &self.pushgateway {
            pushgateway::Endpoint::parse(url).map_err(|e| ("pushgateway", e))?;
        }
        if let Some(region) = &self.cloudwatch_region {
            if !crate::aws::params::is_region(region) {
                return Err((
                    "cloudwatch_region",
                    format!("\"{region}\" is not an AWS region name; write it like \"us-east-1\""),
                ));
            }
            if !self.cloudwatch {
                return Err((
                    "cloudwatch_region",
                    "cloudwatch_region only applies with cloudwatch = true; add that line or remove this one".into(),
                ));
            }
        }
        Ok(())
    }

    /// Whether anything is to be published.
    pub fn any(&self) -> bool {
        self.file.is_some() || self.pushgateway.is_some() || self.cloudwatch
    }
}

/// Where the run's figures go and with which credentials.
#[derive(Debug, Clone, Default)]
pub struct Sinks {
    /// What to publish.
    pub params: MetricsParams,
    /// The AWS profile (`--profile`, or the scenario's).
    pub profile: Option<String>,
    /// The AWS target's primary region, when the run was on AWS.
    pub primary_region: Option<String>,
}

/// One place a run's figures go.
#[async_trait::async_trait]
pub trait Publisher: Send + Sync {
    /// What failed, for the warning: "cannot write the metrics file x".
    fn failed(&self) -> String;
    /// Publishes the report's figures.
    async fn publish(&self, r: &Report) -> Result<(), ChangeError>;
}

/// The publishers `sinks` names; a Pushgateway address that does not parse
/// (a flag's) is a warning like any failure to publish.
fn publishers(sinks: &Sinks) -> (Vec<Box<dyn Publisher>>, Vec<String>) {
    let mut out: Vec<Box<dyn Publisher>> = Vec::new();
    let mut warnings = Vec::new();
    if let Some(path) = &sinks.params.file {
        out.push(Box::new(file::MetricsFile { path: path.clone() }));
    }
    if let Some(url) = &sinks.params.pushgateway {
        match pushgateway::Endpoint::parse(url) {
            Ok(endpoint) => out.push(Box::new(pushgateway::Pushgateway { endpoint })),
            Err(e) => warnings.push(warning(
                &format!(
                    "cannot push to the Pushgateway {}",
                    crate::words::printable(url)
                ),
                &ChangeError::permanent(e),
            )),
        }
    }
    if sinks.params.cloudwatch {
        out.push(Box::new(cloudwatch::CloudWatch {
            region: sinks
                .params
                .cloudwatch_region
                .clone()
                .or_else(|| sinks.primary_region.clone()),
            profile: sinks.profile.clone(),
        }));
    }
    (out, warnings)
}

/// Publishes the report to every sink, one after the other, each bounded by
/// [`PUBLISH_TIMEOUT`]; returns one warning line per failure.
pub async fn publish(r: &Report, sinks: &Sinks) -> Vec<String> {
    let (publishers, mut warnings) = publishers(sinks);
    for p in publishers {
        let outcome = match tokio::time::timeout(PUBLISH_TIMEOUT, p.publish(r)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(ChangeError::transient(format!(
                "no answer within {}s",
                PUBLISH_TIMEOUT.as_secs()
            ))),
        };
        if let Err(e) = outcome {
            warnings.push(warning(&p.failed(), &e));
        }
    }
    warnings
}

fn warning(failed: &str, e: &ChangeError) -> String {
    let again = if e.retryable() {
        " (transient: the next run publishes again)"
    } else {
        ""
    };
    format!("gameday: warning: {failed}: {e}{again}; the run's verdict and exit code are unchanged")
}
