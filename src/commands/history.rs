//! `gameday history`: runs over time per scenario, with regression flags.

use crate::history::{self, render};
use crate::words::ExitStatus;
use std::path::Path;

/// `gameday history`'s switches.
pub struct Flags<'a> {
    /// `--format`.
    pub format: &'a str,
    /// `--threshold`.
    pub threshold: f64,
    /// `--fail-on-regression`.
    pub fail_on_regression: bool,
    /// `--html FILE`.
    pub html: Option<&'a Path>,
}

/// Prints the history of the runs under `dir` (and writes the fleet page
/// with `--html`). Exit 1 with `fail_on_regression` when the newest run of
/// a scenario regressed.
pub fn history(dir: &Path, flags: Flags<'_>) -> ExitStatus {
    let Flags {
        format,
        threshold,
        fail_on_regression,
        html,
    } = flags;
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
    if let Some(path) = html {
        if let Err(code) = write_page(&h, path) {
            return code;
        }
    }
    if fail_on_regression && h.has_regression() {
        ExitStatus::Breached
    } else {
        ExitStatus::Ok
    }
}

/// Writes the fleet page to `path`, replacing it atomically.
fn write_page(h: &history::History, path: &Path) -> Result<(), ExitStatus> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let page = history::html::page(h, dir);
    crate::files::replace_private(path, page.as_bytes()).map_err(|e| {
        eprintln!(
            "gameday: cannot write the fleet page {}: {e}; check that its folder exists and is writable",
            path.display()
        );
        ExitStatus::Invalid
    })
}
