//! A lab running as its own process (`gameday lab`): a person can dig and curl
//! it, a run can attach to it, and the run leaves it exactly as it found it.

mod common;
use common::*;
use gameday::words::Role;
use std::path::Path;
use std::time::Duration;

#[test]
fn a_run_attaches_to_a_standing_lab_and_leaves_it_as_it_was() {
    let lab = StandingLab::start(&[]);
    let client = lab.client.clone();
    let before = rt()
        .block_on(client.describe())
        .expect("describe")
        .configuration();

    let reports = scratch("attach");
    let out = run_scenario(
        "kill-primary-targets",
        &reports,
        &["--attach", &lab.addr(), "--lab-token", lab.token()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let report = only_report(&reports);
    assert_eq!(report["environment"]["attached"], true);
    for a in report["accuracy"].as_array().unwrap() {
        assert_eq!(a["within_resolution"], true, "{a}");
    }

    // The lab outlived the run, exactly as it was, healthy again.
    let (after, health) = rt().block_on(async {
        (
            client.describe().await.unwrap().configuration(),
            client.health().await.unwrap(),
        )
    });
    assert_eq!(after, before, "the standing lab was not restored");
    assert!(health.iter().all(|h| h.healthy), "{health:?}");

    // A second run on the same lab works: the first left it in steady state.
    let reports2 = scratch("attach-again");
    let out = run_scenario(
        "sever-primary-az",
        &reports2,
        &["--attach", &lab.addr(), "--lab-token", lab.token()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let _ = std::fs::remove_dir_all(reports);
    let _ = std::fs::remove_dir_all(reports2);
}

#[test]
fn a_lab_left_broken_is_refused_until_put_back() {
    let lab = StandingLab::start(&[]);
    let client = lab.client.clone();
    let call = gameday::lab::LabCall::SeverAz {
        region: "me-central-1".into(),
        az: "me-central-1b".into(),
    };
    rt().block_on(client.apply(&call)).unwrap();
    let reports = scratch("refused");
    let out = run_scenario(
        "kill-primary-targets",
        &reports,
        &["--attach", &lab.addr(), "--lab-token", lab.token()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("not in its steady state") && stdout.contains("gameday revert"),
        "{stdout}"
    );
    let report = only_report(&reports);
    assert_eq!(report["outcome"], "refused");
    assert!(
        report["timeline"].as_array().unwrap().is_empty(),
        "nothing may run when refused"
    );
    let _ = std::fs::remove_dir_all(reports);
}

#[test]
fn attaching_to_nothing_says_what_to_do() {
    let reports = scratch("nothing");
    // A port nothing listens on: bind, learn it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run_scenario(
        "kill-primary-targets",
        &reports,
        &["--attach", &format!("127.0.0.1:{port}"), "--lab-token", "t"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("did not answer") && stderr.contains("gameday lab"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(reports);
}

/// One raw HTTP/1.1 exchange, written by hand so the test does not share the
/// client code under test; returns the status code.
fn raw(addr: &str, request: &str) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {reply:?}"))
}

#[test]
fn the_control_api_refuses_what_a_web_page_or_another_user_could_send() {
    let lab = StandingLab::start(&[]);
    let before = lab.configuration();
    let addr = lab.addr();
    let token = lab.token().to_string();
    let call =
        r#"{"call":"deregister-targets","region":"me-central-1","targets":["me-central-1a-t1"]}"#;
    let post = |host: &str, content_type: &str, auth: &str| {
        format!(
            "POST /apply HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{call}",
            call.len()
        )
    };
    let bearer = format!("Authorization: Bearer {token}\r\n");
    // A web page's "simple" cross-origin POST: text/plain, no token.
    assert_eq!(raw(&addr, &post(&addr, "text/plain", "")), 401);
    // Any local process without the token.
    assert_eq!(raw(&addr, &post(&addr, "application/json", "")), 401);
    let wrong = "Authorization: Bearer 0000\r\n";
    assert_eq!(raw(&addr, &post(&addr, "application/json", wrong)), 401);
    // DNS rebinding: right token or not, the Host is not the control address.
    assert_eq!(
        raw(&addr, &post("evil.example:80", "application/json", &bearer)),
        403
    );
    // With the token, JSON is still required.
    assert_eq!(raw(&addr, &post(&addr, "text/plain", &bearer)), 415);
    // Reads need the token too.
    let get = format!("GET /describe HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    assert_eq!(raw(&addr, &get), 401);
    // An oversized body is refused, not buffered.
    let big = "x".repeat(2 << 20);
    let huge = format!(
        "POST /apply HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{bearer}Content-Length: {}\r\nConnection: close\r\n\r\n{big}",
        big.len()
    );
    assert_eq!(raw(&addr, &huge), 400);
    assert_eq!(
        lab.configuration(),
        before,
        "a refused request changed the lab"
    );
    // The same call with the token, JSON and the right Host goes through.
    assert_eq!(raw(&addr, &post(&addr, "application/json", &bearer)), 200);
    assert_ne!(lab.configuration(), before);
}

#[test]
fn single_address_layout_still_tells_regions_apart() {
    // As on a stock macOS: everything on 127.0.0.1, regions on distinct ports.
    let lab = StandingLab::start(&["--single-address"]);
    let client = lab.client.clone();
    let env = rt().block_on(client.describe()).unwrap();
    assert!(!env.multi_address);
    let (p, s) = (env.region(Role::Primary), env.region(Role::Secondary));
    assert_ne!(
        p.public_ip, s.public_ip,
        "DNS must still answer distinct addresses"
    );
    assert_eq!(p.endpoint.ip(), s.endpoint.ip());
    assert_ne!(p.endpoint.port(), s.endpoint.port());
    let reports = scratch("single");
    let out = run_scenario(
        "kill-primary-targets",
        &reports,
        &["--attach", &lab.addr(), "--lab-token", lab.token()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert_eq!(
        only_report(&reports)["phases"]["serving_region"],
        "eu-central-1"
    );
    let _ = std::fs::remove_dir_all(reports);
}

/// Starts `gameday run` of the region outage against `lab`, its output piped,
/// with `failpoints` as its `FAILPOINTS` if any.
fn outage_against(
    lab: &StandingLab,
    reports: &Path,
    failpoints: Option<String>,
) -> std::process::Child {
    let scenario = root().join("scenarios/primary-region-outage.toml");
    lab.spawn_run(&scenario, reports, failpoints)
}

/// Asserts that `out` is a run aborted by a signal after its fault was made,
/// with the fault undone and the lab back to `before`.
fn assert_interrupted_and_reverted(
    out: &std::process::Output,
    reports: &Path,
    lab: &StandingLab,
    before: &gameday::lab::LabConfiguration,
) {
    let (report, reason) = common::assert_aborted(out, reports);
    assert!(
        reason.contains("signal") && !reason.contains("baseline"),
        "{reason}"
    );
    assert_eq!(report["revert"]["complete"], true);
    assert!(
        !report["revert"]["undone"].as_array().unwrap().is_empty(),
        "the fault was undone: {}",
        report["revert"]
    );
    assert_eq!(&lab.configuration(), before);
}

#[test]
fn sigint_mid_run_aborts_reverts_and_exits_3() {
    let lab = StandingLab::start(&[]);
    let before = lab.configuration();
    let reports = scratch("sigint");
    let child = outage_against(&lab, &reports, None);
    // Once the fault is journaled as applied, the region really is cut off
    // (read from the lab, not from the run), and then the signal comes.
    common::wait_until_applied(
        &reports,
        Duration::from_secs(30),
        "the region was never cut off",
    );
    assert_ne!(
        lab.configuration(),
        before,
        "the fault is in place when SIGINT arrives"
    );
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_interrupted_and_reverted(&out, &reports, &lab, &before);
    let _ = std::fs::remove_dir_all(reports);
}

#[test]
fn a_second_sigint_during_the_revert_does_not_skip_it() {
    let lab = StandingLab::start(&[]);
    let before = lab.configuration();
    let reports = scratch("sigint-twice");
    // The undo holds for 2 s after its intent is journaled, so the second
    // signal surely lands while the revert is running.
    let child = outage_against(&lab, &reports, Some(pause_at("after-undo-intent", 2000)));
    common::wait_until_applied(
        &reports,
        Duration::from_secs(30),
        "the region was never cut off",
    );
    interrupt(&child);
    common::wait_for_journal(
        &reports,
        "undo-intent",
        Duration::from_secs(30),
        "the revert never started",
    );
    assert_ne!(
        lab.configuration(),
        before,
        "the fault is still in place when the second SIGINT arrives"
    );
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the revert is still running and will not be skipped; journal: "),
        "{stderr}"
    );
    assert_interrupted_and_reverted(&out, &reports, &lab, &before);
    let _ = std::fs::remove_dir_all(reports);
}

#[test]
fn dig_and_curl_work_against_a_standing_lab() {
    let lab = StandingLab::start(&[]);
    let client = lab.client.clone();
    let env = rt().block_on(client.describe()).unwrap();
    rt().block_on(async {
        let a = gameday::net::dns::query_a(env.dns, &env.record, Duration::from_secs(1))
            .await
            .unwrap();
        assert!(a.authoritative);
        assert_eq!(a.addresses, vec![env.region(Role::Primary).public_ip]);
        assert_eq!(a.ttl, 1);
        // Outside the zone: refused; inside but unknown: NXDOMAIN.
        let outside = gameday::net::dns::query_a(env.dns, "example.com.", Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(outside.to_string().contains("Refused"), "{outside}");
        let unknown =
            gameday::net::dns::query_a(env.dns, "nope.lab.gameday.test.", Duration::from_secs(1))
                .await
                .unwrap_err();
        assert!(
            unknown.to_string().contains("Non-Existent Domain")
                || unknown.to_string().contains("NXDomain"),
            "{unknown}"
        );
        let r = gameday::net::http::request(
            env.region(Role::Primary).endpoint,
            hyper::Method::GET,
            "app.lab.gameday.test",
            "/healthz",
            None,
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        assert!(r.status.is_success());
        assert_eq!(r.region.as_deref(), Some("me-central-1"));
    });
}

#[test]
fn a_lab_that_dies_mid_run_leaves_the_revert_incomplete_with_exit_4() {
    let mut lab = StandingLab::start(&[]);
    let reports = scratch("lab-died");
    let child = outage_against(&lab, &reports, None);
    common::wait_until_applied(
        &reports,
        Duration::from_secs(30),
        "the region was never cut off",
    );
    // The lab dies with the region cut off: no undo can reach it.
    lab.child.kill().unwrap();
    let _ = lab.child.wait();
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    common::assert_revert_incomplete(&out, &reports);
    let _ = std::fs::remove_dir_all(reports);
}

#[test]
fn a_lab_that_stops_answering_mid_revert_is_owed_within_revert_timeout_and_revert_finishes_later() {
    let lab = StandingLab::start(&[]);
    let before = lab.configuration();
    let dir = scratch("lab-stopped");
    let reports = dir.join("reports");
    let scenario = dir.join("patient.toml");
    std::fs::write(
        &scenario,
        std::fs::read_to_string(long_outage(&dir, "25s"))
            .unwrap()
            .replaced(
                "timeout = \"60s\"",
                "timeout = \"60s\"\nrevert_timeout = \"6s\"",
            ),
    )
    .unwrap();
    let child = lab.spawn_run(&scenario, &reports, None);
    common::wait_until_applied(
        &reports,
        Duration::from_secs(30),
        "the region was never cut off",
    );
    // The lab's process is frozen (a paused VM, a hung host): its control
    // API accepts connections and never answers.
    let signal = |sig| unsafe { libc::kill(lab.child.id() as i32, sig) };
    signal(libc::SIGSTOP);
    let stopped = std::time::Instant::now();
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let took = stopped.elapsed();
    signal(libc::SIGCONT);
    // Bounded by revert_timeout (6 s), plus the run's own wind-down.
    assert!(took < Duration::from_secs(20), "the revert took {took:?}");
    let report = common::assert_revert_incomplete(&out, &reports);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("still owed: ")
            && stdout.contains("release the lab's lease of run ")
            && stdout.contains(&format!(
                "finish it with: gameday revert {}\n",
                reports.display()
            )),
        "{stdout}"
    );
    assert_eq!(
        report["revert"]["finish_with"],
        format!("gameday revert {}", reports.display())
    );
    // Once the lab answers again, the printed command finishes the revert.
    let revert = gameday().arg("revert").arg(&reports).output().unwrap();
    assert_eq!(revert.status.code(), Some(0), "{}", explain(&revert));
    assert_eq!(lab.configuration(), before);
    let lease = lab.lease();
    assert!(lease.is_none(), "{lease:?}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The region outage, observed for at least `observe` so a test can act
/// beside the live run.
fn long_outage(dir: &Path, observe: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(root().join("scenarios/primary-region-outage.toml"))
        .unwrap()
        .replaced(
            "observe_at_least = \"3s\"",
            &format!("observe_at_least = \"{observe}\""),
        )
        .replaced("timeout = \"30s\"", "timeout = \"60s\"");
    let path = dir.join("long-outage.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn status_and_revert_leave_a_live_run_alone() {
    let lab = StandingLab::start(&[]);
    let before = lab.configuration();
    let dir = scratch("live-run");
    let reports = dir.join("reports");
    let child = lab.spawn_run(&long_outage(&dir, "25s"), &reports, None);
    common::wait_until_applied(&reports, Duration::from_secs(30), "never applied");
    let during = lab.configuration();
    assert_ne!(during, before);
    // status shows it in progress, with its pid; nothing to finish by hand.
    let status = gameday().arg("status").arg(&reports).output().unwrap();
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(
        shown.contains(&format!("in progress (pid {} on ", child.id()))
            && !shown.contains("finish them with"),
        "{shown}"
    );
    // revert skips it, says why, and changes nothing.
    let revert = gameday().arg("revert").arg(&reports).output().unwrap();
    assert_eq!(revert.status.code(), Some(0), "{}", explain(&revert));
    let said = String::from_utf8_lossy(&revert.stdout);
    assert!(
        said.contains("skipping ") && said.contains("in progress (pid") && said.contains("--force"),
        "{said}"
    );
    assert_eq!(lab.configuration(), during, "revert touched a live run");
    // The run goes on, and reverts itself when stopped.
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_interrupted_and_reverted(&out, &reports, &lab, &before);
    assert_nothing_pending(&gameday().arg("status").arg(&reports).output().unwrap());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_second_run_against_a_leased_lab_is_refused_and_names_the_first() {
    let lab = StandingLab::start(&[]);
    let before = lab.configuration();
    let dir = scratch("two-runs");
    let (first_reports, second_reports) = (dir.join("first"), dir.join("second"));
    let first = lab.spawn_run(&long_outage(&dir, "25s"), &first_reports, None);
    common::wait_until_applied(&first_reports, Duration::from_secs(30), "never applied");
    let during = lab.configuration();
    let second = run_scenario(
        "kill-primary-targets",
        &second_reports,
        &["--attach", &lab.addr(), "--lab-token", lab.token()],
    );
    common::assert_refused_by_lease(&second, &second_reports, &first_reports, first.id());
    // The second run changed nothing: the lab is as the first run left it.
    assert_eq!(lab.configuration(), during);
    interrupt(&first);
    let out = first.wait_with_output().unwrap();
    assert_interrupted_and_reverted(&out, &first_reports, &lab, &before);
    let lease = lab.lease();
    assert_eq!(lease, None, "the first run released its lease");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_lapsed_lease_is_taken_over_with_a_warning() {
    let lab = StandingLab::start(&[]);
    let now = chrono::Utc::now();
    let lapsed = gameday::lease::Lease {
        run_id: "dead-run-20261130T000000Z-0000".into(),
        holder: "pid 1 on host gone".into(),
        since: now - chrono::Duration::hours(2),
        until: now - chrono::Duration::hours(1),
    };
    let take = gameday::lab::LabCall::TakeLease {
        lease: lapsed.clone(),
        replaces: None,
    };
    rt().block_on(lab.client.apply(&take)).unwrap();
    let reports = scratch("lapsed-lease");
    let out = run_scenario(
        "kill-primary-targets",
        &reports,
        &["--attach", &lab.addr(), "--lab-token", lab.token()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let report = only_report(&reports);
    common::assert_lease_taken_over(&report, &lapsed.run_id);
    assert_eq!(lab.lease(), None);
    let _ = std::fs::remove_dir_all(reports);
}

#[test]
fn a_fault_undone_behind_the_run_s_back_stops_it_and_is_never_judged() {
    let lab = StandingLab::start(&[]);
    let before = lab.configuration();
    let dir = scratch("undone-behind");
    let reports = dir.join("reports");
    let child = lab.spawn_run(&long_outage(&dir, "25s"), &reports, None);
    common::wait_until_applied(&reports, Duration::from_secs(30), "never applied");
    // Someone puts the region back by hand while the run observes.
    let restore = gameday::lab::LabCall::RestoreRegion {
        region: "me-central-1".into(),
    };
    rt().block_on(lab.client.apply(&restore)).unwrap();
    let out = child.wait_with_output().unwrap();
    let (report, reason) = common::assert_aborted(&out, &reports);
    assert!(
        reason.starts_with(
            "a change was undone behind the run's back: \"cut region me-central-1 off"
        ) && reason.contains("is not judged"),
        "{reason}"
    );
    assert_eq!(report["revert"]["complete"], true, "{}", report["revert"]);
    assert_eq!(
        report["verdict"].as_array().map_or(0, Vec::len),
        0,
        "an undone fault was judged: {}",
        report["verdict"]
    );
    assert_eq!(lab.configuration(), before);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_cancelled_ci_job_leaves_a_journal_that_revert_finishes() {
    let lab = StandingLab::start(&[]);
    let before = lab.configuration();
    let reports = scratch("ci-cancel");
    // The undo holds 5 s after its intent: longer than the runner's grace.
    let mut child = outage_against(&lab, &reports, Some(pause_at("after-undo-intent", 5000)));
    common::wait_until_applied(&reports, Duration::from_secs(30), "never applied");
    // SAFETY: plain kill(2) on our own, unreaped child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    common::wait_for_journal(
        &reports,
        "undo-intent",
        Duration::from_secs(30),
        "SIGTERM did not start the revert",
    );
    std::thread::sleep(Duration::from_secs(1));
    child.kill().unwrap();
    let _ = child.wait();
    assert_ne!(
        lab.configuration(),
        before,
        "the SIGKILL cut the revert short"
    );
    let revert = gameday().args(["revert"]).arg(&reports).output().unwrap();
    assert_eq!(revert.status.code(), Some(0), "{}", explain(&revert));
    assert_eq!(lab.configuration(), before);
    assert_eq!(lab.lease(), None);
    let _ = std::fs::remove_dir_all(reports);
}

/// A standing pilot-light lab: after a surge its standby's group is still
/// scaled out, so the next run is refused (exit 2) until the group has
/// scaled back in by itself, which it does once the load is gone.
#[test]
fn a_standby_still_scaled_out_is_refused_until_it_scales_in() {
    let lab = StandingLab::start(&["--params", "scenarios/pilot-light-surge.toml"]);
    let attach = ["--attach", &lab.addr(), "--lab-token", lab.token()];
    let reports = scratch("pilot-light-standing");
    let out = run_scenario("pilot-light-surge", &reports, &attach);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let group = || {
        rt().block_on(lab.client.describe())
            .unwrap()
            .region(gameday::words::Role::Secondary)
            .group
            .unwrap()
    };
    assert!(group().desired > 1, "{:?}", group());
    let again = scratch("pilot-light-standing-again");
    let out = run_scenario("pilot-light-surge", &again, &attach);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("the standby's group is still scaled out"),
        "{}",
        explain(&out)
    );
    // scale_in_after (15 s) of no load, then back to its pilot light.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    while group().desired > 1 {
        assert!(std::time::Instant::now() < deadline, "{:?}", group());
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let g = group();
    assert_eq!((g.desired, g.initial, g.booting), (1, 1, 0));
    let serving: Vec<_> = rt()
        .block_on(lab.client.describe())
        .unwrap()
        .region(gameday::words::Role::Secondary)
        .targets
        .iter()
        .filter(|t| t.registered)
        .map(|t| t.id.clone())
        .collect();
    assert_eq!(serving, ["eu-central-1a-t1"]);
    let _ = std::fs::remove_dir_all(reports);
    let _ = std::fs::remove_dir_all(again);
}
