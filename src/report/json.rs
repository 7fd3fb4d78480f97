//! `report.json`: the source of truth.

use super::{Format, Report};

/// Pretty-printed JSON.
pub struct Json;

impl Format for Json {
    fn render(&self, report: &Report) -> String {
        serde_json::to_string_pretty(report)
            .unwrap_or_else(|e| format!("{{\"error\":\"cannot encode report: {e}\"}}"))
            + "\n"
    }
}
