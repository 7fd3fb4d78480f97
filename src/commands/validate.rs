//! `gameday validate`: load every scenario, report each error on one line (or
//! every finding in one JSON document with `--json`).

use super::json::{ValidateDoc, ValidatedDoc};
use crate::floor::{FloorInputs, Floors};
use crate::scenario::{self, Scenario};
use crate::words::ExitStatus;
use std::path::{Path, PathBuf};

/// Validates scenarios; exit 0 when all are valid, 2 otherwise.
pub fn validate(paths: &[PathBuf], strict: bool, json: bool) -> ExitStatus {
    let docs: Vec<ValidatedDoc> = paths.iter().map(|p| check(p, strict, json)).collect();
    let valid = docs.iter().all(ValidatedDoc::valid);
    if json {
        super::json::print(&ValidateDoc::of(docs));
    }
    if valid {
        ExitStatus::Ok
    } else {
        ExitStatus::Invalid
    }
}

/// One file: loaded, its floors and lint where the file holds the
/// configuration; said on the terminal unless `quiet` (--json).
fn check(path: &Path, strict: bool, quiet: bool) -> ValidatedDoc {
    let s = match scenario::load(path) {
        Ok(s) => s,
        Err(e) => {
            if !quiet {
                eprintln!("gameday: {e}");
            }
            return ValidatedDoc::refused(path, &e);
        }
    };
    let Some(inputs) = crate::environment::offline_floor_inputs(&s) else {
        if !quiet {
            without_floors(path, &s);
        }
        return ValidatedDoc::loaded(path, &s, None, true);
    };
    let (floors, warnings) = floors_and_warnings(&s, &inputs);
    let valid = !strict || crate::floor::impossible(&floors, &s.objectives).is_empty();
    if !quiet {
        for w in &warnings {
            eprintln!("gameday: {}: warning: {w}", path.display());
        }
        if valid {
            with_floors(path, &s, &floors);
        }
    }
    ValidatedDoc::loaded(path, &s, Some((&floors, warnings)), valid)
}

/// The floors of a scenario whose configuration is in the file, and its
/// warnings: objectives below their floors, then lint.
fn floors_and_warnings(s: &Scenario, inputs: &FloorInputs) -> (Floors, Vec<String>) {
    let inputs = inputs.clone().for_probes(&s.probes);
    let floors = crate::plan::floors_of(&s.faults, &inputs);
    let mut warnings: Vec<String> = crate::floor::impossible(&floors, &s.objectives)
        .into_iter()
        .map(|bad| bad.message)
        .collect();
    warnings.extend(crate::floor::lint(&s.lab));
    warnings.extend(floors.capacity_lint.iter().cloned());
    (floors, warnings)
}

/// Floors and lint on AWS need the account's Route 53 and ELBv2
/// configuration: `gameday plan` reads them; validate stays offline.
fn without_floors(path: &Path, s: &Scenario) {
    let rto = s.objectives.rto.to_string();
    ok(
        path,
        s,
        "target aws, ",
        &rto,
        "; floors and lint: gameday plan",
    );
}

/// The line of a valid scenario whose floors are known.
fn with_floors(path: &Path, s: &Scenario, floors: &Floors) {
    let floor = floors.rto.as_ref().map(|f| crate::report::fmt_ms(f.ms));
    let rto = format!(
        "{} (floor {})",
        s.objectives.rto,
        floor.as_deref().unwrap_or("-")
    );
    ok(path, s, "", &rto, "");
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
