//! A population of simulated customers (the `customers` probe), measured
//! client by client: each client's first failure, recovery and downtime,
//! then their spread over the clients (p50, p90, p99, max) per class and
//! for the whole population; the drain curve (per second after t0, the
//! share of requests not yet served by the secondary); and how long until
//! 50%, 90%, 99% and all of the clients were served by it.
//!
//! A fold, like the rest of `measure`: one request at a time, in time
//! order, keeping a few instants per client and two counters per class and
//! second, never the requests.

use super::phases::OutageFold;
use super::Figure;
use crate::clock::Offset;
use crate::probe::client::ClientClass;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The longest drain curve kept, in seconds after t0 (a run is bounded
/// well below it).
pub const MAX_DRAIN_SECONDS: usize = 6 * 3600;
/// The renewals kept per client after t0, for the ground-truth check.
const MAX_RENEWALS: usize = 64;

/// A population as measuring needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopulationSpec {
    /// The probe's name (the timeline's `source`).
    pub probe: String,
    /// Each client's request interval: the resolution of every figure.
    pub interval: Duration,
    /// Each request's timeout (a pooled client drops a hung connection then).
    pub timeout: Duration,
    /// The percentile of clients the rto is judged at (100: every one).
    pub percentile: u8,
    /// The rto it is judged against: its own, or the scenario's.
    pub rto: Duration,
    /// How long customers must be served to count as recovered.
    pub stable_for: Duration,
    /// Its classes, in order; clients are numbered class after class.
    pub classes: Vec<ClassSpec>,
}

/// One class of a population.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassSpec {
    /// Its name in the population (`fresh`, `jvm`, ...).
    pub label: String,
    /// How its clients keep answers and connections.
    pub client: ClientClass,
    /// Its first client's number.
    pub first: u32,
    /// How many clients it has.
    pub clients: u32,
    /// Its own rto, when it declares one.
    pub rto: Option<Duration>,
}

impl PopulationSpec {
    /// A population of `classes` (label, client class, clients), numbered
    /// in order, judged at `percentile` against 30 s (interval 1 s,
    /// timeout 2 s, stable_for 3 s): for tests.
    #[cfg(test)]
    pub fn sample(classes: &[(&str, ClientClass, u32)], percentile: u8) -> PopulationSpec {
        let mut first = 0;
        let classes = classes
            .iter()
            .map(|&(label, client, clients)| {
                first += clients;
                ClassSpec {
                    label: label.into(),
                    client,
                    first: first - clients,
                    clients,
                    rto: None,
                }
            })
            .collect();
        PopulationSpec {
            probe: "customers".into(),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
            percentile,
            rto: Duration::from_secs(30),
            stable_for: Duration::from_secs(3),
            classes,
        }
    }

    /// Every client.
    pub fn clients(&self) -> u32 {
        self.classes.iter().map(|c| c.clients).sum()
    }

    /// The class of client `n`, by index.
    pub fn class_of(&self, n: u32) -> Option<usize> {
        self.classes
            .iter()
            .position(|c| n >= c.first && n < c.first + c.clients)
    }

    /// The longest rto of the population and its classes, plus
    /// `stable_for` and one interval: past it, waiting longer changes no
    /// verdict.
    pub fn give_up_after(&self) -> Duration {
        self.classes
            .iter()
            .filter_map(|c| c.rto)
            .fold(self.rto, Duration::max)
            + self.stable_for
            + self.interval
    }
}

/// One client so far.
#[derive(Debug, Clone)]
struct ClientFold {
    /// Served at all.
    outage: OutageFold,
    /// Served by the secondary (anything else counts as not yet).
    moved: OutageFold,
    /// When it got a new answer or connection after t0.
    renewals: Vec<(Offset, Duration, bool)>,
}

/// A population's requests so far.
#[derive(Debug, Clone)]
pub struct PopulationFold {
    spec: PopulationSpec,
    t0: Offset,
    secondary: String,
    clients: Vec<ClientFold>,
    /// Per class, per second after t0: requests, and those not served by
    /// the secondary.
    drain: Vec<Vec<(u32, u32)>>,
}

/// One request of one client, as the fold needs it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Client number.
    pub client: u32,
    /// Served (2xx).
    pub ok: bool,
    /// Region it went to.
    pub region: Option<&'a str>,
    /// It resolved the name for this request.
    pub renewed: bool,
    /// How long it took (a hung request covers every second it hung).
    pub latency: Duration,
}

impl PopulationFold {
    /// The probe's name.
    pub fn probe(&self) -> &str {
        &self.spec.probe
    }

    /// See [`PopulationSpec::give_up_after`].
    pub fn give_up_after(&self) -> Duration {
        self.spec.give_up_after()
    }

    /// Nothing seen yet.
    pub fn new(spec: PopulationSpec, t0: Offset, stable_for: Duration, secondary: &str) -> Self {
        let client = ClientFold {
            outage: OutageFold::new(t0, stable_for),
            moved: OutageFold::new(t0, stable_for),
            renewals: Vec::new(),
        };
        PopulationFold {
            clients: vec![client; spec.clients() as usize],
            drain: vec![Vec::new(); spec.classes.len()],
            spec,
            t0,
            secondary: secondary.to_string(),
        }
    }

    /// One more request, sent at `at` (no earlier than the last added).
    pub fn add(&mut self, at: Offset, r: Request<'_>) {
        if at < self.t0 {
            return;
        }
        let (Some(class), Some(c)) = (
            self.spec.class_of(r.client),
            self.clients.get_mut(r.client as usize),
        ) else {
            return;
        };
        let on_secondary = r.ok && r.region == Some(self.secondary.as_str());
        c.outage.add(at, r.ok);
        c.moved.add(at, on_secondary);
        if r.renewed && c.renewals.len() < MAX_RENEWALS {
            let secondary = r.region == Some(self.secondary.as_str());
            c.renewals.push((at, r.latency, secondary));
        }
        // Every second the request was out counts it: one hanging on the
        // failed region is still on it.
        let second = |d: Duration| (d.as_secs() as usize).min(MAX_DRAIN_SECONDS);
        let from = second(at.since(self.t0));
        let to = second(at.since(self.t0) + r.latency);
        let curve = &mut self.drain[class];
        if curve.len() <= to {
            curve.resize(to + 1, (0, 0));
        }
        for bucket in &mut curve[from..=to] {
            bucket.0 += 1;
            bucket.1 += u32::from(!on_secondary);
        }
    }

    /// Whether every client that failed has recovered for `stable_for`.
    pub fn every_client_recovered(&self) -> bool {
        self.clients.iter().all(|c| {
            let o = c.outage.outage(Duration::ZERO);
            o.first_failure.is_none() || o.recovered.is_some()
        })
    }

    /// The population's figures.
    pub fn figures(&self) -> PopulationFigures {
        let res = self.spec.interval;
        let all: Vec<usize> = (0..self.clients.len()).collect();
        let everyone = ClassSpec {
            label: "all".into(),
            client: ClientClass::default(),
            first: 0,
            clients: self.spec.clients(),
            rto: Some(self.spec.rto),
        };
        PopulationFigures {
            probe: self.spec.probe.clone(),
            clients: self.spec.clients(),
            percentile: self.spec.percentile,
            resolution_ms: super::ms(res),
            all: self.class_figures(&everyone, &all, "-"),
            classes: self
                .spec
                .classes
                .iter()
                .map(|c| {
                    let members: Vec<usize> =
                        (c.first as usize..(c.first + c.clients) as usize).collect();
                    self.class_figures(c, &members, &c.client.short())
                })
                .collect(),
            drain: self.drain_curve(),
            traces: self.traces(),
        }
    }

    fn class_figures(&self, class: &ClassSpec, members: &[usize], words: &str) -> ClassFigures {
        let res = self.spec.interval;
        let since = |o: Option<Offset>| o.map(|at| at.since(self.t0));
        let mut recovered = Vec::new();
        let mut first_failure = Vec::new();
        let mut downtime = Vec::new();
        let mut moved = Vec::new();
        for &i in members {
            let c = &self.clients[i];
            let o = c.outage.outage(res);
            match o.first_failure {
                None => recovered.push(Some(Duration::ZERO)),
                Some(ff) => {
                    first_failure.push(Some(ff.since(self.t0)));
                    recovered.push(since(o.recovered));
                }
            }
            downtime.push(Some(o.downtime));
            let m = c.moved.outage(res);
            moved.push(match m.first_failure {
                None => Some(Duration::ZERO),
                Some(_) => since(m.recovered),
            });
        }
        let not_recovered = recovered.iter().filter(|r| r.is_none()).count() as u32;
        let never = format!(
            "{not_recovered} of {} clients never recovered before the run ended",
            members.len()
        );
        let never_moved = format!(
            "{} of {} clients were never served by the secondary for stable_for",
            moved.iter().filter(|m| m.is_none()).count(),
            members.len()
        );
        ClassFigures {
            class: class.label.clone(),
            client: words.to_string(),
            clients: members.len() as u32,
            failed: first_failure.len() as u32,
            not_recovered,
            at_percentile: percentile(&mut recovered.clone(), self.spec.percentile, res, &never),
            recovered: Spread::of(&mut recovered, res, &never),
            first_failure: Spread::of(&mut first_failure, res, "no client failed"),
            downtime: Spread::of(&mut downtime, res, ""),
            on_secondary: Milestones::of(&mut moved, res, &never_moved),
        }
    }

    /// The share of each class's requests not served by the secondary, per
    /// second after t0, until every class reached 0 (and one second more).
    fn drain_curve(&self) -> Drain {
        let longest = self.drain.iter().map(Vec::len).max().unwrap_or(0);
        let last_busy = (0..longest).rev().find(|s| {
            self.drain
                .iter()
                .any(|c| c.get(*s).is_some_and(|b| b.1 > 0))
        });
        let end = last_busy.map_or(longest.min(1), |s| (s + 2).min(longest));
        let share = |(n, off): (u32, u32)| (n > 0).then(|| f64::from(off) / f64::from(n));
        let points = (0..end)
            .map(|s| {
                let buckets: Vec<(u32, u32)> = self
                    .drain
                    .iter()
                    .map(|c| c.get(s).copied().unwrap_or((0, 0)))
                    .collect();
                let total = buckets.iter().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
                DrainPoint {
                    second: s as u32,
                    shares: buckets.into_iter().map(share).collect(),
                    all: share(total),
                }
            })
            .collect();
        Drain {
            classes: self.spec.classes.iter().map(|c| c.label.clone()).collect(),
            points,
        }
    }

    /// Each client's renewals and recovery, for the ground-truth check.
    fn traces(&self) -> Vec<ClientTrace> {
        let ms = |at: Offset| super::ms(at.since(self.t0));
        self.clients
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let o = c.outage.outage(Duration::ZERO);
                ClientTrace {
                    client: i as u32,
                    class: self.spec.class_of(i as u32).unwrap_or(0),
                    failed: o.first_failure.is_some(),
                    recovered_ms: o.recovered.map(ms),
                    renewals: c
                        .renewals
                        .iter()
                        .map(|&(at, latency, secondary)| Renewal {
                            at_ms: ms(at),
                            until_ms: ms(at) + super::ms(latency),
                            secondary,
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

/// The nearest-rank `p`th percentile of `values` (`None`: never, after
/// every value), as a figure; `never` says why when it falls on a never.
fn percentile(values: &mut [Option<Duration>], p: u8, res: Duration, never: &str) -> Figure {
    if values.is_empty() {
        return Figure::missing(res, "no client");
    }
    values.sort_by_key(|v| v.unwrap_or(Duration::MAX));
    let rank = (usize::from(p) * values.len()).div_ceil(100).max(1);
    match values[rank - 1] {
        Some(v) => Figure::of(v, res),
        None => Figure::missing(res, never),
    }
}

/// p50, p90, p99 and the largest over clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Half the clients at or below.
    pub p50: Figure,
    /// 90% of the clients at or below.
    pub p90: Figure,
    /// 99% of the clients at or below.
    pub p99: Figure,
    /// The largest.
    pub max: Figure,
}

impl Spread {
    fn of(values: &mut [Option<Duration>], res: Duration, never: &str) -> Spread {
        Spread {
            p50: percentile(values, 50, res, never),
            p90: percentile(values, 90, res, never),
            p99: percentile(values, 99, res, never),
            max: percentile(values, 100, res, never),
        }
    }
}

/// How long after t0 until 50%, 90%, 99% and every client were served by
/// the secondary (for `stable_for`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Milestones {
    /// Half the clients.
    pub half: Figure,
    /// 90%.
    pub p90: Figure,
    /// 99%.
    pub p99: Figure,
    /// Every client.
    pub all: Figure,
}

impl Milestones {
    fn of(values: &mut [Option<Duration>], res: Duration, never: &str) -> Milestones {
        Milestones {
            half: percentile(values, 50, res, never),
            p90: percentile(values, 90, res, never),
            p99: percentile(values, 99, res, never),
            all: percentile(values, 100, res, never),
        }
    }
}

/// One class's figures (or the whole population's, class `all`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassFigures {
    /// Its name in the population.
    pub class: String,
    /// Its client class and its keys (`cached 30s`; `-` for everyone).
    pub client: String,
    /// Its clients.
    pub clients: u32,
    /// Clients with a failed request after t0.
    pub failed: u32,
    /// Clients that failed and never recovered before the run ended.
    pub not_recovered: u32,
    /// Recovery (served again for `stable_for`), over clients; a client
    /// that never failed counts 0.
    pub recovered: Spread,
    /// Recovery at the population's `rto_percentile`: what its rto judges.
    pub at_percentile: Figure,
    /// First failed request, over clients that failed.
    pub first_failure: Spread,
    /// Time covered by failed requests, over clients.
    pub downtime: Spread,
    /// Served by the secondary, over clients.
    pub on_secondary: Milestones,
}

/// The drain curve: per second after t0, the share of requests not yet
/// served by the secondary (failed, hanging, or answered by the failed
/// region), per class and for everyone. A request counts in every second
/// it was out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drain {
    /// The classes, in the order of each point's shares.
    pub classes: Vec<String>,
    /// One per second after t0, until every class reached 0.
    pub points: Vec<DrainPoint>,
}

/// One second of the drain curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrainPoint {
    /// Seconds after t0 (the bucket `[second, second + 1)`).
    pub second: u32,
    /// Each class's share, 0 to 1 (`None`: it sent nothing that second).
    pub shares: Vec<Option<f64>>,
    /// Everyone's.
    pub all: Option<f64>,
}

/// One client's renewals after t0 and its recovery, ms after t0.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientTrace {
    /// The client's number.
    pub client: u32,
    /// Its class, by index.
    pub class: usize,
    /// It failed after t0.
    pub failed: bool,
    /// When it recovered.
    pub recovered_ms: Option<f64>,
    /// When it resolved the name after t0 (at most 64 times).
    pub renewals: Vec<Renewal>,
}

/// One request a client sent on a new DNS answer, ms after t0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Renewal {
    /// Sent.
    pub at_ms: f64,
    /// Answered, failed or given up.
    pub until_ms: f64,
    /// The answer named the secondary region.
    pub secondary: bool,
}

impl Renewal {
    /// Whether its answer was resolved after `flip` (ms after t0): sent
    /// after it, or in flight across it with the secondary's address, which
    /// the lab answers only once it has flipped the record.
    pub fn resolved_after(&self, flip: f64) -> bool {
        self.at_ms >= flip || (self.secondary && self.until_ms >= flip)
    }
}

/// A population's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationFigures {
    /// The probe.
    pub probe: String,
    /// Its clients.
    pub clients: u32,
    /// The percentile its rto is judged at.
    pub percentile: u8,
    /// Each client's request interval: every figure's resolution.
    pub resolution_ms: f64,
    /// Everyone together.
    pub all: ClassFigures,
    /// Each class.
    pub classes: Vec<ClassFigures>,
    /// The drain curve.
    pub drain: Drain,
    /// Each client's renewals, for the lab's ground truth (not reported).
    #[serde(skip)]
    pub traces: Vec<ClientTrace>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> PopulationSpec {
        PopulationSpec::sample(
            &[
                ("fresh", ClientClass::default(), 10),
                ("jvm", ClientClass::Cached { cache_for: None }, 2),
            ],
            90,
        )
    }

    fn at(s: f64) -> Offset {
        Offset((s * 1e9) as u64)
    }

    /// Ten fresh clients move to the secondary one second apart (client n
    /// at 10 + n s); two forever-cached clients never do.
    fn fold() -> PopulationFold {
        let mut f = PopulationFold::new(spec(), at(100.0), Duration::from_secs(3), "b");
        for tick in 0..40u32 {
            for n in 0..12u32 {
                let t = 100.0 + f64::from(tick) + f64::from(n) * 0.01;
                let moved = n < 10 && f64::from(tick) >= 10.0 + f64::from(n);
                f.add(
                    at(t),
                    Request {
                        client: n,
                        ok: moved,
                        region: Some(if moved { "b" } else { "a" }),
                        renewed: moved && f64::from(tick) == 10.0 + f64::from(n),
                        latency: Duration::from_millis(5),
                    },
                );
            }
        }
        f
    }

    #[test]
    fn each_client_is_measured_and_the_spread_is_over_clients() {
        let figures = fold().figures();
        let fresh = &figures.classes[0];
        assert_eq!(
            (fresh.clients, fresh.failed, fresh.not_recovered),
            (10, 10, 0)
        );
        // Client n recovered at 10 + n s (plus its 0.01 n s offset).
        assert_eq!(fresh.recovered.p50.value_ms, Some(14_040.0));
        assert_eq!(fresh.recovered.p90.value_ms, Some(18_080.0));
        assert_eq!(fresh.recovered.max.value_ms, Some(19_090.0));
        assert_eq!(fresh.on_secondary.all.value_ms, Some(19_090.0));
        assert_eq!(fresh.downtime.max.value_ms, Some(19_000.0));
        let jvm = &figures.classes[1];
        assert_eq!(jvm.not_recovered, 2);
        assert_eq!(jvm.recovered.p50.value_ms, None);
        assert!(jvm
            .recovered
            .p50
            .note
            .as_deref()
            .unwrap()
            .starts_with("2 of 2 clients never recovered"));
        // 10 of 12 recovered: the p90 (the 11th of 12) is a never.
        assert_eq!(figures.all.at_percentile.value_ms, None);
        assert_eq!(figures.all.recovered.p50.value_ms, Some(15_050.0));
        assert_eq!(figures.all.recovered.p50.resolution_ms, 1000.0);
    }

    #[test]
    fn the_drain_curve_is_the_share_not_yet_on_the_secondary() {
        let f = fold();
        let drain = f.figures().drain;
        assert_eq!(drain.classes, ["fresh", "jvm"]);
        // The jvm clients never leave: the curve runs to the end.
        assert_eq!(drain.points.len(), 40);
        assert_eq!(drain.points[0].shares, [Some(1.0), Some(1.0)]);
        assert_eq!(drain.points[12].shares[0], Some(0.7));
        assert_eq!(drain.points[25].shares[0], Some(0.0));
        assert_eq!(drain.points[25].all, Some(2.0 / 12.0));
        assert!(!f.every_client_recovered());
        let traces = f.figures().traces;
        let renewed: Vec<f64> = traces[3].renewals.iter().map(|r| r.at_ms).collect();
        assert_eq!(renewed, [13_030.0]);
        assert!(traces[3].renewals[0].secondary);
        assert_eq!(traces[3].recovered_ms, Some(13_030.0));
        assert_eq!(traces[11].recovered_ms, None);
    }

    /// A request sent a hair before the lab flipped its record, whose
    /// answer still named the secondary, resolved after the flip (the lab
    /// answers the secondary only then); one that named the primary did not.
    #[test]
    fn a_renewal_in_flight_across_the_flip_counts_by_its_answer() {
        let across = |secondary| Renewal {
            at_ms: 3276.175,
            until_ms: 3279.0,
            secondary,
        };
        assert!(across(true).resolved_after(3276.2));
        assert!(!across(false).resolved_after(3276.2));
        assert!(!across(true).resolved_after(3300.0));
        assert!(across(false).resolved_after(3276.0));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let s = Duration::from_secs;
        let mut v: Vec<Option<Duration>> = (1..=100).map(|n| Some(s(n))).collect();
        let res = s(1);
        assert_eq!(percentile(&mut v, 50, res, "").value(), Some(s(50)));
        assert_eq!(percentile(&mut v, 99, res, "").value(), Some(s(99)));
        assert_eq!(percentile(&mut v, 100, res, "").value(), Some(s(100)));
        let mut one = vec![Some(s(7))];
        assert_eq!(percentile(&mut one, 1, res, "").value(), Some(s(7)));
        let mut never = vec![Some(s(1)), None];
        assert_eq!(percentile(&mut never, 50, res, "").value(), Some(s(1)));
        assert_eq!(
            percentile(&mut never, 51, res, "x").note.as_deref(),
            Some("x")
        );
    }
}
