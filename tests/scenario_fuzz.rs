//! Scenario parsing never panics: thousands of mutations of every shipped
//! scenario (lab, postgres/ and aws/; deleted, duplicated and swapped bytes
//! and lines, hostile tokens) each either load, and then go through the
//! floors and lint `gameday validate` computes, or give one line naming
//! file:line:col; a sample goes through the `gameday validate` binary too.

use std::path::{Path, PathBuf};

/// xorshift64*: deterministic, so a failure reproduces from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "\"",
    "[",
    "]]",
    "[[faults]]",
    "[[probes]]",
    "[lab]",
    "[objectives]",
    "=",
    "\n",
    "-1s",
    "0s",
    "99999999999h",
    "1e400",
    "nan",
    "count:0",
    "percent:101",
    "kind = \"sever-az\"",
    "kind = \"http\"",
    "kind = \"\"",
    "region = 7",
    "interval = \"1ns\"",
    "{",
    "}",
    "'''",
    "\\u0000",
    "é",
    "🙂",
    "#",
    ",",
    "true",
    "[]",
    "1979-05-27T07:32:00Z",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut s: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(s.len() + 1).min(s.len());
        match rng.below(5) {
            0 if !s.is_empty() => {
                let end = (at + 1 + rng.below(20)).min(s.len());
                s.drain(at.min(end)..end);
            }
            1 => s
                .splice(at..at, TOKENS[rng.below(TOKENS.len())].chars())
                .for_each(drop),
            2 if s.len() > 2 => {
                let other = rng.below(s.len());
                let at = at.min(s.len() - 1);
                s.swap(at, other);
            }
            3 => {
                let lines: Vec<String> = s
                    .iter()
                    .collect::<String>()
                    .lines()
                    .map(String::from)
                    .collect();
                if !lines.is_empty() {
                    let l = lines[rng.below(lines.len())].clone();
                    s.splice(at..at, format!("\n{l}\n").chars()).for_each(drop);
                }
            }
            _ => s
                .splice(
                    at..at,
                    std::iter::once(char::from_u32(rng.below(0x250) as u32).unwrap_or('x')),
                )
                .for_each(drop),
        }
    }
    s.into_iter().collect()
}

/// Every shipped scenario, lab, postgres/ and aws/, sorted by path.
fn shipped() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut found = Vec::new();
    for dir in [root.clone(), root.join("postgres"), root.join("aws")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                found.push((path, text));
            }
        }
    }
    found.sort();
    found
}

/// What `gameday validate` computes for a scenario that loads.
fn floors_and_lint(s: &gameday::scenario::Scenario) {
    if let Some(inputs) = gameday::environment::offline_floor_inputs(s) {
        let floors = gameday::plan::floors_of(&s.faults, &inputs);
        let _ = gameday::floor::impossible(&floors, &s.objectives);
        let _ = gameday::floor::lint(&s.lab);
    }
}

#[test]
fn parsing_mutated_scenarios_never_panics_and_errors_are_one_located_line() {
    let sources = shipped();
    let kinds = |sub: &str| {
        sources
            .iter()
            .filter(|(p, _)| p.parent().is_some_and(|d| d.ends_with(sub)))
            .count()
    };
    assert!(
        kinds("postgres") >= 2 && kinds("aws") >= 5 && kinds("scenarios") >= 5,
        "the fuzz lost some shipped scenarios"
    );
    let file = Path::new("fuzz.toml");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut ok, mut refused) = (0, 0);
    let mut loaded = std::collections::BTreeSet::new();
    for i in 0..6000 {
        let (path, source) = &sources[i % sources.len()];
        let text = mutate(&mut rng, source);
        match gameday::scenario::parse(file, &text) {
            Ok(s) => {
                ok += 1;
                loaded.insert(path.clone());
                floors_and_lint(&s);
            }
            Err(e) => {
                refused += 1;
                let line = e.to_string();
                assert_eq!(
                    line.lines().count(),
                    1,
                    "mutation {i}: not one line: {line}\n--- input\n{text}"
                );
                assert!(
                    line.starts_with("fuzz.toml:"),
                    "mutation {i}: no location: {line}"
                );
            }
        }
    }
    assert!(
        refused > 1500 && ok > 10,
        "the mutations should mostly, but not always, break the file ({ok} ok, {refused} refused)"
    );
    assert!(
        loaded.len() * 2 >= sources.len(),
        "few shipped scenarios survived any mutation to reach the floors: {loaded:?}"
    );
}

#[test]
fn the_validate_command_gives_one_located_line_per_mutated_file() {
    let sources = shipped();
    let dir = std::env::temp_dir().join(format!("gameday-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let files: Vec<PathBuf> = (0..300)
        .map(|i| {
            let path = dir.join(format!("m{i:03}.toml"));
            std::fs::write(&path, mutate(&mut rng, &sources[i % sources.len()].1)).unwrap();
            path
        })
        .collect();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .arg("validate")
        .args(&files)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 2)), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Each refused file is one located line (warnings name the file only).
    let refused: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.contains(": warning: "))
        .collect();
    for line in &refused {
        let located = files.iter().any(|f| {
            line.strip_prefix(&format!("gameday: {}:", f.display()))
                .and_then(|rest| rest.split_once(": "))
                .is_some_and(|(at, _)| {
                    at.split(':').count() == 2 && at.split(':').all(|n| n.parse::<u32>().is_ok())
                })
        });
        assert!(located, "not one located line: {line}");
    }
    assert!(refused.len() > 100, "{} refused of 300", refused.len());
    let _ = std::fs::remove_dir_all(dir);
}
