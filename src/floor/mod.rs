//! The floor: the fastest each phase can be with the configuration as built,
//! computed before the run, so an objective nobody can meet is caught at
//! `gameday plan` instead of at 3 a.m.
//!
//! Health checks need `failure_threshold` failed checks in a row, one per
//! interval; the first may come right after t0, so detection takes at least
//! (threshold - 1) x interval, plus the time one check takes to fail (its
//! timeout when the endpoint hangs, about nothing when it answers an error).
//! Typically it takes one interval more. DNS flips with the health status.
//! Every customer is back only once their resolver's cached answer has
//! expired: the RTO floor adds the TTL. When an ALB routes around a broken AZ
//! instead, its own health checks set the floor the same way.

pub mod aws_lint;
pub mod capacity;
pub mod population;

use crate::lab::LabParams;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// An ALB target group's health-check settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetGroupChecks {
    /// Interval between checks.
    pub interval: Duration,
    /// Time one check may take.
    pub timeout: Duration,
    /// Failed checks before a target is unhealthy.
    pub unhealthy_threshold: u32,
}

/// What the floors are computed from, read from the lab's parameters or from
/// Route 53 and ELBv2.
#[derive(Debug, Clone, PartialEq)]
pub struct FloorInputs {
    /// Health check request interval (per checker).
    pub check_interval: Duration,
    /// Failed checks in a row before unhealthy.
    pub failure_threshold: u32,
    /// How long one check waits for a hanging endpoint.
    pub check_timeout: Duration,
    /// How long a customer's resolver keeps the old answer.
    pub ttl: Duration,
    /// Where the TTL comes from, in the configuration's words.
    pub ttl_why: String,
    /// The primary's target group checks, when known.
    pub target_group: Option<TargetGroupChecks>,
    /// Whether the writer acks before the standby has the write, when known.
    pub asynchronous: Option<bool>,
    /// The customer probes' clients (`probe::client`), which may keep
    /// calling the failed region longer than the TTL.
    pub clients: Vec<FloorClient>,
    /// The scenario's population of simulated clients, if any.
    pub population: Option<crate::measure::population::PopulationSpec>,
    /// The standby's instances and group, when their capacity is known.
    pub standby: Option<capacity::StandbyInputs>,
    /// With a `[load]`: requests a second through the load balancers, the
    /// load's and the customer probes' (`probe::customer_rate`).
    pub load_rate: Option<f64>,
}

/// One customer probe's client, as the floors need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloorClient {
    /// The probe.
    pub probe: String,
    /// Its client class.
    pub class: crate::probe::client::ClientClass,
    /// Its request timeout (a pooled client drops a hung connection then).
    pub timeout: Duration,
}

impl FloorInputs {
    /// From the lab's parameters.
    pub fn lab(p: &LabParams) -> FloorInputs {
        FloorInputs {
            check_interval: p.health_check_interval.get(),
            failure_threshold: p.failure_threshold,
            check_timeout: p.health_check_timeout.get(),
            ttl: p.dns_ttl.get(),
            ttl_why: format!("TTL {}", secs(p.dns_ttl.get())),
            target_group: Some(TargetGroupChecks {
                interval: p.alb_health_interval.get(),
                timeout: p.alb_health_timeout.get(),
                unhealthy_threshold: p.alb_unhealthy_threshold,
            }),
            asynchronous: Some(p.replication == crate::lab::database::Replication::Async),
            clients: Vec::new(),
            population: None,
            standby: capacity::StandbyInputs::lab(p),
            load_rate: None,
        }
    }

    /// From what Route 53 and ELBv2 say about the primary.
    pub fn aws(d: &crate::aws::discover::AwsDescription) -> FloorInputs {
        let check = d.health_check(&d.params.primary_health_check);
        let record = d.record(crate::words::Role::Primary);
        let (ttl, ttl_why) = match record {
            Some(r) => match &r.alias {
                Some(a) if crate::aws::discover::normalize(&a.dns_name).contains(".elb.") => (
                    Duration::from_secs(60),
                    "the fixed 60s TTL of an alias to a load balancer".to_string(),
                ),
                Some(a) => (
                    Duration::ZERO,
                    format!("no TTL known for the alias to {}", a.dns_name),
                ),
                None => {
                    let t = Duration::from_secs(r.ttl.unwrap_or(0).max(0) as u64);
                    (
                        t,
                        format!("TTL {} of the {} record", secs(t), r.set_identifier),
                    )
                }
            },
            None => (Duration::ZERO, "no failover record found".to_string()),
        };
        let target_group = record
            .map(|r| d.target_groups_of(r))
            .unwrap_or_default()
            .into_iter()
            .map(|t| TargetGroupChecks {
                interval: Duration::from_secs(t.interval_s.max(1) as u64),
                timeout: Duration::from_secs(t.timeout_s.max(1) as u64),
                unhealthy_threshold: t.unhealthy_threshold.max(1) as u32,
            })
            // The fastest group bounds the floor from below.
            .min_by_key(|t| t.interval * (t.unhealthy_threshold - 1) + t.timeout);
        FloorInputs {
            check_interval: Duration::from_secs(
                check.map(|c| c.request_interval.max(1)).unwrap_or(30) as u64,
            ),
            failure_threshold: check.map(|c| c.failure_threshold.max(1)).unwrap_or(3) as u32,
            // Route 53 checkers give up on a TCP connection after 4 s.
            check_timeout: Duration::from_secs(4),
            ttl,
            ttl_why,
            target_group,
            asynchronous: None,
            clients: Vec::new(),
            population: None,
            standby: None,
            load_rate: None,
        }
    }

    /// The inputs with what the scenario's probes bring: the customers'
    /// clients, the population and the load.
    pub fn for_probes(self, probes: &[std::sync::Arc<dyn crate::probe::Probe>]) -> FloorInputs {
        let mut inputs = self
            .for_clients(crate::probe::floor_clients(probes))
            .for_population(crate::probe::population(probes));
        inputs.load_rate = crate::probe::customer_rate(probes);
        inputs
    }

    /// The inputs with the scenario's customer probes' clients.
    pub fn for_clients(mut self, clients: Vec<FloorClient>) -> FloorInputs {
        self.clients = clients;
        self
    }

    /// The inputs with the scenario's population.
    pub fn for_population(
        mut self,
        population: Option<crate::measure::population::PopulationSpec>,
    ) -> FloorInputs {
        self.population = population;
        self
    }

    /// How long after the flip the last customer may keep calling the
    /// failed region, and why: the TTL, or longer for a client that ignores
    /// or stretches it, or keeps a connection to a region answering errors;
    /// `Err(why)` when one never leaves it.
    fn last_customer(&self, mode: FailureMode) -> Result<(Duration, String), String> {
        let mut last = (self.ttl, self.ttl_why.clone());
        for c in &self.clients {
            let class = &c.class;
            let who = format!("the {} client of probe {}", class.name(), c.probe);
            let answers_errors = mode == FailureMode::Error;
            match class.keeps_failed_region(self.ttl, answers_errors, c.timeout) {
                None if matches!(class, crate::probe::client::ClientClass::Pooled { .. }) => {
                    return Err(format!(
                        "{who} keeps its connection and the failed region answers errors on it, which closes nothing"
                    ))
                }
                None => return Err(format!("{who} {}", class.describe())),
                Some(keep) if keep > last.0 => {
                    last = (
                        keep,
                        format!(
                            "{} ({who}, which {}; {} on the record)",
                            secs(keep),
                            class.describe(),
                            self.ttl_why
                        ),
                    )
                }
                Some(_) => {}
            }
        }
        Ok(last)
    }
}

/// How a fault's outage ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecoveryPath {
    /// Health checks fail the region, DNS flips to the secondary.
    DnsFailover,
    /// The region's ALB stops routing to the broken targets.
    TargetGroup,
    /// Customers should not notice at all.
    NoOutage,
}

/// How a failing health check fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureMode {
    /// The endpoint answers an error at once.
    Error,
    /// The endpoint hangs: each check takes its full timeout.
    Hang,
    /// The endpoint resets every connection at once: a check fails at
    /// once, and a client's kept connection is closed, so it reconnects.
    Reset,
}

/// One phase's floor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Floor {
    /// The minimum, ms after t0.
    pub ms: f64,
    /// Where it comes from, in the configuration's words.
    pub why: String,
}

/// Every floor of a plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Floors {
    /// Health checks call the primary unhealthy.
    pub detection: Option<Floor>,
    /// DNS answers the secondary.
    pub dns_flip: Option<Floor>,
    /// Every customer served again (the RTO floor): the last customer, whose
    /// cached answer was refreshed just before the flip.
    pub rto: Option<Floor>,
    /// The first customer served again: one whose cached answer expires
    /// right at the flip (a single probe recovers between the two).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto_first: Option<Floor>,
    /// Why some customer is never served again (a client that keeps the
    /// old answer forever), when one is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub never: Option<String>,
    /// Why no data loss (`rpo = "0s"`) is impossible, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_loss: Option<String>,
    /// The population's, at its percentile: everyone's, then each class's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub population: Vec<population::PopulationFloor>,
    /// The standby holds the `[load]` (`capacity::floor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_capacity: Option<Floor>,
    /// Why the standby never holds the load, when it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_never: Option<String>,
    /// Mistakes in the standby's configuration (`capacity::lint`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_lint: Vec<String>,
}

impl Floors {
    /// Customers are served steadily no sooner than the standby holds the
    /// load (`capacity`): the rto floors move there.
    fn shedding_until(mut self, capacity: Floor) -> Floors {
        let why = format!(
            "the standby sheds most requests until it holds the load: {}",
            capacity.why
        );
        for floor in [&mut self.rto, &mut self.rto_first].into_iter().flatten() {
            if floor.ms < capacity.ms {
                *floor = Floor {
                    ms: capacity.ms,
                    why: why.clone(),
                };
            }
        }
        self
    }
}

fn secs(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// Floors for a fault that ends by `path`, failing health checks by `mode`.
pub fn compute(p: &FloorInputs, path: RecoveryPath, mode: FailureMode) -> Floors {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    match path {
        RecoveryPath::NoOutage => Floors::default(),
        RecoveryPath::DnsFailover => {
            let interval = p.check_interval;
            let fail = match mode {
                FailureMode::Hang => p.check_timeout,
                FailureMode::Error | FailureMode::Reset => Duration::ZERO,
            };
            let detection = interval * (p.failure_threshold - 1) + fail;
            let why = format!(
                "health check {} x {} (the first failed check may come right after t0){}",
                secs(interval),
                p.failure_threshold,
                if fail.is_zero() {
                    String::new()
                } else {
                    format!(" + a {} timeout", secs(fail))
                }
            );
            let last = p.last_customer(mode);
            let standby = p.standby.as_ref().zip(p.load_rate);
            let capacity = standby.map(|(s, rate)| capacity::floor(s, rate, detection, &why));
            // A standby that cannot hold the load at t0 sheds most requests
            // until it can: no customer is served steadily before.
            let shedding = standby
                .filter(|(s, rate)| s.needed(*rate) > s.initial)
                .and(capacity.clone())
                .and_then(Result::ok);
            let floors = Floors {
                detection: Some(Floor {
                    ms: ms(detection),
                    why: why.clone(),
                }),
                dns_flip: Some(Floor {
                    ms: ms(detection),
                    why: format!("DNS flips with the health status: {why}"),
                }),
                // The RTO is about every customer: one whose resolver cached the old
                // answer just before the flip waits a whole TTL (a lucky one, less).
                rto: last.as_ref().ok().map(|(keep, keep_why)| Floor {
                    ms: ms(detection + *keep),
                    why: format!(
                        "{why}, then {keep_why} until every customer's cached answer expires"
                    ),
                }),
                rto_first: Some(Floor {
                    ms: ms(detection),
                    why: format!("{why}: a customer whose cached answer expires right at the flip"),
                }),
                never: last
                    .err()
                    .map(|c| format!("{c}: it is never served by the secondary")),
                data_loss: None,
                population: p
                    .population
                    .as_ref()
                    .map(|spec| population::floors(p, spec, mode, detection, &why))
                    .unwrap_or_default(),
                time_to_capacity: capacity.clone().and_then(Result::ok),
                capacity_never: capacity.and_then(Result::err),
                capacity_lint: standby
                    .map(|(s, rate)| capacity::lint(s, Some(rate)))
                    .unwrap_or_default(),
            };
            match shedding {
                Some(c) => floors.shedding_until(c),
                None => floors,
            }
        }
        RecoveryPath::TargetGroup => {
            let Some(tg) = p.target_group else {
                return Floors::default();
            };
            let (interval, timeout, threshold) = (tg.interval, tg.timeout, tg.unhealthy_threshold);
            let floor = interval * (threshold - 1) + timeout;
            Floors {
                detection: None,
                dns_flip: None,
                rto: Some(Floor {
                    ms: ms(floor),
                    why: format!("ALB health check {} x {} + a {} timeout before the AZ's targets stop getting traffic", secs(interval), threshold, secs(timeout)),
                }),
                rto_first: None,
                never: None,
                data_loss: None,
                population: Vec::new(),
                time_to_capacity: None,
                capacity_never: None,
                capacity_lint: Vec::new(),
            }
        }
    }
}

/// An objective below its floor: the configuration cannot meet it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Impossible {
    /// Objective name.
    pub objective: String,
    /// The sentence to show.
    pub message: String,
}

/// One timed phase: the fastest this configuration allows, and the
/// objective that judges it, if declared.
pub struct Against<'a> {
    /// Phase name (`detection`, `dns_flip`, `rto`).
    pub phase: &'static str,
    /// The objective's key (`max_detection`, `max_dns_flip`, `rto`).
    pub objective: &'static str,
    /// The floor, when this configuration has one.
    pub floor: Option<&'a Floor>,
    /// The declared limit.
    pub declared: Option<crate::scenario::duration::HumanDuration>,
}

impl Against<'_> {
    /// Whether the declared limit is below the floor: it cannot be met.
    pub fn below_floor(&self) -> bool {
        match (self.declared, self.floor) {
            (Some(d), Some(f)) => d.get().as_secs_f64() * 1000.0 < f.ms,
            _ => false,
        }
    }
}

/// Every timed phase against its objective, in the order they happen (the
/// standby's capacity only when it has a floor or an objective).
pub fn against<'a>(
    floors: &'a Floors,
    objectives: &crate::scenario::Objectives,
) -> Vec<Against<'a>> {
    let row = |phase, objective, floor: &'a Option<Floor>, declared| Against {
        phase,
        objective,
        floor: floor.as_ref(),
        declared,
    };
    [
        row(
            "detection",
            "max_detection",
            &floors.detection,
            objectives.max_detection,
        ),
        row(
            "dns_flip",
            "max_dns_flip",
            &floors.dns_flip,
            objectives.max_dns_flip,
        ),
        row("rto", "rto", &floors.rto, Some(objectives.rto)),
        row(
            "capacity",
            "max_time_to_capacity",
            &floors.time_to_capacity,
            objectives.max_time_to_capacity,
        ),
    ]
    .into_iter()
    .filter(|a| a.phase != "capacity" || a.floor.is_some() || a.declared.is_some())
    .collect()
}

/// Checks each declared objective against its floor, and `rpo = "0s"`
/// against a configuration that must lose data.
pub fn impossible(floors: &Floors, objectives: &crate::scenario::Objectives) -> Vec<Impossible> {
    let zero_rpo = objectives.rpo.is_some_and(|r| r.get().is_zero());
    let data = floors
        .data_loss
        .as_ref()
        .filter(|_| zero_rpo)
        .map(|why| Impossible {
            objective: "rpo".into(),
            message: format!("rpo 0s cannot hold: {why}"),
        });
    let never = floors.never.as_ref().map(|why| Impossible {
        objective: "rto".into(),
        message: format!(
            "rto {} cannot be met by every customer: {why}",
            objectives.rto
        ),
    });
    let capacity_never = floors.capacity_never.as_ref().map(|why| Impossible {
        objective: "max_time_to_capacity".into(),
        message: format!(
            "max_time_to_capacity {} cannot be met: {why}",
            objectives
                .max_time_to_capacity
                .map_or("(not declared)".into(), |d| d.to_string())
        ),
    });
    against(floors, objectives)
        .into_iter()
        .filter(Against::below_floor)
        .filter_map(|a| {
            let (declared, floor) = (a.declared?, a.floor?);
            Some(Impossible {
                objective: a.objective.into(),
                message: format!(
                    "{} {declared} is below the floor of {}: {}",
                    a.objective,
                    crate::report::fmt_ms(floor.ms),
                    floor.why
                ),
            })
        })
        .chain(never)
        .chain(capacity_never)
        .chain(clients_impossible(floors, objectives))
        .chain(population::impossible(
            &floors.population,
            &objectives.population,
        ))
        .chain(data)
        .collect()
}

/// Customer probes' own rto objectives that cannot hold: below the first
/// customer's floor (one client can be served no sooner), or for a client
/// that keeps the old answer forever.
fn clients_impossible(
    floors: &Floors,
    objectives: &crate::scenario::Objectives,
) -> Vec<Impossible> {
    objectives
        .clients
        .iter()
        .filter_map(|c| {
            let objective = format!("rto ({})", c.probe);
            let message = match &floors.rto_first {
                _ if c.forever => format!(
                    "{objective} {} cannot be met: its client keeps the old answer forever and is never served by the secondary",
                    c.rto
                ),
                Some(first) if c.rto.get().as_secs_f64() * 1000.0 < first.ms => format!(
                    "{objective} {} is below the floor of {} for any one customer: {}",
                    c.rto,
                    crate::report::fmt_ms(first.ms),
                    first.why
                ),
                _ => return None,
            };
            Some(Impossible { objective, message })
        })
        .collect()
}

/// Findings about the failover configuration itself, each naming the setting
/// and the fix. (Reading a real Route 53 and ELBv2 configuration comes with the
/// AWS target.)
pub fn lint(p: &LabParams) -> Vec<String> {
    let mut out = Vec::new();
    if p.dns_ttl.get() > Duration::from_secs(60) {
        out.push(format!(
            "[lab] dns_ttl = \"{}\" on the failover record is above 60s: customers keep the dead region's answer that long after the flip; lower it to 60s or less",
            p.dns_ttl
        ));
    }
    out
}

/// The floors of several faults: the run recovers when the slowest path does.
pub fn combine(all: Vec<Floors>) -> Floors {
    let max = |a: Option<Floor>, b: Option<Floor>| match (a, b) {
        (Some(x), Some(y)) => Some(if y.ms > x.ms { y } else { x }),
        (x, y) => x.or(y),
    };
    let mut floors = all.into_iter().fold(Floors::default(), |acc, f| Floors {
        detection: max(acc.detection, f.detection),
        dns_flip: max(acc.dns_flip, f.dns_flip),
        rto: max(acc.rto, f.rto),
        rto_first: max(acc.rto_first, f.rto_first),
        never: acc.never.or(f.never),
        data_loss: acc.data_loss.or(f.data_loss),
        population: later_population(acc.population, f.population),
        time_to_capacity: max(acc.time_to_capacity, f.time_to_capacity),
        capacity_never: acc.capacity_never.or(f.capacity_never),
        capacity_lint: if acc.capacity_lint.is_empty() {
            f.capacity_lint
        } else {
            acc.capacity_lint
        },
    });
    // A customer who is never served again leaves no floor for every customer.
    if floors.never.is_some() {
        floors.rto = None;
    }
    floors
}

/// The later of two faults' population floors, objective by objective (a
/// client never served again is latest).
fn later_population(
    a: Vec<population::PopulationFloor>,
    b: Vec<population::PopulationFloor>,
) -> Vec<population::PopulationFloor> {
    if a.is_empty() || a.len() != b.len() {
        return if a.is_empty() { b } else { a };
    }
    a.into_iter()
        .zip(b)
        .map(|(x, y)| match (x.ms, y.ms) {
            (None, _) => x,
            (_, None) => y,
            (Some(m), Some(n)) if n > m => y,
            _ => x,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::duration::HumanDuration;

    fn d(s: u64) -> HumanDuration {
        HumanDuration(Duration::from_secs(s))
    }

    /// The longest any customer's client keeps the old answer bounds the
    /// last customer; the first customer's floor stays detection; a client
    /// that caches forever leaves no floor and makes the rto impossible.
    #[test]
    fn client_classes_move_the_last_customers_floor() {
        use crate::probe::client::ClientClass;
        let p = LabParams::default();
        let floors_when = |mode: FailureMode, clients: &[(&str, ClientClass)]| {
            let clients = clients
                .iter()
                .map(|(probe, class)| FloorClient {
                    probe: probe.to_string(),
                    class: *class,
                    timeout: Duration::from_secs(2),
                })
                .collect();
            let inputs = FloorInputs::lab(&p).for_clients(clients);
            combine(vec![compute(&inputs, RecoveryPath::DnsFailover, mode)])
        };
        let floors = |clients: &[(&str, ClientClass)]| floors_when(FailureMode::Error, clients);
        let cached = ClientClass::Cached {
            cache_for: Some(Duration::from_secs(30)),
        };
        let stale = ClientClass::StaleResolver {
            min_ttl: Duration::from_secs(300),
        };
        let f = floors(&[("customer", ClientClass::default()), ("jvm", cached)]);
        assert_eq!(f.rto.as_ref().unwrap().ms, 32_000.0); // 2 s + 30 s
        assert!(
            f.rto
                .as_ref()
                .unwrap()
                .why
                .contains("the cached client of probe jvm"),
            "{:?}",
            f.rto
        );
        assert_eq!(f.rto_first.unwrap().ms, 2000.0);
        let f = floors(&[("jvm", cached), ("isp", stale)]);
        assert_eq!(f.rto.unwrap().ms, 302_000.0);
        let forever = ClientClass::Cached { cache_for: None };
        let f = floors(&[("isp", stale), ("jvm", forever)]);
        assert_eq!(f.rto, None);
        let objectives = crate::scenario::Objectives {
            rto: d(600),
            rpo: None,
            max_detection: None,
            max_dns_flip: None,
            max_fencing: None,
            max_time_to_capacity: None,
            max_error_rate: None,
            max_p99_latency: None,
            clients: Vec::new(),
            population: Vec::new(),
        };
        let bad = impossible(&f, &objectives);
        assert_eq!(bad.len(), 1);
        assert!(
            bad[0].message.starts_with("rto 10m cannot be met by every customer: the cached client of probe jvm caches the answer forever"),
            "{}",
            bad[0].message
        );
        // A pool: pinned for good by a region answering errors, dropped at
        // its request timeout by a silent one.
        let pool = ClientClass::Pooled {
            idle_timeout: Duration::from_secs(90),
            max_age: None,
        };
        let f = floors(&[("sdk", pool)]);
        assert_eq!(f.rto, None);
        assert!(f.never.unwrap().contains("which closes nothing"));
        let f = floors_when(FailureMode::Hang, &[("sdk", pool)]);
        assert_eq!(f.rto.unwrap().ms, 4_500.0); // 2.5 s + the 2 s timeout
    }

    #[test]
    fn lab_defaults() {
        let p = LabParams::default();
        let f = compute(
            &FloorInputs::lab(&p),
            RecoveryPath::DnsFailover,
            FailureMode::Error,
        );
        assert_eq!(f.detection.unwrap().ms, 2000.0); // 1 s x (3 - 1)
        assert_eq!(f.rto.unwrap().ms, 3000.0); // + TTL 1 s
        let f = compute(
            &FloorInputs::lab(&p),
            RecoveryPath::DnsFailover,
            FailureMode::Hang,
        );
        assert_eq!(f.detection.unwrap().ms, 2500.0); // + 500 ms timeout
        let f = compute(
            &FloorInputs::lab(&p),
            RecoveryPath::TargetGroup,
            FailureMode::Hang,
        );
        assert_eq!(f.rto.unwrap().ms, 750.0); // 500 ms x (2 - 1) + 250 ms
        assert_eq!(
            compute(
                &FloorInputs::lab(&p),
                RecoveryPath::NoOutage,
                FailureMode::Hang
            ),
            Floors::default()
        );
    }

    #[test]
    fn the_seed_configuration() {
        // Route 53 health check every 10 s, threshold 3, 4 s timeout; TTL 60 s (an alias to an ALB).
        let p = LabParams {
            health_check_interval: d(10),
            failure_threshold: 3,
            health_check_timeout: d(4),
            dns_ttl: d(60),
            ..LabParams::default()
        };
        let f = compute(
            &FloorInputs::lab(&p),
            RecoveryPath::DnsFailover,
            FailureMode::Hang,
        );
        assert_eq!(f.detection.as_ref().unwrap().ms, 24_000.0);
        assert_eq!(f.rto.as_ref().unwrap().ms, 84_000.0);
        let objectives = crate::scenario::Objectives {
            rto: d(45),
            rpo: Some(d(0)),
            max_detection: Some(d(30)),
            max_dns_flip: None,
            max_fencing: None,
            max_time_to_capacity: None,
            max_error_rate: None,
            max_p99_latency: None,
            clients: Vec::new(),
            population: Vec::new(),
        };
        let bad = impossible(&f, &objectives);
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert_eq!(bad[0].objective, "rto");
        assert!(
            bad[0]
                .message
                .starts_with("rto 45s is below the floor of 84.00s: health check 10s x 3"),
            "{}",
            bad[0].message
        );
        assert!(bad[0].message.contains("TTL 1m"), "{}", bad[0].message);
    }

    #[test]
    fn lint_flags_a_long_ttl_only() {
        assert!(lint(&LabParams::default()).is_empty());
        let long = LabParams {
            dns_ttl: d(300),
            ..LabParams::default()
        };
        let found = lint(&long);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("dns_ttl = \"5m\"") && found[0].contains("lower it to 60s"),
            "{found:?}"
        );
        assert!(lint(&LabParams {
            dns_ttl: d(60),
            ..LabParams::default()
        })
        .is_empty());
    }

    #[test]
    fn combining_takes_the_slowest_path() {
        let p = LabParams::default();
        let f = combine(vec![
            compute(
                &FloorInputs::lab(&p),
                RecoveryPath::TargetGroup,
                FailureMode::Hang,
            ),
            compute(
                &FloorInputs::lab(&p),
                RecoveryPath::DnsFailover,
                FailureMode::Error,
            ),
        ]);
        assert_eq!(f.rto.unwrap().ms, 3000.0);
    }
}
