//! Guards refuse before anything runs; stop conditions and the hard deadline
//! end a run early, revert everything and exit 3.

mod common;

use chrono::{Datelike, Utc};
use common::Replaced;
use common::*;

/// A shipped scenario with extra top-level keys and tables appended.
fn variant(name: &str, base: &str, top: &str, tables: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(root().join(format!("scenarios/{base}.toml"))).unwrap();
    // Top-level keys must come before the first table.
    let (head, rest) = text.split_at(text.find("\n[").unwrap() + 1);
    let dir = scratch(&format!("variant-{name}"));
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, format!("{head}{top}\n{rest}\n{tables}\n")).unwrap();
    path
}

#[test]
fn outside_its_window_a_game_day_is_refused_unless_deliberately_overridden() {
    // A window on another day of the week than today.
    let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let other = days[(Utc::now().weekday().num_days_from_monday() as usize + 3) % 7];
    let path = variant(
        "window",
        "kill-primary-targets",
        "",
        &format!("[guards]\nwindows = [\"{other}:02:00-{other}:05:00\"]\n"),
    );
    let reports = scratch("window-reports");
    let out = run_file(&path, &reports, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("outside the allowed windows") && stderr.contains("--ignore-window"),
        "{stderr}"
    );
    assert!(
        std::fs::read_dir(&reports).unwrap().next().is_none(),
        "nothing may run outside the window"
    );

    let out = run_file(&path, &reports, &["--ignore-window"]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let report = only_report(&reports);
    assert!(report["environment"]["ignored_window"]
        .as_str()
        .unwrap()
        .contains("outside the allowed windows"));
    let md = std::fs::read_to_string(only_run_dir(&reports).join("report.md")).unwrap();
    assert!(md.contains("--ignore-window"));
}

#[test]
fn a_blocked_date_is_refused() {
    // Yesterday, today and tomorrow (UTC): refused whichever day the run
    // starts on, even when the test crosses midnight.
    let today = Utc::now().date_naive();
    let days: Vec<String> = [today.pred_opt(), Some(today), today.succ_opt()]
        .into_iter()
        .flatten()
        .map(|d| format!("\"{}\"", d.format("%Y-%m-%d")))
        .collect();
    let path = variant(
        "blocked",
        "kill-primary-targets",
        "",
        &format!("[guards]\nblocked_dates = [{}]\n", days.join(", ")),
    );
    let reports = scratch("blocked-reports");
    let out = run_file(&path, &reports, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is a blocked date; pass --ignore-window")
            && days.iter().any(|d| stderr.contains(d.trim_matches('"'))),
        "{stderr}"
    );
    assert!(
        std::fs::read_dir(&reports).unwrap().next().is_none(),
        "nothing may run on a blocked date"
    );
}

#[test]
fn a_stop_condition_aborts_reverts_and_exits_3() {
    // Canary writes fail for ~4 s in a region outage: more than 1 s stops the run.
    let path = variant(
        "stop",
        "primary-region-outage",
        "",
        "[[stop_conditions]]\nkind = \"canary-failing\"\nlonger_than = \"1s\"\n",
    );
    let reports = scratch("stop-reports");
    let out = run_file(&path, &reports, &[]);
    let (report, _) = common::assert_aborted(&out, &reports);
    assert!(
        report["reason"]
            .as_str()
            .unwrap()
            .starts_with("stop condition canary-failing: canary writes have failed for"),
        "{}",
        report["reason"]
    );
    assert_eq!(report["revert"]["complete"], true);
}

#[test]
fn an_error_rate_on_the_failing_region_stops_the_run() {
    let path = variant(
        "error-rate",
        "kill-primary-targets",
        "",
        "[[stop_conditions]]\nkind = \"error-rate\"\nprobe = \"customer\"\nregion = \"primary\"\nabove = 0.5\nover = \"1s\"\n",
    );
    let reports = scratch("error-rate-reports");
    let out = run_file(&path, &reports, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", explain(&out));
    let report = only_report(&reports);
    assert!(
        report["reason"]
            .as_str()
            .unwrap()
            .contains("customer failed")
            && report["reason"]
                .as_str()
                .unwrap()
                .contains("to me-central-1"),
        "{}",
        report["reason"]
    );
    assert_eq!(report["revert"]["complete"], true);
}

#[test]
fn the_hard_deadline_reverts_whatever_is_happening() {
    // Baseline 2 s, then the outage; max_duration 5 s ends it before recovery.
    let path = variant(
        "deadline",
        "primary-region-outage",
        "max_duration = \"5s\"",
        "",
    );
    let reports = scratch("deadline-reports");
    let started = std::time::Instant::now();
    let out = run_file(&path, &reports, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", explain(&out));
    let report = only_report(&reports);
    assert_eq!(report["reason"], "max_duration 5s passed");
    assert_eq!(report["revert"]["complete"], true);
    assert!(started.elapsed().as_secs() < 15);
}

#[test]
fn both_regions_unhealthy_is_flagged_fail_open_never_a_successful_failover() {
    // Every target of both regions gone: both unhealthy, and DNS fails open to the primary.
    let path = variant(
        "fail-open",
        "kill-primary-targets",
        "",
        "[[faults]]\nkind = \"deregister-targets\"\nregion = \"secondary\"\nselection = \"all\"\n",
    );
    let original = std::fs::read_to_string(&path).unwrap();
    let text = original.replaced("timeout = \"30s\"", "timeout = \"7s\"");
    assert_ne!(text, original, "the scenario's timeout line changed");
    std::fs::write(&path, text).unwrap();
    let reports = scratch("fail-open-reports");
    let out = run_file(&path, &reports, &[]);
    let report = only_report(&reports);
    // Nobody is served again (DNS fails open to a primary with no targets):
    // the timeout ends the run, exit 3 as the README's table says, and the
    // verdict still says the secondary was never proven.
    assert_eq!(out.status.code(), Some(3), "{}", explain(&out));
    assert_eq!(report["outcome"], "aborted", "{}", explain(&out));
    assert_eq!(
        report["reason"],
        "timeout: not recovered and stable 7s after t0",
        "{}",
        explain(&out)
    );
    let flag = report["phases"]["fail_open"]
        .as_str()
        .expect("fail-open flagged");
    assert!(flag.contains("the secondary was not proven"), "{flag}");
    let proven = report["verdict"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["objective"] == "secondary_proven")
        .expect("judged");
    assert_eq!(proven["status"], "breached");
    assert_eq!(report["revert"]["complete"], true);
    // A healthy failover is not flagged.
    let reports = scratch("no-fail-open-reports");
    let out = run_scenario("kill-primary-targets", &reports, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert!(only_report(&reports)["phases"].get("fail_open").is_none());
}

#[test]
fn strict_refuses_objectives_below_their_floor() {
    let out = gameday()
        .current_dir(root())
        .args(["validate", "--strict", "scenarios/too-tight-rto.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rto 2s is below the floor of 3.50s: health check 1s x 3"),
        "{stderr}"
    );
    let out = gameday()
        .current_dir(root())
        .args(["validate", "scenarios/too-tight-rto.toml"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "without --strict it is a warning"
    );
    let out = gameday()
        .current_dir(root())
        .args(["plan", "--strict", "scenarios/too-tight-rto.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("rto        floor    3.50s | objective 2s")
    );
    for ok in [
        "kill-primary-targets",
        "sever-primary-az",
        "fail-primary-database",
        "primary-region-outage",
    ] {
        let out = gameday()
            .current_dir(root())
            .args(["plan", "--strict", &format!("scenarios/{ok}.toml")])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{ok}: {}", explain(&out));
    }
}
