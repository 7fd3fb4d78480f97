//! A moto server on loopback (with the CloudWatch CBOR shim), shared by the
//! AWS tests of one test binary. Tests take `Moto::lock()`, which serializes
//! them and resets moto, so each starts from an empty account.
//!
//! Never a real endpoint: everything here points at 127.0.0.1 with dummy
//! credentials, and `env()` gives the gameday process the same.

use gameday::aws::AwsClients;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// The account moto answers STS with.
pub const ACCOUNT: &str = "123456789012";
/// The two regions the tests use.
pub const PRIMARY: &str = "us-east-1";
/// The secondary region.
pub const SECONDARY: &str = "us-west-2";

/// The shared server, or a test bed's own.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    _child: Mutex<Child>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let child = self._child.get_mut().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

static MOTO: OnceLock<Moto> = OnceLock::new();
static SERIAL: Mutex<()> = Mutex::new(());

/// The Python of the virtual environment that `scripts/test` installs moto in.
pub fn python() -> String {
    std::env::var("GAMEDAY_MOTO_PYTHON")
        .unwrap_or_else(|_| "/var/tmp/gameday-moto/bin/python".to_string())
}

/// A tool `scripts/test` installs in moto's environment (actionlint,
/// kubernetes-validate), if it is there.
pub fn venv_tool(name: &str) -> Option<std::path::PathBuf> {
    let python = std::path::PathBuf::from(python());
    let bin = python.parent()?.join(name);
    bin.exists().then_some(bin)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind an ephemeral port")
        .local_addr()
        .expect("local addr")
        .port()
}

impl Moto {
    fn start() -> Moto {
        // The server dies with the test process, however that ends.
        // PDEATHSIG follows the thread that forked, so that thread lives as
        // long as the process.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(Moto::spawn(None));
            loop {
                std::thread::park();
            }
        });
        let moto = rx.recv().expect("spawner thread");
        moto.wait_listening(None);
        moto
    }

    /// A moto of its own inside network namespace `ns`, on that namespace's
    /// loopback; it dies with the thread that calls this, or when dropped.
    pub fn start_in(ns: &super::testbed::Netns) -> Moto {
        Moto::spawn(Some(ns))
    }

    fn spawn(ns: Option<&super::testbed::Netns>) -> Moto {
        let port = free_port();
        let shim = format!("{}/tests/aws/moto_shim.py", env!("CARGO_MANIFEST_DIR"));
        let mut cmd = Command::new(python());
        cmd.arg(&shim)
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match ns {
            Some(ns) => ns.enter(&mut cmd),
            None => super::testbed::die_with_parent(&mut cmd),
        }
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start moto with {} ({e}); run scripts/test, which installs moto[server] in /var/tmp/gameday-moto, or set GAMEDAY_MOTO_PYTHON",
                python()
            )
        });
        Moto {
            url: format!("http://127.0.0.1:{port}"),
            _child: Mutex::new(child),
        }
    }

    /// Waits until moto accepts connections (from inside `ns` when given).
    pub fn wait_listening(&self, ns: Option<&super::testbed::Netns>) {
        let addr: std::net::SocketAddr = self.url.trim_start_matches("http://").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let listening = || match ns {
            Some(ns) => ns.run(|| std::net::TcpStream::connect(addr).is_ok()),
            None => std::net::TcpStream::connect(addr).is_ok(),
        };
        while !listening() {
            assert!(
                Instant::now() < deadline,
                "moto did not listen on {} within 30 s",
                self.url
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Serializes AWS tests and resets moto: every test starts from nothing.
    pub fn lock() -> (MutexGuard<'static, ()>, &'static Moto) {
        let guard = Moto::serial();
        let moto = MOTO.get_or_init(Moto::start);
        moto.reset();
        (guard, moto)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self._child.lock().unwrap_or_else(|e| e.into_inner()).id()
    }

    /// POSTs `json` to moto's own API at `path`, from inside `ns` when moto is there.
    fn post(&self, ns: Option<&super::testbed::Netns>, path: &str, json: &str) {
        let mut cmd = Command::new("curl");
        if let Some(ns) = ns {
            ns.enter(&mut cmd);
        }
        let status = cmd
            .args(["-sf", "-X", "POST", "-H", "Content-Type: application/json"])
            .args(["--data", json])
            .arg(format!("{}{path}", self.url))
            .stdout(Stdio::null())
            .status()
            .expect("curl");
        assert!(status.success(), "POST {path} failed");
    }

    /// Wipes moto.
    pub fn reset(&self) {
        self.post(None, "/moto-api/reset", "{}");
    }

    /// moto runs an FIS experiment to completion at once; make each of its
    /// states last ten status reads, as a real experiment takes time.
    pub fn slow_experiments(&self, ns: Option<&super::testbed::Netns>) {
        self.post(
            ns,
            "/moto-api/state-manager/set-transition",
            r#"{"model_name": "fis::experiment", "transition": {"progression": "manual", "times": 10}}"#,
        );
    }

    /// Serializes the AWS tests without starting the shared server (a test
    /// that brings its own).
    pub fn serial() -> MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Environment for a gameday process: moto's endpoint, dummy credentials,
    /// one attempt per call, no instance metadata, no profile files.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        assert!(
            self.url.starts_with("http://127.0.0.1:"),
            "moto must be on loopback"
        );
        vec![
            ("AWS_ENDPOINT_URL", self.url.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", PRIMARY.into()),
            ("AWS_MAX_ATTEMPTS", "1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        ]
    }

    /// A gameday command pointed at moto.
    pub fn gameday(&self) -> Command {
        let mut cmd = super::gameday();
        cmd.current_dir(super::root()).env_remove("AWS_PROFILE");
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd
    }

    /// SDK clients pointed at moto, built without touching this process's environment.
    pub async fn clients(&self) -> AwsClients {
        super::fake_aws_clients(&self.url).await
    }
}

/// What the failover records point at.
pub enum Records {
    /// Aliases to each region's ALB, as the seed's setup has them.
    Alias,
    /// A records in the lab's zone with its regions' addresses, TTL 1 s, so
    /// the lab's DNS and apps can stand in for what moto cannot serve.
    Lab(Box<gameday::lab::LabDescription>),
}

/// A two-region service built in moto: VPCs, subnets in two AZs, tagged
/// instances behind a target group and an ALB, an Aurora cluster, a Multi-AZ
/// instance, an FIS template, a CloudWatch alarm, and Route 53 failover
/// records with health checks.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Primary VPC.
    pub vpc: String,
    /// Subnet in us-east-1a.
    pub subnet_a: String,
    /// Subnet in us-east-1b.
    pub subnet_b: String,
    /// Instances in a, then b.
    pub instances: Vec<String>,
    /// Target group ARN.
    pub target_group: String,
    /// Hosted zone id.
    pub zone: String,
    /// Primary health check id.
    pub hc_primary: String,
    /// Secondary health check id.
    pub hc_secondary: String,
    /// FIS experiment template id.
    pub fis_template: String,
    /// Alarm name.
    pub alarm: String,
    /// The failover record's name.
    pub record: String,
    /// The customer endpoint URL.
    pub endpoint: String,
}

/// The record customers resolve.
pub const RECORD: &str = "app.example.com";

impl Stage {
    /// Builds the stage in an empty moto.
    pub async fn build(aws: &AwsClients, records: Records) -> Stage {
        use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
        let p = aws.region(PRIMARY);
        let ec2 = &p.ec2;
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .send()
            .await
            .unwrap();
        let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
        let mut subnets = Vec::new();
        for (az, cidr) in [("us-east-1a", "10.0.1.0/24"), ("us-east-1b", "10.0.2.0/24")] {
            let s = ec2
                .create_subnet()
                .vpc_id(&vpc)
                .availability_zone(az)
                .cidr_block(cidr)
                .tag_specifications(
                    TagSpecification::builder()
                        .resource_type(ResourceType::Subnet)
                        .tags(Tag::builder().key("Tier").value("app").build())
                        .build(),
                )
                .send()
                .await
                .unwrap();
            subnets.push(s.subnet().unwrap().subnet_id().unwrap().to_string());
        }
        let image = ec2.describe_images().send().await.unwrap();
        let image = image.images()[0].image_id().unwrap().to_string();
        let mut instances = Vec::new();
        for subnet in &subnets {
            let out = ec2
                .run_instances()
                .image_id(&image)
                .min_count(2)
                .max_count(2)
                .subnet_id(subnet)
                .tag_specifications(
                    TagSpecification::builder()
                        .resource_type(ResourceType::Instance)
                        .tags(Tag::builder().key("Service").value("app").build())
                        .build(),
                )
                .send()
                .await
                .unwrap();
            let mut ids: Vec<String> = out
                .instances()
                .iter()
                .map(|i| i.instance_id().unwrap().to_string())
                .collect();
            ids.sort();
            instances.extend(ids);
        }
        let tg = p
            .elbv2
            .create_target_group()
            .name("app")
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(8080)
            .vpc_id(&vpc)
            .health_check_path("/healthz")
            .health_check_interval_seconds(10)
            .health_check_timeout_seconds(5)
            .unhealthy_threshold_count(2)
            .tags(
                aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                    .key("Service")
                    .value("app")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let target_group = tg.target_groups()[0]
            .target_group_arn()
            .unwrap()
            .to_string();
        let mut register = p.elbv2.register_targets().target_group_arn(&target_group);
        for id in &instances {
            register = register.targets(
                aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                    .id(id)
                    .port(8080)
                    .build(),
            );
        }
        register.send().await.unwrap();
        let alb = p
            .elbv2
            .create_load_balancer()
            .name("app-primary")
            .set_subnets(Some(subnets.clone()))
            .send()
            .await
            .unwrap();
        let primary_alb = alb.load_balancers()[0].dns_name().unwrap().to_string();
        let alb_arn = alb.load_balancers()[0]
            .load_balancer_arn()
            .unwrap()
            .to_string();
        p.elbv2
            .create_listener()
            .load_balancer_arn(&alb_arn)
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(80)
            .default_actions(
                aws_sdk_elasticloadbalancingv2::types::Action::builder()
                    .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
                    .target_group_arn(&target_group)
                    .build(),
            )
            .send()
            .await
            .unwrap();

        // The secondary: a VPC, one subnet per AZ and an ALB to alias.
        let s = aws.region(SECONDARY);
        let svpc = s
            .ec2
            .create_vpc()
            .cidr_block("10.1.0.0/16")
            .send()
            .await
            .unwrap();
        let svpc = svpc.vpc().unwrap().vpc_id().unwrap().to_string();
        let mut ssubnets = Vec::new();
        for (az, cidr) in [("us-west-2a", "10.1.1.0/24"), ("us-west-2b", "10.1.2.0/24")] {
            let sn = s
                .ec2
                .create_subnet()
                .vpc_id(&svpc)
                .availability_zone(az)
                .cidr_block(cidr)
                .send()
                .await
                .unwrap();
            ssubnets.push(sn.subnet().unwrap().subnet_id().unwrap().to_string());
        }
        let salb = s
            .elbv2
            .create_load_balancer()
            .name("app-secondary")
            .set_subnets(Some(ssubnets))
            .send()
            .await
            .unwrap();
        let secondary_alb = salb.load_balancers()[0].dns_name().unwrap().to_string();

        // Databases: an Aurora cluster with a writer and a reader, and a Multi-AZ instance.
        p.rds
            .create_db_cluster()
            .db_cluster_identifier("orders")
            .engine("aurora-postgresql")
            .master_username("admin")
            .master_user_password("not-a-secret-1")
            .send()
            .await
            .unwrap();
        for name in ["orders-1", "orders-2"] {
            p.rds
                .create_db_instance()
                .db_instance_identifier(name)
                .db_cluster_identifier("orders")
                .engine("aurora-postgresql")
                .db_instance_class("db.r6g.large")
                .send()
                .await
                .unwrap();
        }
        p.rds
            .create_db_instance()
            .db_instance_identifier("ledger")
            .engine("postgres")
            .db_instance_class("db.m6g.large")
            .allocated_storage(20)
            .master_username("admin")
            .master_user_password("not-a-secret-1")
            .multi_az(true)
            .send()
            .await
            .unwrap();

        // An FIS template that stops the instances of AZ a.
        let fis_template = fis_template(
            aws,
            &FisTemplate {
                token: "stage",
                description: "stop AZ a",
                resource_type: "aws:ec2:instance",
                arns: instances[..2]
                    .iter()
                    .map(|i| format!("arn:aws:ec2:{PRIMARY}:{ACCOUNT}:instance/{i}"))
                    .collect(),
                action: "aws:ec2:stop-instances",
                targets_key: "Instances",
                parameters: &[],
            },
        )
        .await;

        // A CloudWatch alarm (through the CBOR shim).
        let alarm = "app-5xx".to_string();
        p.cloudwatch
            .put_metric_alarm()
            .alarm_name(&alarm)
            .namespace("AWS/ApplicationELB")
            .metric_name("HTTPCode_Target_5XX_Count")
            .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(10.0)
            .comparison_operator(
                aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold,
            )
            .send()
            .await
            .unwrap();

        // Route 53: the zone, two health checks and the failover pair.
        let r53 = aws.route53();
        let (zone_name, record, endpoint) = match &records {
            Records::Alias => (
                "example.com".to_string(),
                RECORD.to_string(),
                format!("https://{RECORD}/healthz"),
            ),
            Records::Lab(lab) => {
                let record = lab.record.trim_end_matches('.').to_string();
                let port = lab.regions[0].endpoint.port();
                (
                    gameday::lab::ZONE.trim_end_matches('.').to_string(),
                    record.clone(),
                    format!("http://{record}:{port}/orders/latest"),
                )
            }
        };
        let zone = r53
            .create_hosted_zone()
            .name(&zone_name)
            .caller_reference("stage")
            .send()
            .await
            .unwrap();
        let zone = zone
            .hosted_zone()
            .unwrap()
            .id()
            .trim_start_matches("/hostedzone/")
            .to_string();
        let mut checks = Vec::new();
        for (reference, fqdn) in [("hc-p", &record), ("hc-s", &record)] {
            let hc = r53
                .create_health_check()
                .caller_reference(reference)
                .health_check_config(
                    aws_sdk_route53::types::HealthCheckConfig::builder()
                        .r#type(aws_sdk_route53::types::HealthCheckType::Https)
                        .fully_qualified_domain_name(fqdn)
                        .resource_path("/healthz")
                        .request_interval(10)
                        .failure_threshold(3)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
            checks.push(hc.health_check().unwrap().id().to_string());
        }
        let mut batch = aws_sdk_route53::types::ChangeBatch::builder();
        for (failover, hc, alb, address) in [
            ("PRIMARY", &checks[0], &primary_alb, 0),
            ("SECONDARY", &checks[1], &secondary_alb, 1),
        ] {
            let mut set = aws_sdk_route53::types::ResourceRecordSet::builder()
                .name(&record)
                .r#type(aws_sdk_route53::types::RrType::A)
                .set_identifier(failover.to_lowercase())
                .failover(aws_sdk_route53::types::ResourceRecordSetFailover::from(
                    failover,
                ))
                .health_check_id(hc.clone());
            set = match &records {
                Records::Alias => set.alias_target(
                    aws_sdk_route53::types::AliasTarget::builder()
                        .hosted_zone_id("Z35SXDOTRQ7X7K")
                        .dns_name(alb)
                        .evaluate_target_health(true)
                        .build()
                        .unwrap(),
                ),
                Records::Lab(lab) => set.ttl(1).resource_records(
                    aws_sdk_route53::types::ResourceRecord::builder()
                        .value(lab.regions[address].public_ip.to_string())
                        .build()
                        .unwrap(),
                ),
            };
            batch = batch.changes(
                aws_sdk_route53::types::Change::builder()
                    .action(aws_sdk_route53::types::ChangeAction::Create)
                    .resource_record_set(set.build().unwrap())
                    .build()
                    .unwrap(),
            );
        }
        r53.change_resource_record_sets()
            .hosted_zone_id(&zone)
            .change_batch(batch.build().unwrap())
            .send()
            .await
            .unwrap();
        Stage {
            vpc,
            subnet_a: subnets[0].clone(),
            subnet_b: subnets[1].clone(),
            instances,
            target_group,
            zone,
            hc_primary: checks[0].clone(),
            hc_secondary: checks[1].clone(),
            fis_template,
            alarm,
            record,
            endpoint,
        }
    }

    /// The `[aws]` table of a scenario against this stage.
    pub fn aws_table(&self, account: &str) -> String {
        format!(
            r#"[aws]
primary_region = "{PRIMARY}"
secondary_region = "{SECONDARY}"
allowed_accounts = ["{account}"]
hosted_zone_id = "{}"
record_name = "{}"
endpoint = "{}"
primary_health_check = "{}"
secondary_health_check = "{}"
runner_not_on_aws = true
"#,
            self.zone, self.record, self.endpoint, self.hc_primary, self.hc_secondary
        )
    }

    /// A whole scenario: `faults` (TOML tables) against this stage, with the
    /// probes every scenario needs.
    pub fn scenario(&self, faults: &str) -> String {
        format!(
            r#"name = "moto"
target = "aws"
[objectives]
rto = "2m"
rpo = "5s"
{}
{faults}
[[probes]]
kind = "http"
[[probes]]
kind = "canary"
connection_env = "GAMEDAY_TEST_DSN"
"#,
            self.aws_table(ACCOUNT)
        )
    }

    /// An Auto Scaling group of `desired` instances in the primary, attached
    /// to the stage's target group (what the primary runs in service).
    #[allow(dead_code)]
    pub async fn primary_group(&self, aws: &AwsClients, desired: i32) {
        let p = aws.region(PRIMARY);
        let image = p.ec2.describe_images().send().await.unwrap();
        let image = image.images()[0].image_id().unwrap().to_string();
        p.autoscaling
            .create_launch_configuration()
            .launch_configuration_name("primary")
            .image_id(image)
            .instance_type("t3.micro")
            .send()
            .await
            .unwrap();
        p.autoscaling
            .create_auto_scaling_group()
            .auto_scaling_group_name("orders-primary")
            .launch_configuration_name("primary")
            .min_size(desired)
            .max_size(desired)
            .desired_capacity(desired)
            .vpc_zone_identifier(format!("{},{}", self.subnet_a, self.subnet_b))
            .target_group_arns(&self.target_group)
            .send()
            .await
            .unwrap();
    }

    /// The standby's capacity in the secondary: a target group behind its
    /// load balancer and an Auto Scaling group of `desired` of at most
    /// `max` instances attached to it. Returns the group's name.
    #[allow(dead_code)]
    pub async fn standby_group(aws: &AwsClients, desired: i32, max: i32) -> String {
        use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, ProtocolEnum};
        let s = aws.region(SECONDARY);
        let lbs = s
            .elbv2
            .describe_load_balancers()
            .names("app-secondary")
            .send()
            .await
            .unwrap();
        let lb = &lbs.load_balancers()[0];
        let tg = s
            .elbv2
            .create_target_group()
            .name("app-standby")
            .protocol(ProtocolEnum::Http)
            .port(8080)
            .vpc_id(lb.vpc_id().unwrap())
            .health_check_path("/healthz")
            .send()
            .await
            .unwrap();
        let tg = tg.target_groups()[0]
            .target_group_arn()
            .unwrap()
            .to_string();
        s.elbv2
            .create_listener()
            .load_balancer_arn(lb.load_balancer_arn().unwrap())
            .protocol(ProtocolEnum::Http)
            .port(80)
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(&tg)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let image = s.ec2.describe_images().send().await.unwrap();
        let image = image.images()[0].image_id().unwrap().to_string();
        s.autoscaling
            .create_launch_configuration()
            .launch_configuration_name("standby")
            .image_id(image)
            .instance_type("t3.micro")
            .send()
            .await
            .unwrap();
        let subnets: Vec<String> = lb
            .availability_zones()
            .iter()
            .filter_map(|z| z.subnet_id().map(str::to_string))
            .collect();
        s.autoscaling
            .create_auto_scaling_group()
            .auto_scaling_group_name("orders-standby")
            .launch_configuration_name("standby")
            .min_size(1)
            .max_size(max)
            .desired_capacity(desired)
            .vpc_zone_identifier(subnets.join(","))
            .target_group_arns(&tg)
            .send()
            .await
            .unwrap();
        "orders-standby".into()
    }
}

/// The network ACL a primary subnet is associated with.
///
/// The oracles below read AWS with raw SDK calls, never through the
/// `gameday::aws::call` helpers that the undo and the verification use, so a
/// filter bug there cannot hide a leftover here.
pub async fn acl_of(aws: &AwsClients, subnet: &str) -> String {
    let out = aws
        .region(PRIMARY)
        .ec2
        .describe_network_acls()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("association.subnet-id")
                .values(subnet)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let acls = out.network_acls();
    assert_eq!(acls.len(), 1, "subnet {subnet} is associated with one ACL");
    acls[0].network_acl_id().unwrap().to_string()
}

/// The FIS experiments in the primary region.
pub async fn experiments(aws: &AwsClients) -> Vec<aws_sdk_fis::types::ExperimentSummary> {
    let listed = aws
        .region(PRIMARY)
        .fis
        .list_experiments()
        .send()
        .await
        .unwrap();
    listed.experiments().to_vec()
}

/// How many network ACLs other than the VPCs' defaults exist in the primary
/// region, tagged or not: the stage makes none, so any is a leftover.
pub async fn deny_acl_count(aws: &AwsClients) -> usize {
    let out = aws
        .region(PRIMARY)
        .ec2
        .describe_network_acls()
        .send()
        .await
        .unwrap();
    out.network_acls()
        .iter()
        .filter(|a| a.is_default() != Some(true))
        .count()
}

/// The values of every `_gameday-lease.` TXT record in `zone`, by
/// ListResourceRecordSets.
pub async fn lease_records(aws: &AwsClients, zone: &str) -> Vec<String> {
    let out = aws
        .route53()
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .unwrap();
    out.resource_record_sets()
        .iter()
        .filter(|r| r.name().starts_with("_gameday-lease."))
        .flat_map(|r| r.resource_records())
        .map(|v| v.value().to_string())
        .collect()
}

/// Creates the TXT record `name` holding `value` in `zone`, by the raw API:
/// a lease another run left, as a test plants it.
pub async fn plant_txt(aws: &AwsClients, zone: &str, name: &str, value: &str) {
    use aws_sdk_route53::types::{
        Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    let set = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::Txt)
        .ttl(60)
        .resource_records(
            ResourceRecord::builder()
                .value(format!("\"{value}\""))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let change = Change::builder()
        .action(ChangeAction::Create)
        .resource_record_set(set)
        .build()
        .unwrap();
    aws.route53()
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
        .send()
        .await
        .unwrap();
}

/// The registrations of a target group (id, port), by DescribeTargetHealth.
pub async fn registered(
    aws: &AwsClients,
    tg: &str,
) -> std::collections::BTreeSet<(String, Option<i32>)> {
    let out = aws
        .region(PRIMARY)
        .elbv2
        .describe_target_health()
        .target_group_arn(tg)
        .send()
        .await
        .unwrap();
    out.target_health_descriptions()
        .iter()
        .filter_map(|d| d.target())
        .map(|t| (t.id().unwrap_or_default().to_string(), t.port()))
        .collect()
}

/// Each instance's state name, by DescribeInstances, in the order asked.
pub async fn instance_states(aws: &AwsClients, ids: &[String]) -> Vec<(String, String)> {
    let out = aws
        .region(PRIMARY)
        .ec2
        .describe_instances()
        .set_instance_ids(Some(ids.to_vec()))
        .send()
        .await
        .unwrap();
    let mut found: Vec<(String, String)> = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| {
            (
                i.instance_id().unwrap_or_default().to_string(),
                i.state()
                    .and_then(|s| s.name())
                    .map(|n| n.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    found.sort_by_key(|(id, _)| ids.iter().position(|x| x == id));
    found
}

/// The writer instance of a primary DB cluster.
pub async fn cluster_writer(aws: &AwsClients, cluster: &str) -> String {
    let out = aws
        .region(PRIMARY)
        .rds
        .describe_db_clusters()
        .db_cluster_identifier(cluster)
        .send()
        .await
        .unwrap();
    out.db_clusters()[0]
        .db_cluster_members()
        .iter()
        .find(|m| m.is_cluster_writer() == Some(true))
        .and_then(|m| m.db_instance_identifier().map(str::to_string))
        .unwrap()
}

/// Rewrites every failover record of `zone` as `change` says (one UPSERT
/// batch), for tests that reshape the stage's records.
pub async fn rewrite_failover_records(
    aws: &AwsClients,
    zone: &str,
    change: impl Fn(
        &aws_sdk_route53::types::ResourceRecordSet,
    ) -> aws_sdk_route53::types::ResourceRecordSet,
) {
    use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch};
    let r53 = aws.route53();
    let sets = r53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .unwrap();
    let mut batch = ChangeBatch::builder();
    for set in sets
        .resource_record_sets()
        .iter()
        .filter(|s| s.failover().is_some())
    {
        batch = batch.changes(
            Change::builder()
                .action(ChangeAction::Upsert)
                .resource_record_set(change(set))
                .build()
                .unwrap(),
        );
    }
    r53.change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(batch.build().unwrap())
        .send()
        .await
        .unwrap();
}

/// An Aurora global database `orders-global`: its writer `orders-east` in
/// the primary region and `orders-west` in the secondary. Returns both
/// clusters' ARNs, writer first.
pub async fn global_database(aws: &AwsClients) -> (String, String) {
    let primary = aws.region(PRIMARY).rds;
    primary
        .create_global_cluster()
        .global_cluster_identifier("orders-global")
        .engine("aurora-postgresql")
        .send()
        .await
        .unwrap();
    // The first member is the writer, the next a secondary.
    let writer = primary
        .create_db_cluster()
        .db_cluster_identifier("orders-east")
        .engine("aurora-postgresql")
        .master_username("admin")
        .master_user_password("not-a-secret-1")
        .global_cluster_identifier("orders-global")
        .send()
        .await
        .unwrap();
    let secondary = aws
        .region(SECONDARY)
        .rds
        .create_db_cluster()
        .db_cluster_identifier("orders-west")
        .engine("aurora-postgresql")
        .global_cluster_identifier("orders-global")
        .send()
        .await
        .unwrap();
    let arn = |c: Option<&aws_sdk_rds::types::DbCluster>| {
        c.and_then(|c| c.db_cluster_arn()).unwrap().to_string()
    };
    (arn(writer.db_cluster()), arn(secondary.db_cluster()))
}

/// An FIS experiment template of the primary region: one action on every
/// resource of one type.
pub struct FisTemplate<'a> {
    /// Client token.
    pub token: &'a str,
    /// Description.
    pub description: &'a str,
    /// `aws:ec2:instance`, `aws:ec2:subnet`, ...
    pub resource_type: &'a str,
    /// The resources' ARNs.
    pub arns: Vec<String>,
    /// The action id.
    pub action: &'a str,
    /// The key the action's targets go under (`Instances`, `Subnets`).
    pub targets_key: &'a str,
    /// The action's parameters.
    pub parameters: &'a [(&'a str, &'a str)],
}

/// Creates `t` in moto; returns its id.
pub async fn fis_template(aws: &AwsClients, t: &FisTemplate<'_>) -> String {
    use aws_sdk_fis::types::{
        CreateExperimentTemplateActionInput, CreateExperimentTemplateStopConditionInput,
        CreateExperimentTemplateTargetInput,
    };
    let mut action = CreateExperimentTemplateActionInput::builder()
        .action_id(t.action)
        .targets(t.targets_key, "targets");
    for (k, v) in t.parameters {
        action = action.parameters(*k, *v);
    }
    let out = aws
        .region(PRIMARY)
        .fis
        .create_experiment_template()
        .client_token(t.token)
        .description(t.description)
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/fis"))
        .stop_conditions(
            CreateExperimentTemplateStopConditionInput::builder()
                .source("none")
                .build()
                .unwrap(),
        )
        .targets(
            "targets",
            CreateExperimentTemplateTargetInput::builder()
                .resource_type(t.resource_type)
                .selection_mode("ALL")
                .set_resource_arns(Some(t.arns.clone()))
                .build()
                .unwrap(),
        )
        .actions("action", action.build().unwrap())
        .send()
        .await
        .unwrap();
    out.experiment_template().unwrap().id().unwrap().to_string()
}
