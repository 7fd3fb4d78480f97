//! Client classes on the lab: customers that keep a DNS answer longer than
//! its TTL stay on the failed region after the flip. Each client's recovery
//! is predicted from what the run recorded independently of the class's
//! code: its own first resolution (its first observation) and the DNS
//! probe's flip.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// kill-primary-targets (TTL 1 s, flip about 3 s after t0) with an extra
/// customer probe every 100 ms for each (name, client table) of `clients`,
/// observing at least `observe` and at most `timeout`.
fn scenario(dir: &Path, clients: &[(&str, &str)], observe: &str, timeout: &str) -> PathBuf {
    scenario_from("kill-primary-targets", dir, clients, observe, timeout)
}

/// The shipped scenario `base` with those extra customer probes.
fn scenario_from(
    base: &str,
    dir: &Path,
    clients: &[(&str, &str)],
    observe: &str,
    timeout: &str,
) -> PathBuf {
    let probes: String = clients
        .iter()
        .map(|(name, client)| {
            format!("\n[[probes]]\nkind = \"http\"\nname = \"{name}\"\ninterval = \"100ms\"\nclient = {client}\n")
        })
        .collect();
    let shipped = std::fs::read_to_string(root().join(format!("scenarios/{base}.toml")))
        .unwrap()
        .replace("timeout = \"30s\"", &format!("timeout = \"{timeout}\""))
        .replace(
            "observe_at_least = \"3s\"",
            &format!("observe_at_least = \"{observe}\""),
        )
        .replace("rto = \"8s\"", "rto = \"20s\"");
    let path = dir.join("classes.toml");
    std::fs::write(&path, format!("{shipped}\n{probes}")).unwrap();
    path
}

/// One probe's observations: (ms after t0, region, ok).
fn observations(report: &Value, probe: &str) -> Vec<(f64, String, bool)> {
    let t0 = report["phases"]["t0_ms"].as_f64().unwrap();
    report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == probe && e["what"]["type"] == "observation")
        .map(|e| {
            let o = &e["what"]["data"];
            (
                e["at"].as_f64().unwrap() / 1e6 - t0,
                o["region"].as_str().unwrap_or("").to_string(),
                o["ok"] == true,
            )
        })
        .collect()
}

/// When a probe was first served by the secondary, ms after t0.
fn first_on_secondary(obs: &[(f64, String, bool)]) -> Option<f64> {
    obs.iter()
        .find(|(_, region, ok)| region == "eu-central-1" && *ok)
        .map(|(at, _, _)| *at)
}

/// The report's own figures for one customer probe.
fn figures<'r>(report: &'r Value, probe: &str) -> &'r Value {
    report["phases"]["customers"]
        .as_array()
        .expect("per-customer figures")
        .iter()
        .find(|c| c["probe"] == probe)
        .unwrap_or_else(|| panic!("no figures for {probe}"))
}

/// The verdict on a customer probe's own rto.
fn own_verdict<'r>(report: &'r Value, probe: &str) -> &'r Value {
    report["verdict"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["objective"] == format!("rto ({probe})"))
        .unwrap_or_else(|| panic!("no verdict on the rto of {probe}"))
}

/// When the DNS probe first saw the secondary, ms after t0.
fn flip(report: &Value) -> f64 {
    report["phases"]["dns_flip"]["value_ms"].as_f64().unwrap()
}

/// A client that caches for 6 s re-resolves every 6 s from its first
/// answer, a resolver stretching the 1 s TTL to 7 s asks again every 7 s,
/// and a pool replaces its connection (the ALB's 503s close nothing) when
/// it is 4 s old: each is served by the secondary at the first of its
/// renewals after the flip (within a probe interval or two), having failed
/// on the primary until then; the TTL-honouring customer follows the flip
/// within its TTL.
#[test]
fn cached_and_stretching_clients_stay_on_the_failed_region_until_their_answer_expires() {
    let dir = scratch("client-classes");
    let path = scenario(
        &dir,
        &[
            (
                "jvm",
                r#"{ class = "cached", cache_for = "6s" }
rto = "9s""#,
            ),
            (
                "isp",
                r#"{ class = "stale-resolver", min_ttl = "7s" }
rto = "4s""#,
            ),
            ("pool", r#"{ class = "pooled", max_age = "4s" }"#),
        ],
        "3s",
        "40s",
    );
    let reports = dir.join("reports");
    let out = run_file(&path, &reports, &[]);
    // The stretching resolver's customer cannot be back within its own 4 s.
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let report = only_report(&reports);
    check_renewals(&report);
    check_own_figures(&report);
    check_own_objectives(&report, &only_run_dir(&reports));
    let _ = std::fs::remove_dir_all(dir);
}

/// Each client is served by the secondary at its first renewal after the
/// flip, pinned to the failed primary until then; the fresh customer
/// follows the flip within its TTL; the run recovers with the slowest.
fn check_renewals(report: &Value) {
    let flip = flip(report);
    let fresh = first_on_secondary(&observations(report, "customer")).unwrap();
    assert!(
        fresh <= flip + 1_000.0 + 250.0,
        "fresh: served by the secondary {fresh} ms after t0, the flip was at {flip}"
    );
    for (probe, every) in [("jvm", 6_000.0), ("isp", 7_000.0), ("pool", 4_000.0)] {
        let obs = observations(report, probe);
        let first = obs[0].0;
        // Its answers are renewed at first + k * every; the first renewal
        // after the flip brings the secondary.
        let renewals = ((flip - first) / every).ceil().max(1.0);
        let expected = first + renewals * every;
        let served = first_on_secondary(&obs).unwrap();
        assert!(
            (served - expected).abs() <= 250.0,
            "{probe}: served by the secondary at {served} ms, expected {expected} (first answer at {first}, flip at {flip})"
        );
        assert!(
            obs.iter()
                .filter(|(at, _, _)| *at > flip + 300.0 && *at < served - 150.0)
                .all(|(_, region, ok)| region == "me-central-1" && !ok),
            "{probe}: between the flip and its renewal it was not pinned to the failed primary"
        );
    }
    // The measurement covers the slowest customer: it recovers after the
    // last failure of any customer probe (a tick slips under load, so that
    // can be more than one interval before the last client's first
    // success), and no later than that success.
    let recovered = report["phases"]["recovered"]["value_ms"].as_f64().unwrap();
    let probes = ["customer", "jvm", "isp", "pool"];
    let last = probes[1..]
        .iter()
        .map(|p| first_on_secondary(&observations(report, p)).unwrap())
        .fold(0.0, f64::max);
    let last_failure = probes
        .iter()
        .flat_map(|p| observations(report, p))
        .filter(|(at, _, ok)| !ok && *at < last)
        .map(|(at, _, _)| at)
        .fold(0.0, f64::max);
    assert!(
        recovered > last_failure && recovered <= last,
        "recovered {recovered}: the last failure was at {last_failure}, the slowest client's first success at {last}"
    );
}

/// Each client's own figures are its observations': the first served by
/// the secondary, which is also when it recovered (it failed until then).
fn check_own_figures(report: &Value) {
    for probe in ["customer", "jvm", "isp"] {
        let served = first_on_secondary(&observations(report, probe)).unwrap();
        let own = figures(report, probe);
        for figure in ["on_secondary", "recovered"] {
            let v = own[figure]["value_ms"].as_f64().unwrap();
            assert!(
                (v - served).abs() < 0.01,
                "{probe} {figure}: {v} vs {served}"
            );
        }
    }
    assert!(figures(report, "isp")["client"]
        .as_str()
        .unwrap()
        .starts_with("stale-resolver: "));
}

/// Each client's own rto is judged on its own recovery, in report.json,
/// JUnit (the breached one fails) and the Markdown table.
fn check_own_objectives(report: &Value, run: &Path) {
    for (probe, declared, status) in [("jvm", 9_000.0, "met"), ("isp", 4_000.0, "breached")] {
        let own = figures(report, probe)["recovered"]["value_ms"]
            .as_f64()
            .unwrap();
        let judged = own_verdict(report, probe);
        assert_eq!(judged["status"], status, "{judged}");
        assert_eq!(judged["measured_ms"].as_f64(), Some(own));
        assert_eq!((own <= declared), status == "met");
    }
    let junit = std::fs::read_to_string(run.join("junit.xml")).unwrap();
    let case = |name: &str| {
        let at = junit
            .find(&format!("name=\"{name}\""))
            .unwrap_or_else(|| panic!("no JUnit case {name}: {junit}"));
        // Up to the next case (a passing case may close itself).
        let end = junit[at..]
            .find("<testcase")
            .map_or(junit.len(), |e| at + e);
        junit[at..end].to_string()
    };
    assert!(
        !case("rto (jvm) &lt;= 9.00s").contains("<failure"),
        "{junit}"
    );
    assert!(
        case("rto (isp) &lt;= 4.00s").contains("<failure"),
        "{junit}"
    );
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(
        md.contains("## Customers by client")
            && md.contains("| jvm | cached: caches the answer for 6s, ignoring the TTL |"),
        "{md}"
    );
}

/// A region cut off goes silent on kept connections: the pooled client's
/// request hangs until its timeout, the connection is dropped, and the new
/// one follows DNS; so it is back no later than a timeout after the
/// TTL-honouring customer.
#[test]
fn a_silent_region_costs_a_pooled_client_one_request_timeout() {
    let dir = scratch("client-pool-silence");
    let path = scenario_from(
        "primary-region-outage",
        &dir,
        &[("pool", r#"{ class = "pooled" }"#)],
        "3s",
        "30s",
    );
    let reports = dir.join("reports");
    let out = run_file(&path, &reports, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let report = only_report(&reports);
    let fresh = first_on_secondary(&observations(&report, "customer")).unwrap();
    let pool = observations(&report, "pool");
    let served = first_on_secondary(&pool).unwrap();
    assert!(
        // Its request timeout is the default 2 s.
        served <= fresh + 2_000.0 + 300.0,
        "the pool was served by the secondary at {served} ms, the fresh customer at {fresh}"
    );
    let hung = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "pool")
        .filter_map(|e| e["what"]["data"]["error"].as_str())
        .any(|e| e.contains("timed out after"));
    assert!(hung, "no request of the pool hung until its timeout");
    let _ = std::fs::remove_dir_all(dir);
}

/// A client that caches forever never leaves the failed region: `plan` says
/// the rto cannot be met by every customer (and `--strict` refuses), and
/// the run ends at its timeout with customers never recovered.
#[test]
fn a_client_that_caches_forever_never_recovers_and_plan_says_so() {
    let dir = scratch("client-forever");
    let path = scenario(
        &dir,
        &[
            (
                "jvm",
                r#"{ class = "cached", cache_for = "forever" }
rto = "15s""#,
            ),
            ("pool", r#"{ class = "pooled" }"#),
        ],
        "3s",
        "9s",
    );
    let plan = gameday()
        .arg("plan")
        .arg(&path)
        .arg("--strict")
        .output()
        .unwrap();
    assert_eq!(plan.status.code(), Some(2), "{}", explain(&plan));
    let said = String::from_utf8_lossy(&plan.stdout);
    assert!(
        said.contains("warning: rto 20s cannot be met by every customer: the cached client of probe jvm caches the answer forever, ignoring the TTL: it is never served by the secondary")
            && said.contains("warning: rto (jvm) 15s cannot be met: its client keeps the old answer forever")
            && said.contains("Objectives: rto 20s, rpo 0s, max_detection 5s, max_dns_flip 5s, rto (jvm) 15s"),
        "{said}"
    );
    let reports = dir.join("reports");
    let out = run_file(&path, &reports, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", explain(&out));
    let report = only_report(&reports);
    assert_eq!(report["phases"]["recovered"]["value_ms"], Value::Null);
    let jvm = observations(&report, "jvm");
    assert!(jvm.len() > 50, "{} observations", jvm.len());
    assert_eq!(first_on_secondary(&jvm), None, "it left the primary");
    // A kept connection to an ALB answering 503 is never replaced.
    let pool = observations(&report, "pool");
    assert!(pool.len() > 50, "{} observations", pool.len());
    assert_eq!(first_on_secondary(&pool), None, "the pool left the primary");
    let own = figures(&report, "jvm");
    assert_eq!(own["on_secondary"]["note"], "never served by the secondary");
    let judged = own_verdict(&report, "jvm");
    assert_eq!(judged["status"], "breached");
    assert_eq!(judged["measured_ms"], Value::Null);
    assert_eq!(own["recovered"]["value_ms"], Value::Null);
    let fresh = figures(&report, "customer");
    assert!(fresh["recovered"]["value_ms"].as_f64().is_some(), "{fresh}");
    let _ = std::fs::remove_dir_all(dir);
}
