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

/// The first observation at or after `t0` whose value satisfies `pred`.
pub fn first_at_or_after<T>(
    obs: &[(Offset, T)],
    t0: Offset,
    pred: impl Fn(&T) -> bool,
) -> Option<Offset> {
    obs.iter()
        .filter(|(at, _)| *at >= t0)
        .find(|(_, v)| pred(v))
        .map(|(at, _)| *at)
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
    let mut after: Vec<&Request> = requests.iter().filter(|r| r.at >= t0).collect();
    after.sort_by_key(|r| r.at);
    let first_failure = after.iter().find(|r| !r.ok).map(|r| r.at);
    let mut downtime = Duration::ZERO;
    for (i, r) in after.iter().enumerate() {
        if !r.ok {
            downtime += match after.get(i + 1) {
                Some(next) => next.at.since(r.at),
                None => interval,
            };
        }
    }
    let recovered = first_failure.and_then(|ff| {
        let mut run_start: Option<Offset> = None;
        for r in after.iter().filter(|r| r.at > ff) {
            if !r.ok {
                run_start = None;
                continue;
            }
            let start = *run_start.get_or_insert(r.at);
            if r.at.since(start) >= stable_for {
                return Some(start);
            }
        }
        None
    });
    Outage {
        first_failure,
        recovered,
        downtime,
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
    use crate::timeline::Observation;
    let (mut primary_healthy, mut secondary_healthy) = (true, true);
    // Per region and target group: every registered target failing its checks.
    let mut all_failing: std::collections::BTreeMap<(&str, &str), bool> = Default::default();
    for (at, _, o) in timeline.observations().filter(|(at, _, _)| *at >= t0) {
        match o {
            Observation::TargetHealth {
                region,
                target_group,
                unhealthy,
                registered,
                ..
            } => {
                all_failing.insert(
                    (region.as_str(), target_group.as_str()),
                    *registered > 0 && unhealthy == registered,
                );
            }
            Observation::Http {
                ok: true,
                region: Some(r),
                ..
            } if all_failing
                .iter()
                .any(|((region, _), failing)| *failing && region == r) =>
            {
                let group = all_failing
                    .iter()
                    .find(|((region, _), failing)| **failing && region == r)
                    .map(|((_, g), _)| *g)
                    .unwrap_or_default();
                return Some(format!(
                    "{:.2}s after t0 customers were served by {r} while every registered target of {group} failed its health checks (the ALB fails open and routes to all of them): the secondary was not proven",
                    at.since(t0).as_secs_f64()
                ));
            }
            Observation::HealthCheck {
                region, healthy, ..
            } if region == primary => primary_healthy = *healthy,
            Observation::HealthCheck {
                region, healthy, ..
            } if region == secondary => secondary_healthy = *healthy,
            Observation::Dns {
                region: Some(r), ..
            } if r == primary && !primary_healthy && !secondary_healthy => {
                return Some(format!(
                    "{:.2}s after t0 DNS answered the primary while health checks called both regions unhealthy (Route 53 fails open): the secondary was not proven",
                    at.since(t0).as_secs_f64()
                ));
            }
            _ => {}
        }
    }
    None
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
    fn first_at_or_after_ignores_earlier() {
        let obs = vec![(Offset(1), false), (Offset(5), true), (Offset(9), false)];
        assert_eq!(first_at_or_after(&obs, Offset(2), |v| !*v), Some(Offset(9)));
        assert_eq!(first_at_or_after(&obs, Offset(10), |v| !*v), None);
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
