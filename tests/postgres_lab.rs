//! The lab on real PostgreSQL streaming replication: lost writes are the acked
//! canary writes really missing from the promoted replica (read with SQL), the
//! RPO matches the window replication was cut, synchronous replication loses
//! nothing, and the lab cleans up after itself, even after a SIGKILL. The
//! PostgreSQL runs are one sequential test: a lab start cleans up what dead labs
//! left, so a parallel one would race the leftover check.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;

fn acked_seqs(report: &Value) -> BTreeSet<u64> {
    report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["what"]["type"] == "observation"
                && e["what"]["data"]["probe"] == "canary-write"
                && e["what"]["data"]["acked"] == true
        })
        .map(|e| e["what"]["data"]["seq"].as_u64().unwrap())
        .collect()
}

fn own_pg_dirs(pid: u32) -> Vec<std::path::PathBuf> {
    ["/dev/shm".into(), std::env::temp_dir()]
        .iter()
        .filter_map(|d: &std::path::PathBuf| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("gameday-pg-{pid}-")))
        })
        .collect()
}

#[test]
fn lost_writes_are_the_acked_writes_missing_from_the_promoted_replica() {
    if !postgres_available() {
        return;
    }
    // A standing lab, so the database outlives the run and can be read with SQL.
    let mut lab =
        StandingLab::start(&["--params", "scenarios/postgres/fail-primary-database.toml"]);
    let control = lab.addr();

    let reports = scratch("pg-loss");
    let run = run_scenario(
        "postgres/fail-primary-database",
        &reports,
        &["--attach", &control, "--lab-token", lab.token()],
    );
    assert_eq!(run.status.code(), Some(0), "{}", explain(&run));
    let report = only_report(&reports);
    assert_eq!(report["revert"]["complete"], true);

    // Ground truth with SQL: after the failback the primary holds exactly what
    // the promoted replica held.
    let client = lab.client.clone();
    let env = rt().block_on(client.describe()).unwrap();
    let endpoint = env.regions[0].database_endpoint.expect("database endpoint");
    let present: BTreeSet<u64> = rt().block_on(async {
        let (c, conn) = tokio_postgres::connect(
            &format!(
                "host={} port={} user=gameday dbname=postgres",
                endpoint.ip(),
                endpoint.port()
            ),
            tokio_postgres::NoTls,
        )
        .await
        .unwrap();
        tokio::spawn(conn);
        let rows = c
            .query(
                "SELECT seq FROM orders WHERE canary = $1",
                &[&report["run_id"].as_str().unwrap()],
            )
            .await
            .unwrap();
        rows.iter().map(|r| r.get::<_, i64>(0) as u64).collect()
    });
    let acked = acked_seqs(&report);
    let missing: Vec<u64> = acked.difference(&present).copied().collect();
    let lost = &report["phases"]["lost_writes"];
    assert_eq!(
        lost["count"].as_u64().unwrap(),
        missing.len() as u64,
        "report {lost} vs SQL {missing:?}"
    );
    let reported: Vec<u64> = lost["seqs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(reported, missing);
    assert!(
        missing.len() >= 10,
        "a 1 s cut at 50 ms writes must lose about 20 writes, lost {}",
        missing.len()
    );

    // rpo_observed matches the time window of the missing writes (from the first
    // to the last lost ack, read back above with SQL) within one canary interval.
    let rpo = report["phases"]["rpo_observed"]["value_ms"]
        .as_f64()
        .unwrap();
    let res = report["phases"]["rpo_observed"]["resolution_ms"]
        .as_f64()
        .unwrap();
    let ack_ms = |seq: u64| {
        report["timeline"].as_array().unwrap().iter().find_map(|e| {
            let d = &e["what"]["data"];
            (d["probe"] == "canary-write" && d["seq"] == seq && d["acked"] == true)
                .then(|| (e["at"].as_f64().unwrap() + d["latency_ns"].as_f64().unwrap()) / 1e6)
        })
    };
    let acks: Vec<f64> = missing
        .iter()
        .map(|s| ack_ms(*s).expect("ack of a lost write"))
        .collect();
    let window = acks.iter().cloned().fold(f64::MIN, f64::max)
        - acks.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        // They differ by the gap from the last surviving ack to the first lost
        // one: one canary interval, give or take the ack latency jitter.
        (rpo - window).abs() <= res + ACK_JITTER_MS,
        "rpo {rpo} ms vs the lost writes' window {window} ms ± {res}"
    );
    // And that window is the second between the cut and the crash (ground truth),
    // give or take a write on either side.
    let truth = |kind: &str| {
        report["ground_truth"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap()["at_ms"]
            .as_f64()
            .unwrap()
    };
    let cut_window = truth("database-failed") - truth("replication-cut");
    assert!(
        (rpo - cut_window).abs() <= 2.0 * res + 10.0,
        "rpo {rpo} ms vs cut window {cut_window} ms"
    );

    // SIGKILL the standing lab: its PostgreSQL outlives it; the next lab cleans up.
    let pid = lab.child.id();
    lab.child.kill().unwrap();
    let _ = lab.child.wait();
    assert!(
        !own_pg_dirs(pid).is_empty(),
        "the killed lab's data should still be there"
    );
    // The next lab is the synchronous one: it cleans up, and loses nothing.
    let sync_reports = scratch("pg-sync");
    let next = run_scenario("postgres/fail-primary-database-sync", &sync_reports, &[]);
    assert_eq!(next.status.code(), Some(0), "{}", explain(&next));
    assert!(
        own_pg_dirs(pid).is_empty(),
        "leftovers of the killed lab were not removed"
    );
    let sync = only_report(&sync_reports);
    assert_eq!(
        sync["phases"]["lost_writes"]["count"], 0,
        "synchronous replication lost acked writes"
    );
    assert!(sync["phases"]["lost_writes"]["acked"].as_u64().unwrap() > 20);
    assert!(sync["ground_truth"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "database-promoted"));
    // The embedded run removed its own PostgreSQL when it stopped.
    assert!(own_pg_dirs(std::process::id()).is_empty());
    let _ = std::fs::remove_dir_all(reports);
    let _ = std::fs::remove_dir_all(sync_reports);
}

#[test]
fn missing_postgres_binaries_say_what_to_install() {
    let out = gameday()
        .current_dir(root())
        .env("GAMEDAY_PG_BIN", "/nonexistent/postgres/bin")
        .args([
            "run",
            "scenarios/postgres/fail-primary-database.toml",
            "--no-progress",
            "--reports",
            "/tmp/gameday-no-pg",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("apt-get install postgresql"), "{stderr}");
    // The embedded database stays the default: shipped scenarios do not need PostgreSQL.
    let out = gameday()
        .current_dir(root())
        .env("GAMEDAY_PG_BIN", "/nonexistent")
        .args(["plan", "scenarios/fail-primary-database.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
}
