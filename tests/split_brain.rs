//! Region isolation and split-brain: on both lab databases, the canary's
//! divergent and lost writes equal what the databases themselves held (the
//! lab reads both instances before the failback discards the old writer's
//! extra records, and records them as ground truth), and the fencing and
//! promotion are within one canary interval of the lab's truth. One run per
//! case here; the benchmark repeats them (examples/bench.rs).

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The canary's interval in these scenarios, ms.
const INTERVAL: f64 = 100.0;

/// Lab settings every case shares: the standby is promoted 1 s after the
/// cut; the health checks take at least 8 s to call the region unhealthy, so
/// customers keep reaching the old region well past a 5 s fencing delay.
const LAB: &str = r#"promotion_delay = "1s"
health_check_interval = "2s"
failure_threshold = 5
"#;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Case {
    NoFencing,
    FencedBeforePromotion,
    FencedFiveSecondsAfter,
    ShorterThanThePromotion,
}

impl Case {
    fn fault(self) -> &'static str {
        match self {
            Case::NoFencing => "fence_old_writer = \"never\"",
            Case::FencedBeforePromotion => "fence_old_writer = \"before-promotion\"",
            Case::FencedFiveSecondsAfter => "fence_old_writer = \"after:5s\"",
            Case::ShorterThanThePromotion => "lasts = \"500ms\"",
        }
    }

    /// rpo, and the exit it gives.
    fn rpo(self) -> (&'static str, i32) {
        match self {
            Case::NoFencing | Case::FencedFiveSecondsAfter => ("0s", 1),
            Case::FencedBeforePromotion => ("2s", 0),
            Case::ShorterThanThePromotion => ("0s", 0),
        }
    }
}

fn scenario(case: Case, postgres: bool, dir: &Path) -> PathBuf {
    let (rpo, _) = case.rpo();
    let database = if postgres {
        "database = \"postgres\"\n"
    } else {
        ""
    };
    let text = format!(
        r#"name = "split-brain"
target = "lab"
baseline = "1s"
stable_for = "1s"
timeout = "40s"
observe_at_least = "{observe}"

[objectives]
rto = "30s"
rpo = "{rpo}"

[lab]
{database}{LAB}
[[faults]]
kind = "isolate-region"
{fault}

[[probes]]
kind = "http"
interval = "200ms"

[[probes]]
kind = "health-check"
interval = "100ms"

[[probes]]
kind = "canary"
interval = "100ms"
both_writers = true
"#,
        observe = match case {
            Case::ShorterThanThePromotion => "3s",
            // The fencing comes 5 s after the promotion, itself 1 s after t0.
            Case::FencedFiveSecondsAfter => "8s",
            Case::NoFencing | Case::FencedBeforePromotion => "4s",
        },
        fault = case.fault(),
    );
    let path = dir.join(format!("{case:?}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn truth_ms(report: &Value, kind: &str) -> Option<f64> {
    let t0 = report["phases"]["t0_ms"].as_f64().unwrap();
    report["ground_truth"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == kind && e["at_ms"].as_f64().unwrap() >= t0)
        .map(|e| e["at_ms"].as_f64().unwrap() - t0)
}

/// A probe write to one instance, read from the timeline file.
struct WriterProbe {
    /// When it was sent, ms after t0.
    sent: f64,
    /// Its round trip, ms.
    latency: f64,
    accepted: bool,
    /// No answer (a timeout): says nothing about the instance.
    unreached: bool,
}

/// Each writer probe to `region`'s instance.
fn writer_probes(report: &Value, region: &str) -> Vec<WriterProbe> {
    let t0 = report["phases"]["t0_ms"].as_f64().unwrap();
    report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["what"]["data"]["probe"] == "writer-probe")
        .filter(|e| e["what"]["data"]["region"] == region)
        .filter_map(|e| {
            let d = &e["what"]["data"];
            Some(WriterProbe {
                sent: e["at"].as_f64()? / 1e6 + d["sent_after_ns"].as_f64()? / 1e6 - t0,
                latency: d["latency_ns"].as_f64().unwrap_or(0.0) / 1e6,
                accepted: d["accepted"].as_bool()?,
                unreached: d["unreached"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

/// The longest round trip of a probe write to `region`'s instance sent
/// within a second of `around_ms` after t0.
fn slowest_probe_ms(report: &Value, region: &str, around_ms: f64) -> f64 {
    writer_probes(report, region)
        .into_iter()
        .filter(|p| (p.sent - around_ms).abs() <= 1000.0)
        .map(|p| p.latency)
        .fold(0.0, f64::max)
}

/// How long a tick's writer probes could hold up the one that sees a
/// change at `around_ms`: each tick asks the old writer before the standby
/// (src/probe/canary.rs), and a slow answer at either (PostgreSQL stalls
/// its sessions while it promotes or fences) delays what comes after it.
fn held_up_ms(report: &Value, around_ms: f64) -> f64 {
    slowest_probe_ms(report, "eu-central-1", around_ms)
        + slowest_probe_ms(report, "me-central-1", around_ms)
}

/// What the run measured and what the databases held.
struct Counts {
    lost: u64,
    divergent: u64,
    true_lost: u64,
    true_divergent: u64,
}

fn check(case: Case, postgres: bool, report: &Value, out: &std::process::Output) {
    let (_, exit) = case.rpo();
    assert_eq!(out.status.code(), Some(exit), "{case:?}: {}", explain(out));
    assert_eq!(report["revert"]["complete"], true, "{}", report["revert"]);
    let counts = check_counts(case, postgres, report);
    let promoted = truth_ms(report, "database-promoted");
    let fenced = truth_ms(report, "old-writer-fenced");
    match case {
        Case::ShorterThanThePromotion => {
            check_no_promotion(report, promoted, &counts);
            return;
        }
        Case::NoFencing => check_no_fencing(case, report, fenced, &counts),
        Case::FencedBeforePromotion => check_fenced_before(case, report, promoted, fenced, &counts),
        Case::FencedFiveSecondsAfter => check_fenced_after(report, promoted, fenced, &counts),
    }
    check_promotion_and_lost(case, report, promoted, fenced, &counts);
}

/// Lost plus divergent equal the databases' count; the split differs at
/// most by the ambiguous writes.
fn check_counts(case: Case, postgres: bool, report: &Value) -> Counts {
    let phases = &report["phases"];
    let d = &phases["divergent_writes"];
    let (lost, divergent) = (
        phases["lost_writes"]["count"].as_u64().unwrap(),
        d["count"].as_u64().unwrap(),
    );
    let ambiguous = d["ambiguous"].as_u64().unwrap();
    let (true_lost, true_divergent) = discarded_truth(report);
    assert_eq!(
        lost + divergent,
        true_lost + true_divergent,
        "{case:?}: measured {lost} lost + {divergent} divergent, the databases {true_lost} + {true_divergent}"
    );
    // The split may differ by the writes committed during the promotion
    // (ambiguous), and on PostgreSQL by one more: the lab's own promotion
    // truth is a poll (every 2 ms, stretched under load), so a write
    // committed within that poll's window can fall on either side of it.
    let truth_slack = u64::from(postgres);
    assert!(
        divergent.abs_diff(true_divergent) <= ambiguous + truth_slack,
        "{case:?}: {divergent} divergent measured, {true_divergent} true, {ambiguous} ambiguous"
    );
    Counts {
        lost,
        divergent,
        true_lost,
        true_divergent,
    }
}

fn check_no_promotion(report: &Value, promoted: Option<f64>, c: &Counts) {
    let case = Case::ShorterThanThePromotion;
    assert_eq!(promoted, None, "{case:?}: promoted");
    assert_eq!((c.lost, c.divergent), (0, 0));
    assert_eq!(discarded_truth(report), (0, 0));
    let d = &report["phases"]["divergent_writes"];
    assert!(d.get("promotion_ms").is_none(), "{d}");
}

fn check_no_fencing(case: Case, report: &Value, fenced: Option<f64>, c: &Counts) {
    let phases = &report["phases"];
    let divergent = c.divergent;
    assert!(divergent >= 20, "{case:?}: {divergent} divergent");
    assert_eq!(fenced, None);
    assert_eq!(phases["fencing"]["value_ms"].as_f64(), None);
    assert_eq!(
        phases["fencing"]["note"]
            .as_str()
            .map(|n| n.starts_with("never")),
        Some(true)
    );
}

fn check_fenced_before(
    case: Case,
    report: &Value,
    promoted: Option<f64>,
    fenced: Option<f64>,
    c: &Counts,
) {
    let phases = &report["phases"];
    assert_eq!((c.divergent, c.true_divergent), (0, 0));
    assert!(fenced.unwrap() <= promoted.unwrap());
    // 0, or up to an interval when both fell between the same two
    // probes (the embedded lab fences and promotes in one step).
    let measured = phases["fencing"]["value_ms"]
        .as_f64()
        .expect("fencing measured");
    assert!(
        measured <= INTERVAL + 1.0,
        "{case:?}: fencing measured {measured} ms, truth 0"
    );
    if measured > 0.0 {
        let note = phases["fencing"]["note"].as_str().unwrap_or_default();
        assert!(note.contains("not resolved"), "{}", phases["fencing"]);
    }
}

fn check_fenced_after(report: &Value, promoted: Option<f64>, fenced: Option<f64>, c: &Counts) {
    let d = &report["phases"]["divergent_writes"];
    let truth = fenced.unwrap() - promoted.unwrap();
    // The lab starts fencing 5 s after; PostgreSQL's takes a connection and two statements.
    assert!(
        (5000.0..5300.0).contains(&truth),
        "the lab fenced {truth} ms after"
    );
    // Both ends are seen up to an interval late, and later still by
    // the round trip of a probe PostgreSQL held at either end.
    let measured = report["phases"]["fencing"]["value_ms"]
        .as_f64()
        .expect("fencing measured");
    let held = held_up_ms(report, promoted.unwrap()).max(held_up_ms(report, fenced.unwrap()));
    assert!(
        (measured - truth).abs() <= INTERVAL + held + 1.0,
        "fencing measured {measured} ms, truth {truth} ms, slowest probe at either end {held} ms"
    );
    // Divergent for those 5 s only: one write per interval.
    let (first, last) = (
        d["window_ms"][0].as_f64().unwrap(),
        d["window_ms"][1].as_f64().unwrap(),
    );
    assert!(
        (last - first - 5000.0).abs() <= 2.0 * INTERVAL,
        "divergent from {first} to {last} ms"
    );
    // The window above may be two intervals off 5 s, and a write at either
    // edge may fall in or out: 50 writes, give or take three.
    let divergent = c.divergent;
    assert!(divergent.abs_diff(50) <= 3, "{divergent} divergent in 5 s");
}

/// The promotion is seen within its bounds, and only the cut's writes are
/// lost before it.
fn check_promotion_and_lost(
    case: Case,
    report: &Value,
    promoted: Option<f64>,
    fenced: Option<f64>,
    c: &Counts,
) {
    // Seen when the first probe to see it asked: up to an interval late, and
    // a round trip early (its answer can show a change made meanwhile).
    // A probe that takes long holds up the rest of its tick and the next.
    let p = promoted.expect("promoted");
    let measured = report["phases"]["divergent_writes"]["promotion_ms"]
        .as_f64()
        .unwrap();
    let held = held_up_ms(report, p);
    assert!(
        measured >= p - INTERVAL / 4.0 && measured <= p + INTERVAL + held + 1.0,
        "{case:?}: promotion measured {measured} ms, truth {p} ms, slowest probe around it at each writer {held} ms in all"
    );
    // Seen by the first standby probe, in the order they were sent, that
    // took a write; every one sent after the promotion took one.
    let standby = writer_probes(report, "eu-central-1");
    let first_taken = standby
        .iter()
        .filter(|q| q.accepted)
        .map(|q| q.sent)
        .reduce(f64::min);
    assert_eq!(
        first_taken.map(|sent| (sent - measured).abs() < 0.01),
        Some(true),
        "{case:?}: promotion measured {measured} ms, the first standby probe that took a write was sent at {first_taken:?} ms"
    );
    let refused: Vec<f64> = standby
        .iter()
        .filter(|q| q.sent > p && !q.accepted && !q.unreached)
        .map(|q| q.sent)
        .collect();
    assert!(
        refused.is_empty(),
        "{case:?}: standby probes sent at {refused:?} ms, after the promotion ({p} ms), were refused"
    );
    // Before the promotion, only the cut's writes are lost: one a canary
    // interval from the cut until the old writer stopped acking them, at
    // the promotion or at its fencing if that came first (about a second;
    // longer when PostgreSQL is slow under load), as the lab's truth times it.
    let acked_until = fenced.map_or(p, |f| f.min(p));
    let intervals = (acked_until / INTERVAL).round() as u64;
    assert!(
        c.true_lost.abs_diff(intervals) <= 3,
        "{case:?}: {} lost, {intervals} intervals from the cut until the old writer stopped acking",
        c.true_lost
    );
}

fn run_embedded(case: Case) {
    let dir = scratch(&format!("split-brain-{case:?}"));
    let file = scenario(case, false, &dir);
    let reports = dir.join("reports");
    let out = run_file(&file, &reports, &[]);
    check(case, false, &only_report(&reports), &out);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_fencing_leaves_divergent_writes() {
    run_embedded(Case::NoFencing);
}

#[test]
fn fencing_before_the_promotion_leaves_none() {
    run_embedded(Case::FencedBeforePromotion);
}

#[test]
fn fencing_five_seconds_after_bounds_them_to_five_seconds() {
    run_embedded(Case::FencedFiveSecondsAfter);
}

#[test]
fn an_isolation_shorter_than_the_promotion_delay_loses_nothing() {
    run_embedded(Case::ShorterThanThePromotion);
}

/// Runs `cases` one after the other against one standing PostgreSQL lab.
fn run_postgres(name: &str, cases: &[Case]) {
    if !postgres_available() {
        return;
    }
    let dir = scratch(name);
    let params = scenario(cases[0], true, &dir);
    let lab = StandingLab::start(&["--params", params.to_str().unwrap()]);
    for case in cases {
        let file = scenario(*case, true, &dir);
        let reports = dir.join(format!("reports-{case:?}"));
        let out = run_file(
            &file,
            &reports,
            &["--attach", &lab.addr(), "--lab-token", lab.token()],
        );
        check(*case, true, &only_report(&reports), &out);
    }
    drop(lab);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn on_postgresql_no_fencing_and_a_short_isolation_match_the_databases() {
    run_postgres(
        "split-brain-pg-unfenced",
        &[Case::NoFencing, Case::ShorterThanThePromotion],
    );
}

#[test]
fn on_postgresql_fencing_before_and_after_the_promotion_match_the_databases() {
    run_postgres(
        "split-brain-pg-fenced",
        &[Case::FencedBeforePromotion, Case::FencedFiveSecondsAfter],
    );
}

/// The shipped PostgreSQL scenarios exit as documented and count what the
/// databases held.
#[test]
fn the_shipped_postgresql_isolation_scenarios_exit_as_documented() {
    if !postgres_available() {
        return;
    }
    for (file, exit, divergent) in [
        ("postgres/isolate-primary-region", 1, true),
        ("postgres/isolate-primary-region-fenced", 0, false),
    ] {
        let reports = scratch(&file.replace('/', "-"));
        let out = run_scenario(file, &reports, &[]);
        assert_eq!(out.status.code(), Some(exit), "{file}: {}", explain(&out));
        let r = only_report(&reports);
        let measured = (
            r["phases"]["lost_writes"]["count"].as_u64().unwrap(),
            r["phases"]["divergent_writes"]["count"].as_u64().unwrap(),
        );
        let (lost, div) = discarded_truth(&r);
        assert_eq!(measured.0 + measured.1, lost + div, "{file}");
        assert_eq!(measured.1 > 0, divergent, "{file}: {measured:?}");
        let _ = std::fs::remove_dir_all(&reports);
    }
}
