//! Steady state and recovery, judged live from the timeline while a run goes.

use crate::clock::Offset;
use crate::measure::Live;
use crate::timeline::{Observation, Timeline};
use std::time::Duration;

/// Whether the baseline since `start` proves the steady state: the primary
/// serves, DNS answers the primary, canary writes are acked, both regions healthy.
pub fn baseline_holds(timeline: &Timeline, start: Offset, primary: &str) -> Result<(), String> {
    let obs: Vec<(Offset, &Observation)> = timeline
        .observations_since(start)
        .map(|(at, _, o)| (at, o))
        .collect();
    let http: Vec<&Observation> = obs
        .iter()
        .filter(|(_, o)| matches!(o, Observation::Http { .. }))
        .map(|(_, o)| *o)
        .collect();
    let Some(Observation::Http { ok, region, .. }) = http.last() else {
        return Err("no customer request completed during the baseline; lengthen baseline".into());
    };
    if !ok || region.as_deref() != Some(primary) {
        return Err(format!(
            "the latest customer request was not served by the primary {primary}"
        ));
    }
    let served = http
        .iter()
        .filter(|o| matches!(o, Observation::Http { ok: true, .. }))
        .count();
    if served * 10 < http.len() * 8 {
        return Err(format!(
            "only {served} of {} customer requests succeeded",
            http.len()
        ));
    }
    for (_, o) in &obs {
        match o {
            Observation::Dns { region, .. } if region.as_deref() != Some(primary) => {
                return Err(format!(
                    "DNS answered {} instead of the primary",
                    region.as_deref().unwrap_or("nothing")
                ));
            }
            _ => {}
        }
    }
    let canary: Vec<bool> = obs
        .iter()
        .filter_map(|(_, o)| match o {
            Observation::CanaryWrite { acked, .. } => Some(*acked),
            _ => None,
        })
        .collect();
    if !canary.is_empty() && canary.last() != Some(&true) {
        return Err("the latest canary write was not acked".into());
    }
    if let Some(Observation::HealthCheck { region, .. }) = obs
        .iter()
        .rev()
        .map(|(_, o)| *o)
        .find(|o| matches!(o, Observation::HealthCheck { healthy: false, .. }))
    {
        return Err(format!(
            "health checks called {region} unhealthy during the baseline"
        ));
    }
    Ok(())
}

/// Whether customers, and canary writes if any, have recovered and stayed up
/// for `stable_for` by `now`, from what was seen since t0 (`None` before t0).
pub fn recovered(
    live: Option<Live>,
    now: Offset,
    stable_for: Duration,
    canary_interval: Option<Duration>,
) -> bool {
    let Some(live) = live else {
        return false;
    };
    let window_start = Offset(now.0.saturating_sub(stable_for.as_nanos() as u64));
    let outage = live.outage.outage(Duration::ZERO);
    let customers = match outage.first_failure {
        Some(_) => outage.recovered.is_some() && live.http.none_failed_since(window_start),
        None => live.http.all_fine_since(window_start),
    };
    let writes_ok = canary_interval.is_none() || live.canary.all_fine_since(window_start);
    customers
        && live.each_customer_recovered()
        && live.population_settled(now)
        && live.capacity_settled(now)
        && writes_ok
}
