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

fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        // A run that rewrites goldens never passes: review the diff, then run
        // again without UPDATE_GOLDEN.
        panic!(
            "UPDATE_GOLDEN: rewrote {}; review `git diff tests/golden` and run again without it",
            path.display()
        );
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden {}; run with UPDATE_GOLDEN=1",
            path.display()
        )
    });
    assert!(expected == actual, "{name} differs from its golden file; if the change is intended, rerun with UPDATE_GOLDEN=1\n--- actual\n{actual}");
}

#[test]
fn text_formats_match_their_golden_files() {
    for f in FIXTURES {
        for (format, ext) in [
            ("md", "md"),
            ("junit", "xml"),
            ("table", "txt"),
            ("html", "html"),
        ] {
            golden(&format!("{f}.{ext}"), &render(f, format));
        }
    }
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

fn chromium() -> Option<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

fn headless(browser: &Path, profile: &Path) -> Command {
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    c.arg(format!("--user-data-dir={}", profile.display()));
    c
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
