//! `gameday discover` against moto, on account shapes the tests build: the
//! seed's aliases with a check on the primary only, checks on both, plain A
//! records, an Aurora global database, and a zone without the record. Every
//! written scenario must validate and plan with exit 0 against the same
//! account; moto's whole state (its data.json) is compared before and after,
//! so "read-only" is checked, not assumed.

mod common;

use common::moto::{Moto, Records, Stage, ACCOUNT, PRIMARY, SECONDARY};
use common::{explain, scratch};
use std::path::{Path, PathBuf};
use std::process::Output;

/// What a game day could have changed in moto, read with the SDK directly
/// (moto's own data.json cannot dump RDS: "Password not retrievable"):
/// records, health checks, load balancers, target registrations, instance
/// states, subnet ACLs, databases, FIS experiments and alarms.
fn snapshot(moto: &Moto) -> Vec<String> {
    common::rt().block_on(async {
        let aws = moto.clients().await;
        let mut out = route53_state(&aws).await;
        for region in [PRIMARY, SECONDARY] {
            let c = aws.region(region);
            out.extend(traffic_state(&c).await);
            out.extend(database_state(&c).await);
            let experiments = c.fis.list_experiments().send().await.unwrap();
            out.extend(experiments.experiments().iter().map(|e| format!("{e:?}")));
            let alarms = c.cloudwatch.describe_alarms().send().await.unwrap();
            out.extend(
                alarms
                    .metric_alarms()
                    .iter()
                    .map(|a| format!("{:?} {:?}", a.alarm_name(), a.state_value())),
            );
        }
        assert!(out.len() > 20, "the snapshot read too little: {out:?}");
        out
    })
}

/// Every record of every zone, and every health check.
async fn route53_state(aws: &gameday::aws::AwsClients) -> Vec<String> {
    let r53 = aws.route53();
    let mut out = Vec::new();
    for zone in r53.list_hosted_zones().send().await.unwrap().hosted_zones() {
        let sets = r53
            .list_resource_record_sets()
            .hosted_zone_id(zone.id())
            .send()
            .await
            .unwrap();
        out.extend(sets.resource_record_sets().iter().map(|r| format!("{r:?}")));
    }
    let checks = r53.list_health_checks().send().await.unwrap();
    out.extend(checks.health_checks().iter().map(|h| format!("{h:?}")));
    out
}

/// Load balancers, target groups and their registrations, instance states
/// and network ACLs of one region.
async fn traffic_state(c: &gameday::aws::RegionClients) -> Vec<String> {
    let mut out = Vec::new();
    let lbs = c.elbv2.describe_load_balancers().send().await.unwrap();
    out.extend(lbs.load_balancers().iter().map(|l| format!("{l:?}")));
    let tgs = c.elbv2.describe_target_groups().send().await.unwrap();
    for tg in tgs.target_groups() {
        out.push(format!("{tg:?}"));
        let health = c
            .elbv2
            .describe_target_health()
            .target_group_arn(tg.target_group_arn().unwrap())
            .send()
            .await
            .unwrap();
        let targets = health.target_health_descriptions();
        out.extend(targets.iter().map(|d| format!("{d:?}")));
    }
    let instances = c.ec2.describe_instances().send().await.unwrap();
    for i in instances.reservations().iter().flat_map(|r| r.instances()) {
        out.push(format!("{:?} {:?}", i.instance_id(), i.state()));
    }
    let acls = c.ec2.describe_network_acls().send().await.unwrap();
    out.extend(acls.network_acls().iter().map(|a| format!("{a:?}")));
    out
}

/// Clusters with their members, instances and global databases of one region.
async fn database_state(c: &gameday::aws::RegionClients) -> Vec<String> {
    let mut out = Vec::new();
    let clusters = c.rds.describe_db_clusters().send().await.unwrap();
    out.extend(clusters.db_clusters().iter().map(|d| {
        format!(
            "{:?} {:?} {:?}",
            d.db_cluster_identifier(),
            d.status(),
            d.db_cluster_members()
        )
    }));
    let dbs = c.rds.describe_db_instances().send().await.unwrap();
    out.extend(dbs.db_instances().iter().map(|d| {
        format!(
            "{:?} {:?}",
            d.db_instance_identifier(),
            d.db_instance_status()
        )
    }));
    let globals = c.rds.describe_global_clusters().send().await.unwrap();
    out.extend(globals.global_clusters().iter().map(|g| format!("{g:?}")));
    out
}

fn discover(moto: &Moto, stage: &Stage, out: &Path, extra: &[&str]) -> Output {
    moto.gameday()
        .args([
            "discover",
            "--zone",
            &stage.zone,
            "--record",
            &stage.record,
            "--out",
        ])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

/// The scenario files written into `dir`, by name.
fn written(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Each file validates and plans with exit 0 against moto, unedited.
fn round_trip(moto: &Moto, dir: &Path) {
    for name in written(dir) {
        let path: PathBuf = dir.join(&name);
        let validate = moto.gameday().arg("validate").arg(&path).output().unwrap();
        assert_eq!(
            validate.status.code(),
            Some(0),
            "{name}: {}",
            explain(&validate)
        );
        let plan = moto
            .gameday()
            .args(["plan", "--runner-not-on-aws"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(plan.status.code(), Some(0), "{name}: {}", explain(&plan));
        assert!(
            String::from_utf8_lossy(&plan.stdout).contains("Nothing was changed."),
            "{name}: {}",
            explain(&plan)
        );
    }
}

/// Replaces the SECONDARY record by one without a health check (or both by
/// plain A records with `addresses`, TTL 60).
async fn reshape(aws: &gameday::aws::AwsClients, stage: &Stage, addresses: Option<[&str; 2]>) {
    use aws_sdk_route53::types::{AliasTarget, ResourceRecord, ResourceRecordSet, RrType};
    common::moto::rewrite_failover_records(aws, &stage.zone, |r| {
        let failover = r.failover().unwrap();
        let secondary = failover.as_str() == "SECONDARY";
        let set = ResourceRecordSet::builder()
            .name(r.name())
            .r#type(RrType::A)
            .set_identifier(r.set_identifier().unwrap())
            .failover(failover.clone());
        let set = match addresses {
            Some(ips) => set
                .ttl(60)
                .resource_records(
                    ResourceRecord::builder()
                        .value(ips[usize::from(secondary)])
                        .build()
                        .unwrap(),
                )
                .set_health_check_id(r.health_check_id().map(str::to_string)),
            None => {
                let alias = r.alias_target().unwrap();
                set.alias_target(
                    AliasTarget::builder()
                        .hosted_zone_id(alias.hosted_zone_id())
                        .dns_name(alias.dns_name())
                        .evaluate_target_health(true)
                        .build()
                        .unwrap(),
                )
                .set_health_check_id(
                    r.health_check_id()
                        .filter(|_| !secondary)
                        .map(str::to_string),
                )
            }
        };
        set.build().unwrap()
    })
    .await;
}

#[test]
fn the_seed_with_a_check_on_the_primary_only_gives_its_game_days_and_changes_nothing() {
    let (_guard, moto) = Moto::lock();
    let stage = common::rt().block_on(async {
        let aws = moto.clients().await;
        let stage = Stage::build(&aws, Records::Alias).await;
        reshape(&aws, &stage, None).await;
        stage
    });
    let dir = scratch("discover-seed");
    let before = snapshot(moto);
    let out = discover(moto, &stage, &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert_eq!(snapshot(moto), before, "discover changed moto's state");
    assert_eq!(
        written(&dir),
        [
            "kill-primary-targets.toml",
            "sever-primary-az-us-east-1a.toml",
            "sever-primary-az-us-east-1b.toml",
            "stop-primary-instances.toml"
        ]
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("PRIMARY in {PRIMARY}, SECONDARY in {SECONDARY}")),
        "{said}"
    );
    // Two databases: listed, not guessed, with the flag to choose.
    assert!(
        said.contains(
            "not used: 2 databases could be failed: orders (Aurora cluster), ledger (Multi-AZ instance); pass --database with one of them"
        ),
        "{said}"
    );
    assert_kill_primary_targets(&dir, &stage);
    round_trip(moto, &dir);
    // Existing files are kept without --force.
    let again = discover(moto, &stage, &dir, &[]);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("kept (exists; --force overwrites)"),
        "{}",
        explain(&again)
    );
    assert_a_missing_record_is_one_line(moto, &stage, &dir);
}

/// The kill-primary-targets file: the account, the target group, no
/// secondary check and no rpo, and the floor's arithmetic beside its rto.
fn assert_kill_primary_targets(dir: &Path, stage: &Stage) {
    let kill = std::fs::read_to_string(dir.join("kill-primary-targets.toml")).unwrap();
    assert!(
        kill.contains(&format!("allowed_accounts = [\"{ACCOUNT}\"]")),
        "{kill}"
    );
    assert!(kill.contains(&stage.target_group), "{kill}");
    assert!(!kill.contains("secondary_health_check"), "{kill}");
    assert!(!kill.contains("rpo"), "no data touched, no rpo: {kill}");
    // The floor's arithmetic beside a round objective above it: 10 s x 3
    // (the first failed check right after t0: 20 s) plus the alias's 60 s
    // TTL is 80 s; plus 30 s, rounded up to a minute: 2m.
    assert!(
        kill.contains("# floor 1m 20s: health check 10s x 3"),
        "{kill}"
    );
    assert!(kill.contains("rto = \"2m\""), "{kill}");
}

/// A name the zone has no failover record for: one line naming what is there.
fn assert_a_missing_record_is_one_line(moto: &Moto, stage: &Stage, dir: &Path) {
    let out = moto
        .gameday()
        .args([
            "discover",
            "--zone",
            &stage.zone,
            "--record",
            "www.example.com",
            "--out",
        ])
        .arg(dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "gameday: discover: no failover records named www.example.com in zone {}; records there: ",
            stage.zone
        )) && stderr.contains("app.example.com A"),
        "{stderr}"
    );
}

#[test]
fn checks_on_both_and_a_named_database_give_its_failover_in_json() {
    let (_guard, moto) = Moto::lock();
    let stage = common::rt().block_on(async {
        let aws = moto.clients().await;
        Stage::build(&aws, Records::Alias).await
    });
    let dir = scratch("discover-both");
    let out = discover(moto, &stage, &dir, &["--database", "orders", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "gameday.discover");
    assert_eq!(doc["found"]["account"], ACCOUNT);
    assert_eq!(doc["found"]["database"]["database"]["kind"], "cluster");
    let db = doc["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "fail-primary-database")
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(db["outcome"], "written");
    assert_eq!(db["needs"], "GAMEDAY_CANARY_DSN");
    let text = std::fs::read_to_string(dir.join("fail-primary-database.toml")).unwrap();
    assert!(
        text.contains("cluster = \"orders\"\nmode = \"failover\""),
        "{text}"
    );
    assert!(
        text.contains("rpo = \"0s\"") && text.contains("kind = \"canary\""),
        "{text}"
    );
    assert!(text.contains(&format!(
        "secondary_health_check = \"{}\"",
        stage.hc_secondary
    )));
    round_trip(moto, &dir);
}

#[test]
fn plain_a_records_need_their_regions_named() {
    let (_guard, moto) = Moto::lock();
    let stage = common::rt().block_on(async {
        let aws = moto.clients().await;
        let stage = Stage::build(&aws, Records::Alias).await;
        reshape(&aws, &stage, Some(["192.0.2.10", "198.51.100.10"])).await;
        stage
    });
    let dir = scratch("discover-plain");
    let out = discover(moto, &stage, &dir, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PRIMARY A 192.0.2.10 and SECONDARY A 198.51.100.10")
            && stderr.contains("pass --regions PRIMARY,SECONDARY"),
        "{stderr}"
    );
    assert!(written(&dir).is_empty());
    let out = discover(
        moto,
        &stage,
        &dir,
        &["--regions", "us-east-1,us-west-2", "--database", "ledger"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(
            "not an alias to a load balancer: no kill-primary-targets or sever-primary-az"
        ),
        "{said}"
    );
    assert_eq!(written(&dir), ["fail-primary-database.toml"]);
    let text = std::fs::read_to_string(dir.join("fail-primary-database.toml")).unwrap();
    assert!(
        text.contains("instance = \"ledger\"\nmode = \"reboot-failover\""),
        "{text}"
    );
    // TTL 60 of the record (not an alias): the same 80 s floor.
    assert!(text.contains("TTL 1m of the primary record"), "{text}");
    round_trip(moto, &dir);
}

#[test]
fn an_aurora_global_database_gives_a_switchover_without_data_loss() {
    let (_guard, moto) = Moto::lock();
    let (stage, target) = common::rt().block_on(async {
        let aws = moto.clients().await;
        let stage = Stage::build(&aws, Records::Alias).await;
        let (_, target) = common::moto::global_database(&aws).await;
        // And an FIS template that cuts the primary's subnets off: a region outage.
        common::moto::fis_template(
            &aws,
            &common::moto::FisTemplate {
                token: "outage",
                description: "cut the primary region off",
                resource_type: "aws:ec2:subnet",
                arns: vec![format!(
                    "arn:aws:ec2:{PRIMARY}:{ACCOUNT}:subnet/{}",
                    stage.subnet_a
                )],
                action: "aws:network:disrupt-connectivity",
                targets_key: "Subnets",
                parameters: &[("duration", "PT5M")],
            },
        )
        .await;
        (stage, target)
    });
    let dir = scratch("discover-global");
    let before = snapshot(moto);
    let out = discover(moto, &stage, &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert_eq!(snapshot(moto), before, "discover changed moto's state");
    let text = std::fs::read_to_string(dir.join("fail-primary-database.toml")).unwrap();
    assert!(
        text.contains(&format!(
            "global_cluster = \"orders-global\"\nmode = \"global-switchover\"\ntarget_cluster = \"{target}\""
        )),
        "{text}"
    );
    let outage = std::fs::read_to_string(dir.join("primary-region-outage.toml")).unwrap();
    assert!(outage.contains("kind = \"fis-experiment\""), "{outage}");
    assert!(
        !outage.contains(&stage.fis_template),
        "the stop-instances template is no outage"
    );
    round_trip(moto, &dir);
}
