//! Every shipped lab scenario runs end to end, exits as documented, reverts
//! cleanly, and its measured phases agree with the lab's ground truth within one
//! probe interval.

mod common;
use common::*;
use serde_json::Value;

fn truth_at(report: &Value, kind: &str, region: &str) -> Option<f64> {
    let t0 = report["phases"]["t0_ms"].as_f64()?;
    report["ground_truth"].as_array()?.iter().find_map(|e| {
        (e["kind"] == kind && e["region"] == region && e["at_ms"].as_f64()? >= t0)
            .then(|| e["at_ms"].as_f64().unwrap() - t0)
    })
}

fn figure(report: &Value, phase: &str) -> Option<f64> {
    report["phases"][phase]["value_ms"].as_f64()
}

/// The scenario file as TOML, read by the test itself.
fn scenario_toml(scenario: &str) -> toml::Table {
    let text = std::fs::read_to_string(root().join(format!("scenarios/{scenario}.toml"))).unwrap();
    text.parse().unwrap()
}

fn ms_of(value: Option<&toml::Value>, default_ms: f64) -> f64 {
    value
        .and_then(|v| v.as_str())
        .map(|s| humantime::parse_duration(s).unwrap().as_secs_f64() * 1000.0)
        .unwrap_or(default_ms)
}

/// The interval of the scenario's probe of `kind`, in ms (default 100 ms).
fn probe_interval(scenario: &toml::Table, kind: &str) -> f64 {
    let probe = scenario["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"].as_str() == Some(kind))
        .unwrap_or_else(|| panic!("no {kind} probe"));
    ms_of(probe.get("interval"), 100.0)
}

/// The phases each shipped scenario must compare with ground truth, and the
/// probe that measures each. A phase missing from the report fails.
fn expected_phases(scenario: &str) -> &'static [(&'static str, &'static str)] {
    match scenario {
        "sever-primary-az" => &[("recovered", "http")],
        // Customers still reach the isolated region: no outage to time.
        "isolate-primary-region" | "isolate-primary-region-fenced" => {
            &[("detection", "health-check"), ("dns_flip", "dns")]
        }
        "too-tight-rto" => &[
            ("detection", "health-check"),
            ("recovered", "http"),
            ("write_recovery", "canary"),
        ],
        _ => &[
            ("detection", "health-check"),
            ("dns_flip", "dns"),
            ("recovered", "http"),
            ("write_recovery", "canary"),
        ],
    }
}

/// The lab's ground truth after t0: (kind, region, ms after t0, detail).
fn truths(report: &Value) -> Vec<(String, String, f64, String)> {
    let t0 = report["phases"]["t0_ms"].as_f64().unwrap();
    report["ground_truth"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["at_ms"].as_f64().unwrap() >= t0 - 0.001)
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["region"].as_str().unwrap().to_string(),
                e["at_ms"].as_f64().unwrap() - t0,
                e["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Recomputes, in the test, each expected phase against the lab's ground
/// truth: it must be in the report, measured with the resolution of its
/// probe's interval, and within that interval of the truth (a probe sees a
/// change at its next tick; customers after their cached answer expires).
fn check_against_truth(scenario: &str, report: &Value) {
    let file = scenario_toml(scenario);
    let ttl = ms_of(file.get("lab").and_then(|l| l.get("dns_ttl")), 1000.0);
    let truth = truths(report);
    let first = |kind: &str, region: &str| {
        truth
            .iter()
            .find(|t| t.0 == kind && t.1 == region)
            .map(|t| t.2)
    };
    let flip = first("dns-answer-changed", "eu-central-1");
    for (phase, probe) in expected_phases(scenario) {
        let interval = probe_interval(&file, probe);
        let measured =
            figure(report, phase).unwrap_or_else(|| panic!("{scenario}: {phase} was not measured"));
        assert_eq!(
            report["phases"][phase]["resolution_ms"].as_f64(),
            Some(interval),
            "{scenario}: {phase} carries its probe's interval as resolution"
        );
        let compared = report["accuracy"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["phase"] == *phase);
        assert!(
            compared,
            "{scenario}: {phase} missing from the accuracy table"
        );
        let (truth_ms, allowance) = match *phase {
            "detection" => (first("health-check-unhealthy", "me-central-1"), 0.0),
            "dns_flip" => (flip, 0.0),
            "recovered" | "write_recovery" => match flip {
                Some(f) => (Some(f), ttl),
                None => (
                    truth
                        .iter()
                        .filter(|t| t.0 == "alb-target-unhealthy" && t.1 == "me-central-1")
                        .map(|t| t.2)
                        .next_back(),
                    0.0,
                ),
            },
            other => panic!("no rule for {other}"),
        };
        let truth_ms =
            truth_ms.unwrap_or_else(|| panic!("{scenario}: no ground truth for {phase}"));
        // An observation is stamped when the probe asks; its answer can show
        // a change made during the round trip to the lab, which a loaded
        // 2-core CI stretched to 21 ms: allow a quarter interval before the
        // truth, 1 ms after the window.
        let round_trip = interval / 4.0;
        assert!(
            measured >= truth_ms - round_trip && measured <= truth_ms + allowance + interval + 1.0,
            "{scenario}: {phase} measured {measured} ms, truth {truth_ms} ms (+{allowance} ms), interval {interval} ms"
        );
    }
}

/// The lab's checkers against Route 53's rules, read from its own record of
/// what happened (not from the probes): a region turns unhealthy between
/// (threshold - 1) x interval and threshold x interval + timeout after the
/// fault, only when at most 18% of checkers say healthy, and DNS never flips
/// before that.
fn check_route53_rules(scenario: &str, report: &Value) {
    let file = scenario_toml(scenario);
    let lab = file.get("lab");
    let interval = ms_of(lab.and_then(|l| l.get("health_check_interval")), 1000.0);
    let timeout = ms_of(lab.and_then(|l| l.get("health_check_timeout")), 500.0);
    let threshold = lab
        .and_then(|l| l.get("failure_threshold"))
        .and_then(|v| v.as_integer())
        .unwrap_or(3) as f64;
    let truth = truths(report);
    let Some(unhealthy) = truth
        .iter()
        .find(|t| t.0 == "health-check-unhealthy" && t.1 == "me-central-1")
    else {
        return; // an AZ fault: the region stays healthy
    };
    let after = unhealthy.2;
    // The first failing check can start right at t0; a check takes at most the
    // timeout; 50 ms for the scheduler of a busy 2-core machine.
    assert!(
        after >= (threshold - 1.0) * interval - 1.0 && after <= threshold * interval + timeout + 50.0,
        "{scenario}: unhealthy {after} ms after t0; Route 53 needs {threshold} failures {interval} ms apart"
    );
    let (healthy, of) = unhealthy
        .3
        .split_once(" checkers healthy")
        .and_then(|(n, _)| n.split_once('/'))
        .map(|(h, n)| (h.parse::<f64>().unwrap(), n.parse::<f64>().unwrap()))
        .unwrap_or_else(|| panic!("{scenario}: {:?} says no checker count", unhealthy.3));
    assert!(
        healthy / of <= 0.18,
        "{scenario}: unhealthy with {healthy}/{of} healthy"
    );
    if let Some(flip) = truth.iter().find(|t| t.0 == "dns-answer-changed") {
        assert!(
            flip.2 >= after - 0.001,
            "{scenario}: DNS flipped before the region was unhealthy"
        );
    }
}

/// Runs a scenario and checks what every run must satisfy.
fn run_and_check(scenario: &str, expected_exit: i32) -> Value {
    let reports = scratch(scenario);
    // What earlier steps of the job wrote to the summary stays in front.
    let earlier = "## an earlier step\n\n";
    std::fs::write(reports.join("step-summary.md"), earlier).unwrap();
    let out = run_scenario(scenario, &reports, &[]);
    assert_eq!(out.status.code(), Some(expected_exit), "{}", explain(&out));
    let report = only_report(&reports);
    assert_eq!(report["schema_version"], 2);
    assert_eq!(report["exit_code"], expected_exit);
    assert_eq!(
        report["revert"]["complete"], true,
        "revert: {}",
        report["revert"]
    );
    check_against_truth(scenario, &report);
    check_route53_rules(scenario, &report);
    // The verdict table and the report path are printed; every file format is written.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("objective") && stdout.contains("report: "),
        "{stdout}"
    );
    let run_dir = only_run_dir(&reports);
    for file in RUN_FILES {
        assert!(
            run_dir.join(file).exists(),
            "{file} missing in {}",
            run_dir.display()
        );
    }
    // GitHub Actions gets the Markdown summary appended, with each objective's verdict.
    let summary =
        std::fs::read_to_string(reports.join("step-summary.md")).expect("step summary written");
    assert!(
        summary.starts_with(earlier) && summary.contains(&format!("# Game day `{scenario}`")),
        "{summary}"
    );
    for judgement in report["verdict"].as_array().unwrap() {
        let objective = judgement["objective"].as_str().unwrap();
        let shown = match judgement["status"].as_str().unwrap() {
            "met" => "| met |",
            "breached" => "| **BREACHED** |",
            _ => "| **NOT MEASURED** |",
        };
        assert!(
            summary
                .lines()
                .any(|l| l.starts_with(&format!("| {objective} |")) && l.ends_with(shown)),
            "{objective} {} is not in the summary:\n{summary}",
            judgement["status"]
        );
    }
    let _ = std::fs::remove_dir_all(&reports);
    report
}

#[test]
fn kill_primary_targets_fails_over_without_loss() {
    let r = run_and_check("kill-primary-targets", 0);
    // The phases happened in the order a failover takes.
    let detection = figure(&r, "detection").expect("detection");
    let flip = figure(&r, "dns_flip").expect("dns flip");
    let rto = figure(&r, "rto_observed").expect("rto");
    assert!(detection <= flip + 100.0 && flip <= rto, "{}", r["phases"]);
    assert!(truth_at(&r, "dns-answer-changed", "eu-central-1").is_some());
    assert_eq!(r["phases"]["lost_writes"]["count"], 0);
    assert_eq!(r["phases"]["serving_region"], "eu-central-1");
}

#[test]
fn sever_primary_az_routes_around_without_failover() {
    let r = run_and_check("sever-primary-az", 0);
    assert!(
        figure(&r, "dns_flip").is_none(),
        "a severed AZ must not flip DNS: {}",
        r["phases"]["dns_flip"]
    );
    let unhealthy =
        truth_at(&r, "alb-target-unhealthy", "me-central-1").expect("ALB took the AZ out");
    let recovered = figure(&r, "recovered").expect("recovered");
    assert!(
        (recovered - unhealthy).abs() <= 100.0 + 1.0,
        "recovered {recovered} vs ALB truth {unhealthy}"
    );
    assert_eq!(r["phases"]["serving_region"], "me-central-1");
    assert_eq!(r["phases"]["lost_writes"]["count"], 0);
}

/// Records the promotion left behind, from the ground truth.
fn left_behind(r: &Value) -> u64 {
    let detail = r["ground_truth"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "database-promoted")
        .expect("promotion")["detail"]
        .as_str()
        .unwrap()
        .to_string();
    detail
        .split("; ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn check_data_loss(r: &Value) {
    let lost = r["phases"]["lost_writes"]["count"]
        .as_u64()
        .expect("lost writes counted");
    let behind = left_behind(r);
    // A write committed as the link was cut may never have been acked: such a
    // record is left behind but is not an acked write lost. Hence at most one less.
    assert!(
        lost <= behind && lost + 1 >= behind,
        "lost {lost}, left behind at promotion {behind}"
    );
    assert!(lost > 0, "writes inside the replication lag must be lost");
    // rpo_observed covers the replication lag (200ms) within one canary interval
    // (and the ack latency jitter).
    let rpo = figure(r, "rpo_observed").expect("rpo");
    let res = r["phases"]["rpo_observed"]["resolution_ms"]
        .as_f64()
        .unwrap();
    assert!(
        (rpo - 200.0).abs() <= res + ACK_JITTER_MS,
        "rpo {rpo} vs lag 200ms ± {res}"
    );
}

#[test]
fn fail_primary_database_promotes_and_loses_the_lag() {
    let r = run_and_check("fail-primary-database", 0);
    check_data_loss(&r);
    assert!(truth_at(&r, "database-promoted", "eu-central-1").is_some());
}

#[test]
fn primary_region_outage_fails_over() {
    let r = run_and_check("primary-region-outage", 0);
    check_data_loss(&r);
    assert_eq!(r["phases"]["serving_region"], "eu-central-1");
}

#[test]
fn too_tight_rto_is_breached_with_exit_1() {
    let r = run_and_check("too-tight-rto", 1);
    let rto = r["verdict"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["objective"] == "rto")
        .unwrap();
    assert_eq!(rto["status"], "breached");
    assert!(rto["measured_ms"].as_f64().unwrap() > rto["declared_ms"].as_f64().unwrap());
}

fn check_split(r: &Value) -> (u64, u64) {
    let lost = r["phases"]["lost_writes"]["count"].as_u64().unwrap();
    let d = &r["phases"]["divergent_writes"];
    let divergent = d["count"].as_u64().unwrap();
    let (true_lost, true_divergent) = discarded_truth(r);
    assert_eq!(
        lost + divergent,
        true_lost + true_divergent,
        "{}",
        r["phases"]
    );
    assert!(divergent.abs_diff(true_divergent) <= d["ambiguous"].as_u64().unwrap());
    (lost, divergent)
}

#[test]
fn isolate_primary_region_without_fencing_leaves_divergent_writes() {
    let r = run_and_check("isolate-primary-region", 1);
    let (lost, divergent) = check_split(&r);
    assert!(
        lost > 0 && divergent > 0,
        "{lost} lost, {divergent} divergent"
    );
    assert_eq!(r["phases"]["fencing"]["value_ms"], Value::Null);
    let rpo = r["verdict"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["objective"] == "rpo")
        .unwrap();
    assert_eq!(rpo["status"], "breached");
}

#[test]
fn isolate_primary_region_fenced_loses_only_the_cut() {
    let r = run_and_check("isolate-primary-region-fenced", 0);
    let (lost, divergent) = check_split(&r);
    assert!(
        lost > 0,
        "the writes between the cut and the promotion are lost"
    );
    assert_eq!(divergent, 0);
    assert_eq!(r["phases"]["fencing"]["value_ms"], 0.0);
}
