//! The run's timeline as it is recorded: a window of recent entries in
//! memory, everything older streamed to `timeline.jsonl` in the run folder
//! (beside the journal) and folded into the measurement as it leaves the
//! window. Memory is bounded by the window (the stop conditions' look-back
//! and the observations still in flight), not by the length of the run.

use crate::clock::Offset;
use crate::measure::{Collector, Live, MeasureInput, Measurements};
use crate::timeline::file::{TimelineFile, Writer};
use crate::timeline::{Entry, Timeline, MAX_ENTRIES};
use std::path::Path;

/// The recording of one run.
pub struct Recorder {
    /// Entries not yet written, in time order.
    window: Timeline,
    /// Every entry before this instant is on disk.
    written_before: Offset,
    /// Entries recorded after later ones were written (times a fault
    /// service recorded, read after the run): merged in at the end.
    late: Vec<Entry>,
    file: Writer,
    /// From t0: the measurement of what left the window.
    collector: Option<Collector>,
    recorded: usize,
}

impl Recorder {
    /// A recording into a new timeline file in the run folder `dir`.
    pub fn create(dir: &Path) -> std::io::Result<Recorder> {
        Ok(Recorder {
            window: Timeline::default(),
            written_before: Offset(0),
            late: Vec::new(),
            file: Writer::create(dir)?,
            collector: None,
            recorded: 0,
        })
    }

    /// Records entries.
    pub fn extend(&mut self, entries: impl IntoIterator<Item = Entry>) {
        for e in entries {
            self.push(e);
        }
    }

    /// Records one entry.
    pub fn push(&mut self, entry: Entry) {
        self.recorded += 1;
        if entry.at < self.written_before {
            self.late.push(entry);
        } else {
            self.window.push(entry);
        }
    }

    /// Records a run event.
    pub fn event(&mut self, at: Offset, name: &str, detail: impl Into<String>) {
        self.push(Entry::event(at, name, detail));
    }

    /// The entries still in memory: since the baseline began until the
    /// fault is injected, then the last few seconds.
    pub fn window(&self) -> &Timeline {
        &self.window
    }

    /// Whether the run has recorded [`MAX_ENTRIES`]: it stops there (and
    /// reverts) rather than fill the disk.
    pub fn is_full(&self) -> bool {
        self.recorded >= MAX_ENTRIES
    }

    /// From now on what leaves the window is measured against `input`
    /// (whose t0 has been reached: nothing has left the window yet, since
    /// nothing is written before observing begins).
    /// Once set, it stays: t0 does not move.
    pub fn measure_from(&mut self, input: MeasureInput) {
        self.collector.get_or_insert_with(|| Collector::new(input));
    }

    /// Writes (and measures) the entries before `cut`; the rest stay in
    /// the window.
    pub fn write_before(&mut self, cut: Offset) {
        let n = self.window.entries.partition_point(|e| e.at < cut);
        for e in self.window.entries.drain(..n) {
            if let (Some(c), crate::timeline::What::Observation(o)) = (&mut self.collector, &e.what)
            {
                c.add(e.at, &e.source, o);
            }
            self.file.write(&e);
        }
        self.written_before = self.written_before.max(cut);
        self.file.flush();
    }

    /// The customers' and the canary's state for the live check of
    /// recovery, window included.
    pub fn live(&self) -> Option<Live> {
        let mut live = self.collector.as_ref()?.live().clone();
        for (at, source, o) in self.window.observations() {
            live.add(at, source, o);
        }
        Some(live)
    }

    /// Every figure so far, window included (the live view, once a second).
    pub fn measure(&self) -> Option<Measurements> {
        let mut c = self.collector.clone()?;
        for (at, source, o) in self.window.observations() {
            c.add(at, source, o);
        }
        Some(c.finish())
    }

    /// Writes everything recorded before `now` and measures it: the
    /// figures, when the run reached t0. Called once the probes have
    /// stopped; what is recorded later (run events) is only written.
    pub fn measure_until(&mut self, now: Offset) -> Option<Measurements> {
        self.write_before(now);
        self.measure()
    }

    /// Writes the rest and closes the file.
    pub fn finish(mut self) -> TimelineFile {
        self.write_before(Offset(u64::MAX));
        self.file.finish(self.late)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::measure;
    use crate::timeline::{Observation, What};
    use std::collections::BTreeMap;
    use std::time::Duration;

    const MS: u64 = 1_000_000;

    /// A minute of probes every 10-100 ms, customers failing from 2.1 s to
    /// 5 s after t0, each observation arriving up to 300 ms after it
    /// started: (arrival, entry), in arrival order.
    fn arrivals() -> Vec<(u64, Entry)> {
        let mut seed = 7u64;
        let mut jitter = move |max_ms: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % (max_ms * MS)
        };
        let down = |at: u64| (4_100 * MS..7_000 * MS).contains(&at);
        let mut out = Vec::new();
        for i in 0..6_000u64 {
            let at = i * 10 * MS;
            let ok = !down(at);
            let http = Observation::Http {
                ok,
                requests: 1,
                failed: u32::from(!ok),
                status: Some(if ok { 200 } else { 503 }),
                region: Some(if at < 6_000 * MS { "p" } else { "s" }.into()),
                latency_ns: MS,
                error: None,
            };
            out.push((at, jitter(300), "customer", http));
            if i % 10 == 0 {
                let health = Observation::HealthCheck {
                    region: "p".into(),
                    healthy: at < 5_000 * MS,
                    checkers_healthy: 3,
                    checkers: 3,
                };
                out.push((at, jitter(50), "health", health));
                let dns = Observation::Dns {
                    region: Some(if at < 5_500 * MS { "p" } else { "s" }.into()),
                    address: None,
                    ttl: Some(1),
                    error: None,
                };
                out.push((at, jitter(50), "dns", dns));
            }
            if i % 2 == 0 {
                let write = Observation::CanaryWrite {
                    seq: i / 2,
                    sent_after_ns: 0,
                    acked: !down(at),
                    region: Some("p".into()),
                    latency_ns: MS,
                    error: None,
                };
                out.push((at, jitter(100), "canary", write));
            }
        }
        let mut out: Vec<(u64, Entry)> = out
            .into_iter()
            .map(|(at, late, source, o)| {
                let entry = Entry {
                    at: Offset(at),
                    source: source.into(),
                    what: What::Observation(o),
                };
                (at + late, entry)
            })
            .collect();
        out.sort_by_key(|(arrives, _)| *arrives);
        out
    }

    fn input() -> MeasureInput {
        MeasureInput {
            t0: Offset(2_000 * MS),
            stable_for: Duration::from_secs(2),
            primary: "p".into(),
            secondary: "s".into(),
            resolution: BTreeMap::from([("http".into(), Duration::from_millis(10))]),
            customers: vec![crate::measure::CustomerProbe {
                probe: "customer".into(),
                client: "fresh".into(),
                interval: Duration::from_millis(10),
            }],
            population: None,
            load_rate: None,
            capacity: None,
        }
    }

    /// What a run measures while its timeline streams to disk is what it
    /// would measure holding every entry; the file holds every entry in
    /// order; after t0 memory holds half a second of them (the in-flight
    /// bound and the look-back), not the run.
    #[test]
    fn streamed_measurement_and_file_equal_the_whole_timeline() {
        let dir =
            std::env::temp_dir().join(format!("gameday-record-{}", crate::files::random_hex(4)));
        std::fs::create_dir_all(&dir).unwrap();
        let arrivals = arrivals();
        let mut record = Recorder::create(&dir).unwrap();
        let mut whole = Timeline::default();
        let (mut next, mut widest) = (0, 0);
        for tick in 1..=610u64 {
            let now = tick * 100 * MS;
            // The oldest observation started but not arrived bounds the cut.
            let in_flight = arrivals[next..]
                .iter()
                .filter(|(_, e)| e.at.0 <= now)
                .map(|(_, e)| e.at)
                .min();
            let cut = Offset(now - 100 * MS).min(in_flight.unwrap_or(Offset(u64::MAX)));
            while next < arrivals.len() && arrivals[next].0 <= now {
                record.push(arrivals[next].1.clone());
                whole.push(arrivals[next].1.clone());
                next += 1;
            }
            if now >= input().t0.0 {
                record.measure_from(input());
                if tick == 400 {
                    assert_eq!(record.measure(), Some(measure(&whole, &input())));
                }
                record.write_before(cut);
            }
            if tick > 30 {
                widest = widest.max(record.window().entries.len());
            }
        }
        assert_eq!(next, arrivals.len());
        let streamed = record.measure_until(Offset(61_000 * MS)).unwrap();
        assert_eq!(streamed, measure(&whole, &input()));
        assert_eq!(streamed.rto_observed.value_ms, Some(5_000.0));
        assert!(widest < 200, "{widest} entries in memory");
        let file = record.finish();
        assert_eq!(
            (file.entries, file.error),
            (whole.entries.len() as u64, None)
        );
        let read: Vec<Entry> = crate::timeline::file::read(&dir.join(file.file))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(read, whole.entries);
        let _ = std::fs::remove_dir_all(dir);
    }
}
