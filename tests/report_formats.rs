//! Every report format renders from the same saved report.json (real runs kept
//! in tests/fixtures/); deterministic formats are compared with golden files.
//! Regenerate the goldens with `UPDATE_GOLDEN=1 scripts/test --test report_formats`.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const FIXTURES: [&str; 2] = ["fail-primary-database", "too-tight-rto"];

fn render(fixture: &str, format: &str) -> String {
    let out = gameday()
        .current_dir(root())
        .args([
            "report",
            &format!("tests/fixtures/report-{fixture}.json"),
            "--format",
            format,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// Compares `actual` with the golden file `name`; under UPDATE_GOLDEN
/// rewrites it instead and returns its path.
fn golden(name: &str, actual: &str) -> Option<PathBuf> {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return Some(path);
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden {}; run with UPDATE_GOLDEN=1",
            path.display()
        )
    });
    assert!(expected == actual, "{name} differs from its golden file; if the change is intended, rerun with UPDATE_GOLDEN=1\n--- actual\n{actual}");
    None
}

#[test]
fn text_formats_match_their_golden_files() {
    let mut rewritten = Vec::new();
    for f in FIXTURES {
        for (format, ext) in [
            ("md", "md"),
            ("junit", "xml"),
            ("table", "txt"),
            ("html", "html"),
            ("metrics", "prom"),
        ] {
            rewritten.extend(golden(&format!("{f}.{ext}"), &render(f, format)));
        }
    }
    // A run that rewrites goldens never passes: review the diff, then run
    // again without UPDATE_GOLDEN.
    assert!(
        rewritten.is_empty(),
        "UPDATE_GOLDEN: rewrote {rewritten:?}; review `git diff tests/golden` and run again without it"
    );
}

/// Whether every field of `original` is in `rendered` with the same value
/// (fields added since the report was written are fine).
fn contains_all(
    original: &serde_json::Value,
    rendered: &serde_json::Value,
    path: &str,
) -> Result<(), String> {
    use serde_json::Value;
    match (original, rendered) {
        (Value::Object(o), Value::Object(r)) => o.iter().try_for_each(|(k, v)| match r.get(k) {
            Some(rv) => contains_all(v, rv, &format!("{path}.{k}")),
            None => Err(format!("{path}.{k} was dropped")),
        }),
        (Value::Array(o), Value::Array(r)) if o.len() == r.len() => o
            .iter()
            .zip(r)
            .enumerate()
            .try_for_each(|(i, (a, b))| contains_all(a, b, &format!("{path}[{i}]"))),
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!("{path} changed from {a} to {b}")),
    }
}

#[test]
fn json_round_trips_the_saved_report() {
    // The fixtures were written by an earlier build: schema v1 reports stay readable.
    for f in FIXTURES {
        let original: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(root().join(format!("tests/fixtures/report-{f}.json")))
                .unwrap(),
        )
        .unwrap();
        let rendered: serde_json::Value = serde_json::from_str(&render(f, "json")).unwrap();
        if let Err(e) = contains_all(&original, &rendered, "report") {
            panic!("{f}: re-rendered JSON lost or changed data: {e}");
        }
    }
}

#[test]
fn junit_has_one_case_per_objective_and_one_for_the_revert() {
    let xml = render("too-tight-rto", "junit");
    assert_eq!(xml.matches("<testsuite ").count(), 1, "{xml}");
    // rto, rpo, max_detection, reverted cleanly.
    assert_eq!(xml.matches("<testcase ").count(), 4, "{xml}");
    assert_eq!(xml.matches("<failure").count(), 2, "{xml}");
    // Measured vs declared, with the resolution.
    let rto = xml
        .lines()
        .find(|l| l.contains("<failure message=\"rto: measured "))
        .expect("rto failure");
    assert!(rto.contains(" ±100ms, declared 2.00s: breached"), "{rto}");
    assert!(xml.contains("name=\"reverted cleanly\""));
    let xml = render("fail-primary-database", "junit");
    assert_eq!(xml.matches("<failure").count(), 0, "{xml}");
    assert!(xml.contains("failures=\"0\""), "{xml}");
}

#[test]
fn html_is_self_contained() {
    for f in FIXTURES {
        let html = render(f, "html");
        for forbidden in ["<script", "<link", " src=", "@import", "url("] {
            assert!(
                !html.contains(forbidden),
                "{f}: report.html must not load anything ({forbidden})"
            );
        }
        assert!(html.contains("<svg") && html.contains("t0: fault") && html.contains("Verdict"));
    }
}

#[test]
fn html_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        common::skip(
            "html_renders_in_headless_chromium",
            "no Chromium on this machine (apt-get install chromium)",
        );
        return;
    };
    let dir = scratch("chromium");
    for f in FIXTURES {
        let page = dir.join(format!("{f}.html"));
        std::fs::write(&page, render(f, "html")).unwrap();
        let url = format!("file://{}", page.display());
        // The DOM as Chromium parsed it: the timeline and the verdict are there.
        let dom = headless(&browser, &dir.join("profile"))
            .args(["--dump-dom", &url])
            .output()
            .unwrap();
        assert!(
            dom.status.success(),
            "chromium --dump-dom failed: {}",
            String::from_utf8_lossy(&dom.stderr)
        );
        let dom = String::from_utf8_lossy(&dom.stdout);
        assert!(
            dom.contains("<svg") && dom.contains("<rect") && dom.contains("Verdict"),
            "unexpected DOM for {f}"
        );
        // And a screenshot with real content (a blank page is a few KB).
        let shot = dir.join(format!("{f}.png"));
        let out = headless(&browser, &dir.join("profile"))
            .args([
                "--window-size=1400,1400",
                &format!("--screenshot={}", shot.display()),
                &url,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "chromium --screenshot failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
        assert!(
            size > 50_000,
            "{f}: screenshot is only {size} bytes; the page did not render"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unknown_or_broken_reports_are_refused() {
    let dir = scratch("broken-report");
    let garbage = dir.join("report.json");
    std::fs::write(&garbage, "{\"hello\": 1}").unwrap();
    let out = gameday().args(["report"]).arg(&garbage).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a gameday report.json"));
    let mut future: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/report-too-tight-rto.json")).unwrap(),
    )
    .unwrap();
    future["schema_version"] = 99.into();
    std::fs::write(&garbage, future.to_string()).unwrap();
    let out = gameday().args(["report"]).arg(&garbage).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("newer than this gameday understands"));
    let out = gameday()
        .args([
            "report",
            "tests/fixtures/report-too-tight-rto.json",
            "--format",
            "pdf",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(dir);
}

/// Parses an OpenMetrics file with `prometheus-client` (PyPI, installed by
/// scripts/test beside moto) with both of its parsers, OpenMetrics and the
/// Prometheus text format; returns {family: [unit, value]} from each.
fn parsed_by_prometheus_client(file: &Path) -> Option<(serde_json::Value, serde_json::Value)> {
    const SCRIPT: &str = r#"
import json, math, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
from prometheus_client.parser import text_string_to_metric_families as prom
text = open(sys.argv[1]).read()
def families(parse):
    out = {}
    for f in parse(text):
        for s in f.samples:
            assert s.labels["scenario"] == "kill-primary-targets", s.labels
            assert s.labels["environment"] == "lab", s.labels
            out[s.name] = [f.unit, None if math.isnan(s.value) else s.value]
    return out
print(json.dumps([families(om), families(prom)]))
"#;
    let out = Command::new(common::moto::python())
        .args(["-c", SCRIPT])
        .arg(file)
        .output()
        .ok()?;
    assert!(out.status.success(), "{}", explain(&out));
    let both: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    Some((both[0].clone(), both[1].clone()))
}

#[test]
fn a_run_s_metrics_file_parses_as_openmetrics_and_prometheus_text_with_every_figure() {
    let dir = scratch("metrics-file");
    let reports = dir.join("reports");
    let file = dir.join("gameday.prom");
    let out = run_scenario(
        "kill-primary-targets",
        &reports,
        &["--metrics-file", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o644);
    let Some((openmetrics, prometheus)) = parsed_by_prometheus_client(&file) else {
        skip(&test_name(), "prometheus-client (scripts/test installs it)");
        return;
    };
    // The same samples either way (the Prometheus text format has no units).
    let values = |parsed: &serde_json::Value| -> Vec<(String, serde_json::Value)> {
        let map = parsed.as_object().unwrap();
        map.iter().map(|(k, v)| (k.clone(), v[1].clone())).collect()
    };
    assert_eq!(
        values(&openmetrics),
        values(&prometheus),
        "the two parsers disagree"
    );
    let report = only_report(&reports);
    let phases = &report["phases"];
    for figure in [
        "detection",
        "dns_flip",
        "first_failure",
        "rto_observed",
        "downtime",
        "write_recovery",
        "rpo_observed",
    ] {
        let seconds = |v: &serde_json::Value| v.as_f64().map(|ms| ms / 1000.0);
        let sample = &openmetrics[format!("gameday_{figure}_seconds")];
        assert_eq!(sample[0], "seconds", "{figure}");
        let measured = seconds(&phases[figure]["value_ms"]).expect("observed");
        assert!(
            (sample[1].as_f64().unwrap() - measured).abs() < 1e-9,
            "{figure}: {sample}"
        );
        let resolution = &openmetrics[format!("gameday_{figure}_resolution_seconds")];
        assert_eq!(
            resolution[1].as_f64(),
            seconds(&phases[figure]["resolution_ms"])
        );
    }
    assert_eq!(
        openmetrics["gameday_lost_writes"][1],
        phases["lost_writes"]["count"]
    );
    assert_eq!(
        openmetrics["gameday_acked_writes"][1],
        phases["lost_writes"]["acked"]
    );
    assert_eq!(openmetrics["gameday_objectives_breached"][1], 0.0);
    assert_eq!(openmetrics["gameday_exit_code"][1], 0.0);
    assert_eq!(openmetrics["gameday_revert_complete"][1], 1.0);
    // Old runs export the same: `gameday report --format metrics`.
    assert_metrics_file_is_the_export(&reports, &file);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_metrics_file_that_cannot_be_written_is_a_warning_and_the_verdict_stands() {
    let dir = scratch("metrics-file-unwritable");
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let target = file.join("gameday.prom");
    let out = run_scenario(
        "kill-primary-targets",
        &dir.join("reports"),
        &["--metrics-file", target.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "gameday: warning: cannot write the metrics file {}: Not a directory (os error 20); the run's verdict and exit code are unchanged",
            target.display()
        )),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A fixture (schema 1, timeline inline) rewritten as schema 2 in `dir`:
/// `entries` go to `timeline.jsonl`, one per line, and report.json names it.
fn as_schema_2(
    fixture: &str,
    dir: &Path,
    edit: impl FnOnce(&mut Vec<serde_json::Value>),
) -> PathBuf {
    let mut r: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures").join(fixture)).unwrap(),
    )
    .unwrap();
    let mut timeline = r["timeline"].as_array().unwrap().clone();
    edit(&mut timeline);
    let lines: Vec<String> = timeline.iter().map(|e| e.to_string()).collect();
    std::fs::write(dir.join("timeline.jsonl"), lines.join("\n") + "\n").unwrap();
    r["schema_version"] = 2.into();
    r["timeline"] = serde_json::json!({"file": "timeline.jsonl", "entries": lines.len()});
    let path = dir.join("report.json");
    std::fs::write(&path, r.to_string()).unwrap();
    path
}

/// The HTML of a report, rendered by `gameday report`.
fn html_of(path: &Path) -> String {
    let out = gameday()
        .args(["report", "--format", "html"])
        .arg(path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// Schema 2 draws what schema 1 drew: the timeline read from its file
/// renders the same page as the same timeline inline.
#[test]
fn a_streamed_timeline_renders_as_the_inline_one_did() {
    let dir = scratch("html-streamed");
    let path = as_schema_2("report-fail-primary-database.json", &dir, |_| {});
    let streamed = html_of(&path);
    let inline = render("fail-primary-database", "html");
    assert_eq!(streamed, inline);
    let _ = std::fs::remove_dir_all(dir);
}

/// The timeline file a report names is input like any other: a name that
/// leaves the run folder is not opened, a symlink is not followed, a
/// missing or corrupt file is said, and what could be read is still drawn.
#[test]
fn a_timeline_file_outside_the_run_folder_a_symlink_or_a_bad_line_is_not_trusted() {
    let dir = scratch("html-untrusted");
    let path = as_schema_2("report-fail-primary-database.json", &dir, |_| {});
    let mut r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // The report naming `file` as its timeline, rendered.
    let mut naming = |file: &str| {
        r["timeline"]["file"] = file.into();
        std::fs::write(&path, r.to_string()).unwrap();
        html_of(&path)
    };
    let secret = dir.join("secret");
    std::fs::write(&secret, "{\"not\": \"an entry\"}\n").unwrap();
    assert!(
        naming(&secret.display().to_string())
            .contains("which is not a file name in its run folder"),
        "an absolute path was opened"
    );
    std::os::unix::fs::symlink(dir.join("timeline.jsonl"), dir.join("linked.jsonl")).unwrap();
    assert!(
        naming("linked.jsonl").contains("cannot read the timeline"),
        "a symlink was followed"
    );
    naming("timeline.jsonl");
    let lines = std::fs::read_to_string(dir.join("timeline.jsonl")).unwrap();
    let kept: Vec<&str> = lines.lines().take(100).collect();
    std::fs::write(
        dir.join("timeline.jsonl"),
        kept.join("\n") + "\n{\"at\": \"soon\"}\n",
    )
    .unwrap();
    let html = html_of(&path);
    assert!(
        html.contains("The timeline could not be read whole:</strong> ")
            && html.contains("timeline.jsonl:101: not a timeline entry"),
        "a bad line was not said"
    );
    assert!(html.contains("<rect"), "what was read is not drawn");
    std::fs::remove_file(dir.join("timeline.jsonl")).unwrap();
    assert!(html_of(&path).contains("cannot read the timeline"));
    let _ = std::fs::remove_dir_all(dir);
}

/// A long game day (100,000 customer observations: a steady run, one
/// failure, another steady run), read from its timeline file one line at a
/// time, draws as three marks in that lane: the page stays small, and the
/// lone failure and both transitions are still there.
#[test]
fn html_thins_long_identical_runs_and_keeps_every_failure() {
    let dir = scratch("html-long");
    let path = as_schema_2("report-too-tight-rto.json", &dir, |timeline| {
        timeline.retain(|e| e["source"] != "customer");
        for i in 0..100_000u64 {
            let ok = i != 50_000;
            timeline.push(serde_json::json!({
                "at": 1_000_000 + i * 100_000, "source": "customer",
                "what": {"type": "observation", "data": {
                    "probe": "http", "ok": ok, "status": if ok { 200 } else { 503 },
                    "region": "me-central-1", "latency_ns": 1_000_000}},
            }));
        }
        timeline.sort_by_key(|e| e["at"].as_u64().unwrap());
    });
    let html = html_of(&path);
    assert!(html.len() < 200_000, "{} bytes", html.len());
    assert!(html.contains("+0.001s to +5.001s: 50000 observations"));
    assert!(html.contains("<title>+5.001s FAILED 503 me-central-1</title>"));
    assert!(html.contains("+5.001s to +10.001s: 49999 observations"));
}
