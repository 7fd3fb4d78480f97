//! What gameday does with AWS's answers, against a fake endpoint on loopback:
//! throttling and 5xx are retried with backoff; any other error is one line
//! naming what was being done, to which resource, and the permission to fix.

mod common;

use gameday::net::http::{read_body, respond, route, serve};
use hyper::{Method, StatusCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const ROUTE53_DENIED: &str = r#"<?xml version="1.0"?>
<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/gameday-ci/ci is not authorized to perform: route53:GetHostedZone on resource: arn:aws:route53:::hostedzone/Z0123456789EXAMPLE</Message></Error>
  <RequestId>2</RequestId>
</ErrorResponse>"#;

#[test]
fn throttling_is_retried_and_a_denied_call_names_the_permission() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sts_calls = Arc::new(AtomicUsize::new(0));
    let counted = sts_calls.clone();
    let addr = rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        serve(listener, move |req| {
            let counted = counted.clone();
            async move {
                let (method, path) = route(&req);
                match (method, path.as_str()) {
                    (Method::POST, "/") => {
                        let body = read_body(req).await.unwrap_or_default();
                        if !String::from_utf8_lossy(&body).contains("Action=GetCallerIdentity") {
                            return respond(StatusCode::BAD_REQUEST, "text/plain", "unexpected");
                        }
                        // Busy twice, then the answer.
                        if counted.fetch_add(1, Ordering::SeqCst) < 2 {
                            respond(StatusCode::SERVICE_UNAVAILABLE, "text/xml", "<ErrorResponse><Error><Code>ServiceUnavailable</Code><Message>try again</Message></Error></ErrorResponse>")
                        } else {
                            respond(StatusCode::OK, "text/xml", common::STS_OK)
                        }
                    }
                    _ => respond(StatusCode::FORBIDDEN, "text/xml", ROUTE53_DENIED),
                }
            }
        });
        addr
    });
    let out = common::gameday()
        .current_dir(common::root())
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_MAX_ATTEMPTS")
        .env("AWS_ENDPOINT_URL", format!("http://{addr}"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .args(["plan", "scenarios/aws/kill-primary-targets.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", common::explain(&out));
    assert_eq!(
        sts_calls.load(Ordering::SeqCst),
        3,
        "two 503s, then the answer"
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
                attempts: 4,
                first_backoff: std::time::Duration::from_millis(10),
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
