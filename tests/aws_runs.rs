//! gameday against moto, through the binary: plans that change nothing, the
//! lint of a Route 53 configuration, guards that refuse, whole runs (moto for
//! the account, a standing PostgreSQL lab for what moto cannot serve: DNS
//! answers, customers and a database), alarm-driven aborts and kill points.

mod common;

use common::Replaced;

use common::fault_proxy::{FaultProxy, Mode};
use common::moto::{
    acl_of, cluster_writer, deny_acl_count, lease_records, plant_txt, registered, Moto, Records,
    Stage, ACCOUNT, PRIMARY,
};
use common::testbed::TestBed;
use common::{crash_at, explain, only_report, scratch, wait_until_applied};
use std::path::{Path, PathBuf};
use std::process::Command;

fn write(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("scenario.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn plan_reads_the_account_prints_changes_undos_floors_and_changes_nothing() {
    let (_guard, moto) = Moto::lock();
    let stage = common::rt().block_on(async {
        let aws = moto.clients().await;
        Stage::build(&aws, Records::Alias).await
    });
    let dir = scratch("aws-plan");
    let path = write(
        &dir,
        &stage.scenario("[[faults]]\nkind = \"sever-az\"\naz = \"b\"\nsubnet_tags = { Tier = \"app\" }\n[[faults]]\nkind = \"deregister-targets\"\ntarget_group_tags = { Service = \"app\" }\n[[probes]]\nkind = \"target-health\"\n[[probes]]\nkind = \"health-check\"\ninterval = \"1s\"\n"),
    );
    let out = moto.gameday().arg("plan").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for expected in [
        &format!("target aws, account {ACCOUNT}"),
        // Delegation-set discovery: the zone's own name servers.
        "name servers (delegation set): ns-2048.awsdns-64.com",
        &format!("associate subnet {} (", stage.subnet_b),
        "undo: associate subnet",
        "deregister 4 target(s)",
        "undo: register 4 target(s)",
        "Record PRIMARY app.example.com (primary): alias",
        // 10 s x 3 from Route 53, then the fixed 60 s of an alias to an ALB.
        "rto        floor   80.00s",
        "Nothing was changed.",
        "DescribeTargetHealth of arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/app/",
        "Route 53 GetHealthCheckStatus of",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("warning:"),
        "a sound configuration: {stdout}"
    );
    common::rt().block_on(async {
        let aws = moto.clients().await;
        assert_eq!(deny_acl_count(&aws).await, 0, "plan created nothing");
        let regs = registered(&aws, &stage.target_group).await;
        assert_eq!(regs.len(), 4, "plan deregistered nothing");
    });

    // An objective below the floor read from Route 53 fails with --strict.
    let tight = write(
        &dir,
        &stage
            .scenario("[[faults]]\nkind = \"stop-instances\"\ntags = { Service = \"app\" }\n")
            .replaced("rto = \"2m\"", "rto = \"45s\""),
    );
    let out = moto
        .gameday()
        .args(["plan", "--strict"])
        .arg(&tight)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("warning: rto 45s is below the floor of 80.00s: health check 10s x 3")
            && stdout.contains("the fixed 60s TTL of an alias to a load balancer"),
        "{stdout}"
    );
}

#[test]
fn lint_reads_route53_and_names_each_misconfiguration() {
    let (_guard, moto) = Moto::lock();
    let stage = common::rt().block_on(async {
        let aws = moto.clients().await;
        let stage = Stage::build(&aws, Records::Alias).await;
        // The seed's mistake: the check watches another host; and it is disabled.
        aws.route53()
            .update_health_check()
            .health_check_id(&stage.hc_primary)
            .fully_qualified_domain_name("api.example.com")
            .disabled(true)
            .send()
            .await
            .unwrap();
        stage
    });
    let dir = scratch("aws-lint");
    let path = write(
        &dir,
        &stage.scenario("[[faults]]\nkind = \"stop-instances\"\ntags = { Service = \"app\" }\n"),
    );
    let out = moto.gameday().arg("plan").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 2, "{stdout}");
    assert!(
        warnings.iter().any(|w| w.contains(&format!("health check {}: checks api.example.com but the failover record serves app.example.com", stage.hc_primary))),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("disabled, and Route 53 counts a disabled check as healthy")),
        "{warnings:#?}"
    );

    // More mistakes, read back from Route 53: the secondary loses its health
    // check and evaluate_target_health, its check is inverted and its path is
    // not the customers'; the primary's alias stops evaluating target health.
    common::rt().block_on(async {
        use aws_sdk_route53::types::*;
        let aws = moto.clients().await;
        common::moto::rewrite_failover_records(&aws, &stage.zone, |set| {
            let alias = set.alias_target().unwrap();
            let mut changed = set.clone();
            changed.alias_target = Some(
                AliasTarget::builder()
                    .hosted_zone_id(alias.hosted_zone_id())
                    .dns_name(alias.dns_name())
                    .evaluate_target_health(false)
                    .build()
                    .unwrap(),
            );
            if set.failover() == Some(&ResourceRecordSetFailover::Secondary) {
                changed.health_check_id = None;
            }
            changed
        })
        .await;
        let r53 = aws.route53();
        r53.update_health_check()
            .health_check_id(&stage.hc_secondary)
            .inverted(true)
            .resource_path("/")
            .send()
            .await
            .unwrap();
    });
    let out = moto.gameday().arg("plan").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    for expected in [
        "SECONDARY A record app.example.com (secondary): neither a health check nor evaluate_target_health",
        "PRIMARY A record app.example.com (primary): evaluate_target_health is off",
        &format!("health check {}: inverted", stage.hc_secondary),
        &format!("health check {}: requests / but customers call /healthz", stage.hc_secondary),
    ] {
        assert!(
            warnings.iter().any(|w| w.contains(expected)),
            "missing {expected:?} in {warnings:#?}"
        );
    }
    assert_eq!(warnings.len(), 6, "{warnings:#?}");
}

#[test]
fn guards_refuse_a_wrong_account_a_region_not_allowed_and_a_run_without_consent() {
    let (_guard, moto) = Moto::lock();
    let stage = common::rt().block_on(async {
        let aws = moto.clients().await;
        Stage::build(&aws, Records::Alias).await
    });
    let dir = scratch("aws-guards");
    let faults = "[[faults]]\nkind = \"sever-az\"\naz = \"b\"\nsubnet_tags = { Tier = \"app\" }\n";
    let reports = dir.join("reports");

    // Credentials for another account than the scenario allows.
    let wrong = write(
        &dir,
        &stage.scenario(faults).replaced(ACCOUNT, "210987654321"),
    );
    let out = moto
        .gameday()
        .args(["run", "--yes", "--no-progress", "--reports"])
        .arg(&reports)
        .arg(&wrong)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("the credentials are for account {ACCOUNT}"))
            && stderr.contains("not in allowed_accounts [210987654321]"),
        "{stderr}"
    );

    // A region the scenario does not allow: refused at load, with its location.
    let region = write(
        &dir,
        &stage.scenario(faults).replaced(
            "[aws]\n",
            "[aws]\nallowed_regions = [\"us-east-1\", \"eu-west-1\"]\n",
        ),
    );
    let out = moto
        .gameday()
        .args(["run", "--yes"])
        .arg(&region)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("scenario.toml:") && stderr.contains("us-west-2 is not in allowed_regions"),
        "{stderr}"
    );

    // No --yes and no terminal to type the account id at.
    let ok = write(&dir, &stage.scenario(faults));
    let out = moto
        .gameday()
        .args(["run", "--no-progress", "--reports"])
        .arg(&reports)
        .arg(&ok)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("pass --yes"), "{}", explain(&out));
    let report = only_report(&reports);
    assert_eq!(report["outcome"], "refused");
    assert!(report["plan"]["steps"]
        .as_array()
        .is_some_and(|s| s.len() == 1));
    common::rt().block_on(async {
        let aws = moto.clients().await;
        assert_eq!(deny_acl_count(&aws).await, 0, "nothing was changed");
    });
}

/// The network test bed (tests/common/testbed.rs) with moto's account
/// pointing at its lab: customers resolve through unbound and call the
/// regions over HTTPS on non-loopback addresses, the DNS probe asks the lab's
/// authoritative server on its address, the canary writes to PostgreSQL over
/// TLS on the primary's address.
struct Backed {
    bed: TestBed,
    stage: Stage,
    /// The canary's connection string, without sslmode (gameday requires TLS).
    dsn: String,
    /// The CA of the lab's PostgreSQL certificate, when it serves TLS.
    database_ca: Option<PathBuf>,
}

/// A bed whose lab runs PostgreSQL with TLS, or None where the bed or
/// PostgreSQL is missing (outside CI; under CI that fails).
fn backed() -> Option<Backed> {
    backed_with("database_tls = true")
}

/// As `backed`, with `lab` added to the PostgreSQL lab's [lab] table.
fn backed_with(lab: &str) -> Option<Backed> {
    if !common::testbed::available() || !common::postgres_available() {
        return None;
    }
    let dir = scratch("aws-bed-params");
    let params = dir.join("params.toml");
    let text = std::fs::read_to_string(
        common::root().join("scenarios/postgres/fail-primary-database.toml"),
    )
    .unwrap();
    std::fs::write(
        &params,
        text.replaced("[lab]\n", &format!("[lab]\n{lab}\n")),
    )
    .unwrap();
    let bed = TestBed::start(&params);
    let env = bed.describe();
    let db = env.regions[0].database_endpoint.expect("database endpoint");
    let database_ca = env.database_ca.clone();
    let mut stage =
        bed.with_aws(|aws| async move { Stage::build(&aws, Records::Lab(Box::new(env))).await });
    // Customers call the regions' HTTPS fronts by the record's name.
    stage.endpoint = format!("https://{}/orders/latest", stage.record);
    let password = bed.database_password();
    Some(Backed {
        stage,
        dsn: format!(
            "host={} port={} user=gameday password={password} dbname=postgres",
            db.ip(),
            db.port()
        ),
        database_ca,
        bed,
    })
}

impl Backed {
    fn scenario(&self, faults: &str, extra: &str) -> String {
        format!(
            r#"name = "moto-bed"
target = "aws"
baseline = "2s"
stable_for = "1s"
observe_at_least = "3s"
timeout = "30s"
{extra}
[objectives]
rto = "2m"
rpo = "5s"
{}
{faults}
[[probes]]
kind = "http"
resolvers = ["{resolver}:53"]
ca_file = "{https_ca}"
[[probes]]
kind = "dns"
name_servers = ["{authoritative}:53"]
[[probes]]
kind = "health-check"
interval = "1s"
[[probes]]
kind = "canary"
connection_env = "GAMEDAY_TEST_DSN"
{database_ca}
[[probes]]
kind = "alarm"
interval = "1s"
alarm_names = ["{alarm}"]
[[stop_conditions]]
kind = "alarm"
"#,
            self.stage.aws_table(ACCOUNT),
            resolver = common::testbed::RESOLVER,
            authoritative = common::testbed::AUTHORITATIVE,
            https_ca = self.bed.https_ca().display(),
            database_ca = match &self.database_ca {
                Some(ca) => format!("ca_file = \"{}\"", ca.display()),
                None => String::new(),
            },
            alarm = self.stage.alarm,
        )
    }

    /// `gameday run --yes` of a scenario in the runner's namespace, with
    /// `dsn` for the canary.
    /// Starts `gameday run` with output piped, as [`Backed::run`] builds it.
    fn spawn(&self, reports: &Path, scenario: &Path) -> std::process::Child {
        self.spawn_with(self.run(&self.dsn, reports, scenario))
    }

    /// Starts `cmd` with its output piped.
    fn spawn_with(&self, mut cmd: Command) -> std::process::Child {
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The stage's scenario with `faults`, observed for at least 25 s, so a
    /// test can act beside the live run; written into `dir`.
    fn long_scenario(&self, dir: &Path, faults: &str) -> PathBuf {
        write(
            dir,
            &self
                .scenario(faults, "")
                .replaced("observe_at_least = \"3s\"", "observe_at_least = \"25s\""),
        )
    }

    /// No deny ACL of gameday's is left in the account (read with the SDK).
    fn assert_no_deny_acl(&self, why: &str) {
        let left = self
            .bed
            .with_aws(|aws| async move { deny_acl_count(&aws).await });
        assert_eq!(left, 0, "{why}");
    }

    /// The stage's FIS experiment template as the fault.
    fn fis_fault(&self) -> String {
        format!(
            "[[faults]]\nkind = \"fis-experiment\"\ntemplate_id = \"{}\"\n",
            self.stage.fis_template
        )
    }

    fn run(&self, dsn: &str, reports: &Path, scenario: &Path) -> Command {
        let mut cmd = self.bed.gameday();
        cmd.env("GAMEDAY_TEST_DSN", dsn)
            .args(["run", "--yes", "--no-progress", "--reports"])
            .arg(reports)
            .arg(scenario);
        cmd
    }
}

const SEVER_B: &str =
    "[[faults]]\nkind = \"sever-az\"\naz = \"b\"\nsubnet_tags = { Tier = \"app\" }\n";

#[test]
fn a_whole_run_against_moto_severs_reverts_verifies_and_reports() {
    let _serial = Moto::serial();
    let Some(mut b) = backed() else { return };
    // Customers call a name that is a CNAME to the failover record.
    b.stage.endpoint = format!(
        "https://{}/orders/latest",
        gameday::lab::ALIAS.trim_end_matches('.')
    );
    let b = &b;
    let dir = scratch("aws-run");
    let reports = dir.join("reports");
    let faults = format!(
        "{SEVER_B}[[faults]]\nkind = \"deregister-targets\"\ntarget_groups = [\"{}\"]\nselection = \"count:2\"\n",
        b.stage.target_group
    );
    let path = write(&dir, &b.scenario(&faults, ""));
    let plan = b.bed.gameday().arg("plan").arg(&path).output().unwrap();
    assert_eq!(plan.status.code(), Some(0), "{}", explain(&plan));
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains(
            "endpoint host is a CNAME chain to the failover record: www.lab.gameday.test -> app.lab.gameday.test"
        ),
        "{}",
        explain(&plan)
    );
    let (original, targets) = b.bed.with_aws(|aws| async move {
        (
            acl_of(&aws, &b.stage.subnet_b).await,
            registered(&aws, &b.stage.target_group).await,
        )
    });
    let out = b.run(&b.dsn, &reports, &path).output().unwrap();
    let report = only_report(&reports);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert_eq!(report["outcome"], "passed", "{}", explain(&out));
    assert_eq!(report["revert"]["complete"], true, "{}", explain(&out));
    // Every customer request went through unbound, the CNAME and TLS, and was served.
    let customers: Vec<&serde_json::Value> = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["what"]["data"]["probe"] == "http")
        .collect();
    assert!(customers.len() > 20, "{}", customers.len());
    let failed: Vec<_> = customers
        .iter()
        .filter(|e| e["what"]["data"]["ok"] != true)
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(report["environment"]["target"], "aws");
    assert_eq!(report["environment"]["aws"]["account"], ACCOUNT);
    assert!(report["phases"].is_object(), "{}", explain(&out));
    // Probes saw the account and the lab: Route 53 status, the lab's DNS, customers, writes, alarms.
    let kinds: std::collections::BTreeSet<&str> = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["what"]["data"]["probe"].as_str())
        .collect();
    for k in [
        "http",
        "dns",
        "health-check",
        "canary-write",
        "alarm",
        "canary-read-back",
    ] {
        assert!(kinds.contains(k), "no {k} observation: {kinds:?}");
    }
    // What was undone: the two deregistered targets, then the severed subnet.
    let undone = report["revert"]["undone"].as_array().unwrap();
    assert_eq!(undone.len(), 2, "{}", report["revert"]);
    assert!(
        undone[1].as_str().unwrap().contains(&b.stage.subnet_b),
        "{}",
        report["revert"]
    );
    assert_eq!(report["revert"]["differences"].as_array().unwrap().len(), 0);
    // The connection string (and its password) never appears in output,
    // reports or the journal.
    let password = b
        .dsn
        .split("password=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let mut places = vec![
        ("stdout", String::from_utf8_lossy(&out.stdout).to_string()),
        ("stderr", String::from_utf8_lossy(&out.stderr).to_string()),
    ];
    for file in common::RUN_FILES {
        let text = std::fs::read_to_string(common::only_run_dir(&reports).join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        places.push((file, text));
    }
    for (place, text) in places {
        assert!(
            !text.contains(&b.dsn) && !text.contains(password),
            "the connection string leaks into {place}"
        );
    }
    b.bed.with_aws(|aws| async move {
        assert_eq!(acl_of(&aws, &b.stage.subnet_b).await, original);
        assert_eq!(deny_acl_count(&aws).await, 0);
        assert_eq!(registered(&aws, &b.stage.target_group).await, targets);
    });
}

#[test]
fn an_aws_game_day_that_does_not_touch_data_needs_no_rpo_and_no_canary() {
    let _serial = Moto::serial();
    let Some(b) = backed() else { return };
    let b = &b;
    let dir = scratch("aws-no-data");
    let reports = dir.join("reports");
    let faults = format!(
        "[[faults]]\nkind = \"deregister-targets\"\ntarget_groups = [\"{}\"]\nselection = \"count:2\"\n",
        b.stage.target_group
    );
    // The standby's Auto Scaling group (the bed's records name the lab's
    // addresses, not the secondary's load balancer: it is named).
    let group = b
        .bed
        .with_aws(|aws| async move { Stage::standby_group(&aws, 2, 4).await });
    let capacity =
        format!("[[probes]]\nkind = \"capacity\"\ninterval = \"1s\"\ngroups = [\"{group}\"]\n");
    let path = write(
        &dir,
        &format!("{}{capacity}", without_data(&b.scenario(&faults, ""))),
    );
    for step in ["validate", "plan"] {
        let out = b.bed.gameday().arg(step).arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{step}: {}", explain(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("no rpo (data loss not measured)"),
            "{step}: {}",
            explain(&out)
        );
    }
    // No connection string in the environment: nothing asks for one.
    let out = b.run("", &reports, &path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let report = only_report(&reports);
    assert_eq!(report["outcome"], "passed", "{}", explain(&out));
    let judged: Vec<&str> = report["verdict"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["objective"].as_str().unwrap())
        .collect();
    assert_eq!(judged, ["rto"], "only what the scenario declares is judged");
    assert_eq!(report["phases"]["lost_writes"]["measured"], false);
    assert!(report["phases"]["lost_writes"]["count"].is_null());
    let canary = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["what"]["data"]["probe"]
                .as_str()
                .is_some_and(|p| p.starts_with("canary"))
        })
        .count();
    assert_eq!(canary, 0);
    let md = std::fs::read_to_string(common::only_run_dir(&reports).join("report.md")).unwrap();
    assert!(
        md.contains("| lost_writes | - | not measured | no canary probe: this game day did not measure data loss |"),
        "{md}"
    );
    assert_capacity_as_the_sdk_reads_it(b, &report);
}

/// Every `capacity` entry says what DescribeAutoScalingGroups and
/// DescribeTargetHealth say about the standby, read here with the SDK.
fn assert_capacity_as_the_sdk_reads_it(b: &Backed, report: &serde_json::Value) {
    let read = b.bed.with_aws(|aws| async move {
        let s = aws.region(common::moto::SECONDARY);
        let groups = s
            .autoscaling
            .describe_auto_scaling_groups()
            .send()
            .await
            .unwrap();
        let g = &groups.auto_scaling_groups()[0];
        let in_service = g
            .instances()
            .iter()
            .filter(|i| i.lifecycle_state().map(|l| l.as_str()) == Some("InService"))
            .count() as u64;
        let tg = g.target_group_arns()[0].clone();
        let health = s
            .elbv2
            .describe_target_health()
            .target_group_arn(tg)
            .send()
            .await
            .unwrap();
        let healthy = health
            .target_health_descriptions()
            .iter()
            .filter(|d| {
                d.target_health()
                    .and_then(|h| h.state())
                    .map(|s| s.as_str())
                    == Some("healthy")
            })
            .count() as u64;
        [
            g.desired_capacity().unwrap() as u64,
            in_service,
            healthy,
            g.max_size().unwrap() as u64,
        ]
    });
    // moto launches the two and registers them, healthy, in the target group.
    assert_eq!(read, [2, 2, 2, 4]);
    let seen: Vec<[u64; 4]> = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["what"]["data"])
        .filter(|d| d["probe"] == "capacity")
        .map(|d| {
            assert!(d["error"].is_null(), "{d}");
            ["desired", "in_service", "healthy", "max"].map(|k| d[k].as_u64().unwrap())
        })
        .collect();
    assert!(seen.len() >= 3, "{seen:?}");
    assert!(seen.iter().all(|c| *c == read), "{seen:?} vs {read:?}");
}

/// A scenario of [`Backed::scenario`] without its rpo and its canary.
fn without_data(text: &str) -> String {
    let text = text.replace("rpo = \"5s\"\n", "");
    let start = text.find("[[probes]]\nkind = \"canary\"").unwrap();
    let end = start + text[start..].find("[[probes]]\nkind = \"alarm\"").unwrap();
    format!("{}{}", &text[..start], &text[end..])
}

#[test]
fn an_alarm_in_alarm_aborts_the_run_reverts_and_exits_3() {
    let _serial = Moto::serial();
    let Some(b) = backed() else { return };
    let b = &b;
    let dir = scratch("aws-alarm");
    let reports = dir.join("reports");
    let path = b.long_scenario(&dir, SEVER_B);
    let child = b.spawn(&reports, &path);
    // Once the fault is in, the alarm goes off.
    wait_until_applied(
        &reports,
        std::time::Duration::from_secs(30),
        "the fault was never applied",
    );
    b.bed.with_aws(|aws| async move {
        assert_eq!(deny_acl_count(&aws).await, 1, "severed");
        aws.region(PRIMARY)
            .cloudwatch
            .set_alarm_state()
            .alarm_name(&b.stage.alarm)
            .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
            .state_reason("5xx above 10 for 1 minute")
            .send()
            .await
            .unwrap();
    });
    let out = child.wait_with_output().unwrap();
    let (report, reason) = common::assert_aborted(&out, &reports);
    assert!(
        reason.contains(&format!(
            "CloudWatch alarm {} (us-east-1) is in ALARM: 5xx above 10",
            b.stage.alarm
        )),
        "{reason}"
    );
    assert_eq!(report["revert"]["complete"], true);
    b.assert_no_deny_acl("reverted");
}

#[test]
fn killed_at_every_step_gameday_revert_restores_moto_exactly() {
    let _serial = Moto::serial();
    let Some(b) = backed() else { return };
    let b = &b;
    let faults = format!(
        "{SEVER_B}[[faults]]\nkind = \"deregister-targets\"\ntarget_groups = [\"{}\"]\nselection = \"count:3\"\n",
        b.stage.target_group
    );
    let mut restored = 0;
    // Each point, and what must be in place once the process is dead
    // (subnet b severed, three targets deregistered): the journal is ahead of
    // AWS after an intent, level with it after an apply.
    let points = [
        ("after-intent", false, false),
        ("after-apply", true, false),
        ("observing", true, true),
        ("after-undo-intent", true, true),
        ("revert-after-undo-intent", true, false),
    ];
    for (point, severed, deregistered) in points {
        let dir = scratch(&format!("aws-kill-{point}"));
        let reports = dir.join("reports");
        let path = write(&dir, &b.scenario(&faults, ""));
        let (acl_before, regs_before) = b.bed.with_aws(|aws| async move {
            (
                acl_of(&aws, &b.stage.subnet_b).await,
                registered(&aws, &b.stage.target_group).await,
            )
        });
        let run_point = if point == "revert-after-undo-intent" {
            "after-apply"
        } else {
            point
        };
        let out = b
            .run(&b.dsn, &reports, &path)
            .env("FAILPOINTS", crash_at(run_point))
            .output()
            .unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&out.status),
            Some(libc::SIGKILL),
            "{point}: killed by SIGKILL\n{}",
            explain(&out)
        );
        if point == "revert-after-undo-intent" {
            // The revert itself dies once, after journaling its first undo.
            let dying = b
                .bed
                .gameday()
                .env("FAILPOINTS", crash_at(point))
                .args(["revert", "--yes"])
                .arg(&reports)
                .output()
                .unwrap();
            assert_eq!(
                std::os::unix::process::ExitStatusExt::signal(&dying.status),
                Some(libc::SIGKILL),
                "{}",
                explain(&dying)
            );
        }
        // The damage the dead process left, read from moto.
        let before = regs_before.len();
        b.bed.with_aws(|aws| async move {
            assert_eq!(
                deny_acl_count(&aws).await,
                usize::from(severed),
                "{point}: subnet b severed after the kill: {severed}"
            );
            assert_eq!(
                registered(&aws, &b.stage.target_group).await.len(),
                if deregistered { before - 3 } else { before },
                "{point}: three targets deregistered after the kill: {deregistered}"
            );
            // The dead run still holds the account's lease.
            let leases = lease_records(&aws, &b.stage.zone).await;
            assert!(
                leases.len() == 1 && leases[0].contains("gameday-lease run="),
                "{point}: {leases:?}"
            );
        });
        let status = b
            .bed
            .gameday()
            .arg("status")
            .arg(&reports)
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&status.stdout).contains("pending undo"),
            "{point}: {}",
            explain(&status)
        );
        let revert = b
            .bed
            .gameday()
            .args(["revert", "--yes"])
            .arg(&reports)
            .output()
            .unwrap();
        assert_eq!(
            revert.status.code(),
            Some(0),
            "{point}: {}",
            explain(&revert)
        );
        let again = b
            .bed
            .gameday()
            .args(["revert", "--yes"])
            .arg(&reports)
            .output()
            .unwrap();
        assert_eq!(
            again.status.code(),
            Some(0),
            "{point}: twice is harmless: {}",
            explain(&again)
        );
        let regs_before = &regs_before;
        b.bed.with_aws(|aws| async move {
            assert_eq!(
                acl_of(&aws, &b.stage.subnet_b).await,
                acl_before,
                "{point}: subnet association"
            );
            assert_eq!(deny_acl_count(&aws).await, 0, "{point}: deny ACL deleted");
            assert_eq!(
                registered(&aws, &b.stage.target_group).await,
                *regs_before,
                "{point}: registrations"
            );
            assert_eq!(
                lease_records(&aws, &b.stage.zone).await,
                Vec::<String>::new(),
                "{point}: the revert released the dead run's lease"
            );
        });
        restored += 1;
    }
    assert_eq!(restored, points.len());
    eprintln!(
        "moto kill points tried: {}, restored exactly: {restored}",
        points.len()
    );
}

#[test]
fn shipped_aws_scenarios_validate_and_plan_against_a_stage_like_the_seed() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::root().join("scenarios/aws"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let out = common::gameday()
        .current_dir(common::root())
        .arg("validate")
        .args(&files)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));

    // The same files against moto, with the stage's ids in place of the examples'.
    let (_guard, moto) = Moto::lock();
    // A primary that runs three instances in an Auto Scaling group, and a
    // pilot-light standby that can grow to two.
    let stage = common::rt().block_on(async {
        let aws = moto.clients().await;
        let stage = Stage::build(&aws, Records::Alias).await;
        stage.primary_group(&aws, 3).await;
        Stage::standby_group(&aws, 1, 2).await;
        stage
    });
    let dir = scratch("aws-shipped");
    for file in &files {
        let text = std::fs::read_to_string(file)
            .unwrap()
            .replace("Z0123456789EXAMPLE", &stage.zone)
            .replace("11111111-2222-3333-4444-555555555555", &stage.hc_primary)
            .replace("66666666-7777-8888-9999-000000000000", &stage.hc_secondary)
            .replace("EXT1a2b3c4d5e6f7", &stage.fis_template);
        // Not every file names a template, but none may keep an example id.
        assert!(
            text.contains(&stage.zone)
                && [
                    "Z0123456789EXAMPLE",
                    "11111111-2222-3333-4444-555555555555",
                    "66666666-7777-8888-9999-000000000000",
                    "EXT1a2b3c4d5e6f7"
                ]
                .iter()
                .all(|example| !text.contains(example)),
            "{}: an example id was left in place",
            file.display()
        );
        let path = write(&dir, &text);
        // Off AWS, with no instance metadata: sever-az needs the declaration.
        let out = moto
            .gameday()
            .args(["plan", "--runner-not-on-aws"])
            .arg(&path)
            .output()
            .unwrap();
        let name = file.file_name().unwrap().to_string_lossy();
        if name == "fail-primary-database.toml" {
            // No global database in the stage: one clear line naming it.
            assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("no global database orders-global is visible from us-east-1"),
                "{stderr}"
            );
            continue;
        }
        assert_eq!(out.status.code(), Some(0), "{name}: {}", explain(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("undo: ") && stdout.contains("Nothing was changed."),
            "{name}: {stdout}"
        );
        if name == "pilot-light-surge.toml" {
            assert!(
                stdout.contains("warning: the standby's Auto Scaling groups in us-west-2 (orders-standby) can grow to 2 instance(s) while the primary's (orders-primary) run 3 in service"),
                "{}",
                explain(&out)
            );
            assert!(stdout.contains("max_time_to_capacity 6m"), "{stdout}");
        }
    }
}

#[test]
fn the_canary_requires_tls_on_aws_unless_the_connection_string_says_otherwise() {
    let _serial = Moto::serial();
    let Some(b) = backed_with("database_tls = false") else {
        return;
    };
    let b = &b;
    let dir = scratch("aws-tls");
    let reports = dir.join("reports");
    let path = write(&dir, &b.scenario(SEVER_B, ""));
    // The lab's PostgreSQL has no TLS and the connection string names no
    // sslmode: the canary requires TLS (prefer would let it be stripped on
    // the way), so the run refuses to inject with nothing changed.
    let out = b.run(&b.dsn, &reports, &path).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let report = only_report(&reports);
    assert!(
        report["reason"]
            .as_str()
            .unwrap()
            .contains("the latest canary write was not acked"),
        "{}",
        report["reason"]
    );
    let errors: Vec<&str> = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["what"]["data"]["probe"] == "canary-write")
        .filter_map(|e| e["what"]["data"]["error"].as_str())
        .collect();
    assert!(
        errors
            .iter()
            .all(|e| e.contains("server does not support TLS")),
        "{errors:?}"
    );
    assert!(!errors.is_empty());
    b.assert_no_deny_acl("nothing was changed");
}

#[test]
fn an_fis_experiment_is_followed_and_one_stopped_outside_the_run_ends_it() {
    let _serial = Moto::serial();
    let Some(b) = backed() else { return };
    let b = &b;
    b.bed.moto().slow_experiments(Some(&b.bed.runner));
    let dir = scratch("aws-fis");
    let reports = dir.join("reports");
    let faults = b.fis_fault();
    let path = b.long_scenario(&dir, &faults);
    let child = b.spawn(&reports, &path);
    // Once its first action runs (the run journals the change as applied)...
    wait_until_applied(
        &reports,
        std::time::Duration::from_secs(60),
        "the experiment never ran",
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let experiment = loop {
        let found = b.bed.with_aws(|aws| async move {
            common::moto::experiments(&aws)
                .await
                .iter()
                .find(|x| x.tags().and_then(|t| t.get("gameday:run-id")).is_some())
                .and_then(|x| x.id().map(str::to_string))
        });
        if let Some(id) = found {
            break id;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the experiment never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    // ...FIS stops it on its own, as its stop condition would: the run must
    // notice (it follows the experiment once a second).
    let id = &experiment;
    b.bed.with_aws(|aws| async move {
        aws.region(PRIMARY)
            .fis
            .stop_experiment()
            .id(id)
            .send()
            .await
            .unwrap();
    });
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", explain(&out));
    let report = only_report(&reports);
    let reason = report["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("FIS experiment {experiment} is stop")),
        "{reason}"
    );
    // The timeline follows the experiment up to the state that ended the run
    // (whether it read "running" first depends on when its first read came).
    let states: Vec<&str> = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["what"]["data"]["name"] == "fault-state")
        .filter_map(|e| e["what"]["data"]["detail"].as_str())
        .collect();
    assert!(
        states
            .last()
            .is_some_and(|s| s.ends_with("stopping") || s.ends_with("stopped")),
        "the timeline follows the experiment: {states:?}"
    );
    assert!(
        !reason.contains("baseline") && report["revert"]["complete"] == true,
        "{}",
        explain(&out)
    );
    assert!(
        !report["revert"]["undone"].as_array().unwrap().is_empty(),
        "the run undid its experiment: {}",
        report["revert"]
    );
}

#[test]
fn the_canary_verifies_the_databases_tls_certificate_against_ca_file() {
    let _serial = Moto::serial();
    // The lab's PostgreSQL serves TLS from its own CA, as RDS does from Amazon's.
    let Some(b) = backed() else { return };
    let b = &b;
    let dir = scratch("aws-pg-tls");
    let reports = dir.join("reports");
    // No sslmode in the connection string: on AWS the canary requires TLS.
    let run = |scenario: String, reports: &Path| {
        let path = write(&dir, &scenario);
        b.run(&b.dsn, reports, &path).output().unwrap()
    };

    // Trusting the lab's CA: every write goes over TLS and is acked.
    let out = run(b.scenario(SEVER_B, ""), &reports);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let report = only_report(&reports);
    assert_eq!(report["phases"]["lost_writes"]["count"], 0);
    assert!(report["phases"]["lost_writes"]["acked"].as_u64().unwrap() > 10);

    // Only the system's roots: the certificate is refused, nothing is changed.
    let untrusted_reports = dir.join("untrusted");
    let untrusted = b.scenario(SEVER_B, "").replaced(
        &format!(
            "ca_file = \"{}\"\n",
            b.database_ca.as_ref().unwrap().display()
        ),
        "",
    );
    let out = run(untrusted, &untrusted_reports);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let report = only_report(&untrusted_reports);
    let errors: Vec<&str> = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["what"]["data"]["probe"] == "canary-write")
        .filter_map(|e| e["what"]["data"]["error"].as_str())
        .collect();
    assert!(
        !errors.is_empty() && errors.iter().all(|e| e.contains("UnknownIssuer")),
        "{errors:?}"
    );
}

#[test]
fn a_database_failover_is_left_in_place_and_the_report_says_so() {
    let _serial = Moto::serial();
    let Some(b) = backed() else { return };
    let b = &b;
    let dir = scratch("aws-failover");
    let reports = dir.join("reports");
    let path = write(
        &dir,
        &b.scenario(
            "[[faults]]\nkind = \"fail-database\"\ncluster = \"orders\"\n",
            "",
        ),
    );
    let writer = || {
        b.bed
            .with_aws(|aws| async move { cluster_writer(&aws, "orders").await })
    };
    let before = writer();
    let out = b.run(&b.dsn, &reports, &path).output().unwrap();
    let report = only_report(&reports);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert_eq!(report["outcome"], "passed", "{}", explain(&out));
    assert_eq!(report["revert"]["complete"], true, "{}", explain(&out));
    let left = report["revert"]["not_undone"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{}", report["revert"]);
    assert!(left[0]
        .as_str()
        .unwrap()
        .contains("fail over DB cluster orders"));
    let md = std::fs::read_to_string(common::only_run_dir(&reports).join("report.md")).unwrap();
    assert!(
        md.contains("Left in place on purpose: fail over DB cluster orders (us-east-1)"),
        "{md}"
    );
    assert_ne!(
        writer(),
        before,
        "the failover stays: failing back is its own game day"
    );
}

#[test]
fn an_endpoint_that_skips_the_failover_record_is_named_in_plan_and_refused_by_run() {
    let _serial = Moto::serial();
    let Some(mut b) = backed() else { return };
    // A regional name straight to the primary's address: the failover never moves it.
    b.stage.endpoint = format!("https://{}/orders/latest", common::testbed::DIRECT);
    let b = &b;
    let dir = scratch("aws-direct");
    let path = write(&dir, &b.scenario(SEVER_B, ""));
    let plan = b.bed.gameday().arg("plan").arg(&path).output().unwrap();
    let said = String::from_utf8_lossy(&plan.stdout).to_string();
    assert!(
        said.contains(&format!(
            "endpoint host resolves through {} and never reaches the failover record app.lab.gameday.test",
            common::testbed::DIRECT
        )) && said.contains("endpoint_skips_record = true"),
        "{}",
        explain(&plan)
    );
    let reports = dir.join("reports");
    let out = b.run(&b.dsn, &reports, &path).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("never reaches the failover record")
            || String::from_utf8_lossy(&out.stderr).contains("never reaches the failover record"),
        "{}",
        explain(&out)
    );
    b.assert_no_deny_acl("nothing was changed");
    // Declared on purpose: plan says so and nothing refuses.
    let declared = write(
        &dir,
        &b.scenario(SEVER_B, "").replaced(
            "runner_not_on_aws = true\n",
            "runner_not_on_aws = true\nendpoint_skips_record = true\n",
        ),
    );
    let plan = b.bed.gameday().arg("plan").arg(&declared).output().unwrap();
    assert_eq!(plan.status.code(), Some(0), "{}", explain(&plan));
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("declared on purpose"),
        "{}",
        explain(&plan)
    );
}

#[test]
fn a_stop_condition_already_firing_in_the_baseline_refuses_the_fault_with_exit_2() {
    let _serial = Moto::serial();
    let Some(b) = backed() else { return };
    let b = &b;
    // The alarm the scenario stops on is already going off before the run.
    b.bed.with_aws(|aws| async move {
        aws.region(PRIMARY)
            .cloudwatch
            .set_alarm_state()
            .alarm_name(&b.stage.alarm)
            .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
            .state_reason("5xx above 10 for 1 minute")
            .send()
            .await
            .unwrap();
    });
    let dir = scratch("aws-baseline-alarm");
    let reports = dir.join("reports");
    let path = write(&dir, &b.scenario(SEVER_B, ""));
    let out = b.run(&b.dsn, &reports, &path).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let report = only_report(&reports);
    assert_eq!(report["outcome"], "refused");
    let reason = report["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("refusing to inject: stop condition alarm is already firing")
            && reason.contains(&b.stage.alarm),
        "{reason}"
    );
    assert!(
        !common::change_events(&reports)
            .iter()
            .any(|e| e == "intent"),
        "nothing may be changed"
    );
    b.assert_no_deny_acl("nothing severed");
}

#[test]
fn a_change_aws_refuses_to_make_aborts_with_exit_3_and_nothing_left() {
    let _serial = Moto::serial();
    let Some(b) = backed() else { return };
    let b = &b;
    let dir = scratch("aws-unapplied");
    let reports = dir.join("reports");
    let faults = b.fis_fault();
    let path = write(&dir, &b.scenario(&faults, ""));
    // The run stops for 3 s once its intent is journaled; meanwhile someone
    // deletes the template, so StartExperiment is refused.
    let mut cmd = b.run(&b.dsn, &reports, &path);
    cmd.env("FAILPOINTS", common::pause_at("after-intent", 3000));
    let child = b.spawn_with(cmd);
    common::wait_for_journal(
        &reports,
        "intent",
        std::time::Duration::from_secs(60),
        "the run never journaled its change",
    );
    let template = &b.stage.fis_template;
    b.bed.with_aws(|aws| async move {
        aws.region(PRIMARY)
            .fis
            .delete_experiment_template()
            .id(template)
            .send()
            .await
            .unwrap();
    });
    let out = child.wait_with_output().unwrap();
    let (report, reason) = common::assert_aborted(&out, &reports);
    assert!(
        reason.starts_with("could not apply step 1: ") && reason.contains(template.as_str()),
        "{reason}"
    );
    assert_eq!(report["revert"]["complete"], true, "{}", report["revert"]);
    let events = common::change_events(&reports);
    assert!(!events.iter().any(|e| e == "applied"), "{events:?}");
    // No experiment of the run is left going (read with the SDK).
    b.bed.with_aws(|aws| async move {
        let listed = common::moto::experiments(&aws).await;
        assert!(listed.is_empty(), "{listed:?}");
    });
}

#[test]
fn an_undo_aws_refuses_leaves_the_revert_incomplete_with_exit_4_and_the_journal_named() {
    let _serial = Moto::serial();
    let Some(b) = backed() else { return };
    let b = &b;
    let dir = scratch("aws-undo-refused");
    let reports = dir.join("reports");
    let faults = format!(
        "[[faults]]\nkind = \"deregister-targets\"\ntarget_groups = [\"{}\"]\nselection = \"count:1\"\n",
        b.stage.target_group
    );
    let path = b.long_scenario(&dir, &faults);
    let child = b.spawn(&reports, &path);
    wait_until_applied(
        &reports,
        std::time::Duration::from_secs(60),
        "the targets were never deregistered",
    );
    // Someone deletes the target group (its listeners first) mid-run: the
    // undo cannot register the target again.
    let group = &b.stage.target_group;
    b.bed.with_aws(|aws| async move {
        let elb = aws.region(PRIMARY).elbv2;
        let lbs = elb.describe_load_balancers().send().await.unwrap();
        for lb in lbs.load_balancers() {
            let listeners = elb
                .describe_listeners()
                .load_balancer_arn(lb.load_balancer_arn().unwrap())
                .send()
                .await
                .unwrap();
            for l in listeners.listeners() {
                elb.delete_listener()
                    .listener_arn(l.listener_arn().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
        elb.delete_target_group()
            .target_group_arn(group)
            .send()
            .await
            .unwrap();
    });
    common::interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let report = common::assert_revert_incomplete(&out, &reports);
    // The journal still owes the undo: `gameday status` lists the run.
    let status = b
        .bed
        .gameday()
        .arg("status")
        .arg(&reports)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&status.stdout).contains(report["run_id"].as_str().unwrap()),
        "{}",
        explain(&status)
    );
}

#[test]
fn a_second_run_against_a_leased_account_is_refused_and_changes_nothing() {
    let _serial = Moto::serial();
    let Some(b) = backed() else { return };
    let b = &b;
    let dir = scratch("aws-two-runs");
    let (first_reports, second_reports) = (dir.join("first"), dir.join("second"));
    let path = b.long_scenario(&dir, SEVER_B);
    let first = b.spawn(&first_reports, &path);
    wait_until_applied(
        &first_reports,
        std::time::Duration::from_secs(60),
        "the first run never severed",
    );
    std::fs::create_dir_all(dir.join("second-scenario")).unwrap();
    let second_path = write(&dir.join("second-scenario"), &b.scenario(SEVER_B, ""));
    let second = b
        .run(&b.dsn, &second_reports, &second_path)
        .output()
        .unwrap();
    common::assert_refused_by_lease(&second, &second_reports, &first_reports, first.id());
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("_gameday-lease."),
        "{}",
        explain(&second)
    );
    b.bed.with_aws(|aws| async move {
        assert_eq!(
            deny_acl_count(&aws).await,
            1,
            "only the first run's deny ACL"
        );
        assert_eq!(lease_records(&aws, &b.stage.zone).await.len(), 1);
    });
    common::interrupt(&first);
    let out = first.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", explain(&out));
    b.bed.with_aws(|aws| async move {
        assert_eq!(deny_acl_count(&aws).await, 0);
        assert_eq!(
            lease_records(&aws, &b.stage.zone).await,
            Vec::<String>::new()
        );
    });
}

#[test]
fn an_api_outage_mid_revert_is_owed_within_revert_timeout_and_revert_finishes_once_it_answers() {
    let _serial = Moto::serial();
    let Some(b) = backed() else { return };
    let b = &b;
    let dir = scratch("aws-api-outage");
    let reports = dir.join("reports");
    // gameday reaches moto only through the proxy; the test reads moto directly.
    let upstream = b
        .bed
        .moto()
        .url
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let proxy = b.bed.runner.run(|| FaultProxy::start(upstream));
    let path = write(
        &dir,
        &b.scenario(SEVER_B, "revert_timeout = \"8s\"")
            .replaced("observe_at_least = \"3s\"", "observe_at_least = \"25s\""),
    );
    let mut cmd = b.run(&b.dsn, &reports, &path);
    cmd.env("AWS_ENDPOINT_URL", proxy.url());
    let child = b.spawn_with(cmd);
    wait_until_applied(
        &reports,
        std::time::Duration::from_secs(60),
        "the run never severed",
    );
    // The API hangs from here on: connections accepted, never answered.
    proxy.set(Mode::Hang);
    let hung = std::time::Instant::now();
    common::interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let took = hung.elapsed();
    assert!(
        took < std::time::Duration::from_secs(30),
        "the revert took {took:?}"
    );
    let report = common::assert_revert_incomplete(&out, &reports);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let finish = format!("gameday revert {} --yes", reports.display());
    assert!(
        stdout.contains("still owed: ") && stdout.contains(&format!("finish it with: {finish}\n")),
        "{stdout}"
    );
    assert_eq!(
        report["revert"]["owed"].as_array().unwrap().len(),
        2,
        "{}",
        report["revert"]
    );
    let still_owed = || {
        b.bed.with_aws(|aws| async move {
            (
                deny_acl_count(&aws).await,
                lease_records(&aws, &b.stage.zone).await.len(),
            )
        })
    };
    assert_eq!(
        still_owed(),
        (1, 1),
        "the subnet is still severed, the lease still held"
    );
    // While the API refuses every connection, a revert changes nothing and says so.
    proxy.set(Mode::Refuse);
    let revert = || {
        b.bed
            .gameday()
            .env("AWS_ENDPOINT_URL", proxy.url())
            .args(["revert", "--yes"])
            .arg(&reports)
            .output()
            .unwrap()
    };
    let refused = revert();
    assert_eq!(refused.status.code(), Some(4), "{}", explain(&refused));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains(&format!(
            "could not reach sts at {} (AWS_ENDPOINT_URL)",
            proxy.url()
        )),
        "{said}"
    );
    assert_eq!(still_owed(), (1, 1));
    // Once it answers again, the printed command finishes the revert.
    proxy.set(Mode::Forward);
    let finished = revert();
    assert_eq!(finished.status.code(), Some(0), "{}", explain(&finished));
    assert_eq!(still_owed(), (0, 0));
    let status = b.bed.gameday().arg("status").arg(&reports).output();
    common::assert_nothing_pending(&status.unwrap());
}

#[test]
fn a_lapsed_lease_in_the_zone_is_taken_over_with_a_warning() {
    let _serial = Moto::serial();
    let Some(b) = backed() else { return };
    let b = &b;
    let now = chrono::Utc::now();
    let lapsed = gameday::lease::Lease {
        run_id: "dead-run-20261130T000000Z-0000".into(),
        holder: "pid 1 on host gone, arn:aws:iam::123456789012:user/ci".into(),
        since: now - chrono::Duration::hours(2),
        until: now - chrono::Duration::hours(1),
    };
    let name = format!(
        "{}{}",
        gameday::lease::RECORD_PREFIX,
        b.stage.record.trim_end_matches('.')
    );
    let value = lapsed.value();
    b.bed.with_aws(|aws| async move {
        plant_txt(&aws, &b.stage.zone, &name, &value).await;
        assert_eq!(lease_records(&aws, &b.stage.zone).await.len(), 1);
    });
    let dir = scratch("aws-lapsed-lease");
    let reports = dir.join("reports");
    let path = write(&dir, &b.scenario(SEVER_B, ""));
    let out = b.run(&b.dsn, &reports, &path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let report = only_report(&reports);
    common::assert_lease_taken_over(&report, &lapsed.run_id);
    // The lapsed record was replaced, then the run's own released: none left.
    b.bed.with_aws(|aws| async move {
        assert_eq!(
            lease_records(&aws, &b.stage.zone).await,
            Vec::<String>::new()
        );
    });
}

/// The records of canary `run_id` in `gameday_canary` on the PostgreSQL at
/// `endpoint`, read with psql from the runner's namespace: independently of
/// the canary that wrote them.
fn canary_records(b: &Backed, endpoint: std::net::SocketAddr, run_id: &str) -> Vec<u64> {
    let bin = gameday::lab::database::postgres::find_binaries().unwrap();
    let mut cmd = Command::new(bin.join("psql"));
    b.bed.runner.enter(&mut cmd);
    let out = cmd
        .env_clear()
        .env("PGPASSWORD", b.bed.database_password())
        .args([
            "-AtX",
            "-h",
            &endpoint.ip().to_string(),
            "-p",
            &endpoint.port().to_string(),
            "-U",
            "gameday",
            "-d",
            "postgres",
            "-c",
        ])
        .arg(format!(
            "SELECT seq FROM gameday_canary WHERE run_id = '{run_id}' ORDER BY seq"
        ))
        .env("PGSSLMODE", "require")
        .output()
        .unwrap();
    assert!(out.status.success(), "psql: {}", explain(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

/// Region isolation on AWS, played by the bed's lab while an FIS experiment
/// runs (moto's changes nothing): the canary asks the old writer and the
/// standby directly, reads both back, and its lost and divergent writes are
/// what psql finds on the old writer and not on the promoted standby; the
/// global database's membership says the old writer was not demoted (moto
/// never fails one over), and FIS's action times are on the timeline.
#[test]
fn on_aws_the_canary_counts_divergent_writes_from_both_writers() {
    let _serial = Moto::serial();
    let Some(b) = backed() else { return };
    let b = &b;
    b.bed.moto().slow_experiments(Some(&b.bed.runner));
    b.bed
        .with_aws(|aws| async move { common::moto::global_database(&aws).await });
    let lab = b.bed.describe();
    let (old, standby) = (&lab.regions[0], &lab.regions[1]);
    let standby_db = standby.database_endpoint.expect("standby database");
    let old_db = old.database_endpoint.expect("old writer database");
    let dir = scratch("aws-two-writers");
    let reports = dir.join("reports");
    let text = b
        .scenario(&b.fis_fault(), "")
        .replaced("observe_at_least = \"3s\"", "observe_at_least = \"8s\"")
        .replaced(
            "connection_env = \"GAMEDAY_TEST_DSN\"\n",
            "connection_env = \"GAMEDAY_TEST_DSN\"\nboth_writers = true\nold_writer_env = \"GAMEDAY_TEST_DSN\"\nstandby_env = \"GAMEDAY_TEST_STANDBY_DSN\"\nglobal_cluster = \"orders-global\"\n",
        );
    let path = write(&dir, &text);
    let standby_dsn = b.dsn.replaced(
        &format!("host={} port={}", old_db.ip(), old_db.port()),
        &format!("host={} port={}", standby_db.ip(), standby_db.port()),
    );
    let mut cmd = b.run(&b.dsn, &reports, &path);
    cmd.env("GAMEDAY_TEST_STANDBY_DSN", &standby_dsn);
    let child = b.spawn_with(cmd);
    wait_until_applied(
        &reports,
        std::time::Duration::from_secs(60),
        "the experiment never ran",
    );
    // What the experiment would do to a real region: cut it off from the
    // health checks and the standby; customers (the canary's connection)
    // still reach its writer, which is never fenced.
    let partition = gameday::lab::LabCall::PartitionRegion {
        region: old.name.clone(),
        reachable_permille: 1000,
        fencing: gameday::lab::database::Fencing::Never,
        lasts_ms: None,
    };
    b.bed
        .service
        .run(|| common::rt().block_on(b.bed.lab.client.apply(&partition)))
        .expect("partition the lab's primary");
    let out = child.wait_with_output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        explain(&out)
    );
    let report = only_report(&reports);
    assert_eq!(report["revert"]["complete"], true, "{}", report["revert"]);
    let run_id = common::run_id_in(&reports);
    let on_old = canary_records(b, old_db, &run_id);
    let on_new: std::collections::HashSet<u64> =
        canary_records(b, standby_db, &run_id).into_iter().collect();
    // Acked writes only: one committed as the canary gave up waiting is no
    // acked write lost.
    let acked = common::acked_seqs(&report);
    let only_old = on_old
        .iter()
        .filter(|s| !on_new.contains(s) && acked.contains(s))
        .count() as u64;
    let phases = &report["phases"];
    let lost = phases["lost_writes"]["count"].as_u64().unwrap();
    let d = &phases["divergent_writes"];
    let divergent = d["count"].as_u64().unwrap();
    assert_eq!(
        lost + divergent,
        only_old,
        "measured {lost} lost + {divergent} divergent; psql finds {only_old} acked ones only on the old writer"
    );
    // Promoted 2 s after the cut, observed for 8 s: both kinds are there.
    assert!(
        divergent >= 20 && lost >= 5,
        "{lost} lost, {divergent} divergent"
    );
    assert!(d["promotion_ms"].as_f64().is_some(), "{d}");
    assert_eq!(d["demotion"]["demoted"], false, "{d}");
    assert!(
        d["demotion"]["detail"]
            .as_str()
            .is_some_and(|s| s.starts_with("not demoted")),
        "{d}"
    );
    let fencing = &phases["fencing"];
    assert!(
        fencing["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("never")),
        "{fencing}"
    );
    // FIS's own record of its action, placed on the run's clock.
    let at = |name: &str| {
        report["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["what"]["data"]["name"] == name)
            .map(|e| e["at"].as_f64().unwrap())
    };
    let (started, ended) = (at("fis-action-started"), at("fis-action-ended"));
    assert!(
        matches!((started, ended), (Some(s), Some(e)) if s <= e),
        "FIS action times on the timeline: {started:?} {ended:?}"
    );
    let md = std::fs::read_to_string(common::only_run_dir(&reports).join("report.md")).unwrap();
    assert!(
        md.contains("| old_writer_demoted | - | no | not demoted"),
        "{md}"
    );
}
