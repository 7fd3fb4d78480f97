//! `gameday report`: re-render a saved run in any format.

use crate::report;
use crate::words::ExitStatus;
use std::path::Path;

/// Prints a saved report in `format`.
pub fn render(path: &Path, format: &str) -> ExitStatus {
    let Some(entry) = report::format(format) else {
        let names: Vec<&str> = report::FORMATS.iter().map(|f| f.name).collect();
        eprintln!(
            "gameday: unknown format \"{format}\"; use one of {}",
            names.join(", ")
        );
        return ExitStatus::Invalid;
    };
    match report::read(path) {
        Ok(r) => {
            print!("{}", entry.format.render(&r));
            ExitStatus::Ok
        }
        Err(e) => {
            eprintln!("gameday: {e}");
            ExitStatus::Invalid
        }
    }
}
