//! `gameday revert` against journals an attacker planted or tampered with,
//! with a fake AWS endpoint on loopback that logs every call it receives
//! (action and access key) and answers only STS. The log is the oracle:
//! what the refusal message says is checked too, but what matters is which
//! calls reached "AWS".

mod common;

use common::Replaced;

use common::fake_aws::FakeAws;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const ACCOUNT: &str = "123456789012";

fn config(dir: &Path) -> PathBuf {
    let path = dir.join("aws-config");
    std::fs::write(
        &path,
        "[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key = x\n\n[profile attacker]\naws_access_key_id = ATTACKERKEY\naws_secret_access_key = x\n",
    )
    .unwrap();
    path
}

fn scope(regions: &[&str]) -> serde_json::Value {
    json!({"account": ACCOUNT, "allowed_accounts": [ACCOUNT], "allowed_regions": regions})
}

/// Writes a journal into `reports/<run>/journal.jsonl` as gameday would
/// (0700 folder, 0600 file): a run start, then one intent per (change, undo).
fn plant(
    reports: &Path,
    run: &str,
    start: serde_json::Value,
    steps: &[(serde_json::Value, serde_json::Value)],
) -> PathBuf {
    let dir = reports.join(run);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(reports, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut lines = vec![start.to_string()];
    for (i, (change, undo)) in steps.iter().enumerate() {
        lines.push(
            json!({"at": chrono::Utc::now(), "event": "intent", "step": i, "action": change, "undo": undo})
                .to_string(),
        );
    }
    let path = dir.join("journal.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn start(run: &str, scope: serde_json::Value, age_days: i64) -> serde_json::Value {
    let at = chrono::Utc::now() - chrono::Duration::days(age_days);
    json!({"at": at, "event": "run-start", "run_id": run, "target": "aws", "control": "", "scope": scope})
}

fn stop_start(region: &str) -> (serde_json::Value, serde_json::Value) {
    stop_start_of(region, "i-0prod")
}

/// Stopping `instance` and its undo, as a journal records them.
fn stop_start_of(region: &str, instance: &str) -> (serde_json::Value, serde_json::Value) {
    (
        json!({"target": "aws", "call": "stop-instances", "region": region, "instance_ids": [instance]}),
        json!({"target": "aws", "call": "start-instances", "region": region, "instance_ids": [instance]}),
    )
}

struct Case {
    fake: FakeAws,
    reports: PathBuf,
    config: PathBuf,
}

impl Case {
    fn new(name: &str) -> Case {
        let reports = common::scratch(&format!("planted-{name}"));
        std::fs::create_dir_all(&reports).unwrap();
        let config = config(&reports);
        Case {
            fake: FakeAws::start(),
            reports,
            config,
        }
    }

    fn revert(&self, extra: &[&str]) -> std::process::Output {
        self.gameday("revert", extra)
    }

    /// `gameday <command> <reports> <extra>` against the fake endpoint.
    fn gameday(&self, command: &str, extra: &[&str]) -> std::process::Output {
        self.fake
            .gameday(&self.config)
            .arg(command)
            .arg(&self.reports)
            .args(extra)
            .output()
            .unwrap()
    }
}

fn refused(out: &std::process::Output, why: &str) {
    assert_eq!(out.status.code(), Some(4), "{}", common::explain(out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(why), "wanted {why:?} in {stderr}");
}

#[test]
fn undo_kinds_that_are_not_undos_are_never_applied() {
    let case = Case::new("kinds");
    let forbidden = [
        // "Undo" of a start is a stop.
        (
            json!({"target": "aws", "call": "start-instances", "region": "us-east-1", "instance_ids": ["i-0prod"]}),
            json!({"target": "aws", "call": "stop-instances", "region": "us-east-1", "instance_ids": ["i-0prod"]}),
        ),
        // A global failover allowing data loss, dressed as an undo.
        (
            json!({"target": "aws", "call": "failover-cluster", "region": "us-east-1", "cluster": "db"}),
            json!({"target": "aws", "call": "global-failover", "region": "us-east-1", "global_cluster": "g", "target_cluster_arn": "arn:aws:rds:us-west-2:123456789012:cluster:db-b", "switchover": false}),
        ),
        // Deregistering as an undo.
        (
            json!({"target": "aws", "call": "register-targets", "region": "us-east-1", "target_group_arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1", "targets": [{"id": "i-1"}]}),
            json!({"target": "aws", "call": "deregister-targets", "region": "us-east-1", "target_group_arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1", "targets": [{"id": "i-1"}]}),
        ),
        // Starting an experiment as an undo.
        (
            json!({"target": "aws", "call": "stop-experiment", "region": "us-east-1", "template_id": "EXT1", "run_id": "r"}),
            json!({"target": "aws", "call": "start-experiment", "region": "us-east-1", "template_id": "EXT1", "run_id": "r"}),
        ),
        // The right kind, but other instances than the change's.
        (
            json!({"target": "aws", "call": "stop-instances", "region": "us-east-1", "instance_ids": ["i-1"]}),
            json!({"target": "aws", "call": "start-instances", "region": "us-east-1", "instance_ids": ["i-0other"]}),
        ),
    ];
    for (i, step) in forbidden.iter().enumerate() {
        let run = format!("kind-{i}");
        let journal = plant(
            &case.reports,
            &run,
            start(&run, scope(&["us-east-1", "us-west-2"]), 0),
            std::slice::from_ref(step),
        );
        let out = case.revert(&["--yes"]);
        refused(&out, "not the undo of");
        std::fs::remove_dir_all(journal.parent().unwrap()).unwrap();
    }
    assert!(case.fake.actions().is_empty(), "{:?}", case.fake.actions());
}

#[test]
fn a_lease_undo_releases_only_the_run_s_own_lease_record() {
    let case = Case::new("lease");
    let lease = |run: &str| {
        format!("gameday-lease run={run}; holder=pid 1 on host h; since=2026-11-30T07:00:00Z; until=2026-11-30T08:00:00Z")
    };
    let planted = [
        // Another run's lease.
        ("_gameday-lease.app.example.com", lease("someone-else")),
        // The run's own value, but on a record that is no lease.
        ("app.example.com", lease("lease-run")),
    ];
    for (name, value) in planted {
        let take = json!({"target": "aws", "call": "take-lease", "zone_id": "Z1", "name": name, "value": value});
        let release = json!({"target": "aws", "call": "release-lease", "zone_id": "Z1", "name": name, "value": value});
        let journal = plant(
            &case.reports,
            "lease-run",
            start("lease-run", scope(&["us-east-1"]), 0),
            &[(take, release)],
        );
        refused(
            &case.revert(&["--yes"]),
            "not the release of run lease-run's own lease",
        );
        std::fs::remove_dir_all(journal.parent().unwrap()).unwrap();
    }
    assert!(case.fake.actions().is_empty(), "{:?}", case.fake.actions());
}

#[test]
fn undos_outside_the_recorded_scope_are_refused_before_any_call() {
    let case = Case::new("scope");
    // Another region than the run allowed.
    plant(
        &case.reports,
        "far",
        start("far", scope(&["us-east-1", "us-west-2"]), 0),
        &[stop_start("eu-north-1")],
    );
    refused(
        &case.revert(&["--yes"]),
        "region eu-north-1 is not in the run's allowed regions",
    );
    // An ARN in another account than the allowed ones.
    let tg = "arn:aws:elasticloadbalancing:us-east-1:999999999999:targetgroup/tg/1";
    std::fs::remove_dir_all(case.reports.join("far")).unwrap();
    plant(
        &case.reports,
        "arn",
        start("arn", scope(&["us-east-1"]), 0),
        &[(
            json!({"target": "aws", "call": "deregister-targets", "region": "us-east-1", "target_group_arn": tg, "targets": [{"id": "i-1"}]}),
            json!({"target": "aws", "call": "register-targets", "region": "us-east-1", "target_group_arn": tg, "targets": [{"id": "i-1"}]}),
        )],
    );
    refused(&case.revert(&["--yes"]), "account 999999999999");
    std::fs::remove_dir_all(case.reports.join("arn")).unwrap();
    // No scope at all (an older journal, or one with it cut out).
    plant(
        &case.reports,
        "bare",
        json!({"at": chrono::Utc::now(), "event": "run-start", "run_id": "bare", "target": "aws", "control": ""}),
        &[stop_start("us-east-1")],
    );
    refused(&case.revert(&["--yes"]), "records no account");
    assert!(case.fake.actions().is_empty(), "{:?}", case.fake.actions());
}

#[test]
fn another_account_is_refused_after_sts_and_nothing_else_is_called() {
    let case = Case::new("account");
    let other = json!({"account": "210987654321", "allowed_accounts": ["210987654321"], "allowed_regions": ["us-east-1"]});
    plant(
        &case.reports,
        "other",
        start("other", other, 0),
        &[stop_start("us-east-1")],
    );
    refused(
        &case.revert(&["--yes"]),
        "the run changed account 210987654321",
    );
    assert_eq!(case.fake.actions(), vec!["GetCallerIdentity"]);
}

#[test]
fn without_consent_only_sts_is_called() {
    let case = Case::new("consent");
    plant(
        &case.reports,
        "mine",
        start("mine", scope(&["us-east-1"]), 0),
        &[stop_start("us-east-1")],
    );
    // No --yes and no terminal.
    refused(&case.revert(&[]), "pass --yes");
    assert_eq!(case.fake.actions(), vec!["GetCallerIdentity"]);
}

#[test]
fn the_journal_s_profile_is_never_used() {
    let case = Case::new("profile");
    let mut start = start("prof", scope(&["us-east-1"]), 0);
    start["profile"] = json!("attacker");
    plant(&case.reports, "prof", start, &[stop_start("us-east-1")]);
    // The fake endpoint denies StartInstances: exit 4, but with which key?
    let out = case.revert(&["--yes"]);
    assert_eq!(out.status.code(), Some(4), "{}", common::explain(&out));
    let keys = case.fake.keys();
    assert_eq!(
        case.fake.actions().first().map(String::as_str),
        Some("GetCallerIdentity")
    );
    assert!(keys.contains(&"DEFAULTKEY".to_string()), "{keys:?}");
    assert!(!keys.contains(&"ATTACKERKEY".to_string()), "{keys:?}");
    // With --profile the operator chooses, and gets what they chose.
    let chosen = case.revert(&["--yes", "--profile", "attacker"]);
    assert_eq!(
        chosen.status.code(),
        Some(4),
        "{}",
        common::explain(&chosen)
    );
    assert!(case.fake.keys().contains(&"ATTACKERKEY".to_string()));
}

#[test]
fn an_old_journal_needs_force() {
    let case = Case::new("old");
    plant(
        &case.reports,
        "old",
        start("old", scope(&["us-east-1"]), 8),
        &[stop_start("us-east-1")],
    );
    refused(&case.revert(&["--yes"]), "pass --force");
    assert!(case.fake.actions().is_empty());
    let forced = case.revert(&["--yes", "--force"]);
    assert_eq!(
        forced.status.code(),
        Some(4),
        "{}",
        common::explain(&forced)
    );
    assert!(
        case.fake.actions().contains(&"StartInstances".to_string()),
        "{:?}",
        case.fake.actions()
    );
}

#[test]
fn a_journal_someone_else_could_write_is_refused() {
    let case = Case::new("owner");
    let journal = plant(
        &case.reports,
        "w",
        start("w", scope(&["us-east-1"]), 0),
        &[stop_start("us-east-1")],
    );
    std::fs::set_permissions(&journal, std::fs::Permissions::from_mode(0o666)).unwrap();
    refused(&case.revert(&["--yes"]), "writable by others");
    std::fs::set_permissions(&journal, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Owned by another user (nobody).
    std::os::unix::fs::chown(&journal, Some(65534), Some(65534)).unwrap();
    refused(&case.revert(&["--yes"]), "belongs to uid 65534");
    // A symlink to a journal elsewhere.
    std::fs::remove_file(&journal).unwrap();
    let elsewhere = case.reports.join("elsewhere.jsonl");
    std::fs::write(&elsewhere, "").unwrap();
    std::os::unix::fs::symlink(&elsewhere, &journal).unwrap();
    let out = case.revert(&["--yes"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("never follows a symlink"),
        "{}",
        common::explain(&out)
    );
    assert!(case.fake.actions().is_empty(), "{:?}", case.fake.actions());
}

#[test]
fn status_escapes_what_a_journal_says() {
    let case = Case::new("escape");
    let sneaky = "i-0prod\u{1b}[2K\rstep 1: nothing to see";
    plant(
        &case.reports,
        "esc",
        start("esc\u{1b}[31m", scope(&["us-east-1"]), 0),
        &[stop_start_of("us-east-1", sneaky)],
    );
    let out = case.gameday("status", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", common::explain(&out));
    assert!(
        !out.stdout.contains(&0x1b),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!out.stdout.contains(&b'\r'));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\\u{1b}[2K"));
}

#[test]
fn status_json_lists_each_owed_undo_and_escapes_what_a_journal_says() {
    let case = Case::new("status-json");
    let sneaky = "i-0prod\u{1b}[2K";
    let (change, undo) = stop_start("us-east-1");
    plant(
        &case.reports,
        "plain",
        start("plain", scope(&["us-east-1"]), 0),
        &[(change, undo)],
    );
    plant(
        &case.reports,
        "old",
        start("old", scope(&["us-east-1"]), 9),
        &[stop_start_of("us-east-1", sneaky)],
    );
    let out = case.gameday("status", &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::explain(&out));
    assert!(
        !out.stdout.contains(&0x1b),
        "JSON escapes control characters"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "gameday.status");
    assert_eq!(doc["version"], 1);
    let runs = doc["runs"].as_array().unwrap();
    let run = |id: &str| runs.iter().find(|r| r["run_id"] == id).unwrap();
    let plain = run("plain");
    assert_eq!(plain["target"], "aws");
    assert_eq!(plain["account"], ACCOUNT);
    assert_eq!(plain["live"], false);
    assert!(plain["not_trusted"].is_null(), "{plain}");
    assert_eq!(plain["pending"][0]["step"], 1);
    assert_eq!(plain["pending"][0]["lease"], false);
    assert!(
        plain["pending"][0]["undo"]
            .as_str()
            .unwrap()
            .contains("i-0prod"),
        "{plain}"
    );
    // What `gameday revert` would refuse is said, as the text shows it.
    let old = run("old");
    assert!(
        old["not_trusted"].as_str().unwrap().contains("--force"),
        "{old}"
    );
    assert!(old["pending"][0]["undo"]
        .as_str()
        .unwrap()
        .contains("i-0prod\u{1b}[2K"));
    // Nothing but STS-free reading: status calls nobody.
    assert!(case.fake.actions().is_empty(), "{:?}", case.fake.actions());
}

#[test]
fn a_disallowed_account_sees_no_call_but_sts() {
    let case = Case::new("sts-first");
    let text =
        std::fs::read_to_string(common::root().join("scenarios/aws/kill-primary-targets.toml"))
            .unwrap()
            .replaced("\"123456789012\"", "\"210987654321\"");
    assert!(text.contains("210987654321"));
    let scenario = case.reports.join("other-account.toml");
    std::fs::write(&scenario, text).unwrap();
    let runs = case.reports.join("runs");
    let plan = vec!["plan", scenario.to_str().unwrap()];
    let run = vec![
        "run",
        scenario.to_str().unwrap(),
        "--yes",
        "--ignore-window",
        "--reports",
        runs.to_str().unwrap(),
    ];
    for args in [plan, run] {
        let out = case
            .fake
            .gameday(&case.config)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", common::explain(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("not in allowed_accounts [210987654321]"),
            "{}",
            common::explain(&out)
        );
    }
    assert_eq!(
        case.fake.actions(),
        vec!["GetCallerIdentity", "GetCallerIdentity"]
    );
}
