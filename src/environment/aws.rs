//! The AWS environment: connecting (credentials, discovery, the account guard),
//! the guards before the fault, and verifying a revert by checking that the
//! state each undo establishes holds.

use super::Appliers;
use crate::aws::call::{fis, AwsCall};
use crate::aws::{guard, AwsClients, AwsEnv, AwsParams};
use crate::clock::{Offset, RunClock};
use crate::net::resolve::Resolvers;
use crate::plan::{Action, Plan, Step};

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

/// When each action of the run's FIS experiments started and ended, as FIS
/// recorded it (its clock, placed on the run's through the wall clock).
pub async fn evidence(
    clients: &AwsClients,
    steps: &[Step],
    clock: &RunClock,
) -> Vec<(Offset, &'static str, String)> {
    let mut out = Vec::new();
    for step in steps {
        let Action::Aws(AwsCall::StartExperiment {
            region,
            template_id,
            run_id,
        }) = &step.apply
        else {
            continue;
        };
        match ended_actions(clients, region, template_id, run_id).await {
            Ok(actions) => out.extend(actions.iter().flat_map(|a| action_events(a, clock))),
            Err(e) => out.push((
                clock.now(),
                "fis-actions-unread",
                format!("the FIS actions' times could not be read: {e}"),
            )),
        }
    }
    out
}

/// The experiment's actions once each that started has ended too (a stopped
/// experiment takes a few seconds to record its ends), read for at most 20 s.
async fn ended_actions(
    clients: &AwsClients,
    region: &str,
    template_id: &str,
    run_id: &str,
) -> Result<Vec<fis::ActionTimes>, String> {
    let deadline = crate::clock::mono_now() + 20_000_000_000;
    loop {
        let actions = fis::action_times(clients, region, template_id, run_id).await?;
        let open = actions
            .iter()
            .any(|a| a.started.is_some() && a.ended.is_none());
        if !open || crate::clock::mono_now() > deadline {
            return Ok(actions);
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// An action's start and end as timeline events, where FIS recorded them.
fn action_events(a: &fis::ActionTimes, clock: &RunClock) -> Vec<(Offset, &'static str, String)> {
    let what = format!(
        "FIS experiment {} action {} ({})",
        a.experiment, a.name, a.action_id
    );
    let mut out = Vec::new();
    if let Some(at) = a.started.and_then(|t| clock.offset_of_wall(t)) {
        out.push((
            at,
            "fis-action-started",
            format!("{what} started, by FIS's clock"),
        ));
    }
    match a.ended.and_then(|t| clock.offset_of_wall(t)) {
        Some(at) => out.push((at, "fis-action-ended", format!("{what} ended {}, by FIS's clock", a.status))),
        None if a.started.is_some() => out.push((
            clock.now(),
            "fis-action-unended",
            format!("{what} had no end time 20 s after the revert (it is {}); look at it in the FIS console", a.status),
        )),
        None => {}
    }
    out
}
