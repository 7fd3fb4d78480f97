//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod fake_aws;
pub mod fault_proxy;
pub mod moto;
pub mod testbed;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Slack for comparing times of acked writes: an ack is its send time plus its
/// latency, so two acks one canary interval apart differ by the interval plus
/// the difference of their latencies (a few ms on loopback, more on a busy CI).
pub const ACK_JITTER_MS: f64 = 10.0;

/// STS's answer for account 123456789012, for fake AWS endpoints.
pub const STS_OK: &str = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::123456789012:role/gameday-ci</Arn>
    <UserId>AROAEXAMPLE:ci</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"#;

/// `str::replace` that fails the test when there is nothing to replace: an
/// edit of a scenario that silently did nothing would test the original.
pub trait Replaced {
    /// `self` with every `from` replaced by `to`; `from` must occur.
    fn replaced(&self, from: &str, to: &str) -> String;
}

impl Replaced for str {
    #[track_caller]
    fn replaced(&self, from: &str, to: &str) -> String {
        assert!(self.contains(from), "{from:?} is not in the text to edit");
        self.replace(from, to)
    }
}

/// Waits until the run under `reports` has journaled its fault as applied.
pub fn wait_until_applied(reports: &Path, limit: std::time::Duration, what: &str) {
    wait_for_journal(reports, "applied", limit, what)
}

/// Whether a journal line is an `event` entry of a planned change (not the lease).
fn is_change_entry(line: &str, event: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| {
        v["event"] == event && v["step"].as_u64() != Some(gameday::journal::LEASE_STEP as u64)
    })
}

/// The journal events of the planned changes (not the lease) of the one run
/// under `reports`, in order; none when it wrote no journal.
pub fn change_events(reports: &Path) -> Vec<String> {
    let text =
        std::fs::read_to_string(only_run_dir(reports).join("journal.jsonl")).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["step"].as_u64() != Some(gameday::journal::LEASE_STEP as u64))
        .filter_map(|v| v["event"].as_str().map(str::to_string))
        .collect()
}

/// The id of the one run under `reports` (its folder's name).
pub fn run_id_in(reports: &Path) -> String {
    only_run_dir(reports)
        .file_name()
        .expect("a run folder has a name")
        .to_string_lossy()
        .into_owned()
}

/// Asserts that `second` was refused (exit 2) because the run under
/// `holder_reports`, process `holder_pid`, holds the lease, and that it
/// journaled no change.
pub fn assert_refused_by_lease(
    second: &Output,
    second_reports: &Path,
    holder_reports: &Path,
    holder_pid: u32,
) {
    assert_eq!(second.status.code(), Some(2), "{}", explain(second));
    let said = String::from_utf8_lossy(&second.stdout);
    let holder = format!(
        "is leased to run {} (pid {holder_pid} on host ",
        run_id_in(holder_reports)
    );
    assert!(
        said.contains(&holder) && said.contains("one game day at a time"),
        "{said}"
    );
    assert!(
        !change_events(second_reports).iter().any(|e| e == "intent"),
        "the refused run journaled a change"
    );
}

/// Waits until the run under `reports` has journaled an `event` entry of a
/// planned change.
pub fn wait_for_journal(reports: &Path, event: &str, limit: std::time::Duration, what: &str) {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let written = std::fs::read_dir(reports)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| std::fs::read_to_string(e.ok()?.path().join("journal.jsonl")).ok())
            .is_some_and(|j| j.lines().any(|l| is_change_entry(l, event)));
        if written {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Asserts that `out` is a run aborted after it started (exit 3, outcome
/// `aborted` in its report); returns the report and its reason.
pub fn assert_aborted(out: &Output, reports: &Path) -> (serde_json::Value, String) {
    assert_eq!(out.status.code(), Some(3), "{}", explain(out));
    let report = only_report(reports);
    assert_eq!(report["outcome"], "aborted", "{}", explain(out));
    let reason = report["reason"].as_str().unwrap_or_default().to_string();
    (report, reason)
}

/// Asserts that `out` is a run whose revert was incomplete: exit 4, the
/// journal's path printed, the report saying so. Returns the report.
pub fn assert_revert_incomplete(out: &Output, reports: &Path) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(4), "{}", explain(out));
    let journal = only_run_dir(reports).join("journal.jsonl");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("REVERT INCOMPLETE: ")
            && stdout.contains(&format!("journal: {}", journal.display())),
        "{stdout}"
    );
    let report = only_report(reports);
    assert_eq!(report["outcome"], "revert-incomplete");
    assert_eq!(report["revert"]["complete"], false);
    report
}

/// Asserts that the run of `report` took over the lapsed lease of `from_run`
/// and said so on its timeline.
pub fn assert_lease_taken_over(report: &serde_json::Value, from_run: &str) {
    let warned = report["timeline"].as_array().unwrap().iter().any(|e| {
        e["what"]["data"]["name"] == "lease-taken-over"
            && e["what"]["data"]["detail"]
                .as_str()
                .is_some_and(|d| d.contains(from_run))
    });
    assert!(warned, "no warning of the takeover in the timeline");
}

/// Asserts that `gameday status` (its output) lists nothing still owed.
pub fn assert_nothing_pending(status: &Output) {
    assert!(
        String::from_utf8_lossy(&status.stdout).starts_with("no run under"),
        "{}",
        explain(status)
    );
}

/// Sends SIGINT to `child`, as Ctrl-C would.
pub fn interrupt(child: &std::process::Child) {
    // SAFETY: plain kill(2) on our own, unreaped child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
}

/// Every file a run writes into its folder.
pub const RUN_FILES: [&str; 6] = [
    "report.json",
    "timeline.jsonl",
    "report.md",
    "report.html",
    "junit.xml",
    "journal.jsonl",
];

/// The built `gameday` binary.
pub fn gameday() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gameday"))
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gameday-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Runs `gameday run` on a shipped scenario into `reports`.
pub fn run_scenario(scenario: &str, reports: &Path, extra: &[&str]) -> Output {
    run_file(
        &root().join(format!("scenarios/{scenario}.toml")),
        reports,
        extra,
    )
}

/// Runs `gameday run` on the scenario file `path` into `reports`.
pub fn run_file(path: &Path, reports: &Path, extra: &[&str]) -> Output {
    gameday()
        .current_dir(root())
        .arg("run")
        .arg(path)
        .args(["--no-progress", "--reports"])
        .arg(reports)
        .args(extra)
        .env("GITHUB_STEP_SUMMARY", reports.join("step-summary.md"))
        .output()
        .expect("run gameday")
}

/// The one report.json written under `reports`.
pub fn only_report(reports: &Path) -> serde_json::Value {
    let runs: Vec<PathBuf> = std::fs::read_dir(reports)
        .expect("reports dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(
        runs.len(),
        1,
        "expected one run folder in {}: {runs:?}",
        reports.display()
    );
    read_report(&runs[0])
}

/// A run folder's report.json with its timeline file read back in place
/// (`timeline` is the array of entries; what report.json says of the file
/// moves to `timeline_file`). The file is read here, line by line, not
/// through gameday's own reader, and checked to be in time order and as
/// long as report.json says.
pub fn read_report(run: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(run.join("report.json")).expect("report.json");
    let mut report: serde_json::Value = serde_json::from_str(&text).expect("report.json is JSON");
    assert_eq!(report["schema_version"], 2, "report.json schema");
    let named = report["timeline"].clone();
    let file = named["file"]
        .as_str()
        .expect("report.json names its timeline file");
    let lines = std::fs::read_to_string(run.join(file)).expect("the timeline file");
    let entries: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("a timeline line is JSON"))
        .collect();
    assert_eq!(
        named["entries"].as_u64(),
        Some(entries.len() as u64),
        "report.json's count of the timeline's entries"
    );
    let at = |e: &serde_json::Value| e["at"].as_u64().expect("at");
    assert!(
        entries.windows(2).all(|w| at(&w[0]) <= at(&w[1])),
        "the timeline file is in time order"
    );
    report["timeline"] = serde_json::Value::Array(entries);
    report["timeline_file"] = named;
    report
}

/// The one run folder under `reports`.
pub fn only_run_dir(reports: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(reports)
        .expect("reports dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

/// Explains a failed run.
pub fn explain(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A single-threaded tokio runtime for calling the lab's async client from a test.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A lab running as its own process (`gameday lab`), so damage outlives a run.
/// Dropping it stops the lab with SIGTERM (it removes what it started).
pub struct StandingLab {
    /// The `gameday lab` process.
    pub child: std::process::Child,
    /// Its control API.
    pub client: gameday::lab::LabClient,
}

impl StandingLab {
    /// Starts `gameday lab` with `extra` arguments and reads its control address.
    pub fn start(extra: &[&str]) -> StandingLab {
        let mut cmd = gameday();
        cmd.current_dir(root()).arg("lab").args(extra);
        StandingLab::spawn(cmd)
    }

    /// Starts a `gameday lab` command and reads its control address. Its
    /// stderr goes to a file, shown when it prints no address.
    pub fn spawn(mut cmd: Command) -> StandingLab {
        use std::io::BufRead;
        let stderr_path = std::env::temp_dir().join(format!(
            "gameday-test-lab-stderr-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let stderr = std::fs::File::create(&stderr_path).expect("lab stderr file");
        let mut child = cmd
            // A secret of the runner's: nothing the lab starts may see it.
            .env("GAMEDAY_TEST_SECRET", "leak-me")
            .stdout(std::process::Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn gameday lab");
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).expect("first line");
        // Keep reading, as a terminal would, so the lab never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let (addr, token) = first
            .trim()
            .strip_prefix("gameday lab control ")
            .and_then(|rest| rest.split_once(" token "))
            .unwrap_or_else(|| {
                let _ = child.wait();
                let said = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                panic!("unexpected first line {first:?}; the lab said: {said}")
            });
        let _ = std::fs::remove_file(&stderr_path);
        StandingLab {
            child,
            client: gameday::lab::LabClient::new(
                addr.parse().expect("control address"),
                token.to_string(),
            ),
        }
    }

    /// The control address, as `--attach` takes it.
    pub fn addr(&self) -> String {
        self.client.addr.to_string()
    }

    /// The password of the lab's PostgreSQL (from the passfile it describes).
    pub fn database_password(&self) -> String {
        let d = rt().block_on(self.client.describe()).unwrap();
        let passfile = d
            .database_passfile
            .expect("a PostgreSQL lab describes its passfile");
        let line = std::fs::read_to_string(passfile).unwrap();
        line.trim().rsplit(':').next().unwrap().to_string()
    }

    /// Starts `gameday run scenario` attached to this lab, into `reports`,
    /// with `failpoints` as its `FAILPOINTS` if any; its output piped.
    pub fn spawn_run(
        &self,
        scenario: &Path,
        reports: &Path,
        failpoints: Option<String>,
    ) -> std::process::Child {
        let mut cmd = gameday();
        if let Some(f) = failpoints {
            cmd.env("FAILPOINTS", f);
        }
        cmd.current_dir(root())
            .arg("run")
            .arg(scenario)
            .args(["--no-progress", "--attach", &self.addr(), "--lab-token"])
            .arg(self.token())
            .arg("--reports")
            .arg(reports)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The lab's control token, as `--lab-token` takes it.
    pub fn token(&self) -> &str {
        &self.client.token
    }

    /// The lab's lease now, if any run holds it.
    pub fn lease(&self) -> Option<gameday::lease::Lease> {
        rt().block_on(self.client.describe()).unwrap().lease
    }

    /// The lab's changeable state now.
    pub fn configuration(&self) -> gameday::lab::LabConfiguration {
        rt().block_on(self.client.describe())
            .unwrap()
            .configuration()
    }
}

impl Drop for StandingLab {
    fn drop(&mut self) {
        // A test that killed it already has reaped it: its pid may be reused.
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // SAFETY: plain kill(2) on our own, unreaped child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// Where skipped tests are listed, for `scripts/test` to print after the run
/// (the harness swallows a passing test's output).
pub fn skip_list() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("gameday-skipped.txt")
}

/// A test cannot run here because `what` is missing. Under CI (`CI` set, as
/// every CI runner sets it) that fails the test; elsewhere the skip is
/// written where `scripts/test` prints it, so it is seen.
pub fn skip(test: &str, what: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {what}; CI must have it (scripts/test installs it)"
    );
    eprintln!("skipped: {test}: {what}");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(skip_list())
    {
        use std::io::Write;
        let _ = writeln!(f, "skipped: {test}: {what}");
    }
}

/// The name of the running test (the harness names its thread after it).
pub fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string()
}

/// PostgreSQL present? In CI it must be (scripts/test installs it).
pub fn postgres_available() -> bool {
    let found = gameday::lab::database::postgres::find_binaries().is_ok();
    if !found {
        skip(
            &test_name(),
            "no PostgreSQL server binaries (apt-get install postgresql)",
        );
    }
    found
}

/// The `FAILPOINTS` value that makes a gameday built with the `failpoints`
/// feature (as `scripts/test` builds it) SIGKILL itself at `point`.
pub fn crash_at(point: &str) -> String {
    format!("{point}=return")
}

/// The `FAILPOINTS` value that makes such a gameday stop for `ms` at `point`
/// (that thread sleeps; the rest of the process goes on).
pub fn pause_at(point: &str, ms: u64) -> String {
    format!("{point}=sleep({ms})")
}

/// AWS clients for a fake endpoint on loopback (moto, or a test's own):
/// dummy credentials, us-east-1, one attempt per call (the SDK's own
/// retries off, so a test counts gameday's).
pub async fn fake_aws_clients(url: &str) -> gameday::aws::AwsClients {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await;
    gameday::aws::AwsClients::from_config(config)
}

/// Chromium (Debian's, which scripts/test installs), if present.
pub fn chromium() -> Option<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// Headless Chromium with its own profile folder, touching no network.
pub fn headless(browser: &Path, profile: &Path) -> Command {
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    c.arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// The metrics file a run wrote is what `gameday report --format metrics`
/// renders from its report.json (old runs export the same).
pub fn assert_metrics_file_is_the_export(reports: &Path, file: &Path) {
    let again = gameday()
        .args(["report", "--format", "metrics"])
        .arg(only_run_dir(reports).join("report.json"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        std::fs::read_to_string(file).unwrap()
    );
}

/// What the lab's databases held after an isolation: the run's canary
/// records only the old writer had (the lab reads both instances before the
/// failback and records them as `database-diverged`), as (lost, divergent):
/// committed before or after the standby's promotion.
pub fn discarded_truth(report: &serde_json::Value) -> (u64, u64) {
    let run = report["run_id"].as_str().unwrap();
    let mut out = (0, 0);
    for e in report["ground_truth"].as_array().unwrap() {
        if e["kind"] != "database-diverged" {
            continue;
        }
        let detail: serde_json::Value =
            serde_json::from_str(e["detail"].as_str().unwrap()).unwrap();
        for r in detail["discarded"].as_array().unwrap() {
            match (r["canary"] == run, r["after_promotion"].as_bool()) {
                (true, Some(true)) => out.1 += 1,
                (true, _) => out.0 += 1,
                _ => {}
            }
        }
    }
    out
}

/// The sequence numbers of the canary writes a report's timeline says were acked.
pub fn acked_seqs(report: &serde_json::Value) -> std::collections::BTreeSet<u64> {
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
