//! A fake AWS endpoint on loopback that logs every call it receives (action
//! and access key id) and answers from a script: the log is the oracle of
//! which calls reached "AWS", with which credentials, how many times.

use gameday::net::http::{read_body, respond, route, serve};
use hyper::StatusCode;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every call the fake endpoint received: (action, access key id).
type Log = Arc<Mutex<Vec<(String, String)>>>;

/// One answer: status, XML body, and how long to wait before giving it.
#[derive(Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
    pub delay: Duration,
}

impl Answer {
    /// `status` with `body`, at once.
    pub fn now(status: StatusCode, body: &str) -> Answer {
        Answer {
            status,
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    /// STS's answer to GetCallerIdentity.
    pub fn sts_ok() -> Answer {
        Answer::now(StatusCode::OK, super::STS_OK)
    }

    /// A real throttling error of the query protocol (STS, ELBv2, EC2 say "Throttling").
    pub fn throttled() -> Answer {
        Answer::now(
            StatusCode::BAD_REQUEST,
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>t</RequestId></ErrorResponse>",
        )
    }

    /// AccessDenied for everything the script does not answer.
    pub fn denied() -> Answer {
        Answer::now(
            StatusCode::FORBIDDEN,
            "<ErrorResponse><Error><Code>AccessDenied</Code><Message>fake endpoint: not allowed</Message></Error></ErrorResponse>",
        )
    }
}

/// The answer to the n-th GetCallerIdentity (from 0).
type StsScript = Arc<dyn Fn(usize) -> Answer + Send + Sync>;

pub struct FakeAws {
    pub url: String,
    log: Log,
    _rt: tokio::runtime::Runtime,
}

impl FakeAws {
    /// STS answers; every other call is denied.
    pub fn start() -> FakeAws {
        FakeAws::scripted(|_| Answer::sts_ok(), Answer::denied())
    }

    /// STS answers its n-th call with `sts(n)`; every other call gets `other`.
    pub fn scripted(
        sts: impl Fn(usize) -> Answer + Send + Sync + 'static,
        other: Answer,
    ) -> FakeAws {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let log: Log = Arc::default();
        let logged = log.clone();
        let sts: StsScript = Arc::new(sts);
        let addr = rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            serve(listener, move |req| {
                let (logged, sts, other) = (logged.clone(), sts.clone(), other.clone());
                async move {
                    let (_, path) = route(&req);
                    let key = access_key(&req);
                    let body = read_body(req).await.unwrap_or_default();
                    let body = String::from_utf8_lossy(&body).to_string();
                    let action = body
                        .split('&')
                        .find_map(|p| p.strip_prefix("Action="))
                        .map(str::to_string)
                        .unwrap_or(path);
                    let answer = {
                        let mut log = logged.lock().unwrap();
                        let n = log.iter().filter(|(a, _)| a == "GetCallerIdentity").count();
                        log.push((action.clone(), key));
                        if action == "GetCallerIdentity" {
                            sts(n)
                        } else {
                            other
                        }
                    };
                    tokio::time::sleep(answer.delay).await;
                    respond(answer.status, "text/xml", answer.body)
                }
            });
            addr
        });
        FakeAws {
            url: format!("http://{addr}"),
            log,
            _rt: rt,
        }
    }

    /// The actions received, in order.
    pub fn actions(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|(a, _)| a.clone())
            .collect()
    }

    /// The access key ids the calls were signed with, in order.
    pub fn keys(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// How many times `action` was received.
    pub fn count(&self, action: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(a, _)| a == action)
            .count()
    }

    /// `gameday` pointed at the fake endpoint with the profiles of `config`
    /// and no other credentials; one attempt per call unless a test sets
    /// `AWS_MAX_ATTEMPTS` again.
    pub fn gameday(&self, config: &Path) -> std::process::Command {
        let mut cmd = super::gameday();
        cmd.current_dir(super::root())
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env("AWS_ENDPOINT_URL", &self.url)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", config)
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
        cmd
    }
}

/// The access key id a request was signed with (SigV4's Credential=).
fn access_key<B>(req: &hyper::Request<B>) -> String {
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').next())
        .unwrap_or_default()
        .to_string()
}
