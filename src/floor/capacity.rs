//! The standby under the surge: the fastest it can hold the `[load]`
//! (`time_to_capacity`), and what makes it never hold it.
//!
//! After detection the load lands on the standby. If its instances in
//! service hold the load, it holds it from then on. If not, its group must
//! see the metric above the target for `evaluation`, decide (and, when one
//! decision may add at most `step` instances, decide again after each
//! `cooldown`), boot the last decision's instances for `boot`, and the load
//! balancer must check them healthy `alb_healthy_threshold` times (the first
//! check may come right after registration).

use super::Floor;
use crate::lab::autoscaler::Autoscaling;
use std::time::Duration;

/// The standby as the floors need it (the lab's parameters).
#[derive(Debug, Clone, PartialEq)]
pub struct StandbyInputs {
    /// Requests a second one instance serves.
    pub per_instance: u32,
    /// Instances in service at t0.
    pub initial: u32,
    /// Its group, when it scales.
    pub group: Option<Autoscaling>,
    /// The load balancer's check interval and healthy threshold.
    pub alb_interval: Duration,
    /// Successful checks before a new instance takes traffic.
    pub healthy_threshold: u32,
    /// The primary's instances in service (all of them serve the load before t0).
    pub primary_instances: u32,
}

impl StandbyInputs {
    /// From the lab's parameters: `None` when targets are unbounded.
    pub fn lab(p: &crate::lab::LabParams) -> Option<StandbyInputs> {
        (p.target_capacity > 0).then(|| StandbyInputs {
            per_instance: p.target_capacity,
            initial: p
                .autoscaling
                .as_ref()
                .map_or(p.targets_per_az * 2, |a| a.initial()),
            group: p.autoscaling.clone(),
            alb_interval: p.alb_health_interval.get(),
            healthy_threshold: p.alb_healthy_threshold,
            primary_instances: p.targets_per_az * 2,
        })
    }

    /// Instances that serve `rate` requests a second.
    pub fn needed(&self, rate: f64) -> u32 {
        (rate / f64::from(self.per_instance.max(1))).ceil() as u32
    }

    /// The most instances the standby can have.
    fn most(&self) -> u32 {
        self.group.as_ref().map_or(self.initial, |g| g.max)
    }
}

/// The floor of `time_to_capacity` for `rate`, after `detection` (and why);
/// `Err(why)` when the standby can never hold it.
pub fn floor(
    s: &StandbyInputs,
    rate: f64,
    detection: Duration,
    detection_why: &str,
) -> Result<Floor, String> {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let needed = s.needed(rate);
    if needed <= s.initial {
        return Ok(Floor {
            ms: ms(detection),
            why: format!(
                "{detection_why}; its {} instance(s) hold {rate}/s from the flip",
                s.initial
            ),
        });
    }
    let Some(g) = s.group.as_ref().filter(|g| g.max >= needed) else {
        return Err(format!(
            "the standby can have at most {} instance(s) of {}/s ({}/s in all), below the customers' {rate}/s (the load and the customer probes)",
            s.most(),
            s.per_instance,
            s.most() * s.per_instance
        ));
    };
    let decisions = g.decisions_to(needed);
    let healthy = s.alb_interval * s.healthy_threshold.saturating_sub(1);
    let total = detection
        + g.evaluation.get()
        + g.cooldown.get() * decisions.saturating_sub(1)
        + g.boot.get()
        + healthy;
    Ok(Floor {
        ms: ms(total),
        why: format!(
            "{detection_why}, then {} of evaluation, {decisions} decision(s) {}apart, a {} boot and {} more healthy check(s) {} apart before {needed} instances of {}/s hold {rate}/s",
            humantime::format_duration(g.evaluation.get()),
            if decisions > 1 { format!("a {} cooldown ", humantime::format_duration(g.cooldown.get())) } else { String::new() },
            humantime::format_duration(g.boot.get()),
            s.healthy_threshold.saturating_sub(1),
            humantime::format_duration(s.alb_interval),
            s.per_instance
        ),
    })
}

/// Configuration mistakes: a standby whose largest size cannot hold what
/// the primary holds, or the load; a policy that settles with saturated
/// instances.
pub fn lint(s: &StandbyInputs, rate: Option<f64>) -> Vec<String> {
    let mut out = Vec::new();
    if s.most() < s.primary_instances {
        out.push(format!(
            "[lab] the standby can grow to {} instance(s) while the primary runs {}: after a failover it cannot hold what the primary held; raise [lab.autoscaling] max to at least {}",
            s.most(),
            s.primary_instances,
            s.primary_instances
        ));
    }
    if let Some(rate) = rate.filter(|r| s.needed(*r) > s.most()) {
        out.push(format!(
            "[lab] the customers' {rate}/s (the load and the customer probes) needs {} instance(s) of {}/s, and the standby can have at most {}: it will never hold it",
            s.needed(rate),
            s.per_instance,
            s.most()
        ));
    }
    if let Some(g) = &s.group {
        let per = g.per_instance(s.per_instance);
        if per > f64::from(s.per_instance) {
            out.push(format!(
                "[lab.autoscaling] target = {} is {per}/s per instance, above what one serves ({}/s): the group settles with its instances saturated; set it below target_capacity",
                g.target, s.per_instance
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::autoscaler::ScaleMetric;
    use crate::scenario::duration::HumanDuration;

    fn standby(step: Option<u32>) -> StandbyInputs {
        let d = |s| HumanDuration(Duration::from_secs(s));
        StandbyInputs {
            per_instance: 60,
            initial: 1,
            group: Some(Autoscaling {
                min: 1,
                max: 6,
                desired: None,
                metric: ScaleMetric::RequestCount,
                target: 40.0,
                evaluation: d(2),
                cooldown: d(10),
                boot: d(4),
                step,
                scale_in_after: d(15),
            }),
            alb_interval: Duration::from_millis(500),
            healthy_threshold: 2,
            primary_instances: 4,
        }
    }

    #[test]
    fn the_floor_adds_evaluation_cooldowns_boot_and_checks() {
        let d = Duration::from_secs(2);
        let f = floor(&standby(None), 200.0, d, "detection").unwrap();
        assert_eq!(f.ms, 2000.0 + 2000.0 + 4000.0 + 500.0);
        // One instance at a time: 3 more decisions, 10 s apart.
        let f = floor(&standby(Some(1)), 200.0, d, "detection").unwrap();
        assert_eq!(f.ms, 8500.0 + 20_000.0);
        assert!(
            f.why.contains("3 decision(s) a 10s cooldown apart"),
            "{}",
            f.why
        );
    }

    #[test]
    fn a_standby_that_holds_the_load_has_the_detection_floor() {
        let f = floor(&standby(None), 50.0, Duration::from_secs(2), "d").unwrap();
        assert_eq!(f.ms, 2000.0);
    }

    #[test]
    fn too_small_a_group_never_holds_and_is_linted() {
        let mut s = standby(None);
        s.group.as_mut().unwrap().max = 3;
        assert!(floor(&s, 200.0, Duration::ZERO, "d")
            .unwrap_err()
            .contains("at most 3 instance(s) of 60/s (180/s in all)"));
        let lint = lint(&s, Some(200.0));
        assert_eq!(lint.len(), 2, "{lint:?}");
        assert!(lint[0].contains("grow to 3 instance(s) while the primary runs 4"));
        assert!(lint[1].contains("needs 4 instance(s)"), "{}", lint[1]);
    }
}
