//! The standby's Auto Scaling group (`[lab.autoscaling]`): a pilot light.
//!
//! The secondary region's targets become a group of `max` instance slots,
//! `desired` of them in service at the start. Once a second the group reads
//! the requests its load balancer received (customers' requests, not health
//! checks) and divides them by the instances in service, as
//! `ALBRequestCountPerTarget` does; with `metric = "utilisation"` the target
//! is a percentage of `target_capacity`. After `evaluation` of seconds above
//! the target a scale-out decision sets desired to what would bring every
//! instance back to the target (at most `step` more, and `max`), then waits
//! `cooldown` before deciding again. A launched instance boots for `boot`,
//! is registered in the target group, and takes traffic once the load
//! balancer's health checks pass `alb_healthy_threshold` times. The group
//! scales in after `scale_in_after` of a load that one fewer instance would
//! hold, to what that load needs (at least `min`), newest instances first,
//! so a standing lab returns to its pilot light between game days.
//!
//! Every decision, launch, registration and termination is ground truth
//! (`scaling-decision`, `instance-launched`, `instance-in-service`,
//! `instance-terminated`); the load balancer records when each turns
//! healthy (`alb-target-healthy`).

use super::alb::Alb;
use super::truth::Truth;
use crate::scenario::duration::{count, count_opt, HumanDuration};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// The most instances a lab group may have.
pub const MAX_INSTANCES: u32 = 16;
/// How often the group reads its metric (one period).
pub const PERIOD: Duration = Duration::from_secs(1);
/// How often the group checks its booting instances.
const TICK: Duration = Duration::from_millis(50);

/// What the scale-out policy tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleMetric {
    /// Requests a second per instance in service (`ALBRequestCountPerTarget`).
    #[default]
    RequestCount,
    /// Percent of an instance's `target_capacity`.
    Utilisation,
}

/// `[lab.autoscaling]`: the standby's group and its scale-out policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Autoscaling {
    /// Fewest instances.
    #[serde(deserialize_with = "count")]
    pub min: u32,
    /// Most instances.
    #[serde(deserialize_with = "count")]
    pub max: u32,
    /// Instances in service at the start (default `min`).
    #[serde(
        default,
        deserialize_with = "count_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub desired: Option<u32>,
    /// What the policy tracks.
    #[serde(default)]
    pub metric: ScaleMetric,
    /// The value it keeps each instance at: requests a second, or percent.
    pub target: f64,
    /// How long the metric must stay above the target before a decision.
    #[serde(default = "default_evaluation")]
    pub evaluation: HumanDuration,
    /// After a decision, how long before the next.
    #[serde(default = "default_cooldown")]
    pub cooldown: HumanDuration,
    /// From launch until the instance's app answers.
    #[serde(default = "default_boot")]
    pub boot: HumanDuration,
    /// The most instances one decision adds (default: as many as needed).
    #[serde(
        default,
        deserialize_with = "count_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub step: Option<u32>,
    /// How long a load one fewer instance would hold lasts before one is removed.
    #[serde(default = "default_scale_in")]
    pub scale_in_after: HumanDuration,
}

fn default_evaluation() -> HumanDuration {
    HumanDuration(Duration::from_secs(3))
}
fn default_cooldown() -> HumanDuration {
    HumanDuration(Duration::from_secs(10))
}
fn default_boot() -> HumanDuration {
    HumanDuration(Duration::from_secs(5))
}
fn default_scale_in() -> HumanDuration {
    HumanDuration(Duration::from_secs(15))
}

impl Autoscaling {
    /// Instances at the start.
    pub fn initial(&self) -> u32 {
        self.desired.unwrap_or(self.min)
    }

    /// Whole periods the metric must breach before a decision.
    pub fn periods(&self) -> u32 {
        (self.evaluation.get().as_secs_f64() / PERIOD.as_secs_f64()).ceil() as u32
    }

    /// The target in requests a second per instance.
    pub fn per_instance(&self, capacity: u32) -> f64 {
        match self.metric {
            ScaleMetric::RequestCount => self.target,
            ScaleMetric::Utilisation => self.target / 100.0 * f64::from(capacity),
        }
    }

    /// Decisions needed to go from the initial size to `needed` instances.
    pub fn decisions_to(&self, needed: u32) -> u32 {
        let more = needed.saturating_sub(self.initial());
        match self.step {
            Some(step) => more.div_ceil(step.max(1)),
            None => u32::from(more > 0),
        }
    }

    /// Values that parse but cannot describe a group: the key (under
    /// `autoscaling.`) and why.
    pub fn check(&self, capacity: u32) -> Result<(), (&'static str, String)> {
        self.check_sizes()?;
        self.check_policy(capacity)
    }

    /// min, max and desired.
    fn check_sizes(&self) -> Result<(), (&'static str, String)> {
        if !(1..=MAX_INSTANCES).contains(&self.max) {
            return Err((
                "autoscaling.max",
                format!(
                    "max = {} is out of range; a lab group has 1 to {MAX_INSTANCES} instances",
                    self.max
                ),
            ));
        }
        if self.min > self.max {
            return Err((
                "autoscaling.min",
                format!("min = {} is above max = {}; the group could never be that small and that large", self.min, self.max),
            ));
        }
        if self.min == 0 {
            return Err((
                "autoscaling.min",
                "min = 0 leaves the standby with no instance; a pilot light keeps at least 1 (the lab never scales from zero)".into(),
            ));
        }
        let initial = self.initial();
        if !(self.min..=self.max).contains(&initial) {
            return Err((
                "autoscaling.desired",
                format!(
                    "desired = {initial} is outside min = {} .. max = {}",
                    self.min, self.max
                ),
            ));
        }
        Ok(())
    }

    /// The scale-out policy's target, metric, step and times.
    fn check_policy(&self, capacity: u32) -> Result<(), (&'static str, String)> {
        if !(self.target.is_finite() && self.target > 0.0) {
            return Err((
                "autoscaling.target",
                format!("target = {} must be more than 0", self.target),
            ));
        }
        if self.metric == ScaleMetric::Utilisation {
            if capacity == 0 {
                return Err((
                    "autoscaling.metric",
                    "metric = \"utilisation\" is a share of target_capacity; set target_capacity in [lab]".into(),
                ));
            }
            if self.target > 100.0 {
                return Err((
                    "autoscaling.target",
                    format!(
                        "target = {} is above 100 (percent of target_capacity)",
                        self.target
                    ),
                ));
            }
        }
        if self.step == Some(0) {
            return Err((
                "autoscaling.step",
                "step = 0 never adds an instance; use at least 1 or leave it out".into(),
            ));
        }
        if self.evaluation.get() < PERIOD {
            return Err((
                "autoscaling.evaluation",
                format!(
                    "evaluation = \"{}\" is shorter than the group's 1s period",
                    self.evaluation
                ),
            ));
        }
        if self.boot.get() > Duration::from_secs(600) {
            return Err((
                "autoscaling.boot",
                format!(
                    "boot = \"{}\" is longer than the lab's 10m bound",
                    self.boot
                ),
            ));
        }
        Ok(())
    }
}

/// What the group has decided and launched.
struct State {
    desired: u32,
    /// Instances launched and not yet registered, with when they finish booting.
    booting: Vec<(String, Instant)>,
    cooldown_until: Option<Instant>,
    /// Consecutive periods above the target.
    breaches: u32,
    /// Consecutive periods one fewer instance would have held.
    calm: u32,
}

/// The standby's running group.
pub struct Group {
    settings: Autoscaling,
    capacity: u32,
    alb: Arc<Alb>,
    region: String,
    truth: Arc<Truth>,
    state: Mutex<State>,
}

impl Group {
    /// The group over `alb`'s autoscaled targets.
    pub fn new(
        settings: Autoscaling,
        capacity: u32,
        alb: Arc<Alb>,
        region: String,
        truth: Arc<Truth>,
    ) -> Group {
        let state = State {
            desired: settings.initial(),
            booting: Vec::new(),
            cooldown_until: None,
            breaches: 0,
            calm: 0,
        };
        Group {
            settings,
            capacity,
            alb,
            region,
            truth,
            state: Mutex::new(state),
        }
    }

    /// Desired and booting, now.
    pub fn view(&self) -> (u32, u32) {
        let s = self.state.lock().expect("group lock");
        (s.desired, s.booting.len() as u32)
    }

    /// Runs the group until aborted.
    pub fn spawn(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut next_period = Instant::now() + PERIOD;
            loop {
                tick.tick().await;
                let now = Instant::now();
                self.finish_boots(now);
                if now >= next_period {
                    next_period += PERIOD;
                    let arrivals = self.alb.take_arrivals();
                    self.evaluate(now, arrivals);
                }
            }
        })
    }

    /// Registers every instance whose boot is over.
    fn finish_boots(&self, now: Instant) {
        let done: Vec<String> = {
            let mut s = self.state.lock().expect("group lock");
            let (done, left) = s.booting.drain(..).partition(|(_, at)| *at <= now);
            s.booting = left;
            done.into_iter().map(|(id, _)| id).collect()
        };
        for id in done {
            if self
                .alb
                .set_registered(std::slice::from_ref(&id), true)
                .is_ok()
            {
                self.truth.record(
                    "instance-in-service",
                    &self.region,
                    format!("{id} booted and registered; the load balancer checks it before it takes traffic"),
                );
            }
        }
    }

    /// One period: `arrivals` requests reached the load balancer.
    fn evaluate(&self, now: Instant, arrivals: u64) {
        let in_service = self.alb.registered_in_group();
        let threshold = self.settings.per_instance(self.capacity);
        let per_instance = arrivals as f64 / f64::from(in_service.max(1));
        let mut s = self.state.lock().expect("group lock");
        s.breaches = if per_instance > threshold {
            s.breaches + 1
        } else {
            0
        };
        let fewer = f64::from(in_service.saturating_sub(1));
        let calm = s.booting.is_empty() && (arrivals as f64) <= threshold * fewer;
        s.calm = if calm { s.calm + 1 } else { 0 };
        if s.cooldown_until.is_some_and(|until| now < until) {
            return;
        }
        if s.breaches >= self.settings.periods() {
            self.scale_out(&mut s, now, arrivals as f64 / threshold, per_instance);
        } else if s.desired > self.settings.min
            && f64::from(s.calm) * PERIOD.as_secs_f64()
                >= self.settings.scale_in_after.get().as_secs_f64()
        {
            let wanted = ((arrivals as f64 / threshold).ceil() as u32).max(self.settings.min);
            self.scale_in(&mut s, now, wanted);
        }
    }

    fn scale_out(&self, s: &mut State, now: Instant, wanted: f64, per_instance: f64) {
        let mut wanted = (wanted.ceil() as u32).clamp(self.settings.min, self.settings.max);
        if let Some(step) = self.settings.step {
            wanted = wanted.min(s.desired + step);
        }
        s.breaches = 0;
        if wanted <= s.desired {
            return;
        }
        self.truth.record(
            "scaling-decision",
            &self.region,
            format!(
                "desired {} -> {wanted}: {per_instance:.1} requests a second per instance, above the target of {:.1}",
                s.desired,
                self.settings.per_instance(self.capacity)
            ),
        );
        let launching: Vec<String> = {
            let busy: Vec<&String> = s.booting.iter().map(|(id, _)| id).collect();
            self.alb
                .free_in_group()
                .into_iter()
                .filter(|id| !busy.contains(&id))
                .take((wanted - s.desired) as usize)
                .collect()
        };
        for id in launching {
            self.truth.record(
                "instance-launched",
                &self.region,
                format!("{id} launched; boots for {}", self.settings.boot),
            );
            s.booting.push((id, now + self.settings.boot.get()));
        }
        s.desired = wanted;
        s.cooldown_until = Some(now + self.settings.cooldown.get());
    }

    /// Down to `wanted` instances, newest first.
    fn scale_in(&self, s: &mut State, now: Instant, wanted: u32) {
        s.calm = 0;
        while s.desired > wanted {
            let Some(id) = self.alb.newest_in_group() else {
                return;
            };
            if self
                .alb
                .set_registered(std::slice::from_ref(&id), false)
                .is_err()
            {
                return;
            }
            s.desired -= 1;
            s.cooldown_until = Some(now + self.settings.cooldown.get());
            self.truth.record(
                "instance-terminated",
                &self.region,
                format!("{id} terminated; desired {}", s.desired),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(min: u32, max: u32) -> Autoscaling {
        Autoscaling {
            min,
            max,
            desired: None,
            metric: ScaleMetric::RequestCount,
            target: 40.0,
            evaluation: default_evaluation(),
            cooldown: default_cooldown(),
            boot: default_boot(),
            step: None,
            scale_in_after: default_scale_in(),
        }
    }

    #[test]
    fn min_above_max_is_refused_with_its_key() {
        let err = group(3, 2).check(50).unwrap_err();
        assert_eq!(err.0, "autoscaling.min");
        assert!(err.1.contains("min = 3 is above max = 2"), "{}", err.1);
    }

    #[test]
    fn utilisation_needs_a_capacity() {
        let mut g = group(1, 4);
        g.metric = ScaleMetric::Utilisation;
        g.target = 70.0;
        assert_eq!(g.check(0).unwrap_err().0, "autoscaling.metric");
        g.check(50).unwrap();
        assert_eq!(g.per_instance(50), 35.0);
    }

    #[test]
    fn decisions_count_steps() {
        let mut g = group(1, 8);
        assert_eq!(g.decisions_to(1), 0);
        assert_eq!(g.decisions_to(5), 1);
        g.step = Some(2);
        assert_eq!(g.decisions_to(5), 2);
        assert_eq!(g.decisions_to(6), 3);
    }
}
