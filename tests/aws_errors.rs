//! What gameday does with AWS's answers, against a fake endpoint on loopback:
//! throttling (a 503 or a real Throttling error) is retried as often as
//! AWS_MAX_ATTEMPTS says, a hung call is given up after its time limit, the
//! profile comes from --profile, the scenario or the default, in that order;
//! any other error is one line
//! naming what was being done, to which resource, and the permission to fix.

mod common;

use common::fake_aws::{Answer, FakeAws};
use common::Replaced;

use gameday::net::http::{read_body, respond, serve};
use hyper::StatusCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const ROUTE53_DENIED: &str = r#"<?xml version="1.0"?>
<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/gameday-ci/ci is not authorized to perform: route53:GetHostedZone on resource: arn:aws:route53:::hostedzone/Z0123456789EXAMPLE</Message></Error>
  <RequestId>2</RequestId>
</ErrorResponse>"#;

/// A config file with two profiles whose keys differ, and a default one.
fn profiles(name: &str) -> std::path::PathBuf {
    let dir = common::scratch(name);
    let path = dir.join("aws-config");
    std::fs::write(
        &path,
        "[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key = x\n\n[profile staging]\naws_access_key_id = STAGINGKEY\naws_secret_access_key = x\n\n[profile other]\naws_access_key_id = OTHERKEY\naws_secret_access_key = x\n",
    )
    .unwrap();
    path
}

const PLANNED: &str = "scenarios/aws/kill-primary-targets.toml";

#[test]
fn throttling_is_retried_and_a_denied_call_names_the_permission() {
    // A 503, then a real throttling error, then the answer; Route 53 denies.
    let fake = FakeAws::scripted(
        |n| {
            match n {
            0 => Answer::now(
                StatusCode::SERVICE_UNAVAILABLE,
                "<ErrorResponse><Error><Code>ServiceUnavailable</Code><Message>try again</Message></Error></ErrorResponse>",
            ),
            1 => Answer::throttled(),
            _ => Answer::sts_ok(),
        }
        },
        Answer::now(StatusCode::FORBIDDEN, ROUTE53_DENIED),
    );
    let out = fake
        .gameday(&profiles("aws-errors-retry"))
        .env_remove("AWS_MAX_ATTEMPTS")
        .args(["plan", PLANNED])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", common::explain(&out));
    assert_eq!(
        fake.count("GetCallerIdentity"),
        3,
        "the SDK's standard mode tries 3 times: {:?}",
        fake.actions()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("reading hosted zone Z0123456789EXAMPLE failed: AccessDenied: User: arn:aws:sts::123456789012:assumed-role/gameday-ci/ci is not authorized")
            && lines[0].ends_with("grant route53:GetHostedZone to the role gameday runs as"),
        "{stderr}"
    );
}

#[test]
fn aws_max_attempts_sets_how_often_a_throttled_call_is_tried() {
    let config = profiles("aws-errors-attempts");
    for attempts in [1, 5] {
        let fake = FakeAws::scripted(|_| Answer::throttled(), Answer::denied());
        let out = fake
            .gameday(&config)
            .env("AWS_MAX_ATTEMPTS", attempts.to_string())
            .args(["plan", PLANNED])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", common::explain(&out));
        assert_eq!(
            fake.count("GetCallerIdentity"),
            attempts,
            "{:?}",
            fake.actions()
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("Throttling") && stderr.contains("Rate exceeded"),
            "{stderr}"
        );
    }
}

#[test]
fn the_profile_comes_from_the_flag_over_the_scenario_over_the_default() {
    let config = profiles("aws-errors-profile");
    let dir = config.parent().unwrap();
    let shipped = std::fs::read_to_string(common::root().join(PLANNED)).unwrap();
    let with_profile = dir.join("with-profile.toml");
    std::fs::write(
        &with_profile,
        shipped.replaced("[aws]\n", "[aws]\nprofile = \"staging\"\n"),
    )
    .unwrap();
    let planned = common::root().join(PLANNED);
    for (scenario, flag, key) in [
        (&planned, None, "DEFAULTKEY"),
        (&planned, Some("staging"), "STAGINGKEY"),
        (&with_profile, None, "STAGINGKEY"),
        (&with_profile, Some("other"), "OTHERKEY"),
    ] {
        let fake = FakeAws::start();
        let mut cmd = fake.gameday(&config);
        cmd.arg("plan").arg(scenario);
        if let Some(p) = flag {
            cmd.args(["--profile", p]);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", common::explain(&out));
        let keys = fake.keys();
        assert!(
            !keys.is_empty() && keys.iter().all(|k| k == key),
            "{} with --profile {flag:?}: {keys:?}",
            scenario.display()
        );
    }
}

#[test]
fn a_hung_api_call_is_given_up_after_its_attempt_time_limit() {
    // STS accepts the request and never answers (for longer than the test).
    let fake = FakeAws::scripted(
        |_| Answer {
            delay: std::time::Duration::from_secs(300),
            ..Answer::sts_ok()
        },
        Answer::denied(),
    );
    let started = std::time::Instant::now();
    let out = fake
        .gameday(&profiles("aws-errors-hung"))
        .args(["plan", PLANNED])
        .output()
        .unwrap();
    let took = started.elapsed().as_secs_f64();
    assert_eq!(out.status.code(), Some(2), "{}", common::explain(&out));
    assert_eq!(fake.count("GetCallerIdentity"), 1);
    // 20 s per attempt (docs/aws.md): not sooner, and not much later.
    assert!((19.5..40.0).contains(&took), "gave up after {took:.1} s");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("asking STS who the caller is failed: the call to sts at http://127.0.0.1:")
            && stderr.contains("(AWS_ENDPOINT_URL) timed out; check the network path"),
        "{stderr}"
    );
}

const THROTTLED: &str = r#"<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">
  <Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>
  <RequestId>3</RequestId>
</ErrorResponse>"#;

const ELB_DENIED: &str = r#"<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform: elasticloadbalancing:RegisterTargets</Message></Error>
  <RequestId>4</RequestId>
</ErrorResponse>"#;

/// The undo executor retries only what AWS says a retry can help: against a
/// fake ELBv2, a throttled RegisterTargets is made again until it passes; a
/// denied one is made exactly once and fails with the permission named.
#[test]
fn the_undo_executor_retries_throttling_and_not_a_denied_call() {
    use gameday::aws::call::Registration;
    use gameday::aws::AwsCall;
    use gameday::plan::Action;
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (answer, status, expected_calls, passes) in [
        (THROTTLED, StatusCode::BAD_REQUEST, 3, true),
        (ELB_DENIED, StatusCode::FORBIDDEN, 1, false),
    ] {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let (passed, message) = rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            serve(listener, move |req| {
                let counted = counted.clone();
                async move {
                    let body = read_body(req).await.unwrap_or_default();
                    if !String::from_utf8_lossy(&body).contains("Action=RegisterTargets") {
                        return respond(StatusCode::BAD_REQUEST, "text/plain", "unexpected");
                    }
                    // Refused twice, then done (a denied call never gets that far).
                    if counted.fetch_add(1, Ordering::SeqCst) < 2 {
                        respond(status, "text/xml", answer)
                    } else {
                        respond(StatusCode::OK, "text/xml", REGISTERED)
                    }
                }
            });
            let clients = common::fake_aws_clients(&format!("http://{addr}")).await;
            let appliers = gameday::environment::Appliers {
                lab: None,
                aws: Some(clients),
            };
            let undo = Action::Aws(AwsCall::RegisterTargets {
                region: "us-east-1".into(),
                target_group_arn:
                    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/app/1".into(),
                targets: vec![Registration {
                    id: "i-0123".into(),
                    port: Some(8080),
                    availability_zone: None,
                }],
            });
            let policy = gameday::undo::RetryPolicy {
                first_backoff: std::time::Duration::from_millis(10),
                ..gameday::undo::RetryPolicy::within(std::time::Duration::from_secs(60))
            };
            match policy.run(|| appliers.apply(&undo)).await {
                Ok(_) => (true, String::new()),
                Err(e) => (false, e.to_string()),
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), expected_calls, "{message}");
        assert_eq!(passed, passes, "{message}");
        if !passes {
            assert!(
                message.contains("elasticloadbalancing:RegisterTargets"),
                "{message}"
            );
        }
    }
}

const REGISTERED: &str = r#"<RegisterTargetsResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">
  <RegisterTargetsResult/>
  <ResponseMetadata><RequestId>5</RequestId></ResponseMetadata>
</RegisterTargetsResponse>"#;
