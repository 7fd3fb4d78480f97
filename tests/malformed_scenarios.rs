//! Malformed scenarios and flags: each gives one line naming file:line:col and
//! what is wrong, exits 2, and runs nothing.
//!
//! Each file in tests/malformed/ starts with `# expect: LINE:COL message-fragment`.

mod common;
use common::*;

#[test]
fn every_malformed_scenario_is_refused_with_its_location() {
    let dir = root().join("tests/malformed");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    // Exact: a file that went missing (or one added without its check
    // running) shows here.
    assert_eq!(files.len(), 121, "the corpus changed: {files:?}");
    let reports = scratch("malformed-reports");
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} has no # expect: line", file.display()));
        let (location, message) = expect.split_once(' ').unwrap();
        let rel = file.strip_prefix(root()).unwrap();
        for command in ["validate", "plan", "run"] {
            let mut cmd = gameday();
            cmd.current_dir(root())
                .args([command, rel.to_str().unwrap()]);
            if command == "run" {
                cmd.arg("--reports").arg(&reports);
            }
            let out = cmd.output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            // The whole message: where, what is wrong and what to do.
            let wanted = format!("gameday: {}:{location}: {message}\n", rel.display());
            if out.status.code() != Some(2) || stderr != wanted || !out.stdout.is_empty() {
                failures.push(format!(
                    "gameday {command} {}: wanted exit 2 and `{wanted}`, got exit {:?}: {stderr}",
                    rel.display(),
                    out.status.code()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let written: Vec<_> = std::fs::read_dir(&reports).unwrap().collect();
    assert!(
        written.is_empty(),
        "a malformed run wrote under its reports folder: {written:?}"
    );
    let _ = std::fs::remove_dir_all(reports);
}

#[test]
fn bad_flags_and_unreadable_files_exit_2() {
    let cases: &[&[&str]] = &[
        &["validate"],
        &["run"],
        &[
            "run",
            "scenarios/kill-primary-targets.toml",
            "--attach",
            "not-an-address",
        ],
        &["run", "scenarios/kill-primary-targets.toml", "--bogus"],
        &["lab", "--dns-port", "seventy"],
        &["explode"],
    ];
    for args in cases {
        let out = gameday().current_dir(root()).args(*args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "gameday {args:?}: {}",
            explain(&out)
        );
    }
    let out = gameday()
        .current_dir(root())
        .args(["validate", "scenarios/no-such-file.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("scenarios/no-such-file.toml: cannot read the scenario"),
        "{stderr}"
    );
    // A folder is not a scenario either.
    let out = gameday()
        .current_dir(root())
        .args(["validate", "scenarios"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
}

#[test]
fn one_bad_file_among_good_ones_fails_validation() {
    let out = gameday()
        .current_dir(root())
        .args([
            "validate",
            "scenarios/kill-primary-targets.toml",
            "tests/malformed/zero-rto.toml",
            "scenarios/sever-primary-az.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok: ")).count(),
        2,
        "{stdout}"
    );
}

#[test]
fn shipped_scenarios_validate_and_plan_without_changing_anything() {
    let mut names: Vec<_> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 5);
    let out = gameday()
        .current_dir(root())
        .arg("validate")
        .args(&names)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    for n in &names {
        let out = gameday()
            .current_dir(root())
            .arg("plan")
            .arg(n)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("undo: ") && stdout.contains("Nothing was changed."),
            "{stdout}"
        );
    }
}

#[test]
fn help_shows_examples_and_exit_codes() {
    let out = gameday().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Examples:",
        "gameday run scenarios/kill-primary-targets.toml",
        "Exit codes",
        "validate",
        "plan",
        "lab",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}: {help}");
    }
}
