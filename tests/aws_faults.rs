//! Each AWS fault against moto: it changes exactly what it says, and its undo
//! restores the exact prior state. Never a real endpoint (see common::moto).

mod common;

use common::Replaced;

use common::moto::{acl_of, cluster_writer, deny_acl_count, Moto, Records, Stage, PRIMARY};
use gameday::aws::{AwsClients, AwsEnv};
use gameday::environment::{Appliers, Env};
use gameday::plan::{Action, Plan};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

const RUN: &str = "moto-20261126T000000Z-0001";

async fn plan_of(aws: &AwsClients, stage: &Stage, faults: &str) -> Result<(Env, Plan), String> {
    let text = stage.scenario(faults);
    let scenario =
        gameday::scenario::parse(Path::new("moto.toml"), &text).map_err(|e| e.to_string())?;
    let params = scenario.aws.clone().expect("aws table");
    let env = Env::Aws(Arc::new(AwsEnv::discover(&params, aws.clone()).await?));
    let plan = gameday::plan::resolve(&scenario.faults, &scenario.probes, &env, RUN)
        .await
        .map_err(|e| e.to_string())?;
    Ok((env, plan))
}

async fn apply_all(aws: &AwsClients, plan: &Plan) {
    let appliers = Appliers {
        lab: None,
        aws: Some(aws.clone()),
    };
    for s in &plan.steps {
        appliers
            .apply(&s.apply)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", s.apply.summary()));
    }
}

async fn undo_all(aws: &AwsClients, plan: &Plan) {
    let appliers = Appliers {
        lab: None,
        aws: Some(aws.clone()),
    };
    for s in plan.steps.iter().rev() {
        appliers
            .apply(&s.undo)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", s.undo.summary()));
        appliers
            .holds(&s.undo)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", s.undo.summary()));
    }
}

async fn registrations(aws: &AwsClients, tg: &str) -> BTreeSet<(String, Option<i32>)> {
    common::moto::registered(aws, tg).await
}

async fn states(aws: &AwsClients, ids: &[String]) -> Vec<(String, String)> {
    common::moto::instance_states(aws, ids).await
}

#[test]
fn deregister_targets_takes_exactly_the_chosen_registrations_and_puts_them_back() {
    let (_guard, moto) = Moto::lock();
    common::rt().block_on(async {
        let aws = moto.clients().await;
        let stage = Stage::build(&aws, Records::Alias).await;
        let before = registrations(&aws, &stage.target_group).await;
        assert_eq!(before.len(), 4);
        let (_, plan) = plan_of(
            &aws,
            &stage,
            "[[faults]]\nkind = \"deregister-targets\"\ntarget_group_tags = { Service = \"app\" }\naz = \"a\"\n",
        )
        .await
        .unwrap();
        assert_eq!(plan.steps.len(), 1);
        let Action::Aws(gameday::aws::AwsCall::DeregisterTargets { targets, .. }) = &plan.steps[0].apply else {
            panic!("{:?}", plan.steps[0].apply)
        };
        let chosen: BTreeSet<String> = targets.iter().map(|t| t.id.clone()).collect();
        assert_eq!(chosen, stage.instances[..2].iter().cloned().collect(), "the AZ a instances");
        assert!(targets.iter().all(|t| t.port == Some(8080)), "{targets:?}");

        apply_all(&aws, &plan).await;
        let during = registrations(&aws, &stage.target_group).await;
        let expected: BTreeSet<_> = stage.instances[2..].iter().map(|i| (i.clone(), Some(8080))).collect();
        assert_eq!(during, expected, "only the AZ b registrations are left");

        undo_all(&aws, &plan).await;
        assert_eq!(registrations(&aws, &stage.target_group).await, before);
        // Idempotent: a second undo changes nothing.
        undo_all(&aws, &plan).await;
        assert_eq!(registrations(&aws, &stage.target_group).await, before);
    });
}

#[test]
fn stop_instances_stops_the_selection_and_starts_exactly_those() {
    let (_guard, moto) = Moto::lock();
    common::rt().block_on(async {
        let aws = moto.clients().await;
        let stage = Stage::build(&aws, Records::Alias).await;
        let (_, plan) = plan_of(
            &aws,
            &stage,
            "[[faults]]\nkind = \"stop-instances\"\ntags = { Service = \"app\" }\nselection = \"percent:50\"\n",
        )
        .await
        .unwrap();
        let Action::Aws(gameday::aws::AwsCall::StopInstances { instance_ids, .. }) = &plan.steps[0].apply else {
            panic!("{:?}", plan.steps[0].apply)
        };
        let mut sorted = stage.instances.clone();
        sorted.sort();
        assert_eq!(instance_ids, &sorted[..2].to_vec(), "the first two in id order");
        apply_all(&aws, &plan).await;
        for (id, state) in states(&aws, &stage.instances).await {
            let stopped = sorted[..2].contains(&id);
            assert_eq!(
                state != "running",
                stopped,
                "{id} is {state}; only the chosen instances stop"
            );
        }
        undo_all(&aws, &plan).await;
        for (id, state) in states(&aws, &stage.instances).await {
            assert!(state == "running" || state == "pending", "{id} is {state}");
        }
    });
}

#[test]
fn sever_az_swaps_each_subnet_to_a_tagged_deny_acl_and_back() {
    let (_guard, moto) = Moto::lock();
    common::rt().block_on(async {
        let aws = moto.clients().await;
        let stage = Stage::build(&aws, Records::Alias).await;
        let original_a = acl_of(&aws, &stage.subnet_a).await;
        let original_b = acl_of(&aws, &stage.subnet_b).await;
        let (_, plan) = plan_of(
            &aws,
            &stage,
            "[[faults]]\nkind = \"sever-az\"\naz = \"b\"\nsubnet_tags = { Tier = \"app\" }\n",
        )
        .await
        .unwrap();
        assert_eq!(plan.steps.len(), 1, "one subnet in us-east-1b");
        apply_all(&aws, &plan).await;
        let deny = acl_of(&aws, &stage.subnet_b).await;
        assert_ne!(deny, original_b, "subnet b moved to the deny ACL");
        assert_eq!(
            acl_of(&aws, &stage.subnet_a).await,
            original_a,
            "subnet a untouched"
        );
        let found = gameday::aws::call::deny_acls(&aws.region(PRIMARY).ec2, RUN, None)
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].acl_id, deny);
        assert_eq!(found[0].subnet_id, stage.subnet_b);
        assert_eq!(
            found[0].original_acl_id, original_b,
            "the tags say where to go back to"
        );
        // Applying again (a retried step) makes no second ACL.
        apply_all(&aws, &plan).await;
        assert_eq!(
            gameday::aws::call::deny_acls(&aws.region(PRIMARY).ec2, RUN, None)
                .await
                .unwrap()
                .len(),
            1
        );

        undo_all(&aws, &plan).await;
        assert_eq!(acl_of(&aws, &stage.subnet_b).await, original_b);
        assert_eq!(deny_acl_count(&aws).await, 0);
    });
}

#[test]
fn revert_sweep_restores_a_severed_subnet_from_the_tags_alone() {
    let (_guard, moto) = Moto::lock();
    let (stage, original_b) = common::rt().block_on(async {
        let aws = moto.clients().await;
        let stage = Stage::build(&aws, Records::Alias).await;
        let original_b = acl_of(&aws, &stage.subnet_b).await;
        let (_, plan) = plan_of(
            &aws,
            &stage,
            &format!(
                "[[faults]]\nkind = \"sever-az\"\naz = \"us-east-1b\"\nsubnets = [\"{}\"]\n",
                stage.subnet_b
            ),
        )
        .await
        .unwrap();
        apply_all(&aws, &plan).await;
        assert_ne!(acl_of(&aws, &stage.subnet_b).await, original_b);
        (stage, original_b)
    });
    // No journal at all: only AWS knows.
    let out = moto
        .gameday()
        .args([
            "revert",
            "--sweep",
            "--account",
            common::moto::ACCOUNT,
            "--yes",
            "--region",
            PRIMARY,
            "--region",
            common::moto::SECONDARY,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::explain(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&stage.subnet_b), "{stdout}");
    common::rt().block_on(async {
        let aws = moto.clients().await;
        assert_eq!(acl_of(&aws, &stage.subnet_b).await, original_b);
        assert_eq!(deny_acl_count(&aws).await, 0);
    });
    // Twice is harmless.
    let again = moto
        .gameday()
        .args([
            "revert",
            "--sweep",
            "--account",
            common::moto::ACCOUNT,
            "--yes",
            "--region",
            PRIMARY,
        ])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", common::explain(&again));
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to sweep"));
}

#[test]
fn fail_database_fails_over_the_cluster_and_says_it_is_not_undone() {
    let (_guard, moto) = Moto::lock();
    common::rt().block_on(async {
        let aws = moto.clients().await;
        let stage = Stage::build(&aws, Records::Alias).await;
        let writer = || cluster_writer(&aws, "orders");
        let before = writer().await;
        let (_, plan) = plan_of(&aws, &stage, "[[faults]]\nkind = \"fail-database\"\ncluster = \"orders\"\n")
            .await
            .unwrap();
        assert!(matches!(&plan.steps[0].undo, Action::Aws(gameday::aws::AwsCall::NotUndone { .. })));
        assert!(plan.render().contains("not undone: a database failover is not undone by default"), "{}", plan.render());
        apply_all(&aws, &plan).await;
        let after = writer().await;
        assert_ne!(after, before, "the reader became the writer");

        // A Multi-AZ instance reboots with failover; a target that is no reader is refused.
        let (_, reboot) = plan_of(&aws, &stage, "[[faults]]\nkind = \"fail-database\"\ninstance = \"ledger\"\n")
            .await
            .unwrap();
        assert!(reboot.steps[0].apply.summary().contains("reboot DB instance ledger with failover"));
        // The call itself, not only its summary: RebootDBInstance with ForceFailover of ledger.
        match &reboot.steps[0].apply {
            Action::Aws(gameday::aws::AwsCall::RebootWithFailover { region, instance }) => {
                assert_eq!((region.as_str(), instance.as_str()), (PRIMARY, "ledger"));
            }
            other => panic!("not a reboot with failover: {}", other.summary()),
        }
        apply_all(&aws, &reboot).await;
        let status = aws
            .region(PRIMARY)
            .rds
            .describe_db_instances()
            .db_instance_identifier("ledger")
            .send()
            .await
            .unwrap();
        assert_eq!(
            status.db_instances()[0].multi_az(),
            Some(true),
            "ledger is still the Multi-AZ instance it was"
        );
        let bad = plan_of(
            &aws,
            &stage,
            "[[faults]]\nkind = \"fail-database\"\ncluster = \"orders\"\ntarget_instance = \"ledger\"\n",
        )
        .await
        .unwrap_err();
        assert!(bad.contains("target_instance ledger is not a reader of orders"), "{bad}");
        let missing = plan_of(&aws, &stage, "[[faults]]\nkind = \"fail-database\"\ncluster = \"nope\"\n")
            .await
            .unwrap_err();
        assert!(
            missing.contains("reading DB cluster nope") && missing.contains("DBClusterNotFoundFault"),
            "{missing}"
        );
    });
}

/// An experiment's status, by GetExperiment.
async fn experiment_status(aws: &AwsClients, id: &str) -> String {
    let got = aws
        .region(PRIMARY)
        .fis
        .get_experiment()
        .id(id)
        .send()
        .await
        .unwrap();
    got.experiment()
        .and_then(|x| x.state())
        .and_then(|s| s.status())
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

#[test]
fn fis_experiment_starts_from_the_template_and_its_undo_stops_it() {
    let (_guard, moto) = Moto::lock();
    common::rt().block_on(async {
        let aws = moto.clients().await;
        let stage = Stage::build(&aws, Records::Alias).await;
        let (_, plan) = plan_of(
            &aws,
            &stage,
            &format!(
                "[[faults]]\nkind = \"fis-experiment\"\ntemplate_id = \"{}\"\n",
                stage.fis_template
            ),
        )
        .await
        .unwrap();
        // So that the undo has a running experiment to stop.
        moto.slow_experiments(None);
        apply_all(&aws, &plan).await;
        let listed = common::moto::experiments(&aws).await;
        let mine: Vec<_> = listed
            .iter()
            .filter(|x| {
                x.tags()
                    .and_then(|t| t.get("gameday:run-id"))
                    .is_some_and(|r| r == RUN)
            })
            .collect();
        assert_eq!(mine.len(), 1, "one experiment, tagged with the run");
        let id = mine[0].id().unwrap().to_string();
        let running = experiment_status(&aws, &id).await;
        assert!(
            ["pending", "initiating", "running"].contains(&running.as_str()),
            "{running}"
        );
        undo_all(&aws, &plan).await;
        let stopped = experiment_status(&aws, &id).await;
        assert!(
            ["stopping", "stopped"].contains(&stopped.as_str()),
            "the undo stopped the experiment: {stopped}"
        );
        let bad = plan_of(
            &aws,
            &stage,
            "[[faults]]\nkind = \"fis-experiment\"\ntemplate_id = \"EXTnope\"\n",
        )
        .await
        .unwrap_err();
        assert!(
            bad.contains("reading FIS experiment template EXTnope"),
            "{bad}"
        );
    });
}

#[test]
fn a_global_database_failover_is_planned_against_its_members_and_errors_are_one_line() {
    let (_guard, moto) = Moto::lock();
    common::rt().block_on(async {
        let aws = moto.clients().await;
        let stage = Stage::build(&aws, Records::Alias).await;
        let (source_arn, target) = common::moto::global_database(&aws).await;
        let faults = format!(
            "[[faults]]\nkind = \"fail-database\"\nglobal_cluster = \"orders-global\"\nmode = \"global-failover\"\ntarget_cluster = \"{target}\"\n"
        );
        let (_, plan) = plan_of(&aws, &stage, &faults).await.unwrap();
        assert!(plan.steps[0].apply.summary().contains("fail over (allowing data loss) global database orders-global"));
        // The writer itself is no target.
        let Err(bad) = plan_of(&aws, &stage, &faults.replaced(&target, &source_arn)).await else {
            panic!("planning a failover to the writer must fail");
        };
        assert!(bad.contains("is already the writer of orders-global"), "{bad}");
        // moto does not implement the failover: the error is one line naming the call and the permission.
        let appliers = Appliers { lab: None, aws: Some(aws.clone()) };
        let e = appliers.apply(&plan.steps[0].apply).await.unwrap_err().to_string();
        eprintln!("moto answered: {e}");
        assert!(!e.contains('\n'), "{e}");
        assert!(e.starts_with("failing over global database orders-global to arn:"), "{e}");
    });
}

#[test]
fn sever_az_refuses_the_subnet_the_runner_is_in() {
    use gameday::net::http::{respond, route, serve};
    use hyper::{Method, StatusCode};
    let (_guard, moto) = Moto::lock();
    common::rt().block_on(async {
        let stage = Stage::build(&moto.clients().await, Records::Alias).await;
        // A fake instance metadata service on loopback: this runner is in subnet b.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let imds = format!("http://{}", listener.local_addr().unwrap());
        let mine = stage.subnet_b.clone();
        let server = serve(listener, move |req| {
            let mine = mine.clone();
            async move {
                let mac = "0e:11:22:33:44:55";
                match route(&req) {
                    (Method::PUT, p) if p == "/latest/api/token" => {
                        let mut r = respond(StatusCode::OK, "text/plain", "token");
                        r.headers_mut().insert(
                            "x-aws-ec2-metadata-token-ttl-seconds",
                            hyper::header::HeaderValue::from_static("21600"),
                        );
                        r
                    }
                    (Method::GET, p) if p == "/latest/meta-data/network/interfaces/macs/" => {
                        respond(StatusCode::OK, "text/plain", format!("{mac}/\n"))
                    }
                    (Method::GET, p)
                        if p == format!(
                            "/latest/meta-data/network/interfaces/macs/{mac}/subnet-id"
                        ) =>
                    {
                        respond(StatusCode::OK, "text/plain", mine)
                    }
                    _ => respond(StatusCode::NOT_FOUND, "text/plain", ""),
                }
            }
        });
        let aws = moto.clients().await.with_imds(gameday::aws::Imds::At(imds));
        let faults =
            "[[faults]]\nkind = \"sever-az\"\naz = \"b\"\nsubnet_tags = { Tier = \"app\" }\n";
        let Err(refused) = plan_of(&aws, &stage, faults).await else {
            panic!("severing the runner's own subnet must be refused");
        };
        assert!(
            refused.contains(&format!(
                "subnet {} is the one this runner is in",
                stage.subnet_b
            )),
            "{refused}"
        );
        // Another AZ is fine.
        plan_of(&aws, &stage, &faults.replaced("az = \"b\"", "az = \"a\""))
            .await
            .map(|_| ())
            .unwrap_or_else(|e| panic!("{e}"));
        server.abort();
    });
}

/// A network ACL in the primary VPC with gameday's tags, made by someone
/// else: `allow` adds an allow-all inbound rule.
async fn spoofed_acl(
    aws: &AwsClients,
    vpc: &str,
    subnet: &str,
    original: &str,
    allow: bool,
) -> String {
    use aws_sdk_ec2::types::{ResourceType, RuleAction, Tag, TagSpecification};
    let ec2 = aws.region(PRIMARY).ec2;
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    let acl = ec2
        .create_network_acl()
        .vpc_id(vpc)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::NetworkAcl)
                .tags(tag(gameday::aws::call::TAG_RUN, "attacker"))
                .tags(tag(gameday::aws::call::TAG_SUBNET, subnet))
                .tags(tag(gameday::aws::call::TAG_ORIGINAL_ACL, original))
                .build(),
        )
        .send()
        .await
        .unwrap()
        .network_acl()
        .unwrap()
        .network_acl_id()
        .unwrap()
        .to_string();
    if allow {
        ec2.create_network_acl_entry()
            .network_acl_id(&acl)
            .rule_number(100)
            .protocol("-1")
            .rule_action(RuleAction::Allow)
            .egress(false)
            .cidr_block("0.0.0.0/0")
            .send()
            .await
            .unwrap();
    }
    acl
}

#[test]
fn revert_sweep_does_not_trust_tags_anyone_could_write() {
    let (_guard, moto) = Moto::lock();
    let (stage, restrictive, allow_all) = common::rt().block_on(async {
        let aws = moto.clients().await;
        let stage = Stage::build(&aws, Records::Alias).await;
        let restrictive = acl_of(&aws, &stage.subnet_b).await;
        // An allow-all ACL the attacker wants the production subnet moved to,
        // and a deny ACL tagged to make the sweep do it (not associated).
        let allow_all = spoofed_acl(&aws, &stage.vpc, "subnet-none", &restrictive, true).await;
        spoofed_acl(&aws, &stage.vpc, &stage.subnet_b, &allow_all, false).await;
        // And an ACL with allow rules that subnet a really is associated
        // with, tagged as if gameday had severed it.
        let ec2 = aws.region(PRIMARY).ec2;
        let original_a = acl_of(&aws, &stage.subnet_a).await;
        let tagged = spoofed_acl(&aws, &stage.vpc, &stage.subnet_a, &allow_all, true).await;
        let (association, _) = gameday::aws::call::association_of(&ec2, &stage.subnet_a)
            .await
            .unwrap();
        ec2.replace_network_acl_association()
            .association_id(association)
            .network_acl_id(&tagged)
            .send()
            .await
            .unwrap();
        assert_ne!(original_a, tagged);
        (stage, restrictive, allow_all)
    });
    let sweep = |account: &str| {
        moto.gameday()
            .args([
                "revert",
                "--sweep",
                "--account",
                account,
                "--yes",
                "--region",
                PRIMARY,
            ])
            .output()
            .unwrap()
    };
    let out = sweep(common::moto::ACCOUNT);
    assert_eq!(out.status.code(), Some(4), "{}", common::explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not associated with it"), "{stderr}");
    assert!(stderr.contains("allow rules"), "{stderr}");
    // Another account's sweep is refused before any ACL is read.
    let other = sweep("210987654321");
    assert_eq!(other.status.code(), Some(4), "{}", common::explain(&other));
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("not 210987654321"),
        "{}",
        common::explain(&other)
    );
    common::rt().block_on(async {
        let aws = moto.clients().await;
        assert_eq!(acl_of(&aws, &stage.subnet_b).await, restrictive);
        assert_ne!(acl_of(&aws, &stage.subnet_a).await, allow_all);
    });
}

/// An FIS template in the primary region whose target or action is `far`.
async fn template_reaching(
    aws: &AwsClients,
    token: &str,
    arn: &str,
    action_region: Option<&str>,
) -> String {
    let parameters: Vec<(&str, &str)> = action_region.map(|r| ("region", r)).into_iter().collect();
    common::moto::fis_template(
        aws,
        &common::moto::FisTemplate {
            token,
            description: "reaches far",
            resource_type: "aws:ec2:instance",
            arns: vec![arn.to_string()],
            action: "aws:ec2:stop-instances",
            targets_key: "Instances",
            parameters: &parameters,
        },
    )
    .await
}

#[test]
fn an_fis_template_that_reaches_another_region_or_account_is_refused_at_plan() {
    let (_guard, moto) = Moto::lock();
    common::rt().block_on(async {
        let aws = moto.clients().await;
        let stage = Stage::build(&aws, Records::Alias).await;
        let account = common::moto::ACCOUNT;
        let cases = [
            (
                format!("arn:aws:ec2:eu-west-1:{account}:instance/i-0far"),
                None,
                "region eu-west-1",
            ),
            (
                "arn:aws:ec2:us-east-1:999999999999:instance/i-0far".to_string(),
                None,
                "account 999999999999",
            ),
            (
                format!("arn:aws:ec2:us-east-1:{account}:instance/i-0near"),
                Some("ap-south-1"),
                "names ap-south-1",
            ),
        ];
        for (i, (arn, action_region, why)) in cases.iter().enumerate() {
            let id = template_reaching(&aws, &format!("far-{i}"), arn, *action_region).await;
            let fault = format!("[[faults]]\nkind = \"fis-experiment\"\ntemplate_id = \"{id}\"\n");
            let refused = plan_of(&aws, &stage, &fault).await.unwrap_err();
            assert!(
                refused.contains("reaches outside the scenario's scope") && refused.contains(why),
                "{refused}"
            );
        }
    });
}

#[test]
fn sever_az_needs_the_runner_declared_off_aws_when_instance_metadata_cannot_say() {
    let (_guard, moto) = Moto::lock();
    common::rt().block_on(async {
        let stage = Stage::build(&moto.clients().await, Records::Alias).await;
        let faults =
            "[[faults]]\nkind = \"sever-az\"\naz = \"b\"\nsubnet_tags = { Tier = \"app\" }\n";
        let undeclared = |text: String| text.replaced("runner_not_on_aws = true\n", "");
        for (imds, why) in [
            (
                gameday::aws::Imds::Off,
                "instance metadata is disabled (AWS_EC2_METADATA_DISABLED)",
            ),
            (
                // Nothing listens there: as off AWS, or a hop limit of 1 in a container.
                gameday::aws::Imds::At("http://127.0.0.1:9".into()),
                "the instance metadata service did not answer",
            ),
        ] {
            let aws = moto.clients().await.with_imds(imds);
            let text = undeclared(stage.scenario(faults));
            let scenario = gameday::scenario::parse(Path::new("moto.toml"), &text).unwrap();
            let params = scenario.aws.clone().unwrap();
            let env = Env::Aws(Arc::new(
                AwsEnv::discover(&params, aws.clone()).await.unwrap(),
            ));
            let Err(refused) =
                gameday::plan::resolve(&scenario.faults, &scenario.probes, &env, RUN).await
            else {
                panic!("sever-az must not be planned when nobody knows where the runner is");
            };
            let refused = refused.to_string();
            assert!(
                refused.contains("cannot tell which subnet this runner is in")
                    && refused.contains(why)
                    && refused.contains("--runner-not-on-aws"),
                "{refused}"
            );
            // Declared: planned.
            plan_of(&aws, &stage, faults)
                .await
                .map(|_| ())
                .unwrap_or_else(|e| panic!("{e}"));
        }
    });
}
