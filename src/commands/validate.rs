//! `gameday validate`: load every scenario, report each error on one line.

use super::EXIT_INVALID;
use crate::scenario;
use std::path::PathBuf;

/// Validates scenarios; exit 0 when all are valid, 2 otherwise.
pub fn validate(paths: &[PathBuf]) -> u8 {
    let mut failed = 0;
    for path in paths {
        match scenario::load(path) {
            Ok(s) => println!(
                "ok: {} ({}: {} fault(s), {} probe(s), rto {}, rpo {})",
                path.display(),
                s.name,
                s.faults.len(),
                s.probes.len(),
                s.objectives.rto,
                s.objectives.rpo
            ),
            Err(e) => {
                eprintln!("gameday: {e}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        EXIT_INVALID
    } else {
        0
    }
}
