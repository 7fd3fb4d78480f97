//! Measurements: the phases of a run derived from its timeline.
//!
//! Every figure is relative to `t0` (the moment the fault took effect) and
//! carries its resolution: the interval of the probe that observed it. The math
//! lives in [`phases`] (health checks, DNS, customers) and [`writes`] (the canary),
//! as pure functions over observations.

pub mod accuracy;
pub mod capacity;
pub mod load;
pub mod phases;
pub mod population;
pub mod writes;

use crate::clock::Offset;
use crate::probe::ProbeKind;
use crate::timeline::{Observation, Timeline};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// One measured figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// Measured value (after t0); `None` when it was not observed.
    pub value_ms: Option<f64>,
    /// Resolution: the interval of the probe that observed it.
    pub resolution_ms: f64,
    /// Context a reader needs ("no outage observed", "never recovered", ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Figure {
    /// A measured value.
    pub fn of(value: Duration, resolution: Duration) -> Self {
        Figure {
            value_ms: Some(ms(value)),
            resolution_ms: ms(resolution),
            note: None,
        }
    }

    /// A value that was not observed, with why.
    pub fn missing(resolution: Duration, note: &str) -> Self {
        Figure {
            value_ms: None,
            resolution_ms: ms(resolution),
            note: Some(note.into()),
        }
    }

    /// Adds a note.
    pub fn with_note(mut self, note: &str) -> Self {
        self.note = Some(note.into());
        self
    }

    /// The value as a duration.
    pub fn value(&self) -> Option<Duration> {
        self.value_ms.map(|v| Duration::from_secs_f64(v / 1000.0))
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// What the measurement needs besides the timeline.
#[derive(Debug, Clone)]
pub struct MeasureInput {
    /// When the fault took effect.
    pub t0: Offset,
    /// Success run needed to call customers recovered.
    pub stable_for: Duration,
    /// Primary region name.
    pub primary: String,
    /// Secondary region name.
    pub secondary: String,
    /// Interval of each probe kind present (the coarsest if several).
    pub resolution: BTreeMap<String, Duration>,
    /// Each customer probe, measured on its own as well (when there are
    /// several, or one plays a client other than `fresh`).
    pub customers: Vec<CustomerProbe>,
    /// The population of simulated clients, when the scenario has one.
    pub population: Option<population::PopulationSpec>,
    /// The `[load]`'s declared rate a second, when the scenario has one.
    pub load_rate: Option<f64>,
    /// What serving the load means, when the scenario has one.
    pub capacity: Option<capacity::CapacitySpec>,
}

/// A customer probe measured on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerProbe {
    /// Probe name (the timeline's `source`).
    pub probe: String,
    /// Its client class, in words (`cached: caches the answer for 30s, ...`).
    pub client: String,
    /// Its interval: the resolution of its figures.
    pub interval: Duration,
}

/// One customer probe's own figures: one kind of client's recovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerFigures {
    /// Probe name.
    pub probe: String,
    /// Its client class, in words.
    pub client: String,
    /// Its first failed request after t0.
    pub first_failure: Figure,
    /// Served again for `stable_for`.
    pub recovered: Figure,
    /// Time covered by its failed requests after t0.
    pub downtime: Figure,
    /// First served by the secondary after t0.
    pub on_secondary: Figure,
}

impl MeasureInput {
    fn resolution(&self, kind: ProbeKind) -> Duration {
        self.resolution
            .get(kind.as_str())
            .copied()
            .unwrap_or_default()
    }
}

/// Lost writes, counted exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LostWrites {
    /// Acked writes the serving region no longer has; `None` if no read-back happened.
    pub count: Option<u64>,
    /// Writes acked during the run.
    pub acked: u64,
    /// Region the read-back came from.
    pub read_from: Option<String>,
    /// The lost sequence numbers (at most 100 listed).
    pub seqs: Vec<u64>,
    /// Canary interval.
    pub resolution_ms: f64,
    /// False when the scenario has no canary: data loss was not measured
    /// (reports written before this field existed always had one).
    #[serde(default = "yes")]
    pub measured: bool,
}

fn yes() -> bool {
    true
}

impl LostWrites {
    /// The count and where it was read, as the report tables show them.
    pub fn cells(&self) -> (String, String) {
        let read_from = || {
            self.read_from
                .as_ref()
                .map(|r| format!("read back from {r}"))
                .unwrap_or_default()
        };
        match self.count {
            _ if !self.measured => (
                "not measured".into(),
                "no canary probe: this game day did not measure data loss".into(),
            ),
            Some(n) => (format!("{n} of {} acked", self.acked), read_from()),
            None => ("not counted (no read-back)".into(), read_from()),
        }
    }
}

/// Writes only the old writer holds: acked by it after the standby was
/// promoted (split-brain), counted from both instances' read-backs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DivergentWrites {
    /// Divergent writes.
    pub count: u64,
    /// Their sequence numbers (at most 100 listed).
    pub seqs: Vec<u64>,
    /// Ack times of the first and last divergent write, ms after t0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_ms: Option<(f64, f64)>,
    /// Ack times of the first and last lost write, ms after t0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_window_ms: Option<(f64, f64)>,
    /// When the standby was first seen taking a write, ms after t0, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_ms: Option<f64>,
    /// Missing writes committed while the promotion happened, placed by the
    /// middle of its bracket (either count may be off by these).
    pub ambiguous: u64,
    /// Region of the old writer's instance, read directly.
    pub old_writer: String,
    /// What the global database said about the old writer after observing
    /// (AWS, with the canary's `global_cluster`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demotion: Option<Demotion>,
    /// Canary interval.
    pub resolution_ms: f64,
}

/// Whether an Aurora global database demoted the old writer, as its
/// membership read after observing says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Demotion {
    /// `Some(true)`: the old primary region's member is a secondary;
    /// `Some(false)`: it still writes for the global database; `None`: unknown.
    pub demoted: Option<bool>,
    /// In one sentence.
    pub detail: String,
}

/// Every figure of one run (docs/scenarios.md, "Measurements", defines them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    /// t0 on the run clock, in ms.
    pub t0_ms: f64,
    /// Health checks first call the primary unhealthy.
    pub detection: Figure,
    /// The authoritative answer first names the secondary.
    pub dns_flip: Figure,
    /// First failed customer request.
    pub first_failure: Figure,
    /// Customers served again, stably.
    pub recovered: Figure,
    /// recovered - t0 (0 when no customer request failed).
    pub rto_observed: Figure,
    /// Total time covered by failed customer requests.
    pub downtime: Figure,
    /// Canary writes succeed again.
    pub write_recovery: Figure,
    /// Acked writes lost.
    pub lost_writes: LostWrites,
    /// Window of acked writes lost or divergent.
    pub rpo_observed: Figure,
    /// Writes only the old writer holds (when the canary read both writers back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divergent_writes: Option<DivergentWrites>,
    /// From the promotion until the old writer refused writes (when the
    /// canary watched both writers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fencing: Option<Figure>,
    /// Region serving customers at the end.
    pub serving_region: Option<String>,
    /// Set when recovery leaned on fail-open (DNS answering the primary while
    /// both regions were unhealthy): the secondary was not proven.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_open: Option<String>,
    /// Each customer probe's own figures, when there are several or one
    /// plays a client other than `fresh` (`recovered` above is all of them
    /// together: the slowest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customers: Vec<CustomerFigures>,
    /// The population of simulated clients, when the scenario has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub population: Option<population::PopulationFigures>,
    /// The customers' load, second by second, when the scenario has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<load::LoadFigures>,
    /// The standby under the load: when it held it, what the surge cost,
    /// its scaling steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<capacity::CapacityFigures>,
}

impl Measurements {
    /// The timed figures in reading order, with the names reports show them under.
    pub fn phases(&self) -> [(&'static str, &Figure); 7] {
        [
            ("detection", &self.detection),
            ("dns_flip", &self.dns_flip),
            ("first_failure", &self.first_failure),
            ("recovered (rto_observed)", &self.rto_observed),
            ("downtime", &self.downtime),
            ("write_recovery", &self.write_recovery),
            ("rpo_observed", &self.rpo_observed),
        ]
    }

    /// A figure by its field name (`rto_observed`, `detection`, ...).
    pub fn figure(&self, name: &str) -> Option<&Figure> {
        match name {
            "recovered" => Some(&self.recovered),
            "rto_observed" => Some(&self.rto_observed),
            "fencing" => self.fencing.as_ref(),
            _ => self
                .phases()
                .into_iter()
                .find(|(n, _)| *n == name)
                .map(|(_, f)| f),
        }
    }
}

/// A `load` entry stamped `at` as the fold needs it.
fn load_entry(at: Offset, o: &Observation) -> Option<load::LoadEntry> {
    let Observation::Load {
        window_before_ns,
        sent,
        ok,
        failed,
        dropped,
        unanswered,
        on_secondary,
        p50_ns,
        p99_ns,
        max_ns,
    } = o
    else {
        return None;
    };
    Some(load::LoadEntry {
        from: Offset(at.0.saturating_sub(*window_before_ns)),
        counts: [*sent, *ok, *failed, *dropped, *unanswered, *on_secondary],
        latency_ns: [*p50_ns, *p99_ns, *max_ns],
    })
}

/// Computes every figure from a timeline.
pub fn measure(timeline: &Timeline, input: &MeasureInput) -> Measurements {
    let mut c = Collector::new(input.clone());
    for (at, source, o) in timeline.observations() {
        c.add(at, source, o);
    }
    c.finish()
}

/// What customers and canary writes look like so far, for the live check of
/// recovery: a few instants, whatever the length of the run.
#[derive(Debug, Clone)]
pub struct Live {
    t0: Offset,
    secondary: String,
    /// The customers' outage since t0.
    pub outage: phases::OutageFold,
    /// The latest customer request, and the latest failed one.
    pub http: Latest,
    /// The latest canary write, and the latest failed one.
    pub canary: Latest,
    /// Each customer probe measured on its own (`MeasureInput::customers`).
    pub customers: Vec<CustomerLive>,
    /// The population, client by client.
    pub population: Option<population::PopulationFold>,
    /// The load's seconds, held or not by the secondary.
    pub capacity: Option<capacity::CapacityLive>,
}

/// One customer probe on its own: its outage, and when it was first served
/// by the secondary.
#[derive(Debug, Clone)]
pub struct CustomerLive {
    probe: String,
    /// Its outage since t0.
    pub outage: phases::OutageFold,
    on_secondary: Option<Offset>,
}

/// The latest of a kind of observation since t0, and the latest that failed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latest {
    /// When the latest was sent.
    pub seen: Option<Offset>,
    /// When the latest failed one was sent.
    pub failed: Option<Offset>,
}

impl Latest {
    fn add(&mut self, at: Offset, ok: bool) {
        self.seen = Some(at);
        if !ok {
            self.failed = Some(at);
        }
    }

    /// Something was seen at or after `from`, and nothing failed then.
    pub fn all_fine_since(&self, from: Offset) -> bool {
        self.seen.is_some_and(|s| s >= from) && self.none_failed_since(from)
    }

    /// Nothing failed at or after `from` (nothing seen counts).
    pub fn none_failed_since(&self, from: Offset) -> bool {
        self.failed.is_none_or(|f| f < from)
    }
}

impl Live {
    /// Nothing seen yet.
    pub fn new(input: &MeasureInput) -> Live {
        let fold = || phases::OutageFold::new(input.t0, input.stable_for);
        Live {
            t0: input.t0,
            secondary: input.secondary.clone(),
            outage: fold(),
            http: Latest::default(),
            canary: Latest::default(),
            customers: input
                .customers
                .iter()
                .map(|c| CustomerLive {
                    probe: c.probe.clone(),
                    outage: fold(),
                    on_secondary: None,
                })
                .collect(),
            population: input.population.clone().map(|spec| {
                population::PopulationFold::new(spec, input.t0, input.stable_for, &input.secondary)
            }),
            capacity: input
                .capacity
                .map(|spec| capacity::CapacityLive::new(spec, input.t0, input.stable_for)),
        }
    }

    /// One more observation of probe `source`, in time order (those before
    /// t0 count for nothing here).
    pub fn add(&mut self, at: Offset, source: &str, o: &Observation) {
        if at < self.t0 {
            return;
        }
        match o {
            Observation::Http { ok, region, .. } => {
                self.outage.add(at, *ok);
                self.http.add(at, *ok);
                let secondary = region.as_deref() == Some(self.secondary.as_str());
                if let Some(c) = self.customers.iter_mut().find(|c| c.probe == source) {
                    c.outage.add(at, *ok);
                    if *ok && secondary {
                        c.on_secondary.get_or_insert(at);
                    }
                }
            }
            Observation::CanaryWrite { acked, .. } => self.canary.add(at, *acked),
            Observation::Customer {
                client,
                ok,
                region,
                renewed,
                latency_ns,
                ..
            } => {
                if let Some(p) = self.population.as_mut().filter(|p| p.probe() == source) {
                    p.add(
                        at,
                        population::Request {
                            client: *client,
                            ok: *ok,
                            region: region.as_deref(),
                            renewed: *renewed,
                            latency: Duration::from_nanos(*latency_ns),
                        },
                    );
                }
            }
            Observation::Load { .. } => {
                if let (Some(c), Some(e)) = (self.capacity.as_mut(), load_entry(at, o)) {
                    c.add(e.from, &e.second(self.t0));
                }
            }
            _ => {}
        }
    }

    /// The population has recovered client by client, or waiting longer
    /// can change no verdict: its longest rto and `stable_for` have passed
    /// since t0 (a client that never leaves the failed region does not hold
    /// the run until its timeout).
    pub fn population_settled(&self, now: Offset) -> bool {
        self.population
            .as_ref()
            .is_none_or(|p| p.every_client_recovered() || now.since(self.t0) >= p.give_up_after())
    }

    /// The secondary has held the load for `stable_for`, or waiting longer
    /// changes no verdict (no load: nothing to wait for).
    pub fn capacity_settled(&self, now: Offset) -> bool {
        self.capacity.as_ref().is_none_or(|c| c.settled(now))
    }

    /// Every customer probe measured on its own that failed has recovered
    /// for `stable_for` (the run goes on until the slowest client has).
    pub fn each_customer_recovered(&self) -> bool {
        self.customers.iter().all(|c| {
            let o = c.outage.outage(Duration::ZERO);
            o.first_failure.is_none() || o.recovered.is_some()
        })
    }
}

/// The measurement of one run, one observation at a time, in time order: it
/// keeps what each figure needs (first instants, the outage's state, the
/// canary's writes), never the observations themselves, so a long run can
/// stream its timeline to disk and still be measured.
#[derive(Clone)]
pub struct Collector {
    input: MeasureInput,
    /// The primary's health checks: seen any, first unhealthy at or after t0.
    health: (bool, Option<Offset>),
    /// DNS answers: seen any, first naming the secondary at or after t0.
    dns: (bool, Option<Offset>),
    live: Live,
    serving_region: Option<String>,
    fail_open: phases::FailOpen,
    canary: Vec<writes::Write>,
    /// The serving (or new) writer's read-back.
    readback: Option<(String, Vec<u64>)>,
    /// The old writer's, read directly.
    old_readback: Option<(String, Vec<u64>)>,
    /// Probe writes straight to each instance.
    probes: Vec<writes::WriterProbe>,
    /// A global database's word on the old writer (AWS).
    demotion: Option<Demotion>,
    /// The load's seconds.
    load: load::LoadFold,
    /// The standby's group, as the capacity probe read it.
    group: capacity::CapacityFold,
}

impl Collector {
    /// Nothing seen yet.
    pub fn new(input: MeasureInput) -> Collector {
        Collector {
            health: (false, None),
            dns: (false, None),
            live: Live::new(&input),
            serving_region: None,
            fail_open: phases::FailOpen::new(input.t0, &input.primary, &input.secondary),
            canary: Vec::new(),
            readback: None,
            old_readback: None,
            probes: Vec::new(),
            demotion: None,
            load: load::LoadFold::default(),
            group: capacity::CapacityFold::default(),
            input,
        }
    }

    /// What the live check of recovery needs.
    pub fn live(&self) -> &Live {
        &self.live
    }

    /// One more observation of probe `source`, sent at `at`, no earlier
    /// than the last one added.
    pub fn add(&mut self, at: Offset, source: &str, o: &Observation) {
        let t0 = self.input.t0;
        self.live.add(at, source, o);
        self.fail_open.add(at, o);
        match o {
            Observation::HealthCheck {
                region, healthy, ..
            } if *region == self.input.primary => {
                first_after(&mut self.health, at >= t0 && !healthy, at)
            }
            Observation::Dns { region, .. } => {
                let secondary = region.as_deref() == Some(&self.input.secondary);
                first_after(&mut self.dns, at >= t0 && secondary, at)
            }
            Observation::Http {
                ok: true, region, ..
            } => self.serving_region.clone_from(region),
            Observation::CanaryWrite {
                seq,
                sent_after_ns,
                acked,
                latency_ns,
                ..
            } => {
                let sent = at.plus(Duration::from_nanos(*sent_after_ns));
                self.canary.push(writes::Write {
                    at: sent,
                    seq: *seq,
                    acked: *acked,
                    acked_at: sent.plus(Duration::from_nanos(*latency_ns)),
                })
            }
            Observation::CanaryReadBack {
                region,
                present,
                old_writer,
            } => {
                let slot = if *old_writer {
                    &mut self.old_readback
                } else {
                    &mut self.readback
                };
                *slot = Some((region.clone(), present.clone()));
            }
            Observation::Load { .. } => {
                if let Some(e) = load_entry(at, o) {
                    self.load.add(t0, e);
                }
            }
            Observation::Capacity {
                desired,
                in_service,
                healthy,
                error: None,
                ..
            } => self.group.add(t0, at, [*desired, *in_service, *healthy]),
            Observation::GlobalMembership {
                demoted, detail, ..
            } => {
                self.demotion = Some(Demotion {
                    demoted: *demoted,
                    detail: detail.clone(),
                })
            }
            // An unanswered probe says nothing either way.
            Observation::WriterProbe {
                region,
                accepted,
                unreached: false,
                sent_after_ns,
                latency_ns,
                ..
            } => {
                let sent = at.plus(Duration::from_nanos(*sent_after_ns));
                self.probes.push(writes::WriterProbe {
                    standby: *region == self.input.secondary,
                    sent,
                    answered: sent.plus(Duration::from_nanos(*latency_ns)),
                    accepted: *accepted,
                })
            }
            // Alarms stop runs and target health flags fail-open (above);
            // neither measures a phase.
            _ => {}
        }
    }

    /// Each customer probe's own figures.
    fn customer_figures(&self) -> Vec<CustomerFigures> {
        let t0 = self.input.t0;
        self.input
            .customers
            .iter()
            .zip(&self.live.customers)
            .map(|(c, live)| {
                let (outage, on_secondary) = (live.outage.outage(c.interval), live.on_secondary);
                let (first_failure, recovered, _) = customer_figures(&outage, t0, c.interval);
                CustomerFigures {
                    probe: c.probe.clone(),
                    client: c.client.clone(),
                    first_failure,
                    recovered,
                    downtime: Figure::of(outage.downtime, c.interval),
                    on_secondary: match on_secondary {
                        Some(at) => Figure::of(at.since(t0), c.interval),
                        None => Figure::missing(c.interval, "never served by the secondary"),
                    },
                }
            })
            .collect()
    }

    /// Every figure from what was added.
    pub fn finish(&self) -> Measurements {
        let input = &self.input;
        let t0 = input.t0;
        let hc_res = input.resolution(ProbeKind::HealthCheck);
        let dns_res = input.resolution(ProbeKind::Dns);
        let http_res = input.resolution(ProbeKind::Http);
        let detection = match self.health {
            (_, Some(at)) => Figure::of(at.since(t0), hc_res),
            (false, None) => Figure::missing(hc_res, "no health-check probe"),
            (true, None) => Figure::missing(
                hc_res,
                "the health checks never called the primary unhealthy",
            ),
        };
        let dns_flip = match self.dns {
            (_, Some(at)) => Figure::of(at.since(t0), dns_res),
            (false, None) => Figure::missing(dns_res, "no dns probe"),
            (true, None) => Figure::missing(dns_res, "DNS never answered the secondary"),
        };
        let outage = self.live.outage.outage(http_res);
        let (first_failure, recovered, rto_observed) = customer_figures(&outage, t0, http_res);
        let data = self.data_figures();
        let flip_ms = dns_flip.value_ms;
        let load = self
            .input
            .load_rate
            .and_then(|rate| self.load.figures(rate));
        Measurements {
            t0_ms: t0.0 as f64 / 1e6,
            detection,
            dns_flip,
            first_failure,
            recovered,
            rto_observed,
            downtime: Figure::of(outage.downtime, http_res),
            write_recovery: data.write_recovery,
            lost_writes: data.lost_writes,
            rpo_observed: data.rpo_observed,
            divergent_writes: data.divergent_writes,
            fencing: data.fencing,
            serving_region: self.serving_region.clone(),
            fail_open: self.fail_open.found.clone(),
            customers: self.customer_figures(),
            population: self.live.population.as_ref().map(|p| p.figures()),
            capacity: self.capacity_figures(&load, flip_ms),
            load,
        }
    }

    /// The standby under the load, when the scenario has one.
    fn capacity_figures(
        &self,
        load: &Option<load::LoadFigures>,
        flip_ms: Option<f64>,
    ) -> Option<capacity::CapacityFigures> {
        let spec = self.input.capacity.as_ref()?;
        let seconds = load.as_ref().map_or(&[][..], |l| &l.seconds[..]);
        Some(capacity::figures(
            seconds,
            &self.group,
            spec,
            self.input.stable_for,
            flip_ms,
        ))
    }

    /// The canary's figures: write recovery, lost and divergent writes, RPO
    /// and fencing.
    fn data_figures(&self) -> DataFigures {
        let (t0, canary) = (self.input.t0, &self.canary);
        let canary_res = self.input.resolution(ProbeKind::Canary);
        let readback = &self.readback;
        let w = writes::analyse(
            canary,
            readback.as_ref().map(|(r, p)| (r.as_str(), p.as_slice())),
            t0,
        );
        let write_recovery = match (w.first_failure, w.recovered) {
            (None, _) if canary.is_empty() => Figure::missing(canary_res, "no canary probe"),
            (None, _) => {
                Figure::of(Duration::ZERO, canary_res).with_note("canary writes never failed")
            }
            (Some(_), Some(at)) => Figure::of(at.since(t0), canary_res),
            (Some(_), None) => Figure::missing(canary_res, "canary writes never succeeded again"),
        };
        let has_canary = self
            .input
            .resolution
            .contains_key(ProbeKind::Canary.as_str());
        let rpo_observed = rpo_figure(has_canary, &w, canary_res);
        let two = two_writer_figures(
            canary,
            readback,
            &self.old_readback,
            &self.probes,
            self.demotion.clone(),
            t0,
            canary_res,
        );
        let lost = match &two {
            Some((t, _, _)) => Some(t.lost.clone()),
            None => w.lost.clone(),
        };
        let (divergent_writes, fencing) = match two {
            Some((_, d, f)) => (Some(d), Some(f)),
            None => (None, None),
        };
        DataFigures {
            write_recovery,
            lost_writes: LostWrites {
                count: lost.as_ref().map(|l| l.len() as u64),
                acked: canary.iter().filter(|c| c.acked).count() as u64,
                read_from: readback.as_ref().map(|(r, _)| r.clone()),
                seqs: lost.unwrap_or_default().into_iter().take(100).collect(),
                resolution_ms: ms(canary_res),
                measured: has_canary,
            },
            rpo_observed,
            divergent_writes,
            fencing,
        }
    }
}

/// Sets the first instant of a kind once `hit`; remembers that one was seen.
fn first_after(slot: &mut (bool, Option<Offset>), hit: bool, at: Offset) {
    slot.0 = true;
    if hit && slot.1.is_none() {
        slot.1 = Some(at);
    }
}

/// first_failure, recovered and rto_observed from the customers' outage.
fn customer_figures(
    outage: &phases::Outage,
    t0: Offset,
    res: Duration,
) -> (Figure, Figure, Figure) {
    match (outage.first_failure, outage.recovered) {
        (None, _) => (
            Figure::missing(res, "no outage observed"),
            Figure::of(Duration::ZERO, res).with_note("no outage observed"),
            Figure::of(Duration::ZERO, res).with_note("no outage observed"),
        ),
        (Some(ff), Some(rec)) => (
            Figure::of(ff.since(t0), res),
            Figure::of(rec.since(t0), res),
            Figure::of(rec.since(t0), res),
        ),
        (Some(ff), None) => (
            Figure::of(ff.since(t0), res),
            Figure::missing(
                res,
                "customers never recovered for stable_for before the run ended",
            ),
            Figure::missing(res, "never recovered"),
        ),
    }
}

/// The RPO figure from the canary's analysis.
fn rpo_figure(has_canary: bool, w: &writes::WriteFigures, res: Duration) -> Figure {
    match (&w.lost, w.rpo) {
        _ if !has_canary => Figure::missing(
            res,
            "data loss not measured: the scenario has no canary probe",
        ),
        (None, _) => Figure::missing(res, "no read-back: lost writes could not be counted"),
        (Some(lost), _) if lost.is_empty() => {
            Figure::of(Duration::ZERO, res).with_note("nothing lost")
        }
        (Some(_), Some(rpo)) => Figure::of(rpo, res),
        (Some(_), None) => Figure::missing(res, "lost writes without a surviving reference write"),
    }
}

/// The canary's figures, as [`Measurements`] holds them.
struct DataFigures {
    write_recovery: Figure,
    lost_writes: LostWrites,
    rpo_observed: Figure,
    divergent_writes: Option<DivergentWrites>,
    fencing: Option<Figure>,
}

/// Divergent writes and fencing, when the canary watched both writers and
/// read both back.
fn two_writer_figures(
    canary: &[writes::Write],
    readback: &Option<(String, Vec<u64>)>,
    old_readback: &Option<(String, Vec<u64>)>,
    probes: &[writes::WriterProbe],
    demotion: Option<Demotion>,
    t0: Offset,
    resolution: Duration,
) -> Option<(writes::TwoWriters, DivergentWrites, Figure)> {
    if probes.is_empty() && old_readback.is_none() {
        return None;
    }
    let (_, serving) = readback.as_ref()?;
    let old = old_readback.as_ref().map(|(_, p)| p.as_slice());
    let t = writes::two_writers(canary, serving, old, probes, t0);
    let after_t0 = |o: Offset| o.since(t0).as_secs_f64() * 1e3;
    let window = |w: Option<(Offset, Offset)>| w.map(|(a, b)| (after_t0(a), after_t0(b)));
    let divergent = DivergentWrites {
        count: t.divergent.len() as u64,
        seqs: t.divergent.iter().copied().take(100).collect(),
        window_ms: window(t.divergent_window),
        lost_window_ms: window(t.lost_window),
        promotion_ms: t.promotion.map(|p| after_t0(p.estimate())),
        ambiguous: t.ambiguous,
        old_writer: old_readback
            .as_ref()
            .map(|(r, _)| r.clone())
            .unwrap_or_else(|| "not read back".into()),
        demotion,
        resolution_ms: ms(resolution),
    };
    let fencing = match (t.promotion, t.fenced) {
        (None, _) | (_, None) => Figure::missing(
            resolution,
            "no promotion observed: the standby never took a write, nothing to fence",
        ),
        (Some(_), Some(writes::Fenced::BeforePromotion(_))) => Figure::of(Duration::ZERO, resolution)
            .with_note("fenced before the promotion: the old writer refused writes no later than the standby took one"),
        (Some(p), Some(writes::Fenced::After(f))) => {
            let figure = Figure::of(f.estimate().since(p.estimate()), resolution);
            // The old writer still took a write sent before the standby's first accepted one answered.
            if f.after < p.by {
                figure.with_note("the fencing and the promotion fell between the same two probes: their order is not resolved, the figure is within its resolution of either")
            } else {
                figure
            }
        }
        (Some(_), Some(writes::Fenced::Never)) => Figure::missing(
            resolution,
            "never: the old writer took writes until observing ended",
        ),
    };
    Some((t, divergent, fencing))
}
