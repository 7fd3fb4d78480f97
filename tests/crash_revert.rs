//! A game day must never leave damage behind. The runner is SIGKILLed at each
//! step of a run against a standing lab (so the damage outlives it); then
//! `gameday revert` must put the lab back exactly as it was, and running it
//! again must be harmless.

mod common;
use common::*;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Every point a run can die at: journal written but change not made; change
/// made but not journaled; mid-observation; undo journaled but not made.
const KILL_POINTS: [&str; 4] = [
    "after-intent",
    "after-apply",
    "observing",
    "after-undo-intent",
];

/// The waits these tests need on top of the shared standing lab.
trait Steady {
    fn await_healthy(&self);
}

impl Steady for StandingLab {
    /// Waits until the lab is steady again: every target back in service (a
    /// re-registered target must pass its checks first) and both regions healthy.
    fn await_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let healthy = rt()
                .block_on(self.client.health())
                .is_ok_and(|h| h.iter().all(|r| r.healthy));
            let serving = rt().block_on(self.client.describe()).is_ok_and(|d| {
                d.regions
                    .iter()
                    .flat_map(|r| &r.targets)
                    .all(gameday::lab::control::in_service)
            });
            if healthy && serving {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("the lab did not become healthy again");
    }
}

fn gameday_in(reports: &Path, args: &[&str]) -> std::process::Output {
    gameday()
        .current_dir(root())
        .args(args)
        .arg(reports)
        .output()
        .unwrap()
}

/// Runs a shipped scenario against `lab`, to be SIGKILLed at `point`.
fn run_until_killed(
    lab: &StandingLab,
    scenario: &str,
    point: &str,
    reports: &Path,
) -> std::process::Output {
    run_with_failpoints(lab, scenario, &crash_at(point), reports)
}

fn run_with_failpoints(
    lab: &StandingLab,
    scenario: &str,
    failpoints: &str,
    reports: &Path,
) -> std::process::Output {
    gameday()
        .current_dir(root())
        .env("FAILPOINTS", failpoints)
        .args([
            "run",
            &format!("scenarios/{scenario}.toml"),
            "--no-progress",
            "--attach",
            &lab.addr(),
            "--lab-token",
            lab.token(),
            "--reports",
        ])
        .arg(reports)
        .output()
        .unwrap()
}

fn kill_and_revert(scenario: &str, tag: &str) -> usize {
    let lab = StandingLab::start(&[]);
    let pristine = lab.configuration();
    let mut restored = 0;
    for point in KILL_POINTS {
        let reports = scratch(&format!("crash-{tag}-{point}"));
        let out = run_until_killed(&lab, scenario, point, &reports);
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGKILL),
            "{point}: the run should have died: {}",
            explain(&out)
        );
        if point != "after-intent" {
            assert_ne!(
                lab.configuration(),
                pristine,
                "{point}: the fault should still be in place"
            );
        }
        // The dead run still holds the lab's lease; its journal owes the release.
        let dead = run_id_in(&reports);
        let lease = lab.lease();
        assert_eq!(lease.map(|l| l.run_id), Some(dead.clone()), "{point}");
        let status = gameday_in(&reports, &["status"]);
        let listed = String::from_utf8_lossy(&status.stdout);
        assert!(
            listed.contains("pending undo")
                && listed.contains(&format!("lease: release the lab's lease of run {dead}")),
            "{point}: status does not list the run and its lease: {listed}"
        );

        let revert = gameday_in(&reports, &["revert"]);
        assert_eq!(
            revert.status.code(),
            Some(0),
            "{point}: {}",
            explain(&revert)
        );
        assert_eq!(
            lab.configuration(),
            pristine,
            "{point}: revert did not restore the lab"
        );
        let lease = lab.lease();
        assert_eq!(lease, None, "{point}: revert left the dead run's lease");
        // Twice is harmless, and nothing is pending any more.
        let again = gameday_in(&reports, &["revert"]);
        assert_eq!(again.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to revert"));
        assert!(
            String::from_utf8_lossy(&gameday_in(&reports, &["status"]).stdout).contains("no run")
        );
        assert_eq!(lab.configuration(), pristine);
        lab.await_healthy();
        restored += 1;
        let _ = std::fs::remove_dir_all(reports);
    }
    restored
}

#[test]
fn every_kill_point_of_a_region_outage_is_reverted() {
    assert_eq!(
        kill_and_revert("primary-region-outage", "outage"),
        KILL_POINTS.len()
    );
}

#[test]
fn every_kill_point_of_a_target_deregistration_is_reverted() {
    assert_eq!(
        kill_and_revert("kill-primary-targets", "targets"),
        KILL_POINTS.len()
    );
}

/// A run that dies while observing leaves its timeline, up to its last
/// tick, beside its journal: what the customers saw before it died is
/// evidence, and the revert still finishes from the journal.
#[test]
fn a_run_killed_while_observing_leaves_its_timeline_beside_its_journal() {
    use std::os::unix::fs::PermissionsExt;
    let lab = StandingLab::start(&[]);
    let pristine = lab.configuration();
    let reports = scratch("crash-timeline");
    // Dies at the eleventh tick of observing, about a second after t0.
    let out = run_with_failpoints(
        &lab,
        "kill-primary-targets",
        "observing=10*off->return",
        &reports,
    );
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGKILL),
        "{}",
        explain(&out)
    );
    let run = only_run_dir(&reports);
    let path = run.join("timeline.jsonl");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", path.display());
    let entries: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line written is whole"))
        .collect();
    let fault = entries
        .iter()
        .find(|e| e["what"]["data"]["name"] == "fault-applied")
        .expect("the fault on the dead run's timeline")["at"]
        .as_u64()
        .unwrap();
    let after = entries
        .iter()
        .filter(|e| e["what"]["type"] == "observation" && e["at"].as_u64().unwrap() > fault)
        .count();
    assert!(after > 0, "no observation after the fault was kept");
    let revert = gameday_in(&reports, &["revert"]);
    assert_eq!(revert.status.code(), Some(0), "{}", explain(&revert));
    assert_eq!(lab.configuration(), pristine);
    lab.await_healthy();
    let _ = std::fs::remove_dir_all(reports);
}

#[test]
fn a_revert_that_dies_is_finished_by_the_next() {
    let lab = StandingLab::start(&[]);
    let pristine = lab.configuration();
    let reports = scratch("crash-during-revert");
    let out = run_until_killed(&lab, "sever-primary-az", "after-apply", &reports);
    assert_eq!(out.status.signal(), Some(libc::SIGKILL));
    let dying = gameday()
        .current_dir(root())
        .env("FAILPOINTS", crash_at("revert-after-undo-intent"))
        .arg("revert")
        .arg(&reports)
        .output()
        .unwrap();
    assert_eq!(dying.status.signal(), Some(libc::SIGKILL));
    assert_ne!(
        lab.configuration(),
        pristine,
        "the dying revert made no change"
    );
    let revert = gameday_in(&reports, &["revert"]);
    assert_eq!(revert.status.code(), Some(0), "{}", explain(&revert));
    assert_eq!(lab.configuration(), pristine);
    let _ = std::fs::remove_dir_all(reports);
}

#[test]
fn a_revert_that_cannot_reach_the_lab_exits_4() {
    let reports = scratch("crash-no-lab");
    let lab = StandingLab::start(&[]);
    let out = run_until_killed(&lab, "sever-primary-az", "after-apply", &reports);
    assert_eq!(out.status.signal(), Some(libc::SIGKILL));
    drop(lab);
    let revert = gameday_in(&reports, &["revert"]);
    assert_eq!(revert.status.code(), Some(4), "{}", explain(&revert));
    let stderr = String::from_utf8_lossy(&revert.stderr);
    assert!(
        stderr.contains("revert incomplete") && stderr.contains("journal.jsonl"),
        "{stderr}"
    );
    // Still pending: a person can retry once the lab is back.
    assert!(
        String::from_utf8_lossy(&gameday_in(&reports, &["status"]).stdout).contains("pending undo")
    );
    let _ = std::fs::remove_dir_all(reports);
}
