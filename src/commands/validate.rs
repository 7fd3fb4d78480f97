//! `gameday validate`: load every scenario, report each error on one line.

use crate::scenario;
use crate::words::ExitStatus;
use std::path::PathBuf;

/// Validates scenarios; exit 0 when all are valid, 2 otherwise.
pub fn validate(paths: &[PathBuf], strict: bool) -> ExitStatus {
    let mut failed = 0;
    for path in paths {
        match scenario::load(path) {
            Ok(s) if s.target == crate::scenario::Target::Aws => {
                // Floors and lint on AWS need the account's Route 53 and ELBv2
                // configuration: `gameday plan` reads them; validate stays offline.
                println!(
                    "ok: {} ({}: target aws, {} fault(s), {} probe(s), rto {}, rpo {}; floors and lint: gameday plan)",
                    path.display(),
                    s.name,
                    s.faults.len(),
                    s.probes.len(),
                    s.objectives.rto,
                    s.objectives.rpo
                );
            }
            Ok(s) => {
                let floors =
                    crate::plan::floors_of(&s.faults, &crate::floor::FloorInputs::lab(&s.lab));
                let impossible = crate::floor::impossible(&floors, &s.objectives);
                for bad in &impossible {
                    eprintln!("gameday: {}: warning: {}", path.display(), bad.message);
                }
                for finding in crate::floor::lint(&s.lab) {
                    eprintln!("gameday: {}: warning: {finding}", path.display());
                }
                if strict && !impossible.is_empty() {
                    failed += 1;
                    continue;
                }
                println!(
                    "ok: {} ({}: {} fault(s), {} probe(s), rto {} (floor {}), rpo {})",
                    path.display(),
                    s.name,
                    s.faults.len(),
                    s.probes.len(),
                    s.objectives.rto,
                    floors
                        .rto
                        .as_ref()
                        .map(|f| crate::report::fmt_ms(f.ms))
                        .unwrap_or_else(|| "-".into()),
                    s.objectives.rpo
                );
            }
            Err(e) => {
                eprintln!("gameday: {e}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        ExitStatus::Invalid
    } else {
        ExitStatus::Ok
    }
}
