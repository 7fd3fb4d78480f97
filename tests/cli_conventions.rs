//! The conventions of a serious CLI, checked with the tools users have:
//! completion scripts loaded into real bash, zsh and fish and asked to
//! complete; the man page rendered by man(1); the `--json` documents of
//! validate and plan parsed and read field by field (status: in
//! tests/planted_journals.rs).

mod common;

use common::{explain, gameday, root, scratch};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every subcommand, as users type them.
const SUBCOMMANDS: [&str; 11] = [
    "discover",
    "validate",
    "plan",
    "run",
    "report",
    "history",
    "revert",
    "status",
    "lab",
    "completions",
    "man",
];

/// `gameday completions <shell>` written to a file.
fn completion_script(shell: &str, dir: &Path) -> PathBuf {
    let out = gameday().args(["completions", shell]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let path = dir.join(format!("gameday.{shell}"));
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

/// A shell that must be installed under CI (scripts/test installs it).
fn shell(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(format!("/usr/bin/{name}"));
    if path.exists() {
        Some(path)
    } else {
        common::skip(&common::test_name(), &format!("{name} is not installed"));
        None
    }
}

/// What bash's completion function offers for the words of `line`.
fn bash_completes(script: &Path, line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split(' ').collect();
    let prev = words[words.len().saturating_sub(2)];
    let program = format!(
        "source {script}\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\nCOMP_LINE='{line}'\nCOMP_POINT={point}\n_gameday gameday '{cur}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script = script.display(),
        words = words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" "),
        cword = words.len() - 1,
        point = line.len(),
        cur = words[words.len() - 1],
    );
    let out = Command::new("bash")
        .args(["--norc", "-c", &program])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", explain(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_subcommands_flags_and_values() {
    let dir = scratch("completions-bash");
    let script = completion_script("bash", &dir);
    let subcommands = bash_completes(&script, "gameday ");
    for want in SUBCOMMANDS {
        assert!(
            subcommands.iter().any(|s| s == want),
            "{want}: {subcommands:?}"
        );
    }
    assert_eq!(bash_completes(&script, "gameday pl"), ["plan"]);
    assert!(bash_completes(&script, "gameday plan --j").contains(&"--json".to_string()));
    let formats = bash_completes(&script, "gameday report x.json --format ");
    assert_eq!(
        formats,
        ["table", "md", "html", "junit", "json", "metrics"],
        "the values come from the same definitions as --help"
    );
    let shells = bash_completes(&script, "gameday completions ");
    for want in ["bash", "zsh", "fish"] {
        assert!(shells.iter().any(|s| s == want), "{shells:?}");
    }
}

#[test]
fn fish_completes_subcommands_and_flags() {
    let Some(fish) = shell("fish") else { return };
    let dir = scratch("completions-fish");
    let script = completion_script("fish", &dir);
    let complete = |line: &str| {
        let out = Command::new(&fish)
            .args([
                "--no-config",
                "-c",
                &format!("source {}; complete -C '{line}'", script.display()),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", explain(&out));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let subcommands = complete("gameday ");
    for want in ["validate\t", "plan\t", "status\t", "completions\t", "man\t"] {
        assert!(subcommands.contains(want), "{want}: {subcommands}");
    }
    assert!(
        subcommands.contains("plan\tShow what would be broken"),
        "{subcommands}"
    );
    assert!(complete("gameday status --").contains("--json"));
}

#[test]
fn zsh_loads_the_completion_function() {
    let Some(zsh) = shell("zsh") else { return };
    let dir = scratch("completions-zsh");
    let script = completion_script("zsh", &dir);
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.starts_with("#compdef gameday"), "{text}");
    let syntax = Command::new(&zsh).arg("-n").arg(&script).output().unwrap();
    assert!(syntax.status.success(), "{}", explain(&syntax));
    // Loaded through compinit from an fpath folder, as users install it.
    let fpath = dir.join("fpath");
    std::fs::create_dir_all(&fpath).unwrap();
    std::fs::copy(&script, fpath.join("_gameday")).unwrap();
    let out = Command::new(&zsh)
        .args([
            "-f",
            "-c",
            &format!(
                "fpath=({} $fpath); autoload -Uz compinit; compinit -u -d {}/zcompdump; print -r -- $_comps[gameday]; autoload +X _gameday; functions _gameday | grep -c \"'--json\\[\"",
                fpath.display(),
                dir.display()
            ),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", explain(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    let mut lines = said.lines();
    assert_eq!(lines.next(), Some("_gameday"), "{said}");
    // --json on validate, plan, status and discover.
    assert_eq!(lines.next(), Some("4"), "{said}");
}

/// A man page as man(1) renders it at 80 columns.
fn rendered(page: &Path) -> String {
    let out = Command::new("man")
        .arg("-l")
        .arg(page)
        .env("MANWIDTH", "80")
        .env("MAN_KEEP_FORMATTING", "0")
        .env("PAGER", "cat")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", explain(&out));
    // Strip overstrike bold/underline, whichever man's groff still emits.
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut plain = String::new();
    for c in text.chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn the_man_page_renders_and_names_every_subcommand() {
    let dir = scratch("man");
    let out = gameday().arg("man").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let page = dir.join("from-stdout.1");
    std::fs::write(&page, &out.stdout).unwrap();
    let text = rendered(&page);
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "SUBCOMMANDS"] {
        assert!(text.contains(section), "{section}: {text}");
    }
    let pages = dir.join("man1");
    // A symlink planted where a page goes is replaced, never followed.
    std::fs::create_dir_all(&pages).unwrap();
    let bystander = dir.join("bystander");
    std::fs::write(&bystander, "untouched").unwrap();
    std::os::unix::fs::symlink(&bystander, pages.join("gameday-run.1")).unwrap();
    let out = gameday()
        .args(["man", "--out"])
        .arg(&pages)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert_eq!(std::fs::read_to_string(&bystander).unwrap(), "untouched");
    for sub in SUBCOMMANDS {
        assert!(text.contains(&format!("gameday-{sub}(1)")), "{sub}: {text}");
        let file = pages.join(format!("gameday-{sub}.1"));
        let meta = std::fs::symlink_metadata(&file).unwrap();
        assert!(meta.file_type().is_file(), "{}", file.display());
        assert_eq!(meta.permissions().mode() & 0o777, 0o644);
        let page = rendered(&file);
        assert!(page.contains(&format!("gameday-{sub}")), "{page}");
    }
    // The same words as --help: one definition.
    let run = rendered(&pages.join("gameday-run.1"));
    assert!(run.contains("--metrics-file"), "{run}");
    assert!(rendered(&pages.join("gameday-plan.1")).contains("--json"));
}

#[test]
fn validate_json_reports_every_file_with_its_location_and_floors() {
    let out = gameday()
        .current_dir(root())
        .args([
            "validate",
            "--json",
            "scenarios/kill-primary-targets.toml",
            "scenarios/aws/kill-primary-targets.toml",
            "tests/malformed/absurd-timeout.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    assert!(out.stderr.is_empty(), "{}", explain(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "gameday.validate");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["valid"], false);
    let [lab, aws, bad] = doc["scenarios"].as_array().unwrap().as_slice() else {
        panic!("{doc}")
    };
    assert_eq!(lab["valid"], true);
    assert_eq!(lab["target"], "lab");
    assert_eq!(lab["objectives"]["rto_ms"], 8000.0);
    let rto = lab["floors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["phase"] == "rto")
        .unwrap();
    assert_eq!(rto["floor_ms"], 3000.0, "{rto}");
    assert_eq!(rto["below_floor"], false);
    // AWS floors need the account: null, not guessed.
    assert_eq!(aws["valid"], true);
    assert!(aws["floors"].is_null());
    assert!(aws["objectives"]["rpo_ms"].is_null(), "no rpo declared");
    assert_eq!(bad["valid"], false);
    assert_eq!(bad["error"]["line"], 4);
    assert_eq!(bad["error"]["col"], 11);
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("duration \"100h\" is longer than 24h"),
        "{bad}"
    );
}

#[test]
fn validate_json_carries_the_warnings_a_terminal_gets() {
    let out = gameday()
        .current_dir(root())
        .args([
            "validate",
            "--json",
            "--strict",
            "scenarios/too-tight-rto.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &doc["scenarios"][0];
    assert_eq!(
        s["valid"], false,
        "--strict with an objective under its floor"
    );
    let below: Vec<&str> = s["floors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["below_floor"] == true)
        .map(|f| f["objective"].as_str().unwrap())
        .collect();
    assert!(below.contains(&"rto"), "{s}");
    assert!(
        s["warnings"][0]
            .as_str()
            .unwrap()
            .contains("is below the floor of"),
        "{s}"
    );
}

#[test]
fn plan_json_lists_changes_undos_watches_and_floors() {
    let out = gameday()
        .current_dir(root())
        .args(["plan", "--json", "scenarios/kill-primary-targets.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "gameday.plan");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["scenario"], "kill-primary-targets");
    assert_eq!(doc["target"], "lab");
    assert_eq!(doc["changed_nothing"], true);
    let changes = doc["changes"].as_array().unwrap();
    assert!(!changes.is_empty(), "{doc}");
    for c in changes {
        assert_eq!(c["fault"], "deregister-targets", "{c}");
        assert!(c["change"].as_str().unwrap().contains("deregister"), "{c}");
        assert!(c["undo"].as_str().unwrap().contains("register"), "{c}");
    }
    let kinds: Vec<&str> = doc["watched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["http", "dns", "health-check", "canary"], "{doc}");
    assert_eq!(doc["floors"].as_array().unwrap().len(), 3);
    assert!(doc["account"].is_null());
}
