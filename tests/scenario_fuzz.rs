//! Scenario parsing never panics: thousands of mutations of the shipped
//! scenarios (deleted, duplicated and swapped bytes and lines, hostile tokens)
//! each either load or give one line naming file:line:col.

use std::path::Path;

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

#[test]
fn parsing_mutated_scenarios_never_panics_and_errors_are_one_located_line() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut sources: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    sources.sort();
    let file = Path::new("fuzz.toml");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut ok, mut refused) = (0, 0);
    for i in 0..4000 {
        let text = mutate(&mut rng, &sources[i % sources.len()]);
        match gameday::scenario::parse(file, &text) {
            Ok(_) => ok += 1,
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
        refused > 1000 && ok > 10,
        "the mutations should mostly, but not always, break the file ({ok} ok, {refused} refused)"
    );
}
