//! The lab environment: connecting (start an embedded lab or attach to a
//! standing one), its steady state, how a revert is verified (the whole
//! configuration compared with before the run) and its ground truth.

use crate::clock::mono_now;
use crate::lab::database::DbRole;
use crate::lab::{LabClient, LabConfiguration, LabDescription};
use crate::measure::accuracy::TruthMark;
use crate::report::{LabRegionSummary, LabSummary};
use crate::words::Role;
use std::time::Duration;

/// Attaches to the standing lab at `attach`, or starts an embedded one with
/// the scenario's `[lab]` parameters, and reads its description.
pub async fn connect(
    scenario: &crate::scenario::Scenario,
    attach: Option<LabClient>,
) -> Result<super::Connected, String> {
    let mut embedded = None;
    let attached = attach.is_some();
    let client = match attach {
        Some(client) => client,
        None => {
            let lab = crate::lab::Lab::start(scenario.lab.clone(), crate::lab::LabPorts::default())
                .await
                .map_err(|e| format!("cannot start the lab: {e:#}"))?;
            let client = lab.client();
            embedded = Some(lab);
            client
        }
    };
    let description = client.describe().await.map_err(|e| e.to_string())?;
    Ok(super::Connected {
        env: super::Env::Lab(super::LabEnv {
            description,
            client,
            attached,
        }),
        embedded,
    })
}

/// The state a healthy lab is in before any game day.
pub fn pristine(env: &LabDescription) -> LabConfiguration {
    let mut c = env.configuration();
    c.registered.values_mut().for_each(|v| *v = true);
    c.holds.values_mut().for_each(Vec::clear);
    for r in &env.regions {
        let role = if r.role == Role::Primary {
            DbRole::Writer
        } else {
            DbRole::Replica
        };
        c.databases.insert(r.name.clone(), (role, false));
    }
    c.writer_region = env.region(Role::Primary).name.clone();
    c
}

/// Checks that the lab is untouched and healthy; returns its configuration,
/// which the revert is verified against.
pub async fn preflight(
    client: &LabClient,
    env: &LabDescription,
) -> Result<LabConfiguration, String> {
    let before = env.configuration();
    let differences = before.differences(&pristine(env));
    if let Some(g) = env
        .regions
        .iter()
        .find_map(|r| r.group.filter(|g| g.desired > g.initial))
    {
        return Err(format!(
            "the standby's group is still scaled out ({} instances; its pilot light is {}); it scales in by itself after scale_in_after of low load: wait and run again",
            g.desired, g.initial
        ));
    }
    if !differences.is_empty() {
        return Err(format!(
            "the lab is not in its steady state ({}); finish the previous run with `gameday revert` or restart the lab",
            differences.join("; ")
        ));
    }
    match client.health().await {
        Ok(h) if h.iter().all(|r| r.healthy) => Ok(before),
        Ok(h) => {
            let sick: Vec<String> = h
                .iter()
                .filter(|r| !r.healthy)
                .map(|r| r.region.clone())
                .collect();
            Err(format!(
                "refusing to start: health checks call {} unhealthy before any fault",
                sick.join(" and ")
            ))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Waits (bounded) until the health checks call both regions healthy again
/// and every target serves, so a standing lab is left ready for the next run.
pub async fn await_health(client: &LabClient, env: &LabDescription) -> bool {
    let p = &env.params;
    let bound = p.health_check_interval.get() * (p.failure_threshold + 2)
        + p.alb_health_interval.get() * (p.alb_healthy_threshold + 2);
    let deadline = mono_now() + bound.as_nanos() as u64;
    while mono_now() < deadline {
        let healthy = client
            .health()
            .await
            .is_ok_and(|h| h.iter().all(|r| r.healthy));
        // A re-registered target serves only after passing its own checks.
        let serving = client.describe().await.is_ok_and(|d| {
            d.regions
                .iter()
                .flat_map(|r| &r.targets)
                .filter(|t| !t.autoscaled || t.registered)
                .all(crate::lab::control::in_service)
        });
        if healthy && serving {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// What differs from the configuration before the run.
pub async fn verify(client: &LabClient, before: &LabConfiguration) -> Vec<String> {
    match client.describe().await {
        Ok(after) => after.configuration().differences(before),
        Err(e) => vec![format!("could not verify: {e}")],
    }
}

/// The lab's record of what really happened, from the run's origin on.
pub async fn truth(client: &LabClient, origin: crate::clock::MonoNs) -> Vec<TruthMark> {
    client
        .truth()
        .await
        .map(|events| {
            events
                .iter()
                .filter(|e| e.at >= origin)
                .map(|e| TruthMark::from_event(e, origin))
                .collect()
        })
        .unwrap_or_default()
}

/// What a report keeps of a lab's description (the report has its own types,
/// independent of the control API's).
pub fn summary(d: &LabDescription) -> LabSummary {
    LabSummary {
        params: d.params.clone(),
        control: d.control,
        dns: d.dns,
        zone: d.zone.clone(),
        record: d.record.clone(),
        regions: d
            .regions
            .iter()
            .map(|r| LabRegionSummary {
                name: r.name.clone(),
                role: r.role,
                public_ip: r.public_ip,
                endpoint: r.endpoint,
                azs: r.azs.clone(),
                extra: Default::default(),
            })
            .collect(),
        writer_region: d.writer_region.clone(),
        multi_address: d.multi_address,
        extra: Default::default(),
    }
}
