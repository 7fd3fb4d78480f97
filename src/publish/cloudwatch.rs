//! `--metrics cloudwatch` / `[metrics] cloudwatch = true`: PutMetricData,
//! namespace `Gameday`, one metric per figure with the dimensions `scenario`
//! and `environment`, in seconds or as a count, stamped with the run's
//! finish time. A figure that was not observed is left out (CloudWatch has
//! no NaN): a gap in the graph, never a 0.

use super::Publisher;
use crate::aws::AwsClients;
use crate::report::metrics::{self, Sample, Unit};
use crate::report::Report;
use crate::words::ChangeError;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};

/// The namespace every gameday metric is in.
pub const NAMESPACE: &str = "Gameday";

/// CloudWatch in one region.
pub struct CloudWatch {
    /// `[metrics] cloudwatch_region`, else the AWS target's primary region;
    /// `None`: the credentials' configured region.
    pub region: Option<String>,
    /// The AWS profile.
    pub profile: Option<String>,
}

#[async_trait::async_trait]
impl Publisher for CloudWatch {
    fn failed(&self) -> String {
        match &self.region {
            Some(region) => {
                format!("cannot publish to CloudWatch (namespace {NAMESPACE}, {region})")
            }
            None => format!("cannot publish to CloudWatch (namespace {NAMESPACE})"),
        }
    }

    async fn publish(&self, r: &Report) -> Result<(), ChangeError> {
        let clients = AwsClients::load(self.profile.as_deref()).await;
        let region = self
            .region
            .clone()
            .or_else(|| clients.configured_region())
            .ok_or_else(|| {
                ChangeError::permanent(
                    "no region to publish in: set [metrics] cloudwatch_region in the scenario, or AWS_REGION",
                )
            })?;
        clients
            .region(&region)
            .cloudwatch
            .put_metric_data()
            .namespace(NAMESPACE)
            .set_metric_data(Some(data(r)))
            .send()
            .await
            .map_err(|e| {
                crate::aws::error::explain(
                    &format!("PutMetricData to namespace {NAMESPACE} in {region}"),
                    "cloudwatch:PutMetricData",
                    &e,
                )
            })?;
        Ok(())
    }
}

/// The data of one run: every observed figure with a CloudWatch name.
pub fn data(r: &Report) -> Vec<MetricDatum> {
    let dimensions = [
        ("scenario", r.scenario.name.clone()),
        ("environment", metrics::environment(r)),
    ]
    .map(|(name, value)| Dimension::builder().name(name).value(value).build());
    let at = DateTime::from_millis(r.finished_at.timestamp_millis());
    metrics::samples(r)
        .into_iter()
        .filter(|s| s.value.is_finite())
        .filter_map(|s| datum(s, &dimensions, at))
        .collect()
}

fn datum(s: Sample, dimensions: &[Dimension], at: DateTime) -> Option<MetricDatum> {
    let unit = match s.unit {
        Unit::Seconds => StandardUnit::Seconds,
        Unit::Count => StandardUnit::Count,
    };
    Some(
        MetricDatum::builder()
            .metric_name(s.cloudwatch?)
            .set_dimensions(Some(dimensions.to_vec()))
            .timestamp(at)
            .value(s.value)
            .unit(unit)
            .build(),
    )
}
