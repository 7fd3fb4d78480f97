//! A population of simulated customers (`kind = "customers"`) on the lab.
//! Each client's recovery is checked against what the run recorded
//! independently of the measuring code: the lab's own moment of the DNS
//! flip (its ground truth) and each client's requests as the timeline file
//! holds them, read here line by line.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A shipped lab scenario `base` (health checks 1 s x 3, TTL 1 s) with the
/// TTL raised to 2 s, a population of `clients` of `classes`, its rto
/// `rto` at p90, and the scenario's timeout `timeout`.
fn with_population(dir: &Path, base: &str, clients: u32, classes: &str, rto: &str) -> PathBuf {
    let shipped = std::fs::read_to_string(root().join(format!("scenarios/{base}.toml")))
        .unwrap()
        .replace("timeout = \"30s\"", "timeout = \"45s\"")
        .replace("rto = \"8s\"", "rto = \"20s\"");
    let shipped = match shipped.contains("dns_ttl = \"1s\"") {
        true => shipped.replace("dns_ttl = \"1s\"", "dns_ttl = \"2s\""),
        false => shipped.replacen("[[faults]]", "[lab]\ndns_ttl = \"2s\"\n\n[[faults]]", 1),
    };
    let population = format!(
        "\n[[probes]]\nkind = \"customers\"\nclients = {clients}\ninterval = \"1s\"\ntimeout = \"2s\"\nrto_percentile = 90\nrto = \"{rto}\"\n{classes}"
    );
    let path = dir.join("population.toml");
    std::fs::write(&path, format!("{shipped}\n{population}")).unwrap();
    path
}

/// One client's requests after t0: (ms after t0, region, ok, renewed).
type Requests = Vec<(f64, String, bool, bool)>;

/// Every client's requests after t0, by client number, with its class.
fn clients(report: &Value) -> BTreeMap<u64, (String, Requests)> {
    let t0 = report["phases"]["t0_ms"].as_f64().unwrap();
    let mut out: BTreeMap<u64, (String, Requests)> = BTreeMap::new();
    for e in report["timeline"].as_array().unwrap() {
        let o = &e["what"]["data"];
        if e["source"] != "customers" || e["what"]["type"] != "observation" {
            continue;
        }
        let at = e["at"].as_f64().unwrap() / 1e6 - t0;
        let entry = out
            .entry(o["client"].as_u64().unwrap())
            .or_insert_with(|| (o["class"].as_str().unwrap().to_string(), Vec::new()));
        if at >= 0.0 {
            entry.1.push((
                at,
                o["region"].as_str().unwrap_or("").to_string(),
                o["ok"] == true,
                o["renewed"] == true,
            ));
        }
    }
    out
}

/// When the lab flipped the record to the secondary, ms after t0.
fn lab_flip(report: &Value) -> f64 {
    let t0 = report["phases"]["t0_ms"].as_f64().unwrap();
    report["ground_truth"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "dns-answer-changed" && e["region"] == "eu-central-1")
        .map(|e| e["at_ms"].as_f64().unwrap() - t0)
        .expect("the lab's flip")
}

/// A client's recovery from its requests: the first of the ok requests
/// that follow its last failure (`None`: its last request failed).
fn recovery(requests: &Requests) -> Option<f64> {
    let last_failure = requests.iter().rposition(|r| !r.2)?;
    requests.get(last_failure + 1).map(|r| r.0)
}

/// The report's figures for one class.
fn class<'r>(report: &'r Value, name: &str) -> &'r Value {
    report["phases"]["population"]["classes"]
        .as_array()
        .expect("population figures")
        .iter()
        .find(|c| c["class"] == name)
        .unwrap_or_else(|| panic!("no class {name}"))
}

/// The report's verdict on an objective.
fn verdict<'r>(report: &'r Value, objective: &str) -> &'r Value {
    report["verdict"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["objective"] == objective)
        .unwrap_or_else(|| panic!("no verdict on {objective}: {}", report["verdict"]))
}

/// The whole primary region goes silent. Every class leaves it: a client
/// is served by the secondary from its first request on an answer it
/// resolved after the lab's flip, within one request interval, and the
/// report's per-class figures are those of the clients' own requests. A
/// pooled client's connection hangs, is dropped at the request timeout,
/// and the next one follows DNS.
#[test]
fn a_mixed_population_leaves_a_silent_region_as_each_cache_expires() {
    let dir = scratch("population-silent");
    let classes = r#"
[[probes.classes]]
client = { class = "fresh" }
share = 0.5

[[probes.classes]]
client = { class = "pooled" }
share = 0.2

[[probes.classes]]
name = "jvm"
client = { class = "cached", cache_for = "5s" }
share = 0.2

[[probes.classes]]
name = "isp"
client = { class = "stale-resolver", min_ttl = "8s" }
share = 0.1
rto = "5s"
"#;
    let path = with_population(&dir, "primary-region-outage", 60, classes, "15s");
    let reports = dir.join("reports");
    let out = run_file(&path, &reports, &[]);
    // The stretching resolver's clients cannot all be back within 5 s.
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let report = only_report(&reports);
    let flip = lab_flip(&report);
    let clients = clients(&report);
    assert_eq!(clients.len(), 60);
    for (n, (class, requests)) in &clients {
        let truth = requests.iter().find(|r| r.3 && r.0 >= flip).map(|r| r.0);
        let measured = recovery(requests);
        let (truth, measured) = (
            truth.expect("renewed after the flip"),
            measured.expect("recovered"),
        );
        assert!(
            (measured - truth).abs() <= 1000.0,
            "client {n} ({class}): recovered at {measured} ms, its first answer after the flip at {truth} ms"
        );
        let after = requests.iter().filter(|r| r.0 >= measured);
        assert!(
            after.clone().all(|r| r.1 == "eu-central-1" && r.2),
            "client {n} ({class})"
        );
    }
    check_class_figures(&report, &clients);
    check_reports(&report, &only_run_dir(&reports));
    let _ = std::fs::remove_dir_all(dir);
}

/// The report's spread for each class is that of the clients' own
/// recoveries, and the accuracy rows agree with the lab's truth.
fn check_class_figures(report: &Value, clients: &BTreeMap<u64, (String, Requests)>) {
    for name in ["fresh", "pooled", "jvm", "isp"] {
        let mut times: Vec<f64> = clients
            .values()
            .filter(|(c, _)| c == name)
            .map(|(_, r)| recovery(r).unwrap())
            .collect();
        times.sort_by(f64::total_cmp);
        let figures = class(report, name);
        assert_eq!(figures["clients"].as_u64(), Some(times.len() as u64));
        assert_eq!(figures["not_recovered"], 0);
        let p90 = times[(90 * times.len()).div_ceil(100) - 1];
        let max = times[times.len() - 1];
        let at = |k: &str| figures["recovered"][k]["value_ms"].as_f64().unwrap();
        assert!(
            (at("p90") - p90).abs() < 0.01,
            "{name} p90 {} vs {p90}",
            at("p90")
        );
        assert!(
            (at("max") - max).abs() < 0.01,
            "{name} max {} vs {max}",
            at("max")
        );
        assert_eq!(figures["recovered"]["max"]["resolution_ms"], 1000.0);
        let accuracy = report["accuracy"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| {
                a["phase"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("customers: {name},"))
            })
            .unwrap_or_else(|| panic!("no accuracy row for {name}: {}", report["accuracy"]));
        assert_eq!(accuracy["within_resolution"], true, "{accuracy}");
    }
    // The stretching resolver's clients wait up to 8 s past the flip: the
    // class's own rto of 5 s breaches, the population's 15 s at p90 holds.
    assert_eq!(
        verdict(report, "rto (customers: isp, p90)")["status"],
        "breached"
    );
    assert_eq!(verdict(report, "rto (customers, p90)")["status"], "met");
    let isp = class(report, "isp")["recovered"]["max"]["value_ms"]
        .as_f64()
        .unwrap();
    assert!(isp > 6_000.0, "isp clients stay on the old answer: {isp}");
}

/// The drain curve starts with everyone on the failed region and ends at
/// zero; the Markdown and HTML reports carry the class table, the HTML its
/// drain curve, the JUnit file a case per population objective.
fn check_reports(report: &Value, run: &Path) {
    let points = report["phases"]["population"]["drain"]["points"]
        .as_array()
        .unwrap();
    assert!(points[1]["all"].as_f64().unwrap() > 0.9, "{}", points[1]);
    assert_eq!(points.last().unwrap()["all"], 0.0);
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(
        md.contains("## Customers by class: 60 simulated clients of probe customers"),
        "{md}"
    );
    assert!(md.contains("| isp | 6 | stale-resolver 8s |"), "{md}");
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.contains("aria-label=\"drain curve\"") && html.matches("<polyline").count() == 5);
    let junit = std::fs::read_to_string(run.join("junit.xml")).unwrap();
    assert!(
        junit.contains("rto (customers: isp, p90)") && junit.contains("<failure"),
        "{junit}"
    );
}

/// The primary's ALB answers 503 once its targets are gone: a pooled
/// client's kept connection is never closed, so it stays on the failed
/// region, as does a client caching forever; both are reported as never
/// recovered and breach. A pooled client with a maximum age leaves when
/// its connection is replaced; the fresh, cached and stretched clients
/// when their answers expire after the flip. The run does not wait for its timeout: past
/// the longest rto, waiting changes no verdict.
#[test]
fn pinned_clients_never_recover_and_breach() {
    let dir = scratch("population-pinned");
    let classes = r#"
[[probes.classes]]
client = { class = "fresh" }
share = 0.3

[[probes.classes]]
name = "pinned"
client = { class = "pooled" }
share = 0.2

[[probes.classes]]
name = "aged"
client = { class = "pooled", max_age = "4s" }
share = 0.2

[[probes.classes]]
name = "jvm"
client = { class = "cached", cache_for = "3s" }
share = 0.1

[[probes.classes]]
name = "isp"
client = { class = "stale-resolver", min_ttl = "4s" }
share = 0.1

[[probes.classes]]
name = "forever"
client = { class = "cached", cache_for = "forever" }
share = 0.1
rto = "8s"
"#;
    let path = with_population(&dir, "kill-primary-targets", 40, classes, "8s");
    let reports = dir.join("reports");
    let started = std::time::Instant::now();
    let out = run_file(&path, &reports, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    assert!(started.elapsed().as_secs() < 40, "waited for the timeout");
    let report = only_report(&reports);
    check_who_left(&report);
    check_pinned_figures(&report);
    let _ = std::fs::remove_dir_all(dir);
}

/// The clients that can leave did, within their keep time of the flip;
/// the pinned pool and the forever cache are still failing on the primary.
fn check_who_left(report: &Value) {
    let flip = lab_flip(report);
    let keeps = BTreeMap::from([("fresh", 2.0), ("aged", 4.0), ("jvm", 3.0), ("isp", 4.0)]);
    for (n, (class, requests)) in &clients(report) {
        if let Some(keep) = keeps.get(class.as_str()) {
            let left = recovery(requests).expect("recovered");
            assert!(
                left <= flip + keep * 1000.0 + 1000.0,
                "client {n} ({class}) left at {left} ms, the flip was at {flip} ms"
            );
        }
        let on_primary = requests
            .iter()
            .rev()
            .take(3)
            .all(|r| r.1 == "me-central-1" && !r.2);
        let stuck = class == "pinned" || class == "forever";
        assert_eq!(
            on_primary,
            stuck,
            "client {n} ({class}): {:?}",
            &requests[requests.len() - 3..]
        );
    }
}

/// The report says never, not a number, for the stuck classes, and their
/// objectives breach.
fn check_pinned_figures(report: &Value) {
    for (name, stuck) in [
        ("fresh", 0),
        ("aged", 0),
        ("jvm", 0),
        ("isp", 0),
        ("pinned", 8),
        ("forever", 4),
    ] {
        assert_eq!(class(report, name)["not_recovered"], stuck, "{name}");
    }
    assert_eq!(
        class(report, "forever")["at_percentile"]["value_ms"],
        Value::Null
    );
    assert!(class(report, "forever")["at_percentile"]["note"]
        .as_str()
        .unwrap()
        .starts_with("4 of 4 clients never recovered"));
    assert_eq!(
        verdict(report, "rto (customers: forever, p90)")["status"],
        "breached"
    );
    assert_eq!(
        verdict(report, "rto (customers, p90)")["status"],
        "breached"
    );
    assert_eq!(verdict(report, "rto")["status"], "met");
    let aged = class(report, "aged")["recovered"]["max"]["value_ms"]
        .as_f64()
        .unwrap();
    assert!(
        aged > 2_000.0 && aged < 9_000.0,
        "aged pool recovered at {aged}"
    );
}

/// The primary region resets every connection (its processes gone): a
/// request fails at once, a pooled client's connection is closed and it
/// reconnects, resolving as a fresh client does, so it leaves within a TTL
/// of the flip like one; a client caching for 5 s leaves within 5 s of it,
/// one behind a resolver stretching TTLs to 4 s within 4 s.
#[test]
fn a_region_resetting_connections_lets_pooled_clients_reconnect_at_once() {
    let dir = scratch("population-reset");
    let classes = r#"
[[probes.classes]]
client = { class = "fresh" }
share = 0.3

[[probes.classes]]
client = { class = "pooled" }
share = 0.3

[[probes.classes]]
name = "jvm"
client = { class = "cached", cache_for = "5s" }
share = 0.2

[[probes.classes]]
name = "isp"
client = { class = "stale-resolver", min_ttl = "4s" }
share = 0.2
"#;
    let path = with_population(&dir, "primary-region-outage", 40, classes, "15s");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "kind = \"region-outage\"\n",
        "kind = \"region-outage\"\nmode = \"reset\"\n",
    );
    std::fs::write(&path, text).unwrap();
    let plan = gameday()
        .current_dir(root())
        .arg("plan")
        .arg(&path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&plan.stdout);
    assert!(said.contains("resetting every connection"), "{said}");
    let reports = dir.join("reports");
    let out = run_file(&path, &reports, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let report = only_report(&reports);
    let flip = lab_flip(&report);
    for (n, (class, requests)) in &clients(&report) {
        let failed: Vec<_> = requests.iter().filter(|r| !r.2).collect();
        assert!(!failed.is_empty(), "client {n} ({class}) never failed");
        let left = recovery(requests).expect("recovered");
        let keeps = match class.as_str() {
            "jvm" => 5_000.0,
            "isp" => 4_000.0,
            _ => 2_000.0,
        };
        assert!(
            left >= flip - 1.0 && left <= flip + keeps + 1_000.0,
            "client {n} ({class}) left at {left} ms, the flip was at {flip} ms"
        );
    }
    // A reset fails the request at once: no client waited for its timeout.
    let slowest = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "customers" && e["what"]["data"]["ok"] == false)
        .map(|e| e["what"]["data"]["latency_ns"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!(slowest < 500_000_000, "a failed request took {slowest} ns");
    assert_eq!(class(&report, "pooled")["not_recovered"], 0);
    let _ = std::fs::remove_dir_all(dir);
}
