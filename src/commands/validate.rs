//! `gameday validate`: load every scenario, report each error on one line.

use crate::floor::FloorInputs;
use crate::scenario::{self, Scenario};
use crate::words::ExitStatus;
use std::path::{Path, PathBuf};

/// Validates scenarios; exit 0 when all are valid, 2 otherwise.
pub fn validate(paths: &[PathBuf], strict: bool) -> ExitStatus {
    let mut failed = 0;
    for path in paths {
        let valid = match scenario::load(path) {
            Ok(s) => match crate::environment::offline_floor_inputs(&s) {
                Some(inputs) => with_floors(path, &s, &inputs, strict),
                None => without_floors(path, &s),
            },
            Err(e) => {
                eprintln!("gameday: {e}");
                false
            }
        };
        if !valid {
            failed += 1;
        }
    }
    if failed > 0 {
        ExitStatus::Invalid
    } else {
        ExitStatus::Ok
    }
}

/// Floors and lint on AWS need the account's Route 53 and ELBv2
/// configuration: `gameday plan` reads them; validate stays offline.
fn without_floors(path: &Path, s: &Scenario) -> bool {
    let rto = s.objectives.rto.to_string();
    ok(
        path,
        s,
        "target aws, ",
        &rto,
        "; floors and lint: gameday plan",
    );
    true
}

/// The floors and lint of a scenario whose configuration is in the file.
fn with_floors(path: &Path, s: &Scenario, inputs: &FloorInputs, strict: bool) -> bool {
    let floors = crate::plan::floors_of(&s.faults, inputs);
    let impossible = crate::floor::impossible(&floors, &s.objectives);
    for bad in &impossible {
        eprintln!("gameday: {}: warning: {}", path.display(), bad.message);
    }
    for finding in crate::floor::lint(&s.lab) {
        eprintln!("gameday: {}: warning: {finding}", path.display());
    }
    if strict && !impossible.is_empty() {
        return false;
    }
    let floor = floors.rto.as_ref().map(|f| crate::report::fmt_ms(f.ms));
    let rto = format!(
        "{} (floor {})",
        s.objectives.rto,
        floor.as_deref().unwrap_or("-")
    );
    ok(path, s, "", &rto, "");
    true
}

/// The one line a valid scenario gets.
fn ok(path: &Path, s: &Scenario, target: &str, rto: &str, tail: &str) {
    println!(
        "ok: {} ({}: {target}{} fault(s), {} probe(s), rto {rto}, {}{tail})",
        path.display(),
        s.name,
        s.faults.len(),
        s.probes.len(),
        s.objectives.rpo_words()
    );
}
