//! History as a terminal table, Markdown or JSON.

use super::{History, FIGURES};
use crate::report::fmt_ms;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

fn cell(v: Option<f64>) -> String {
    v.map(fmt_ms).unwrap_or_else(|| "-".into())
}

/// One regression in words: "rto_observed is 5.6 s vs a median of 3.45 s (+62%)".
pub(super) fn regression_text(r: &super::Regression) -> String {
    match (r.newest_ms, r.increase) {
        (Some(v), Some(inc)) => format!(
            "{} is {} vs a median of {} (+{:.0}%)",
            r.figure,
            fmt_ms(v),
            fmt_ms(r.median_ms),
            inc * 100.0
        ),
        _ => format!(
            "{} was not observed (median of previous runs {})",
            r.figure,
            fmt_ms(r.median_ms)
        ),
    }
}

fn regression_lines(h: &History) -> Vec<(String, String)> {
    h.scenarios
        .iter()
        .flat_map(|s| {
            s.regressions
                .iter()
                .map(|r| (s.scenario.clone(), regression_text(r)))
        })
        .collect()
}

/// Terminal tables, one per scenario.
pub fn table(h: &History) -> String {
    let mut out = String::new();
    for s in &h.scenarios {
        out.push_str(&format!("{} ({} runs)\n", s.scenario, s.runs.len()));
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        let mut header = vec!["started (UTC)".to_string(), "outcome".to_string()];
        header.extend(FIGURES.iter().map(|f| f.to_string()));
        t.set_header(header);
        for r in &s.runs {
            let mut row = vec![
                r.started_at.format("%Y-%m-%d %H:%M").to_string(),
                format!("{:?}", r.outcome).to_lowercase(),
            ];
            row.extend(
                FIGURES
                    .iter()
                    .map(|f| cell(r.figures.get(*f).copied().flatten())),
            );
            t.add_row(row);
        }
        let mut row = vec!["median of previous".to_string(), String::new()];
        row.extend(
            FIGURES
                .iter()
                .map(|f| cell(s.previous_median.get(*f).copied().flatten())),
        );
        t.add_row(row);
        out.push_str(&t.to_string());
        out.push('\n');
    }
    for (scenario, what) in regression_lines(h) {
        out.push_str(&format!("REGRESSION {scenario}: {what}\n"));
    }
    if !h.has_regression() {
        out.push_str(&format!(
            "no regression (threshold {:.0}% over the median of previous runs)\n",
            h.threshold * 100.0
        ));
    }
    for s in &h.skipped {
        out.push_str(&format!("skipped: {s}\n"));
    }
    out
}

/// Markdown.
pub fn markdown(h: &History) -> String {
    let mut out = String::from("# Game day history\n");
    for s in &h.scenarios {
        out.push_str(&format!(
            "\n## {}\n\n| started (UTC) | outcome | {} |\n|---|---|{}\n",
            s.scenario,
            FIGURES.join(" | "),
            "---|".repeat(FIGURES.len())
        ));
        for r in &s.runs {
            let cells: Vec<String> = FIGURES
                .iter()
                .map(|f| cell(r.figures.get(*f).copied().flatten()))
                .collect();
            out.push_str(&format!(
                "| {} | {:?} | {} |\n",
                r.started_at.format("%Y-%m-%d %H:%M"),
                r.outcome,
                cells.join(" | ")
            ));
        }
        let med: Vec<String> = FIGURES
            .iter()
            .map(|f| cell(s.previous_median.get(*f).copied().flatten()))
            .collect();
        out.push_str(&format!("| median of previous | | {} |\n", med.join(" | ")));
    }
    let lines = regression_lines(h);
    out.push_str("\n## Regressions\n\n");
    if lines.is_empty() {
        out.push_str(&format!(
            "None (threshold {:.0}% over the median of previous runs).\n",
            h.threshold * 100.0
        ));
    }
    for (scenario, what) in lines {
        out.push_str(&format!("- **{scenario}**: {what}\n"));
    }
    out
}

/// JSON.
pub fn json(h: &History) -> String {
    serde_json::to_string_pretty(h).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")) + "\n"
}
