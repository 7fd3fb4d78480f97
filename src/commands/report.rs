//! `gameday report`: re-render a saved run in any format.

use super::EXIT_INVALID;
use crate::report;
use std::path::Path;

/// Prints a saved report in `format`.
pub fn render(path: &Path, format: &str) -> u8 {
    let Some(entry) = report::format(format) else {
        let names: Vec<&str> = report::FORMATS.iter().map(|f| f.name).collect();
        eprintln!(
            "gameday: unknown format \"{format}\"; use one of {}",
            names.join(", ")
        );
        return EXIT_INVALID;
    };
    match report::read(path) {
        Ok(r) => {
            print!("{}", entry.format.render(&r));
            0
        }
        Err(e) => {
            eprintln!("gameday: {e}");
            EXIT_INVALID
        }
    }
}
