//! When the runner's own disk fails it: the journal is the only record of
//! what to undo, so a journal that cannot be written before a change means
//! the change is not made (exit 3), and one that fails after a change means
//! the change is undone at once from memory and the run says so (exit 4).
//! A disk that fills up during the run spares the journal (it reserves its
//! room when made) and costs only the report (exit 5).
//!
//! Journal failures at each point come from the `journal-append` fault point
//! (every append from the Nth on fails with ENOSPC, as on a disk that filled
//! up); the full disk is a real 1 MiB tmpfs in a mount namespace of the
//! run's own. The lab's state is read from its control API, not from the
//! run's report.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Appends a run makes before its first change: run-start, the lease's
/// intent and applied.
const BEFORE_FIRST_CHANGE: usize = 3;

/// `FAILPOINTS` that lets `ok` journal appends through and fails every later one.
fn journal_fails_after(ok: usize) -> String {
    format!("journal-append={ok}*off->return")
}

fn kill_targets() -> PathBuf {
    root().join("scenarios/kill-primary-targets.toml")
}

/// Runs the scenario against `lab` with the journal failing after `ok` appends.
fn run_with_failing_journal(lab: &StandingLab, reports: &Path, ok: usize) -> Output {
    lab.spawn_run(&kill_targets(), reports, Some(journal_fails_after(ok)))
        .wait_with_output()
        .unwrap()
}

/// `gameday status` and `gameday revert` on `reports`: what status listed,
/// and revert's output.
fn status_then_revert(reports: &Path) -> (String, Output) {
    let status = gameday().arg("status").arg(reports).output().unwrap();
    assert_eq!(status.status.code(), Some(0), "{}", explain(&status));
    let revert = gameday().arg("revert").arg(reports).output().unwrap();
    (String::from_utf8_lossy(&status.stdout).into_owned(), revert)
}

fn nothing_pending(reports: &Path) {
    assert_nothing_pending(&gameday().arg("status").arg(reports).output().unwrap());
}

#[test]
fn a_journal_that_fails_before_the_first_change_aborts_and_changes_nothing() {
    let lab = StandingLab::start(&[]);
    let before = lab.configuration();
    let reports = scratch("journal-fails-before-change");
    let out = run_with_failing_journal(&lab, &reports, BEFORE_FIRST_CHANGE);
    assert_eq!(out.status.code(), Some(3), "{}", explain(&out));
    let report = only_report(&reports);
    let reason = report["reason"].as_str().unwrap();
    let journal = only_run_dir(&reports).join("journal.jsonl");
    assert_eq!(
        reason,
        format!(
            "cannot write the journal {}: No space left on device (os error 28); nothing was changed",
            journal.display()
        )
    );
    assert_eq!(
        change_events(&reports),
        vec!["run-start"],
        "a change was journaled"
    );
    assert_eq!(lab.configuration(), before, "the lab was changed");
    let lab_lease = lab.lease();
    assert!(lab_lease.is_none(), "the lease was left: {lab_lease:?}");
    // The lease was released, but the full disk kept the journal from
    // saying so: the report says it, status lists it, a revert clears it.
    assert_eq!(report["revert"]["complete"], true);
    let gaps = report["revert"]["unrecorded"].to_string();
    assert!(
        gaps.contains("could not record undo-intent of release"),
        "{gaps}"
    );
    let (listed, revert) = status_then_revert(&reports);
    assert!(listed.contains("1 pending undo(s)"), "{listed}");
    assert_eq!(revert.status.code(), Some(0), "{}", explain(&revert));
    nothing_pending(&reports);
    let _ = std::fs::remove_dir_all(reports);
}

#[test]
fn a_journal_that_fails_after_the_change_reverts_from_memory_and_exits_4() {
    let lab = StandingLab::start(&[]);
    let before = lab.configuration();
    // The journal fails at the change's `applied`, its `undo-intent`, its `undone`.
    for (ok, point) in [(4, "applied"), (5, "undo-intent"), (6, "undone")] {
        let reports = scratch(&format!("journal-fails-at-{point}"));
        let out = run_with_failing_journal(&lab, &reports, ok);
        let report = assert_revert_incomplete(&out, &reports);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let journal = only_run_dir(&reports).join("journal.jsonl");
        if point == "applied" {
            assert_eq!(
                report["reason"],
                format!(
                    "cannot write the journal {}: No space left on device (os error 28); step 1 was made and is undone from memory",
                    journal.display()
                )
            );
        }
        let unrecorded = format!(
            "the journal {} could not record {} of ",
            journal.display(),
            if point == "applied" {
                "undo-intent"
            } else {
                point
            }
        );
        assert!(stdout.contains(&unrecorded), "{point}: {stdout}");
        assert!(
            stdout.contains(&format!(
                "finish it with: gameday revert {}\n",
                reports.display()
            )),
            "{point}: {stdout}"
        );
        // Undone from memory: the lab is as it was, by its own account.
        assert_eq!(report["revert"]["undone"].as_array().unwrap().len(), 1);
        assert_eq!(
            lab.configuration(),
            before,
            "{point}: the lab was left changed"
        );
        // Once the disk has room, the printed command settles the journal.
        let (listed, revert) = status_then_revert(&reports);
        assert!(listed.contains("pending undo(s)"), "{point}: {listed}");
        assert_eq!(
            revert.status.code(),
            Some(0),
            "{point}: {}",
            explain(&revert)
        );
        nothing_pending(&reports);
        assert_eq!(lab.configuration(), before);
        let _ = std::fs::remove_dir_all(reports);
    }
}

#[test]
fn a_disk_that_fills_up_mid_run_spares_the_journal_and_costs_only_the_report() {
    if unsafe { libc::geteuid() } != 0 {
        skip(&test_name(), "mounting a tmpfs needs root");
        return;
    }
    let lab = StandingLab::start(&[]);
    let before = lab.configuration();
    let dir = scratch("disk-fills-mid-run");
    let mount = dir.join("disk");
    let kept = dir.join("kept");
    std::fs::create_dir_all(&mount).unwrap();
    let child = on_a_small_disk(&lab, &mount, &kept);
    // From its namespace's side: the disk fills once the journal exists.
    let inside = PathBuf::from(format!("/proc/{}/root{}", child.id(), mount.display()));
    wait_for_journal_in(&inside.join("reports"));
    fill(&inside.join("filler"));
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", explain(&out));
    let run = only_run_dir(&kept);
    let report_json = mount
        .join("reports")
        .join(run.file_name().unwrap())
        .join("report.json");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "gameday: cannot write the report {}: No space left on device",
            report_json.display()
        )) && stderr.contains("everything was put back"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("kill-primary-targets: PASSED"), "{stdout}");
    // The journal recorded everything; no truncated report was left.
    let events: Vec<String> = std::fs::read_to_string(run.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event"].to_string())
        .collect();
    assert_eq!(
        events.last().map(String::as_str),
        Some("\"run-end\""),
        "{events:?}"
    );
    assert!(
        events.iter().filter(|e| *e == "\"undone\"").count() == 2,
        "{events:?}"
    );
    // No report file; the timeline streamed until the disk filled stays as
    // evidence beside the journal.
    let mut files: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    files.sort();
    assert_eq!(files, ["journal.jsonl", "timeline.jsonl"]);
    assert_eq!(lab.configuration(), before);
    nothing_pending(&kept);
    let _ = std::fs::remove_dir_all(dir);
}

/// Starts the scenario against `lab` with its reports on a fresh 1 MiB tmpfs
/// at `mount`, seen only by the run; when the run ends its reports are
/// copied to `kept`.
fn on_a_small_disk(lab: &StandingLab, mount: &Path, kept: &Path) -> std::process::Child {
    let script = "mount -t tmpfs -o size=1m,mode=0700 gameday-disk \"$1\" || exit 99
\"$0\" run \"$2\" --no-progress --attach \"$3\" --lab-token \"$4\" --reports \"$1/reports\"
code=$?
cp -a \"$1/reports\" \"$5\" || exit 98
exit $code";
    std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .arg(env!("CARGO_BIN_EXE_gameday"))
        .args([mount, &kill_targets()])
        .args([lab.addr().as_str(), lab.token()])
        .arg(kept)
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until a journal with its first line exists under `reports`.
fn wait_for_journal_in(reports: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let started = std::fs::read_dir(reports)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| std::fs::read_to_string(e.ok()?.path().join("journal.jsonl")).ok())
            .is_some_and(|j| j.contains("\"run-start\""));
        if started {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no journal under {}",
            reports.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Writes `path` until the disk is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = [0u8; 4096];
    loop {
        if let Err(e) = f.write_all(&chunk).and_then(|()| f.sync_data()) {
            assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
            return;
        }
    }
}
