//! Every relative link in the README, ARCHITECTURE.md and docs/ resolves to a
//! file in the repository, and every document a source comment cites exists.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn documents() -> Vec<PathBuf> {
    let mut docs = vec![root().join("README.md"), root().join("ARCHITECTURE.md")];
    let mut in_docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    in_docs.sort();
    docs.extend(in_docs);
    docs
}

/// The targets of `[text](target)` links, outside code blocks.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

fn is_relative(target: &str) -> bool {
    !(target.starts_with("http://")
        || target.starts_with("https://")
        || target.starts_with("mailto:")
        || target.starts_with('#'))
}

#[test]
fn every_relative_link_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let dir = doc.parent().unwrap();
        for target in links(&text).into_iter().filter(|t| is_relative(t)) {
            let file = target.split('#').next().unwrap();
            checked += 1;
            if !dir.join(file).exists() {
                broken.push(format!("{}: {target}", doc.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(
        checked >= 10,
        "only {checked} links found: is the parser right?"
    );
}

#[test]
fn the_link_parser_finds_links_and_skips_code() {
    let text = "see [a](docs/a.md) and [b](https://x.y)\n```\n[c](nope.md)\n```\n[d](e.md#part)";
    assert_eq!(links(text), vec!["docs/a.md", "https://x.y", "e.md#part"]);
}

#[test]
fn documents_cited_by_source_comments_exist() {
    let mut missing = Vec::new();
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for word in text.split(|c: char| c.is_whitespace() || "(),\"`".contains(c)) {
                let word = word.trim_end_matches(['.', ':', ';']);
                if word.ends_with(".md") && word.chars().any(|c| c.is_ascii_uppercase() || c == '/')
                {
                    let cited = Path::new(word);
                    if !root().join(cited).exists() {
                        missing.push(format!("{}: {word}", path.display()));
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "cited documents missing:\n{}",
        missing.join("\n")
    );
}
