//! Lint of a Route 53 failover configuration as read from the account: each
//! finding names the resource and the fix.

use crate::aws::discover::{AwsDescription, FailoverRecord};
use crate::words::Role;

fn record_name(d: &AwsDescription, r: &FailoverRecord) -> String {
    format!(
        "{} {} record {} ({})",
        r.failover,
        r.record_type,
        d.params.host(),
        if r.set_identifier.is_empty() {
            "no set identifier"
        } else {
            &r.set_identifier
        }
    )
}

/// The path of a URL (`/` when it has none).
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    match rest.find('/') {
        Some(i) => rest[i..].split(['?', '#']).next().unwrap_or("/"),
        None => "/",
    }
}

/// Every finding about the failover configuration.
pub fn lint(d: &AwsDescription) -> Vec<String> {
    let mut out = Vec::new();
    let host = d.params.host().to_ascii_lowercase();
    let primary = d.record(Role::Primary);
    let secondary = d.record(Role::Secondary);
    if primary.is_none() {
        out.push(format!(
            "no PRIMARY failover record for {host} in zone {}; create one (Failover = PRIMARY) pointing at the primary region",
            d.params.hosted_zone_id
        ));
    }
    if secondary.is_none() {
        out.push(format!(
            "no SECONDARY failover record for {host} in zone {}; without it there is nothing to fail over to",
            d.params.hosted_zone_id
        ));
    }
    if let Some(p) = primary {
        match (&p.alias, &p.health_check_id) {
            (Some(a), None) if !a.evaluate_target_health => out.push(format!(
                "{}: evaluate_target_health is off and no health check is attached, so Route 53 never fails it over; turn evaluate_target_health on or attach {}",
                record_name(d, p),
                d.params.primary_health_check
            )),
            (Some(a), Some(_)) if !a.evaluate_target_health => out.push(format!(
                "{}: evaluate_target_health is off, so an ALB with no healthy target still gets traffic until the health check fails; turn it on",
                record_name(d, p)
            )),
            (None, None) => out.push(format!(
                "{}: no health check is attached, so Route 53 always answers it; attach {}",
                record_name(d, p),
                d.params.primary_health_check
            )),
            _ => {}
        }
        if let Some(id) = &p.health_check_id {
            if id != &d.params.primary_health_check {
                out.push(format!(
                    "{}: its health check is {id} but the scenario watches {}; set primary_health_check = \"{id}\"",
                    record_name(d, p),
                    d.params.primary_health_check
                ));
            }
        }
    }
    if let Some(s) = secondary {
        let evaluates = s.alias.as_ref().is_some_and(|a| a.evaluate_target_health);
        if s.health_check_id.is_none() && !evaluates {
            out.push(format!(
                "{}: neither a health check nor evaluate_target_health, so Route 53 sends customers there even when it is down; attach a health check or turn evaluate_target_health on",
                record_name(d, s)
            ));
        }
    }
    for r in primary.into_iter().chain(secondary) {
        if let Some(ttl) = r.ttl.filter(|t| *t > 60) {
            out.push(format!(
                "{}: TTL {ttl}s is above 60s, so customers keep the dead region's answer that long after the flip; lower it to 60 or less",
                record_name(d, r)
            ));
        }
    }
    let endpoint_path = url_path(&d.params.endpoint);
    for c in &d.health_checks {
        if c.disabled {
            out.push(format!(
                "health check {}: disabled, and Route 53 counts a disabled check as healthy, so it never fails over; enable it",
                c.id
            ));
        }
        if c.inverted {
            out.push(format!(
                "health check {}: inverted, so it reports healthy when the endpoint is down; turn Inverted off",
                c.id
            ));
        }
        if let Some(fqdn) = &c.fqdn {
            let checked = fqdn.trim_end_matches('.').to_ascii_lowercase();
            if checked != host {
                out.push(format!(
                    "health check {}: checks {checked} but the failover record serves {host}; point it at {host} (or the region's own name for it)",
                    c.id
                ));
            }
        }
        if c.check_type.starts_with("HTTP") {
            let path = c.resource_path.as_deref().unwrap_or("/");
            if path != endpoint_path {
                out.push(format!(
                    "health check {}: requests {path} but customers call {endpoint_path}; check the path customers depend on (a deep /healthz)",
                    c.id
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::discover::example::{good, record};

    fn only(d: &AwsDescription, fragment: &str) {
        let found = lint(d);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains(fragment), "{found:#?}");
    }

    #[test]
    fn a_sound_configuration_has_no_finding() {
        assert_eq!(lint(&good()), Vec::<String>::new());
    }

    #[test]
    fn secondary_without_health() {
        let mut d = good();
        d.records[1] = record("SECONDARY", None, false);
        only(&d, "neither a health check nor evaluate_target_health");
        // evaluate_target_health alone is enough.
        d.records[1] = record("SECONDARY", None, true);
        assert!(lint(&d).is_empty());
    }

    #[test]
    fn primary_without_evaluate_target_health() {
        let mut d = good();
        d.records[0] = record("PRIMARY", Some("hc-1"), false);
        only(&d, "evaluate_target_health is off");
    }

    #[test]
    fn disabled_and_inverted_checks() {
        let mut d = good();
        d.health_checks[0].disabled = true;
        only(&d, "counts a disabled check as healthy");
        let mut d = good();
        d.health_checks[1].inverted = true;
        only(&d, "inverted");
    }

    #[test]
    fn host_and_path_mismatch() {
        // The seed checks api.yourstartup.com while it fails over app.yourstartup.com.
        let mut d = good();
        d.health_checks[0].fqdn = Some("api.example.com".into());
        only(
            &d,
            "checks api.example.com but the failover record serves app.example.com",
        );
        let mut d = good();
        d.health_checks[0].resource_path = Some("/".into());
        only(&d, "requests / but customers call /healthz");
    }

    #[test]
    fn long_ttl_on_a_failover_record() {
        let mut d = good();
        d.records[1].alias = None;
        d.records[1].ttl = Some(300);
        only(&d, "TTL 300s is above 60s");
        d.records[1].ttl = Some(60);
        assert!(lint(&d).is_empty());
    }

    #[test]
    fn missing_records_and_a_watched_check_that_is_not_attached() {
        let mut d = good();
        d.records.remove(1);
        only(&d, "no SECONDARY failover record");
        let mut d = good();
        d.records[0].health_check_id = Some("hc-9".into());
        only(&d, "set primary_health_check = \"hc-9\"");
    }

    #[test]
    fn seed_floors_from_route53_and_an_alb_alias() {
        use crate::floor::{compute, FailureMode, FloorInputs, RecoveryPath};
        let inputs = FloorInputs::aws(&good());
        let f = compute(&inputs, RecoveryPath::DnsFailover, FailureMode::Error);
        // 10 s x 3: the first failed check may come right after t0: 20 s; plus the alias's 60 s.
        assert_eq!(f.detection.as_ref().unwrap().ms, 20_000.0);
        assert_eq!(f.rto.as_ref().unwrap().ms, 80_000.0);
        assert!(f
            .rto
            .unwrap()
            .why
            .contains("the fixed 60s TTL of an alias to a load balancer"));

        // Without the primary's target group known there is no ALB floor; with
        // it, (unhealthy threshold - 1) x interval + timeout, the fastest group.
        let mut d = good();
        assert_eq!(
            compute(
                &FloorInputs::aws(&d),
                RecoveryPath::TargetGroup,
                FailureMode::Hang
            )
            .rto,
            None
        );
        for (arn, interval_s, timeout_s, unhealthy_threshold) in
            [("tg-slow", 30, 10, 5), ("tg-app", 10, 5, 2)]
        {
            d.target_groups
                .push(crate::aws::discover::TargetGroupConfig {
                    arn: arn.into(),
                    region: "us-east-1".into(),
                    load_balancer_dns: "PRIMARY-alb.us-east-1.elb.amazonaws.com".into(),
                    interval_s,
                    timeout_s,
                    unhealthy_threshold,
                    path: Some("/healthz".into()),
                });
        }
        let alb = compute(
            &FloorInputs::aws(&d),
            RecoveryPath::TargetGroup,
            FailureMode::Hang,
        );
        assert_eq!(alb.rto.unwrap().ms, 15_000.0, "10 s x (2 - 1) + 5 s");
    }
}
