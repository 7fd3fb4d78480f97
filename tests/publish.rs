//! A run's figures published where teams look: a real Pushgateway (Debian's
//! prometheus-pushgateway) and CloudWatch on moto, each read back by other
//! code than gameday's (prometheus-client's parser, CloudWatch's query API)
//! and compared with report.json; and what a failure to publish does (one
//! warning line, the verdict's exit code).

mod common;

use common::moto::{python, Moto};
use common::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The timed figures with their CloudWatch names.
const TIMED: [(&str, &str); 7] = [
    ("detection", "Detection"),
    ("dns_flip", "DnsFlip"),
    ("first_failure", "FirstFailure"),
    ("rto_observed", "RtoObserved"),
    ("downtime", "Downtime"),
    ("write_recovery", "WriteRecovery"),
    ("rpo_observed", "RpoObserved"),
];

/// A child process killed when the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Debian's Pushgateway on a loopback port, or None where it is not installed.
fn pushgateway() -> Option<(Server, String)> {
    let bin = "/usr/bin/prometheus-pushgateway";
    if !Path::new(bin).exists() {
        return None;
    }
    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    common::testbed::die_with_parent(&mut cmd);
    let server = Server(cmd.spawn().unwrap());
    wait_listening(port, "the Pushgateway");
    Some((server, format!("http://127.0.0.1:{port}")))
}

/// What the Pushgateway exposes for scrapes, parsed by prometheus-client:
/// {name: value} of the samples with job="gameday" and `scenario`.
fn scraped(url: &str, scenario: &str) -> serde_json::Value {
    const SCRIPT: &str = r#"
import json, math, sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
url, scenario = sys.argv[1:3]
text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
out = {}
for family in text_string_to_metric_families(text):
    for s in family.samples:
        if s.labels.get("job") == "gameday" and s.labels.get("scenario") == scenario:
            out[s.name] = [s.labels, None if math.isnan(s.value) else s.value]
print(json.dumps(out))
"#;
    let out = Command::new(python())
        .args(["-c", SCRIPT, url, scenario])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", explain(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// CloudWatch's namespace Gameday in `region`, read with the query API
/// (ListMetrics, then GetMetricData for each metric with its unit, Maximum
/// over the last hour): {MetricName: {"dimensions": {...}, "values": [...]}}.
fn cloudwatch(moto: &Moto, region: &str, units: &[(String, &str)]) -> serde_json::Value {
    const SCRIPT: &str = r#"
import datetime, json, sys, urllib.parse, urllib.request
import xml.etree.ElementTree as ET
url, region, units = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
auth = ("AWS4-HMAC-SHA256 Credential=testing/20260101/%s/monitoring/aws4_request, "
        "SignedHeaders=host, Signature=0" % region)
def call(params):
    params = dict(params, Version="2010-08-01")
    req = urllib.request.Request(url + "/", data=urllib.parse.urlencode(params).encode(),
        headers={"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})
    return ET.fromstring(urllib.request.urlopen(req, timeout=10).read())
def tag(e):
    return e.tag.split("}", 1)[-1]
def child(e, name):
    return next(c for c in e if tag(c) == name)
listed = call({"Action": "ListMetrics", "Namespace": "Gameday"})
now = datetime.datetime.now(datetime.timezone.utc)
out = {}
for m in child(child(listed, "ListMetricsResult"), "Metrics"):
    name = child(m, "MetricName").text
    dims = {child(d, "Name").text: child(d, "Value").text for d in child(m, "Dimensions")}
    q = "MetricDataQueries.member.1."
    params = {"Action": "GetMetricData",
              "StartTime": (now - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "EndTime": (now + datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              q + "Id": "m1", q + "MetricStat.Metric.Namespace": "Gameday",
              q + "MetricStat.Metric.MetricName": name,
              q + "MetricStat.Period": "60", q + "MetricStat.Stat": "Maximum",
              q + "MetricStat.Unit": units.get(name, "None")}
    for i, (k, v) in enumerate(sorted(dims.items()), 1):
        params[q + "MetricStat.Metric.Dimensions.member.%d.Name" % i] = k
        params[q + "MetricStat.Metric.Dimensions.member.%d.Value" % i] = v
    got = call(params)
    values = [float(v.text) for e in got.iter() if tag(e) == "Values" for v in e]
    out[name] = {"dimensions": dims, "values": values}
print(json.dumps(out))
"#;
    let units: serde_json::Map<String, serde_json::Value> = units
        .iter()
        .map(|(k, v)| (k.clone(), (*v).into()))
        .collect();
    let out = Command::new(python())
        .args(["-c", SCRIPT, &moto.url, region])
        .arg(serde_json::Value::Object(units).to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", explain(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The report's figures as CloudWatch names them, with their units, values
/// in seconds or counts.
fn expected(report: &serde_json::Value) -> Vec<(String, &'static str, f64)> {
    let phases = &report["phases"];
    let mut out = Vec::new();
    for (figure, name) in TIMED {
        let ms = |key: &str| phases[figure][key].as_f64().expect(figure) / 1000.0;
        out.push((name.to_string(), "Seconds", ms("value_ms")));
        out.push((format!("{name}Resolution"), "Seconds", ms("resolution_ms")));
    }
    let count = |v: &serde_json::Value| v.as_f64().unwrap();
    out.push((
        "LostWrites".into(),
        "Count",
        count(&phases["lost_writes"]["count"]),
    ));
    out.push((
        "AckedWrites".into(),
        "Count",
        count(&phases["lost_writes"]["acked"]),
    ));
    out.push(("ObjectiveBreached".into(), "Count", 0.0));
    out.push(("ExitCode".into(), "Count", 0.0));
    out.push(("RevertComplete".into(), "Count", 1.0));
    out
}

/// CloudWatch in us-west-2 holds every figure of `report`, with its unit
/// and both dimensions; the primary region's holds nothing.
fn check_cloudwatch(moto: &Moto, report: &serde_json::Value) {
    let expected = expected(report);
    let units: Vec<(String, &str)> = expected.iter().map(|(n, u, _)| (n.clone(), *u)).collect();
    let published = cloudwatch(moto, "us-west-2", &units);
    let names: Vec<&String> = published.as_object().unwrap().keys().collect();
    assert_eq!(names.len(), expected.len(), "{published}");
    for (name, unit, value) in &expected {
        let metric = &published[name];
        assert_eq!(
            metric["dimensions"],
            serde_json::json!({"scenario": "kill-primary-targets", "environment": "lab"}),
            "{name}"
        );
        let values = metric["values"].as_array().unwrap();
        assert_eq!(values.len(), 1, "{name} in {unit}: {published}");
        assert!(
            (values[0].as_f64().unwrap() - value).abs() < 1e-6,
            "{name}: {} != {value}",
            values[0]
        );
    }
    // Nothing went to the primary region's CloudWatch.
    assert_eq!(cloudwatch(moto, "us-east-1", &units), serde_json::json!({}));
}

/// The Pushgateway at `url` exposes the figures of `report` in seconds,
/// grouped by scenario and environment, and took the push.
fn check_pushgateway(url: &str, report: &serde_json::Value) {
    let scraped = scraped(url, "kill-primary-targets");
    for (figure, _) in TIMED {
        let ms = report["phases"][figure]["value_ms"].as_f64().unwrap();
        let sample = &scraped[format!("gameday_{figure}_seconds")];
        assert_eq!(sample[0]["environment"], "lab", "{scraped}");
        assert!(
            (sample[1].as_f64().unwrap() - ms / 1000.0).abs() < 1e-9,
            "{figure}: {sample}"
        );
    }
    assert_eq!(
        scraped["gameday_lost_writes"][1],
        report["phases"]["lost_writes"]["count"]
    );
    assert_eq!(scraped["gameday_exit_code"][1], 0.0);
    assert_eq!(scraped["push_failure_time_seconds"][1], 0.0, "{scraped}");
    assert!(scraped["push_time_seconds"][1].as_f64().unwrap() > 0.0);
}

#[test]
fn one_run_publishes_the_same_figures_to_a_pushgateway_cloudwatch_and_the_file() {
    let Some((_pushgateway, push_url)) = pushgateway() else {
        skip(
            &test_name(),
            "prometheus-pushgateway (Debian; scripts/test installs it)",
        );
        return;
    };
    let (_serial, moto) = Moto::lock();
    let dir = scratch("publish-all");
    let reports = dir.join("reports");
    let file = dir.join("textfile").join("gameday.prom");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    // The file and CloudWatch come from the scenario's [metrics] table, the
    // Pushgateway from the flag.
    let scenario = dir.join("kill-primary-targets.toml");
    let text = std::fs::read_to_string(root().join("scenarios/kill-primary-targets.toml")).unwrap();
    std::fs::write(
        &scenario,
        format!(
            "{text}\n[metrics]\nfile = \"{}\"\ncloudwatch = true\ncloudwatch_region = \"us-west-2\"\n",
            file.display()
        ),
    )
    .unwrap();
    let out = moto
        .gameday()
        .arg("run")
        .arg(&scenario)
        .args(["--no-progress", "--pushgateway", &push_url, "--reports"])
        .arg(&reports)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "{}",
        explain(&out)
    );
    let report = only_report(&reports);
    check_cloudwatch(moto, &report);
    check_pushgateway(&push_url, &report);
    // The file holds what `gameday report --format metrics` renders.
    assert_metrics_file_is_the_export(&reports, &file);
    let _ = std::fs::remove_dir_all(dir);
}

/// An endpoint that answers every call with CloudWatch's AccessDenied (CBOR,
/// as the SDK speaks it) and every PUT with a 403 text.
fn denying_endpoint() -> (Server, String) {
    const SCRIPT: &str = r#"
import cbor2, http.server, sys
class Deny(http.server.BaseHTTPRequestHandler):
    def answer(self, body, headers):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(403)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        self.answer(cbor2.dumps({"__type": "AccessDenied", "message":
            "User: arn:aws:sts::123456789012:assumed-role/gameday-ci/ci is not authorized to perform: cloudwatch:PutMetricData"}),
            [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")])
    def do_PUT(self):
        self.answer(b"forbidden by the proxy\n", [("Content-Type", "text/plain")])
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Deny)
server.serve_forever()
"#;
    let port = free_port();
    let mut cmd = Command::new(python());
    cmd.args(["-c", SCRIPT, &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    common::testbed::die_with_parent(&mut cmd);
    let server = Server(cmd.spawn().unwrap());
    wait_listening(port, "the denying endpoint");
    (server, format!("http://127.0.0.1:{port}"))
}

#[test]
fn publishing_failures_are_one_warning_line_each_and_the_exit_code_stays_the_verdicts() {
    let (_denying, denying) = denying_endpoint();
    let closed = format!("http://127.0.0.1:{}", free_port());
    let dir = scratch("publish-failures");
    let reports = dir.join("reports");
    // A breached run (exit 1): CloudWatch denies PutMetricData, the
    // Pushgateway is down.
    let mut cmd = gameday();
    cmd.current_dir(root())
        .env("AWS_ENDPOINT_URL", &denying)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .arg("run")
        .arg(root().join("scenarios/too-tight-rto.toml"))
        .args([
            "--no-progress",
            "--metrics",
            "cloudwatch",
            "--pushgateway",
            &closed,
        ])
        .arg("--reports")
        .arg(&reports);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    assert_eq!(only_report(&reports)["outcome"], "breached");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 2, "{stderr}");
    let pushgateway = warnings[0];
    assert!(
        pushgateway.starts_with(&format!("gameday: warning: cannot push to the Pushgateway {closed}: connection failed"))
            && pushgateway.ends_with("(transient: the next run publishes again); the run's verdict and exit code are unchanged"),
        "{pushgateway}"
    );
    let cloudwatch = warnings[1];
    assert!(
        cloudwatch.starts_with("gameday: warning: cannot publish to CloudWatch (namespace Gameday): PutMetricData to namespace Gameday in us-east-1 failed: AccessDenied: User: arn:aws:sts::123456789012:assumed-role/gameday-ci/ci is not authorized")
            && cloudwatch.ends_with("grant cloudwatch:PutMetricData to the role gameday runs as; the run's verdict and exit code are unchanged"),
        "{cloudwatch}"
    );

    // A Pushgateway that refuses the PUT: a permanent failure, named.
    let out = run_scenario(
        "kill-primary-targets",
        &dir.join("reports-2"),
        &["--pushgateway", &denying],
    );
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("gameday: warning: cannot push to the Pushgateway {denying}: HTTP 403: forbidden by the proxy; check the URL and any proxy in front of it; the run's verdict and exit code are unchanged")),
        "{stderr}"
    );

    // A Pushgateway URL that cannot be one is refused before anything runs.
    let out = run_scenario(
        "kill-primary-targets",
        &dir.join("reports-3"),
        &["--pushgateway", "http://ci:secret@pushgateway:9091"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    assert!(!dir.join("reports-3").exists());
    let _ = std::fs::remove_dir_all(dir);
}
