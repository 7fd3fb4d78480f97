//! The AWS environment: connecting (credentials, discovery, the account guard),
//! the guards before the fault, and verifying a revert by checking that the
//! state each undo establishes holds.

use super::Appliers;
use crate::aws::{guard, AwsClients, AwsEnv, AwsParams};
use crate::net::resolve::Resolvers;
use crate::plan::{Plan, Step};

/// Loads credentials and reads the environment; refuses a wrong account at
/// once, before anything else is read.
pub async fn connect(
    params: &AwsParams,
    profile: Option<&str>,
    customers: &Resolvers,
) -> Result<AwsEnv, String> {
    let clients = AwsClients::load(profile.or(params.profile.as_deref())).await;
    let mut env = AwsEnv::discover(params, clients).await?;
    guard::account(&env.description)?;
    env.endpoint = crate::aws::endpoint::trace(params, customers).await;
    Ok(env)
}

/// Guards between the plan and the baseline: regions, steady state, consent.
pub async fn preflight(env: &AwsEnv, plan: &Plan, consent: bool) -> Result<(), String> {
    if let Some(refusal) = env.endpoint.refusal(&env.description.params) {
        return Err(refusal);
    }
    guard::regions(&env.description, plan)?;
    guard::steady(&env.description, &env.clients).await?;
    guard::consent(&env.description, plan, consent)
}

/// What does not hold after the undos of `steps`.
pub async fn verify(appliers: &Appliers, steps: &[Step]) -> Vec<String> {
    let mut out = Vec::new();
    for s in steps {
        if let Err(e) = appliers.holds(&s.undo).await {
            out.push(e.message);
        }
    }
    out
}

/// The plan's header on AWS: the account and caller, the zone's name servers,
/// the failover records.
pub fn plan_header(env: &AwsEnv) -> String {
    let d = &env.description;
    let mut out = format!("target aws, account {} as {}\n", d.account, d.caller_arn);
    out.push_str(&format!(
        "Zone {} name servers (delegation set): {}\n",
        d.params.hosted_zone_id,
        d.name_servers.join(", ")
    ));
    for r in &d.records {
        let target = match &r.alias {
            Some(a) => format!(
                "alias {} (evaluate_target_health {})",
                a.dns_name, a.evaluate_target_health
            ),
            None => format!("{} TTL {}", r.values.join(", "), r.ttl.unwrap_or(0)),
        };
        let check = r.health_check_id.as_deref().unwrap_or_default();
        let check = if check.is_empty() {
            String::new()
        } else {
            format!(", health check {check}")
        };
        let (failover, host, id) = (&r.failover, d.params.host(), &r.set_identifier);
        out.push_str(&format!(
            "Record {failover} {host} ({id}): {target}{check}\n"
        ));
    }
    out
}
