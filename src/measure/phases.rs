//! Phases seen from health checks, DNS and customer requests.

use crate::clock::Offset;
use std::time::Duration;

/// One customer request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// When it was sent.
    pub at: Offset,
    /// Served.
    pub ok: bool,
    /// Region it went to.
    pub region: Option<String>,
}

/// The customer's view of the outage.
#[derive(Debug, Clone, PartialEq)]
pub struct Outage {
    /// First failed request sent at or after t0.
    pub first_failure: Option<Offset>,
    /// Start of the first run of successes lasting `stable_for` after the first failure.
    pub recovered: Option<Offset>,
    /// Time covered by failed requests after t0.
    pub downtime: Duration,
}

/// Derives the outage from customer requests (any order; sorted here).
///
/// A run of successes "lasts stable_for" when a success was sent at least
/// `stable_for` after the run's first success with no failure in between. Each
/// failed request covers the time until the next request was sent (the last one
/// covers one `interval`).
pub fn customer_outage(
    requests: &[Request],
    t0: Offset,
    stable_for: Duration,
    interval: Duration,
) -> Outage {
    let mut sorted: Vec<&Request> = requests.iter().collect();
    sorted.sort_by_key(|r| r.at);
    let mut fold = OutageFold::new(t0, stable_for);
    for r in sorted {
        fold.add(r.at, r.ok);
    }
    fold.outage(interval)
}

/// [`customer_outage`] one request at a time, in the order they were sent:
/// what it keeps is a few instants, whatever the length of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct OutageFold {
    t0: Offset,
    stable_for: Duration,
    first_failure: Option<Offset>,
    /// A failed request whose covered time ends when the next one is sent.
    open_failure: Option<Offset>,
    downtime: Duration,
    run_start: Option<Offset>,
    recovered: Option<Offset>,
}

impl OutageFold {
    /// Nothing seen yet.
    pub fn new(t0: Offset, stable_for: Duration) -> OutageFold {
        OutageFold {
            t0,
            stable_for,
            first_failure: None,
            open_failure: None,
            downtime: Duration::ZERO,
            run_start: None,
            recovered: None,
        }
    }

    /// One more request, sent at `at` (no earlier than the last one added).
    pub fn add(&mut self, at: Offset, ok: bool) {
        if at < self.t0 {
            return;
        }
        if let Some(failed) = self.open_failure.take() {
            self.downtime += at.since(failed);
        }
        if !ok {
            self.first_failure.get_or_insert(at);
            self.open_failure = Some(at);
        }
        let Some(first) = self.first_failure else {
            return;
        };
        if self.recovered.is_some() || at <= first {
            return;
        }
        if !ok {
            self.run_start = None;
            return;
        }
        let start = *self.run_start.get_or_insert(at);
        if at.since(start) >= self.stable_for {
            self.recovered = Some(start);
        }
    }

    /// The outage so far; a failure not followed by a request covers `interval`.
    pub fn outage(&self, interval: Duration) -> Outage {
        Outage {
            first_failure: self.first_failure,
            recovered: self.recovered,
            downtime: self.downtime + self.open_failure.map_or(Duration::ZERO, |_| interval),
        }
    }
}

/// Whether anything failed open after t0, so that what "recovered" did so
/// without the secondary being proven: DNS answering the primary while health
/// checks called both regions unhealthy (Route 53 treats all-unhealthy as
/// all-healthy), or customers served by a region whose load balancer had every
/// registered target failing its checks (an ALB then routes to all of them).
pub fn fail_open(
    timeline: &crate::timeline::Timeline,
    t0: Offset,
    primary: &str,
    secondary: &str,
) -> Option<String> {
    let mut fold = FailOpen::new(t0, primary, secondary);
    for (at, _, o) in timeline.observations() {
        fold.add(at, o);
    }
    fold.found
}

/// [`fail_open`] one observation at a time, in time order: it keeps the
/// latest health of each region and target group, and the first finding.
#[derive(Debug, Clone)]
pub struct FailOpen {
    t0: Offset,
    primary: String,
    secondary: String,
    primary_healthy: bool,
    secondary_healthy: bool,
    /// Per region and target group: every registered target failing its checks.
    all_failing: std::collections::BTreeMap<(String, String), bool>,
    /// The first moment something failed open, in words.
    pub found: Option<String>,
}

impl FailOpen {
    /// Nothing seen yet.
    pub fn new(t0: Offset, primary: &str, secondary: &str) -> FailOpen {
        FailOpen {
            t0,
            primary: primary.into(),
            secondary: secondary.into(),
            primary_healthy: true,
            secondary_healthy: true,
            all_failing: Default::default(),
            found: None,
        }
    }

    /// One more observation.
    pub fn add(&mut self, at: Offset, o: &crate::timeline::Observation) {
        use crate::timeline::Observation;
        if at < self.t0 || self.found.is_some() {
            return;
        }
        let after_t0 = at.since(self.t0).as_secs_f64();
        match o {
            Observation::TargetHealth {
                region,
                target_group,
                unhealthy,
                registered,
                ..
            } => {
                self.all_failing.insert(
                    (region.clone(), target_group.clone()),
                    *registered > 0 && unhealthy == registered,
                );
            }
            Observation::Http {
                ok: true,
                region: Some(r),
                ..
            } => {
                if let Some(((_, group), _)) = self
                    .all_failing
                    .iter()
                    .find(|((region, _), failing)| **failing && region == r)
                {
                    self.found = Some(format!(
                        "{after_t0:.2}s after t0 customers were served by {r} while every registered target of {group} failed its health checks (the ALB fails open and routes to all of them): the secondary was not proven"
                    ));
                }
            }
            Observation::HealthCheck {
                region, healthy, ..
            } if *region == self.primary => self.primary_healthy = *healthy,
            Observation::HealthCheck {
                region, healthy, ..
            } if *region == self.secondary => self.secondary_healthy = *healthy,
            Observation::Dns {
                region: Some(r), ..
            } if *r == self.primary && !self.primary_healthy && !self.secondary_healthy => {
                self.found = Some(format!(
                    "{after_t0:.2}s after t0 DNS answered the primary while health checks called both regions unhealthy (Route 53 fails open): the secondary was not proven"
                ));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reqs(pattern: &str, step_ms: u64) -> Vec<Request> {
        // '+' ok, '-' failed, one request every step_ms starting at 0.
        pattern
            .chars()
            .enumerate()
            .map(|(i, c)| Request {
                at: Offset(i as u64 * step_ms * 1_000_000),
                ok: c == '+',
                region: None,
            })
            .collect()
    }
    const MS: u64 = 1_000_000;

    #[test]
    fn outage_then_recovery() {
        // t0 at 300ms; failures from 300 to 700ms, ok from 800ms on.
        let r = reqs("+++-----++++++++++++", 100);
        let o = customer_outage(
            &r,
            Offset(300 * MS),
            Duration::from_millis(500),
            Duration::from_millis(100),
        );
        assert_eq!(o.first_failure, Some(Offset(300 * MS)));
        assert_eq!(o.recovered, Some(Offset(800 * MS)));
        assert_eq!(o.downtime, Duration::from_millis(500));
    }

    #[test]
    fn no_outage() {
        let r = reqs("++++++++++", 100);
        let o = customer_outage(
            &r,
            Offset(200 * MS),
            Duration::from_millis(300),
            Duration::from_millis(100),
        );
        assert_eq!(o.first_failure, None);
        assert_eq!(o.recovered, None);
        assert_eq!(o.downtime, Duration::ZERO);
    }

    #[test]
    fn flapping_needs_a_stable_run() {
        // Short success runs do not count; the stable run starts at 1000ms.
        let r = reqs("--++-+--+-++++++++", 100);
        let o = customer_outage(
            &r,
            Offset(0),
            Duration::from_millis(500),
            Duration::from_millis(100),
        );
        assert_eq!(o.first_failure, Some(Offset(0)));
        assert_eq!(o.recovered, Some(Offset(1000 * MS)));
        assert_eq!(o.downtime, Duration::from_millis(600));
    }

    #[test]
    fn never_recovered() {
        let r = reqs("+++---------++", 100);
        let o = customer_outage(
            &r,
            Offset(300 * MS),
            Duration::from_millis(500),
            Duration::from_millis(100),
        );
        assert_eq!(o.first_failure, Some(Offset(300 * MS)));
        assert_eq!(o.recovered, None);
        assert_eq!(o.downtime, Duration::from_millis(900));
    }

    #[test]
    fn failures_before_t0_are_not_the_outage() {
        let r = reqs("--++++++++", 100);
        let o = customer_outage(
            &r,
            Offset(200 * MS),
            Duration::from_millis(300),
            Duration::from_millis(100),
        );
        assert_eq!(o.first_failure, None);
    }

    #[test]
    fn trailing_failure_counts_one_interval() {
        let r = reqs("++-", 100);
        let o = customer_outage(
            &r,
            Offset(0),
            Duration::from_millis(300),
            Duration::from_millis(100),
        );
        assert_eq!(o.downtime, Duration::from_millis(100));
    }

    #[test]
    fn an_alb_failing_open_is_flagged_and_unused_targets_are_not() {
        use crate::timeline::{Entry, Observation, Timeline, What};
        let at = |ms: u64, o: Observation| Entry {
            at: Offset(ms * MS),
            source: "probe".into(),
            what: What::Observation(o),
        };
        let health = |unhealthy: u32, registered: u32| Observation::TargetHealth {
            region: "p".into(),
            target_group: "tg-app".into(),
            healthy: registered - unhealthy,
            unhealthy,
            registered,
        };
        let served_by = |r: &str| Observation::Http {
            ok: true,
            requests: 1,
            failed: 0,
            status: Some(200),
            region: Some(r.into()),
            latency_ns: MS,
            error: None,
        };
        let mut t = Timeline::default();
        t.push(at(1000, health(2, 2)));
        t.push(at(1100, served_by("p")));
        let flagged = fail_open(&t, Offset(500 * MS), "p", "s").expect("flagged");
        assert!(
            flagged.contains("every registered target of tg-app failed"),
            "{flagged}"
        );

        // Served by the secondary instead: that is a failover, not fail-open.
        let mut t = Timeline::default();
        t.push(at(1000, health(2, 2)));
        t.push(at(1100, served_by("s")));
        assert_eq!(fail_open(&t, Offset(500 * MS), "p", "s"), None);

        // Stopped or deregistered targets are not routed to: no fail-open.
        let mut t = Timeline::default();
        t.push(at(
            1000,
            Observation::TargetHealth {
                region: "p".into(),
                target_group: "tg-app".into(),
                healthy: 0,
                unhealthy: 0,
                registered: 2,
            },
        ));
        t.push(at(1100, served_by("p")));
        assert_eq!(fail_open(&t, Offset(500 * MS), "p", "s"), None);

        // Healthy again before the request: nothing to flag.
        let mut t = Timeline::default();
        t.push(at(1000, health(2, 2)));
        t.push(at(1050, health(0, 2)));
        t.push(at(1100, served_by("p")));
        assert_eq!(fail_open(&t, Offset(500 * MS), "p", "s"), None);
    }
}
