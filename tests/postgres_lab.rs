//! The lab on real PostgreSQL streaming replication: lost writes are the acked
//! canary writes really missing from the promoted replica (read with SQL), the
//! RPO matches the window replication was cut, synchronous replication under
//! the same cut and a replay delay alone lose nothing (with the setting read
//! back from the server), and the lab cleans up after itself, even after a
//! SIGKILL. The
//! PostgreSQL runs are one sequential test: a lab start cleans up what dead labs
//! left, so a parallel one would race the leftover check.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A connection to one of the lab's PostgreSQL instances, as user gameday.
async fn sql(endpoint: SocketAddr, password: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(
        &format!(
            "host={} port={} user=gameday password={password} dbname=postgres",
            endpoint.ip(),
            endpoint.port()
        ),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    client
}

/// The canary's sequence numbers of run `run_id` present at `endpoint`.
fn seqs_in_database(endpoint: SocketAddr, password: &str, run_id: &str) -> BTreeSet<u64> {
    rt().block_on(async {
        let rows = sql(endpoint, password)
            .await
            .query("SELECT seq FROM orders WHERE canary = $1", &[&run_id])
            .await
            .unwrap();
        rows.iter().map(|r| r.get::<_, i64>(0) as u64).collect()
    })
}

/// A setting as the server at `endpoint` reports it (`SHOW name`).
fn setting(endpoint: SocketAddr, password: &str, name: &str) -> String {
    rt().block_on(async {
        let row = sql(endpoint, password)
            .await
            .query_one(&format!("SHOW {name}"), &[])
            .await
            .unwrap();
        row.get(0)
    })
}

/// The instance behind each region of `lab`: primary, then secondary.
fn endpoints(lab: &StandingLab) -> [SocketAddr; 2] {
    let env = rt().block_on(lab.client.describe()).unwrap();
    [0, 1].map(|r| env.regions[r].database_endpoint.expect("database endpoint"))
}

/// The acked canary writes of `report` missing from `endpoint`, read with SQL.
fn missing_in_database(report: &Value, endpoint: SocketAddr, password: &str) -> Vec<u64> {
    let present = seqs_in_database(endpoint, password, report["run_id"].as_str().unwrap());
    acked_seqs(report).difference(&present).copied().collect()
}

/// When the write `seq` of `report` was acked, in ms since the run's t=0.
fn acked_at(report: &Value, seq: u64) -> Option<f64> {
    report["timeline"].as_array().unwrap().iter().find_map(|e| {
        let d = &e["what"]["data"];
        (d["probe"] == "canary-write" && d["seq"] == seq && d["acked"] == true)
            .then(|| (e["at"].as_f64().unwrap() + d["latency_ns"].as_f64().unwrap()) / 1e6)
    })
}

/// When the lab's ground truth says `kind` happened, in ms since t=0.
fn truth(report: &Value, kind: &str) -> f64 {
    report["ground_truth"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in the ground truth"))["at_ms"]
        .as_f64()
        .unwrap()
}

const NOBODY: u32 = 65534;

/// Runs `program args` as `nobody`, with an empty environment.
fn as_nobody(program: &Path, args: &[&str]) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    std::process::Command::new(program)
        .args(args)
        .env_clear()
        .current_dir("/")
        .uid(NOBODY)
        .gid(NOBODY)
        .output()
        .unwrap()
}

/// What another local user can do to a running PostgreSQL lab whose folder
/// is `lab_dir`: nothing. Checked with psql and the shell as `nobody`, and
/// with /proc as root; none of it through gameday's code.
fn another_user_gets_nothing(lab_dir: &Path, endpoint: std::net::SocketAddr) {
    let bin = gameday::lab::database::postgres::find_binaries().unwrap();
    // TCP without the password: no COPY FROM PROGRAM (it used to run as postgres).
    let copy = as_nobody(
        &bin.join("psql"),
        &[
            "-w",
            "-h",
            &endpoint.ip().to_string(),
            "-p",
            &endpoint.port().to_string(),
            "-U",
            "gameday",
            "-d",
            "postgres",
            "-c",
            "COPY orders(canary) FROM PROGRAM 'id'",
        ],
    );
    let said = String::from_utf8_lossy(&copy.stderr);
    assert!(!copy.status.success(), "psql as nobody ran: {said}");
    assert!(said.contains("password"), "{said}");
    // The socket folder and the data are closed to others.
    let socket = lab_dir.join("pg").join("socket");
    let local = as_nobody(
        &bin.join("psql"),
        &[
            "-w",
            "-h",
            socket.to_str().unwrap(),
            "-U",
            "gameday",
            "-d",
            "postgres",
            "-c",
            "SELECT 1",
        ],
    );
    assert!(!local.status.success());
    let sh = Path::new("/bin/sh");
    for (what, script) in [
        ("list the data", format!("ls {}/pg", lab_dir.display())),
        (
            "plant a link in the lab folder",
            format!("ln -s /etc/shadow {}/x", lab_dir.display()),
        ),
        (
            "plant a link in the TLS folder",
            format!("ln -s /etc/shadow {}/tls/server.key.new", lab_dir.display()),
        ),
        (
            "plant a link in the data",
            format!("ln -s /etc/shadow {}/pg/x", lab_dir.display()),
        ),
        (
            "read the passfile",
            format!("cat {}/passfile", lab_dir.display()),
        ),
    ] {
        let out = as_nobody(sh, &["-c", &script]);
        assert!(!out.status.success(), "nobody could {what}");
    }
    // Every PostgreSQL process of the lab has a cleared environment: no
    // secret of the runner's (StandingLab sets one) reaches it.
    let primary = lab_dir.join("pg").join("primary");
    let pid = std::fs::read_to_string(primary.join("postmaster.pid")).unwrap();
    let pid = pid.lines().next().unwrap().trim();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    assert!(!environ.contains("GAMEDAY_TEST_SECRET"), "{environ}");
    assert!(!environ.contains("AWS_"), "{environ}");
}

/// Fake lab folders under /dev/shm aiming leftover cleaning at a victim
/// process: one another user made, one of ours whose postmaster.pid names a
/// process that does not run in it. Returns the folders and the victim.
fn plant_fake_labs() -> (Vec<PathBuf>, std::process::Child) {
    use std::os::unix::fs::PermissionsExt;
    let victim = std::process::Command::new("sleep")
        .arg("120")
        .spawn()
        .unwrap();
    let mut made = Vec::new();
    for (name, owner) in [
        ("gameday-pg-fake-nobody", Some(NOBODY)),
        ("gameday-pg-fake-root", None),
    ] {
        let dir = PathBuf::from("/dev/shm").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        let data = dir.join("pg").join("primary");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(dir.join("owner.pid"), "999999").unwrap();
        std::fs::write(
            data.join("postmaster.pid"),
            format!("{}\n{}\n", victim.id(), data.display()),
        )
        .unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        if let Some(uid) = owner {
            for p in [dir.join("owner.pid"), dir.clone()] {
                std::os::unix::fs::chown(&p, Some(uid), Some(uid)).unwrap();
            }
        }
        made.push(dir);
    }
    (made, victim)
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
    let env = rt().block_on(lab.client.describe()).unwrap();
    let [endpoint, _] = endpoints(&lab);
    let passfile = env.database_passfile.clone().expect("the lab's passfile");
    let lab_dir = passfile.parent().unwrap().to_path_buf();
    another_user_gets_nothing(&lab_dir, endpoint);
    let password = lab.database_password();
    let missing = missing_in_database(&report, endpoint, &password);
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
    let ack_ms = |seq: u64| acked_at(&report, seq);
    let acks: Vec<f64> = missing
        .iter()
        .map(|s| ack_ms(*s).expect("ack of a lost write"))
        .collect();
    let window = acks.iter().cloned().fold(f64::MIN, f64::max)
        - acks.iter().cloned().fold(f64::MAX, f64::min);
    // rpo_observed runs from the last surviving ack to the last lost one: the
    // lost writes' window plus the gap before the first lost ack, which is one
    // canary interval plus the difference of two ack latencies (a write that
    // met the replication cut can take 50 ms more), computed from the timeline.
    let first_lost = *missing.iter().min().unwrap();
    let survivor = (1..first_lost)
        .rev()
        .find_map(ack_ms)
        .expect("an acked write survived before the first lost one");
    let gap = acks.iter().cloned().fold(f64::MAX, f64::min) - survivor;
    // WAL order: nothing acked after a lost write survives, so the gap is
    // positive. Its size is one canary interval plus the difference of two
    // ack latencies, which a loaded CI stretches either way (27.6 ms was
    // seen for a 50 ms interval): it is not asserted.
    assert!(
        gap > 0.0,
        "the first lost write was acked {gap} ms after the last survivor"
    );
    assert!(
        (rpo - (window + gap)).abs() <= 1.0,
        "rpo {rpo} ms vs the lost writes' window {window} ms + the gap before it {gap} ms"
    );
    // And that window is the second between the cut and the crash (ground truth),
    // give or take a write on either side.
    let cut_window = truth(&report, "database-failed") - truth(&report, "replication-cut");
    assert!(
        (rpo - cut_window).abs() <= 2.0 * res + 10.0,
        "rpo {rpo} ms vs cut window {cut_window} ms"
    );

    // SIGKILL the standing lab: its PostgreSQL outlives it; the next lab cleans up.
    lab.child.kill().unwrap();
    let _ = lab.child.wait();
    assert!(
        lab_dir.join("owner.pid").exists(),
        "the killed lab's data should still be there"
    );
    let (fakes, mut victim) = plant_fake_labs();
    let sync = StandingLab::start(&[
        "--params",
        "scenarios/postgres/fail-primary-database-sync.toml",
    ]);
    assert!(
        !lab_dir.exists(),
        "leftovers of the killed lab were not removed"
    );
    // Neither fake made it kill the victim; another user's fake is untouched.
    assert!(
        victim.try_wait().unwrap().is_none(),
        "leftover cleaning killed a victim process"
    );
    let _ = victim.kill();
    let _ = victim.wait();
    assert!(
        fakes[0].join("owner.pid").exists(),
        "another user's folder was removed"
    );
    for f in &fakes {
        let _ = std::fs::remove_dir_all(f);
    }
    synchronous_replication_with_a_cut_loses_nothing(&sync);
    drop(sync);
    a_replay_delay_alone_loses_nothing();
    let _ = std::fs::remove_dir_all(reports);
}

/// The same 1 s cut as the asynchronous run, on synchronous replication: the
/// writes of the cut second wait for the replica and are never acked, so
/// nothing acked is lost (with async the same cut loses about 20).
fn synchronous_replication_with_a_cut_loses_nothing(lab: &StandingLab) {
    let [primary, _] = endpoints(lab);
    let password = lab.database_password();
    assert_eq!(
        setting(primary, &password, "synchronous_standby_names"),
        "*",
        "the sync lab's primary does not wait for its standby"
    );
    let reports = scratch("pg-sync");
    let run = run_scenario(
        "postgres/fail-primary-database-sync",
        &reports,
        &["--attach", &lab.addr(), "--lab-token", lab.token()],
    );
    assert_eq!(run.status.code(), Some(0), "{}", explain(&run));
    let report = only_report(&reports);
    let missing = missing_in_database(&report, primary, &password);
    assert_eq!(
        missing,
        Vec::<u64>::new(),
        "synchronous replication lost acked writes"
    );
    assert_eq!(report["phases"]["lost_writes"]["count"], 0);
    assert!(acked_seqs(&report).len() > 20);
    // The cut happened and held the writes: the canary kept writing in that
    // second, and none of it was acked (a write issued just before the cut
    // may still be acked a moment after it).
    let (cut, crash) = (
        truth(&report, "replication-cut"),
        truth(&report, "database-failed"),
    );
    let in_cut = |at: f64| at > cut + 100.0 && at < crash;
    let issued: usize = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["what"]["data"]["probe"] == "canary-write")
        .filter(|e| in_cut(e["at"].as_f64().unwrap() / 1e6))
        .count();
    assert!(issued >= 1, "the canary wrote nothing during the cut");
    let acked_in_cut: Vec<u64> = acked_seqs(&report)
        .into_iter()
        .filter(|s| in_cut(acked_at(&report, *s).unwrap()))
        .collect();
    assert_eq!(
        acked_in_cut,
        Vec::<u64>::new(),
        "writes were acked while the replica could not have them"
    );
    assert_eq!(
        setting(primary, &password, "synchronous_standby_names"),
        "*",
        "after the failback the primary no longer waits for its standby"
    );
    let _ = std::fs::remove_dir_all(reports);
}

/// A replica that replays 2 s behind (and is not cut off) loses nothing at a
/// promotion: it has received and flushed the WAL it has not replayed yet.
fn a_replay_delay_alone_loses_nothing() {
    let shipped =
        std::fs::read_to_string(root().join("scenarios/postgres/fail-primary-database.toml"))
            .unwrap();
    let scenario = shipped
        .replaced("cut_replication_before = \"1s\"\n", "")
        .replaced(
            "promotion_delay = \"2s\"\n",
            "promotion_delay = \"2s\"\nreplay_delay = \"2s\"\n",
        );
    let reports = scratch("pg-replay-delay");
    let path = reports.join("replay-delay.toml");
    std::fs::write(&path, scenario).unwrap();
    let lab = StandingLab::start(&["--params", path.to_str().unwrap()]);
    let [primary, replica] = endpoints(&lab);
    let password = lab.database_password();
    assert_eq!(
        setting(replica, &password, "recovery_min_apply_delay"),
        "2s"
    );
    // The delay is real: a row committed on the primary shows on the replica
    // only about 2 s later.
    let shown_after = rt().block_on(async {
        let (p, r) = (sql(primary, &password).await, sql(replica, &password).await);
        p.execute("INSERT INTO orders VALUES (0, 'replay-delay', 0)", &[])
            .await
            .unwrap();
        let committed = std::time::Instant::now();
        loop {
            let n: i64 = r
                .query_one(
                    "SELECT count(*) FROM orders WHERE canary = 'replay-delay'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            if n == 1 || committed.elapsed() > std::time::Duration::from_secs(10) {
                return committed.elapsed();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    });
    assert!(
        (1.9..6.0).contains(&shown_after.as_secs_f64()),
        "a row reached the replica's queries after {shown_after:?}, not about 2 s"
    );
    let run = run_file(
        &path,
        &reports.join("runs"),
        &["--attach", &lab.addr(), "--lab-token", lab.token()],
    );
    assert_eq!(run.status.code(), Some(0), "{}", explain(&run));
    let report = only_report(&reports.join("runs"));
    assert_eq!(
        missing_in_database(&report, primary, &password),
        Vec::<u64>::new(),
        "a replay delay lost acked writes"
    );
    assert_eq!(report["phases"]["lost_writes"]["count"], 0);
    assert!(acked_seqs(&report).len() > 20);
    let _ = std::fs::remove_dir_all(reports);
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
