//! The live display while a run is going: phase, elapsed time, the latest state
//! of every probe. Drawn only on a terminal (indicatif hides itself otherwise).

use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::time::Duration;

/// The live display.
pub struct Progress {
    bar: ProgressBar,
    enabled: bool,
}

impl Progress {
    /// A spinner on stderr; `enabled = false` draws nothing.
    pub fn new(enabled: bool) -> Self {
        let bar = if enabled {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(100));
        Progress { bar, enabled }
    }

    /// Shows the current phase and probes.
    pub fn update(&self, phase: &str, elapsed: Duration, latest: &BTreeMap<String, String>) {
        let probes: Vec<String> = latest.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        self.bar.set_message(format!(
            "{phase:<9} {:>6.1}s | {}",
            elapsed.as_secs_f64(),
            probes.join(" | ")
        ));
    }

    /// Prints a line above the spinner (or plainly, without a terminal).
    pub fn say(&self, line: &str) {
        if self.enabled {
            self.bar.println(line);
        } else {
            eprintln!("{line}");
        }
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
