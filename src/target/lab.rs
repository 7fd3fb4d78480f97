//! The lab target: its steady state, how a revert is verified (the whole
//! configuration compared with before the run) and its ground truth.

use crate::clock::mono_now;
use crate::lab::database::DbRole;
use crate::lab::{LabClient, LabConfiguration, LabDescription, Role};
use crate::measure::accuracy::TruthMark;
use std::time::Duration;

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
