//! The scenario's `[aws]` table: where the service lives and what a run may touch.

use serde::{Deserialize, Serialize};

/// `[aws]`: the account, regions, DNS and health checks of the service under test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsParams {
    /// Region that serves customers before the failover.
    pub primary_region: String,
    /// Region that should take over.
    pub secondary_region: String,
    /// Accounts a run may change (12 digits each); the caller's account (STS)
    /// must be one of them.
    pub allowed_accounts: Vec<String>,
    /// Regions a run may change (default: the primary and the secondary).
    #[serde(default)]
    pub allowed_regions: Vec<String>,
    /// Named profile for credentials (`--profile` overrides it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Route 53 hosted zone that holds the failover records.
    pub hosted_zone_id: String,
    /// The failover record customers resolve, e.g. `app.example.com`.
    pub record_name: String,
    /// The customer endpoint, e.g. `https://app.example.com/healthz`.
    pub endpoint: String,
    /// Route 53 health check of the primary.
    pub primary_health_check: String,
    /// Route 53 health check of the secondary, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_health_check: Option<String>,
    /// Declares that the runner is not on AWS, so that a fault that could
    /// cut the runner off (sever-az) may go ahead when the instance metadata
    /// service cannot say which subnet the runner is in (`--runner-not-on-aws`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub runner_not_on_aws: bool,
    /// Declares that `endpoint`'s host does not resolve through `record_name`
    /// on purpose (a regional endpoint, say): the customer probe then does not
    /// test the failover, and `plan` and `run` refuse it unless this is set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub endpoint_skips_record: bool,
}

impl AwsParams {
    /// The regions a run may change.
    pub fn regions_allowed(&self) -> Vec<String> {
        if self.allowed_regions.is_empty() {
            vec![self.primary_region.clone(), self.secondary_region.clone()]
        } else {
            self.allowed_regions.clone()
        }
    }

    /// The region of a role.
    pub fn region(&self, role: crate::words::Role) -> &str {
        match role {
            crate::words::Role::Primary => &self.primary_region,
            crate::words::Role::Secondary => &self.secondary_region,
        }
    }

    /// The customer endpoint: TLS or not, host, port and path.
    pub fn endpoint_parts(&self) -> (bool, String, u16, String) {
        let tls = self.endpoint.starts_with("https://");
        let rest = self
            .endpoint
            .split_once("://")
            .map(|(_, r)| r)
            .unwrap_or(&self.endpoint);
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), p.parse().unwrap_or(0)),
            _ => (authority.to_string(), if tls { 443 } else { 80 }),
        };
        (tls, host, port, path)
    }

    /// The record name without its trailing dot.
    pub fn host(&self) -> &str {
        self.record_name.trim_end_matches('.')
    }

    /// Checks values serde cannot: the key at fault and why.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for (key, region) in [
            ("primary_region", &self.primary_region),
            ("secondary_region", &self.secondary_region),
        ] {
            if !is_region(region) {
                return Err((
                    key,
                    format!("\"{region}\" is not an AWS region name; write it like \"us-east-1\""),
                ));
            }
        }
        if self.primary_region == self.secondary_region {
            return Err((
                "secondary_region",
                "the secondary region is the primary region; a regional failover needs two regions"
                    .into(),
            ));
        }
        if self.allowed_accounts.is_empty() {
            return Err((
                "allowed_accounts",
                "allowed_accounts is empty; list the account ids this game day may change, e.g. [\"123456789012\"]".into(),
            ));
        }
        if let Some(bad) = self
            .allowed_accounts
            .iter()
            .find(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err((
                "allowed_accounts",
                format!("\"{bad}\" is not an AWS account id; write the 12 digits, in quotes"),
            ));
        }
        if let Some(bad) = self.allowed_regions.iter().find(|r| !is_region(r)) {
            return Err((
                "allowed_regions",
                format!("\"{bad}\" is not an AWS region name; write it like \"us-east-1\""),
            ));
        }
        let allowed = self.regions_allowed();
        for (key, region) in [
            ("primary_region", &self.primary_region),
            ("secondary_region", &self.secondary_region),
        ] {
            if !allowed.contains(region) {
                return Err((
                    key,
                    format!("{region} is not in allowed_regions; add it there or pick an allowed region"),
                ));
            }
        }
        if self.hosted_zone_id.trim().is_empty() {
            return Err((
                "hosted_zone_id",
                "hosted_zone_id is empty; give the Route 53 zone id, e.g. \"Z0123456789ABC\""
                    .into(),
            ));
        }
        if !self.host().contains('.') {
            return Err((
                "record_name",
                format!(
                    "\"{}\" is not a DNS name; give the failover record customers resolve",
                    self.record_name
                ),
            ));
        }
        if !(self.endpoint.starts_with("https://") || self.endpoint.starts_with("http://")) {
            return Err((
                "endpoint",
                format!("\"{}\" is not an http(s) URL; give the URL customers call, e.g. \"https://{}/healthz\"", self.endpoint, self.host()),
            ));
        }
        if self.primary_health_check.trim().is_empty() {
            return Err((
                "primary_health_check",
                "primary_health_check is empty; give the Route 53 health check id of the primary"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-4`...
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts[0].len() == 2
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::is_region;

    #[test]
    fn region_names() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-4",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in ["us-east", "useast1", "US-EAST-1", "us-east-1a", "", "x-y-1"] {
            assert!(!is_region(bad), "{bad}");
        }
    }
}
