//! The AWS target: clients per region through the official SDK, the scenario's
//! `[aws]` table, the calls faults make (each with its undo and a check that it
//! holds), what is discovered from Route 53 and ELBv2 before a run, and the
//! guards that must pass before anything changes.
//!
//! Credentials come from the standard chain (environment, profiles, SSO, web
//! identity for CI OIDC roles, instance metadata); `AWS_ENDPOINT_URL` is
//! honoured, which is how the tests reach moto on loopback. Throttling and 5xx
//! answers are retried with backoff by the SDK's standard retry mode.

pub mod addresses;
pub mod arn;
pub mod call;
pub mod discover;
pub mod endpoint;
pub mod error;
pub mod global;
pub mod guard;
pub mod health;
pub mod inventory;
pub mod params;
pub mod resolve;
pub mod sweep;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use call::AwsCall;
pub use discover::AwsEnv;
pub use params::AwsParams;

/// The clients of one region.
#[derive(Clone, Debug)]
pub struct RegionClients {
    /// EC2 (instances, subnets, network ACLs).
    pub ec2: aws_sdk_ec2::Client,
    /// ELBv2 (target groups, load balancers).
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    /// RDS (clusters, instances, global databases).
    pub rds: aws_sdk_rds::Client,
    /// FIS (experiments).
    pub fis: aws_sdk_fis::Client,
    /// CloudWatch (alarms).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// Auto Scaling (the standby's groups; read only).
    pub autoscaling: aws_sdk_autoscaling::Client,
}

/// Clients for every region a run touches, built lazily from one loaded
/// configuration (one credential chain, one profile).
#[derive(Clone, Debug)]
pub struct AwsClients {
    base: SdkConfig,
    profile: Option<String>,
    regions: Arc<Mutex<HashMap<String, RegionClients>>>,
    imds: Imds,
}

/// Whether and where to ask the instance metadata service which subnet the
/// runner is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Imds {
    /// Do not ask (off EC2 by configuration, or in tests).
    Off,
    /// The standard endpoint (or `AWS_EC2_METADATA_SERVICE_ENDPOINT`).
    Standard,
    /// This endpoint.
    At(String),
}

impl AwsClients {
    /// Loads the standard configuration, with `profile` when given. Every call
    /// is bounded (20 s per attempt, 60 s with its retries), so a hung API
    /// can delay a revert but never stall it.
    pub async fn load(profile: Option<&str>) -> AwsClients {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .operation_attempt_timeout(std::time::Duration::from_secs(20))
            .operation_timeout(std::time::Duration::from_secs(60))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts);
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        let disabled = std::env::var("AWS_EC2_METADATA_DISABLED")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        AwsClients {
            base: loader.load().await,
            profile: profile.map(str::to_string),
            regions: Arc::default(),
            imds: if disabled { Imds::Off } else { Imds::Standard },
        }
    }

    /// Clients over an explicit configuration (endpoint, credentials, retries),
    /// as tests build it for a moto server.
    pub fn from_config(base: SdkConfig) -> AwsClients {
        AwsClients {
            base,
            profile: None,
            regions: Arc::default(),
            imds: Imds::Off,
        }
    }

    /// The same clients, asking the instance metadata service at `imds`.
    pub fn with_imds(mut self, imds: Imds) -> AwsClients {
        self.imds = imds;
        self
    }

    /// Where to ask which subnet the runner is in.
    pub fn imds(&self) -> &Imds {
        &self.imds
    }

    /// The profile the credentials come from, if one was named.
    pub fn profile(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    /// The region the configuration names (`AWS_REGION`, the profile's),
    /// if any.
    pub fn configured_region(&self) -> Option<String> {
        self.base.region().map(|r| r.to_string())
    }

    /// The loaded configuration, in `region`.
    fn config_in(&self, region: &str) -> SdkConfig {
        self.base
            .clone()
            .into_builder()
            .region(Region::new(region.to_string()))
            .build()
    }

    /// The clients of `region`.
    pub fn region(&self, region: &str) -> RegionClients {
        let mut cache = self.regions.lock().expect("aws clients lock");
        cache
            .entry(region.to_string())
            .or_insert_with(|| {
                let config = self.config_in(region);
                RegionClients {
                    ec2: aws_sdk_ec2::Client::new(&config),
                    elbv2: aws_sdk_elasticloadbalancingv2::Client::new(&config),
                    rds: aws_sdk_rds::Client::new(&config),
                    fis: aws_sdk_fis::Client::new(&config),
                    cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
                    autoscaling: aws_sdk_autoscaling::Client::new(&config),
                }
            })
            .clone()
    }

    /// Route 53, which is global (its API lives in us-east-1).
    pub fn route53(&self) -> aws_sdk_route53::Client {
        aws_sdk_route53::Client::new(&self.config_in("us-east-1"))
    }

    /// STS in `region`.
    pub fn sts(&self, region: &str) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.config_in(region))
    }

    /// Who the credentials are (STS GetCallerIdentity in `region`): the
    /// account and the caller's ARN. Always the first call gameday makes.
    pub async fn caller(&self, region: &str) -> Result<(String, String), String> {
        let identity = self
            .sts(region)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| {
                error::explain("asking STS who the caller is", "sts:GetCallerIdentity", &e).message
            })?;
        Ok((
            identity.account().unwrap_or_default().to_string(),
            identity.arn().unwrap_or_default().to_string(),
        ))
    }
}

/// An EC2 filter: `name` matching any of `values`.
pub(crate) fn ec2_filter<V: Into<String>>(
    name: impl Into<String>,
    values: impl IntoIterator<Item = V>,
) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}

/// One `tag:KEY = VALUE` EC2 filter per wanted tag (all must match).
pub(crate) fn tag_filters(
    tags: &std::collections::BTreeMap<String, String>,
) -> Vec<aws_sdk_ec2::types::Filter> {
    tags.iter()
        .map(|(k, v)| ec2_filter(format!("tag:{k}"), [v.as_str()]))
        .collect()
}
