//! The customers' load (`[load]`) on the lab: arrivals at the declared rate
//! whatever the answers, through the customers' path, through a failover.
//! The timeline file is read here, line by line, to check the report's
//! figures.

mod common;
use common::*;
use serde_json::Value;

/// kill-primary-targets under 200 requests a second: the ALB's 503s fail
/// the load until DNS has flipped and the TTL has run out, then the
/// secondary serves it; the generator holds its rate through it.
#[test]
fn the_load_holds_its_rate_through_a_failover_and_counts_what_failed() {
    let dir = scratch("load");
    let shipped =
        std::fs::read_to_string(root().join("scenarios/kill-primary-targets.toml")).unwrap();
    let path = dir.join("load.toml");
    std::fs::write(
        &path,
        format!("{shipped}\n[load]\nrate = \"200/s\"\ncap = \"250/s\"\nduration = \"1m\"\ntimeout = \"1s\"\n"),
    )
    .unwrap();
    let plan = gameday()
        .current_dir(root())
        .arg("plan")
        .arg(&path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&plan.stdout);
    assert!(
        said.contains("load (load, every 1000 ms): 200 requests a second (open model: arrivals do not wait for answers; cap 250/s), for at most 1m (at most 12000 requests)"),
        "{said}"
    );
    let reports = dir.join("reports");
    let out = run_file(&path, &reports, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let report = only_report(&reports);
    let load = &report["phases"]["load"];
    let held = load["held"]["mean"].as_f64().unwrap();
    assert!((held - 200.0).abs() < 10.0, "held {held}/s");
    // What the timeline file says, summed here.
    let seconds: Vec<&Value> = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "load")
        .map(|e| &e["what"]["data"])
        .collect();
    let sum = |k: &str| {
        seconds
            .iter()
            .map(|s| s[k].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    assert_eq!(load["sent"].as_u64(), Some(sum("sent")));
    assert_eq!(load["failed"].as_u64(), Some(sum("failed")));
    assert_eq!(sum("sent"), sum("ok") + sum("failed") + sum("unanswered"));
    // Until the flip and a TTL, the primary's ALB answered 503.
    let flip = report["phases"]["dns_flip"]["value_ms"].as_f64().unwrap();
    let failed = load["failed_after_t0"].as_u64().unwrap();
    assert!(
        failed as f64 > 200.0 * flip / 1000.0 * 0.5,
        "{failed} failed, flip at {flip} ms"
    );
    let rows = load["seconds"].as_array().unwrap();
    let recovered = report["phases"]["recovered"]["value_ms"].as_f64().unwrap();
    assert!(
        rows.iter()
            .filter(|s| s["from_ms"].as_f64().unwrap() > recovered + 2000.0)
            .all(|s| s["failed"] == 0),
        "failures after recovery: {rows:?}"
    );
    let run = only_run_dir(&reports);
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("Load: 200/s declared; sent "), "{md}");
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.contains("aria-label=\"load error rate\""));
    let _ = std::fs::remove_dir_all(dir);
}
