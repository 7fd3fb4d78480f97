//! `gameday history` over a folder of synthetic reports: it flags the
//! regression it should and not the ones it should not, and draws the
//! fleet page (checked in headless Chromium).

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;

/// Writes a run of `scenario` started `day` days in, with the given figures (ms).
fn synthetic(dir: &Path, scenario: &str, day: i64, rto: Option<f64>, detection: f64) {
    let mut r: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/report-fail-primary-database.json"))
            .unwrap(),
    )
    .unwrap();
    let run_id = format!("{scenario}-day{day:02}");
    r["run_id"] = run_id.clone().into();
    r["scenario"]["name"] = scenario.into();
    r["started_at"] = chrono::DateTime::from_timestamp(1_790_000_000 + day * 86_400, 0)
        .unwrap()
        .to_rfc3339()
        .into();
    r["phases"]["rto_observed"]["value_ms"] = rto.map(Value::from).unwrap_or(Value::Null);
    r["phases"]["detection"]["value_ms"] = detection.into();
    let run = dir.join(&run_id);
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("report.json"), r.to_string()).unwrap();
}

fn history(dir: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = gameday()
        .arg("history")
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn flags_the_regression_it_should_and_not_the_others() {
    let dir = scratch("history");
    // steady: small noise, newest within 20% -> no flag.
    for (day, rto) in [
        (1, 3400.0),
        (2, 3500.0),
        (3, 3450.0),
        (4, 3480.0),
        (5, 3900.0),
    ] {
        synthetic(&dir, "steady", day, Some(rto), 2970.0);
    }
    // slower: newest rto 60% over the median -> flagged; detection unchanged.
    for (day, rto) in [(1, 3400.0), (2, 3500.0), (3, 3450.0), (4, 5600.0)] {
        synthetic(&dir, "slower", day, Some(rto), 2970.0);
    }
    // faster: newest better -> never flagged.
    for (day, rto) in [(1, 3400.0), (2, 3500.0), (3, 2000.0)] {
        synthetic(&dir, "faster", day, Some(rto), 2970.0);
    }
    // the old regression is not the newest run any more -> not flagged.
    for (day, rto) in [(1, 3400.0), (2, 9000.0), (3, 3450.0)] {
        synthetic(&dir, "recovered", day, Some(rto), 2970.0);
    }
    // never recovered on the newest run -> flagged.
    for (day, rto) in [(1, Some(3400.0)), (2, Some(3500.0)), (3, None)] {
        synthetic(&dir, "broken", day, rto, 2970.0);
    }
    // A stray file is skipped, not fatal.
    std::fs::create_dir_all(dir.join("junk")).unwrap();
    std::fs::write(dir.join("junk/report.json"), "not json").unwrap();

    let (code, json) = history(&dir, &["--format", "json"]);
    assert_eq!(code, Some(0));
    let h: Value = serde_json::from_str(&json).unwrap();
    let flagged: Vec<(String, String)> = h["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["regressions"].as_array().unwrap().iter().map(move |r| {
                (
                    s["scenario"].as_str().unwrap().to_string(),
                    r["figure"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect();
    assert_eq!(
        flagged,
        vec![
            ("broken".to_string(), "rto_observed".to_string()),
            ("slower".to_string(), "rto_observed".to_string())
        ]
    );
    let slower = h["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scenario"] == "slower")
        .unwrap();
    assert_eq!(slower["previous_median"]["rto_observed"], 3450.0);
    assert_eq!(h["skipped"].as_array().unwrap().len(), 1);

    let (code, table) = history(&dir, &[]);
    assert_eq!(
        code,
        Some(0),
        "without --fail-on-regression history only reports"
    );
    assert!(
        table.contains("REGRESSION slower: rto_observed is 5.60s vs a median of 3.45s (+62%)"),
        "{table}"
    );
    let (code, md) = history(&dir, &["--format", "md", "--fail-on-regression"]);
    assert_eq!(code, Some(1));
    assert!(
        md.contains("## Regressions") && md.contains("**slower**"),
        "{md}"
    );

    // A looser threshold lets the 62% through; only the broken run remains.
    let (code, json) = history(
        &dir,
        &[
            "--format",
            "json",
            "--threshold",
            "1.0",
            "--fail-on-regression",
        ],
    );
    assert_eq!(code, Some(1));
    let h: Value = serde_json::from_str(&json).unwrap();
    let n: usize = h["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["regressions"].as_array().unwrap().len())
        .sum();
    assert_eq!(n, 1);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn no_regression_exits_0_even_with_fail_on_regression() {
    let dir = scratch("history-clean");
    for day in 1..=3 {
        synthetic(&dir, "steady", day, Some(3400.0), 2970.0);
    }
    let (code, out) = history(&dir, &["--fail-on-regression"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("no regression"));
    let (code, _) = history(&dir.join("missing"), &[]);
    assert_eq!(code, Some(2));
    let _ = std::fs::remove_dir_all(dir);
}

/// Every `href` of a page.
fn hrefs(dom: &str) -> Vec<String> {
    dom.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

/// A fleet as its workflow's last job downloads it into `dir/artifacts`:
/// one artifact per scenario and account, each with its reports folder.
/// checkout-api steady, orders-db regressed (with its report.html), search
/// missing rto once; one checkout-api run carried into a second artifact.
fn downloaded_fleet(dir: &Path) -> std::path::PathBuf {
    let artifact = |name: &str| {
        dir.join("artifacts")
            .join(format!("gameday-reports-{name}"))
            .join("reports")
    };
    for day in 1..=4 {
        synthetic(
            &artifact("checkout-api"),
            "checkout-api",
            day,
            Some(3400.0 + day as f64),
            2970.0,
        );
    }
    for (day, rto) in [(1, 3400.0), (2, 3500.0), (3, 3450.0), (4, 5600.0)] {
        synthetic(&artifact("orders-db"), "orders-db", day, Some(rto), 2970.0);
    }
    for (day, rto) in [(1, Some(3000.0)), (2, None), (3, Some(3100.0))] {
        synthetic(&artifact("search"), "search", day, rto, 2970.0);
    }
    // History carried between nights: a run present in two artifacts counts once.
    synthetic(
        &artifact("orders-db"),
        "checkout-api",
        1,
        Some(3401.0),
        2970.0,
    );
    // The newest regressed run has its report.html beside report.json.
    let newest = artifact("orders-db").join("orders-db-day04");
    let html = gameday()
        .args(["report", "--format", "html"])
        .arg(newest.join("report.json"))
        .output()
        .unwrap();
    assert_eq!(html.status.code(), Some(0), "{}", explain(&html));
    std::fs::write(newest.join("report.html"), &html.stdout).unwrap();

    dir.join("artifacts")
}

/// What Chromium parsed of the fleet page at `url`; links resolve from `out_dir`.
fn check_fleet_dom(browser: &Path, dir: &Path, url: &str, out_dir: &Path) {
    let dom = headless(browser, &dir.join("profile"))
        .args(["--dump-dom", url])
        .output()
        .unwrap();
    assert!(dom.status.success(), "{}", explain(&dom));
    let dom = String::from_utf8_lossy(&dom.stdout);
    // Three scenarios, one card each; only orders-db regressed.
    assert_eq!(dom.matches("<div class=\"card").count(), 3, "{dom}");
    assert_eq!(
        dom.matches("<div class=\"card regressed\" id=\"s-orders-db\"")
            .count(),
        1
    );
    assert!(
        dom.contains("REGRESSION: rto_observed is 5.60s vs a median of 3.45s (+62%)"),
        "{dom}"
    );
    assert!(dom.contains("3 scenarios, 11 runs; 1 regressed"), "{dom}");
    // A sparkline per figure and scenario; the regressed one marked.
    assert_eq!(dom.matches("data-figure=").count(), 12);
    assert_eq!(
        dom.matches("class=\"spark regressed\" data-figure=\"rto_observed\"")
            .count(),
        1
    );
    // search's second run did not observe rto: a gap and a mark.
    assert!(dom.contains("class=\"missing\""), "{dom}");
    // Every link resolves to a file; the regressed run's goes to its report.html.
    let links: Vec<String> = hrefs(&dom)
        .into_iter()
        .filter(|h| !h.starts_with('#'))
        .collect();
    assert_eq!(links.len(), 3 + 11, "{links:?}");
    for link in &links {
        assert!(
            out_dir.join(link).is_file(),
            "{link} does not resolve from {}",
            out_dir.display()
        );
    }
    assert!(
        links.contains(
            &"../artifacts/gameday-reports-orders-db/reports/orders-db-day04/report.html"
                .to_string()
        ),
        "{links:?}"
    );
}

/// A screenshot of the page with real content (a blank page is a few KB).
fn check_fleet_screenshot(browser: &Path, dir: &Path, url: &str) {
    let shot = dir.join("fleet.png");
    let out = headless(browser, &dir.join("profile"))
        .args([
            "--window-size=1200,1600",
            &format!("--screenshot={}", shot.display()),
            url,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", explain(&out));
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 40_000,
        "the screenshot is only {size} bytes; the page did not render"
    );
}

#[test]
fn the_fleet_page_shows_three_scenarios_flags_the_regression_and_links_every_report() {
    let Some(browser) = chromium() else {
        skip(
            &test_name(),
            "no Chromium on this machine (apt-get install chromium)",
        );
        return;
    };
    let dir = scratch("history-fleet");
    let artifacts = downloaded_fleet(&dir);
    let out_dir = dir.join("site");
    std::fs::create_dir_all(&out_dir).unwrap();
    let index = out_dir.join("index.html");
    let (code, table) = history(&artifacts, &["--html", index.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{table}");
    assert!(table.contains("checkout-api (4 runs)"), "{table}");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&index).unwrap().mode() & 0o777, 0o600);

    let url = format!("file://{}", index.display());
    check_fleet_dom(&browser, &dir, &url, &out_dir);
    check_fleet_screenshot(&browser, &dir, &url);
    let _ = std::fs::remove_dir_all(dir);
}
