//! What a run learns about the account before it changes anything: who the
//! caller is, the zone's name servers (its delegation set), the failover
//! records, their health checks and the target groups behind the load
//! balancers they alias. Plans, floors, lint and probes all read this.

use super::error::explain;
use super::{AwsClients, AwsParams};
use serde::{Deserialize, Serialize};

/// An alias target of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    /// DNS name it points at (a load balancer's, usually).
    pub dns_name: String,
    /// Whether Route 53 uses the target's health.
    pub evaluate_target_health: bool,
}

/// One failover record of the service's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailoverRecord {
    /// `PRIMARY` or `SECONDARY`.
    pub failover: String,
    /// Set identifier.
    pub set_identifier: String,
    /// Record type (A, AAAA, CNAME).
    pub record_type: String,
    /// TTL, when not an alias.
    pub ttl: Option<i64>,
    /// Values, when not an alias.
    pub values: Vec<String>,
    /// Alias target.
    pub alias: Option<Alias>,
    /// Health check id.
    pub health_check_id: Option<String>,
}

impl FailoverRecord {
    /// What the record points at, in words: `alias X` or `A 1.2.3.4`.
    pub fn target_words(&self) -> String {
        match &self.alias {
            Some(a) => format!("{} alias {}", self.failover, a.dns_name),
            None => format!(
                "{} {} {}",
                self.failover,
                self.record_type,
                self.values.join(", ")
            ),
        }
    }
}

/// A Route 53 health check's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheckConfig {
    /// Id.
    pub id: String,
    /// HTTP, HTTPS, TCP, HTTP_STR_MATCH, CALCULATED...
    pub check_type: String,
    /// Host it checks.
    pub fqdn: Option<String>,
    /// IP it checks.
    pub ip_address: Option<String>,
    /// Path it requests.
    pub resource_path: Option<String>,
    /// Seconds between checks by each checker (10 or 30).
    pub request_interval: i32,
    /// Failed checks in a row before unhealthy.
    pub failure_threshold: i32,
    /// Disabled checks count as healthy.
    pub disabled: bool,
    /// Inverted checks report the opposite.
    pub inverted: bool,
}

/// A target group behind a load balancer a record aliases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroupConfig {
    /// ARN.
    pub arn: String,
    /// Region.
    pub region: String,
    /// The load balancer's DNS name.
    pub load_balancer_dns: String,
    /// Health check interval, s.
    pub interval_s: i32,
    /// Health check timeout, s.
    pub timeout_s: i32,
    /// Failed checks before a target is unhealthy.
    pub unhealthy_threshold: i32,
    /// Health check path.
    pub path: Option<String>,
}

/// The AWS environment as found before a run: serializable, kept in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsDescription {
    /// The scenario's `[aws]` table.
    pub params: AwsParams,
    /// The caller's account (STS GetCallerIdentity).
    pub account: String,
    /// The caller's ARN.
    pub caller_arn: String,
    /// The zone's name servers, from its delegation set.
    pub name_servers: Vec<String>,
    /// The failover records of `record_name`.
    pub records: Vec<FailoverRecord>,
    /// Every health check the scenario or the records name.
    pub health_checks: Vec<HealthCheckConfig>,
    /// Target groups behind the aliased load balancers.
    pub target_groups: Vec<TargetGroupConfig>,
}

impl AwsDescription {
    /// The failover record of a role (`PRIMARY`, `SECONDARY`).
    pub fn record(&self, role: crate::words::Role) -> Option<&FailoverRecord> {
        let want = match role {
            crate::words::Role::Primary => "PRIMARY",
            crate::words::Role::Secondary => "SECONDARY",
        };
        self.records.iter().find(|r| r.failover == want)
    }

    /// A health check by id.
    pub fn health_check(&self, id: &str) -> Option<&HealthCheckConfig> {
        self.health_checks.iter().find(|h| h.id == id)
    }

    /// Target groups of the load balancer a record aliases.
    pub fn target_groups_of(&self, record: &FailoverRecord) -> Vec<&TargetGroupConfig> {
        let Some(alias) = &record.alias else {
            return Vec::new();
        };
        let name = normalize(&alias.dns_name);
        self.target_groups
            .iter()
            .filter(|t| normalize(&t.load_balancer_dns) == name)
            .collect()
    }
}

/// A load balancer DNS name as Route 53 and ELBv2 both spell it.
pub fn normalize(dns: &str) -> String {
    let lower = dns.trim_end_matches('.').to_ascii_lowercase();
    lower
        .strip_prefix("dualstack.")
        .map(str::to_string)
        .unwrap_or(lower)
}

/// The AWS environment: what was found, and the clients to act on it.
#[derive(Debug, Clone)]
pub struct AwsEnv {
    /// What was found.
    pub description: AwsDescription,
    /// Clients.
    pub clients: AwsClients,
    /// Which region an address belongs to.
    pub addresses: std::sync::Arc<super::addresses::AddressBook>,
    /// Whether the customers' endpoint goes through the failover record.
    pub endpoint: super::endpoint::EndpointPath,
}

impl AwsEnv {
    /// Reads everything a run needs to know, once STS says the caller's
    /// account is allowed (no other call is made for another account).
    /// Changes nothing.
    pub async fn discover(params: &AwsParams, clients: AwsClients) -> Result<AwsEnv, String> {
        let (account, caller_arn) = clients.caller(&params.primary_region).await?;
        // STS, then the account check, then anything else.
        super::guard::account_allowed(&account, &caller_arn, &params.allowed_accounts)?;
        let route53 = clients.route53();
        let zone_id = params.hosted_zone_id.trim_start_matches("/hostedzone/");
        let zone = route53
            .get_hosted_zone()
            .id(zone_id)
            .send()
            .await
            .map_err(|e| {
                explain(
                    &format!("reading hosted zone {zone_id}"),
                    "route53:GetHostedZone",
                    &e,
                )
            })?;
        let name_servers = zone
            .delegation_set()
            .map(|d| d.name_servers().to_vec())
            .unwrap_or_default();
        let records = failover_records(&route53, zone_id, params.host()).await?;
        let mut check_ids: Vec<String> = std::iter::once(params.primary_health_check.clone())
            .chain(params.secondary_health_check.clone())
            .chain(records.iter().filter_map(|r| r.health_check_id.clone()))
            .collect();
        check_ids.sort();
        check_ids.dedup();
        let mut health_checks = Vec::new();
        for id in check_ids {
            health_checks.push(health_check(&route53, &id).await?);
        }
        let mut target_groups = Vec::new();
        for region in [&params.primary_region, &params.secondary_region] {
            let aliased: Vec<String> = records
                .iter()
                .filter_map(|r| r.alias.as_ref().map(|a| normalize(&a.dns_name)))
                .collect();
            if aliased.is_empty() {
                continue;
            }
            target_groups.extend(target_groups_behind(&clients, region, &aliased).await?);
        }
        Ok(AwsEnv {
            description: AwsDescription {
                params: params.clone(),
                account,
                caller_arn,
                name_servers,
                records,
                health_checks,
                target_groups,
            },
            clients,
            addresses: Default::default(),
            endpoint: super::endpoint::EndpointPath::Unchecked,
        })
    }
}

pub(crate) async fn failover_records(
    route53: &aws_sdk_route53::Client,
    zone_id: &str,
    host: &str,
) -> Result<Vec<FailoverRecord>, String> {
    let out = route53
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .start_record_name(host)
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("listing the records of {host} in {zone_id}"),
                "route53:ListResourceRecordSets",
                &e,
            )
        })?;
    let want = format!("{}.", host.to_ascii_lowercase());
    Ok(out
        .resource_record_sets()
        .iter()
        .filter(|r| r.name().to_ascii_lowercase() == want)
        .filter_map(|r| {
            let failover = r.failover()?.as_str().to_string();
            Some(FailoverRecord {
                failover,
                set_identifier: r.set_identifier().unwrap_or_default().to_string(),
                record_type: r.r#type().as_str().to_string(),
                ttl: r.ttl(),
                values: r
                    .resource_records()
                    .iter()
                    .map(|v| v.value().to_string())
                    .collect(),
                alias: r.alias_target().map(|a| Alias {
                    dns_name: a.dns_name().to_string(),
                    evaluate_target_health: a.evaluate_target_health(),
                }),
                health_check_id: r.health_check_id().map(str::to_string),
            })
        })
        .collect())
}

pub(crate) async fn health_check(
    route53: &aws_sdk_route53::Client,
    id: &str,
) -> Result<HealthCheckConfig, String> {
    let out = route53
        .get_health_check()
        .health_check_id(id)
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("reading health check {id}"),
                "route53:GetHealthCheck",
                &e,
            )
        })?;
    let config = out
        .health_check()
        .and_then(|h| h.health_check_config())
        .ok_or_else(|| format!("health check {id} has no configuration"))?;
    Ok(HealthCheckConfig {
        id: id.to_string(),
        check_type: config.r#type().as_str().to_string(),
        fqdn: config.fully_qualified_domain_name().map(str::to_string),
        ip_address: config.ip_address().map(str::to_string),
        resource_path: config.resource_path().map(str::to_string),
        request_interval: config.request_interval().unwrap_or(30),
        failure_threshold: config.failure_threshold().unwrap_or(3),
        disabled: config.disabled().unwrap_or(false),
        inverted: config.inverted().unwrap_or(false),
    })
}

pub(crate) async fn target_groups_behind(
    clients: &AwsClients,
    region: &str,
    aliased: &[String],
) -> Result<Vec<TargetGroupConfig>, String> {
    let elbv2 = clients.region(region).elbv2;
    let lbs = elbv2.describe_load_balancers().send().await.map_err(|e| {
        explain(
            &format!("listing load balancers in {region}"),
            "elasticloadbalancing:DescribeLoadBalancers",
            &e,
        )
    })?;
    let mut out = Vec::new();
    for lb in lbs.load_balancers() {
        let dns = lb.dns_name().unwrap_or_default();
        if !aliased.contains(&normalize(dns)) {
            continue;
        }
        let Some(arn) = lb.load_balancer_arn() else {
            continue;
        };
        let groups = match elbv2
            .describe_target_groups()
            .load_balancer_arn(arn)
            .send()
            .await
        {
            Ok(g) => g.target_groups().to_vec(),
            // A load balancer without target groups: nothing to read.
            Err(e)
                if aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata::code(&e)
                    == Some("TargetGroupNotFound") =>
            {
                Vec::new()
            }
            Err(e) => {
                return Err(explain(
                    &format!("reading the target groups of {arn}"),
                    "elasticloadbalancing:DescribeTargetGroups",
                    &e,
                )
                .into())
            }
        };
        for g in &groups {
            out.push(TargetGroupConfig {
                arn: g.target_group_arn().unwrap_or_default().to_string(),
                region: region.to_string(),
                load_balancer_dns: dns.to_string(),
                interval_s: g.health_check_interval_seconds().unwrap_or(30),
                timeout_s: g.health_check_timeout_seconds().unwrap_or(5),
                unhealthy_threshold: g.unhealthy_threshold_count().unwrap_or(2),
                path: g.health_check_path().map(str::to_string),
            });
        }
    }
    Ok(out)
}

/// A sound description of the seed's setup, for tests to break one thing at a time.
#[cfg(test)]
pub(crate) mod example {
    use super::{Alias, AwsDescription, FailoverRecord, HealthCheckConfig};
    use crate::aws::AwsParams;

    fn params() -> AwsParams {
        AwsParams {
            primary_region: "us-east-1".into(),
            secondary_region: "us-west-2".into(),
            allowed_accounts: vec!["123456789012".into()],
            allowed_regions: vec![],
            profile: None,
            hosted_zone_id: "Z1".into(),
            record_name: "app.example.com".into(),
            endpoint: "https://app.example.com/healthz".into(),
            primary_health_check: "hc-1".into(),
            secondary_health_check: Some("hc-2".into()),
            runner_not_on_aws: false,
            endpoint_skips_record: false,
        }
    }

    pub fn record(failover: &str, check: Option<&str>, evaluate: bool) -> FailoverRecord {
        FailoverRecord {
            failover: failover.into(),
            set_identifier: failover.to_lowercase(),
            record_type: "A".into(),
            ttl: None,
            values: vec![],
            alias: Some(Alias {
                dns_name: format!("{failover}-alb.us-east-1.elb.amazonaws.com"),
                evaluate_target_health: evaluate,
            }),
            health_check_id: check.map(str::to_string),
        }
    }

    fn check(id: &str) -> HealthCheckConfig {
        HealthCheckConfig {
            id: id.into(),
            check_type: "HTTPS".into(),
            fqdn: Some("app.example.com".into()),
            ip_address: None,
            resource_path: Some("/healthz".into()),
            request_interval: 10,
            failure_threshold: 3,
            disabled: false,
            inverted: false,
        }
    }

    pub fn good() -> AwsDescription {
        AwsDescription {
            params: params(),
            account: "123456789012".into(),
            caller_arn: "arn:aws:iam::123456789012:user/sre".into(),
            name_servers: vec![],
            records: vec![
                record("PRIMARY", Some("hc-1"), true),
                record("SECONDARY", Some("hc-2"), true),
            ],
            health_checks: vec![check("hc-1"), check("hc-2")],
            target_groups: vec![],
        }
    }
}
