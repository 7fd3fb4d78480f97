//! `gameday history`: runs over time per scenario, with regression flags.

use crate::history::{self, render};
use crate::words::ExitStatus;
use std::path::Path;

/// Prints the history of the runs under `dir`. Exit 1 with `fail_on_regression`
/// when the newest run of a scenario regressed.
pub fn history(dir: &Path, format: &str, threshold: f64, fail_on_regression: bool) -> ExitStatus {
    if !(0.0..=10.0).contains(&threshold) {
        eprintln!(
            "gameday: --threshold {threshold} is not a share between 0 and 10 (0.2 means 20%)"
        );
        return ExitStatus::Invalid;
    }
    let render: fn(&history::History) -> String = match format {
        "table" => render::table,
        "md" => render::markdown,
        "json" => render::json,
        other => {
            eprintln!("gameday: unknown history format \"{other}\"; use table, md or json");
            return ExitStatus::Invalid;
        }
    };
    let h = match history::collect(dir, threshold) {
        Ok(h) => h,
        Err(e) => {
            eprintln!(
                "gameday: {}: cannot read the reports folder: {e}",
                dir.display()
            );
            return ExitStatus::Invalid;
        }
    };
    print!("{}", render(&h));
    if fail_on_regression && h.has_regression() {
        ExitStatus::Breached
    } else {
        ExitStatus::Ok
    }
}
