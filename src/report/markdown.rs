//! `report.md`: the summary a person reads the morning after.

use super::{fmt_figure, fmt_floor, fmt_ms, Format, Report};
use crate::verdict::{Outcome, Status};

/// Markdown.
pub struct Markdown;

fn verdict_word(s: Status) -> &'static str {
    match s {
        Status::Met => "met",
        Status::Breached => "**BREACHED**",
        Status::NotMeasured => "**NOT MEASURED**",
    }
}

/// A short phrase for an outcome.
pub fn outcome_phrase(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "PASSED: every objective met",
        Outcome::Breached => "BREACHED: an objective was not met",
        Outcome::Refused => "REFUSED: nothing was changed",
        Outcome::Aborted => "ABORTED: stopped early, everything reverted",
        Outcome::RevertIncomplete => "REVERT INCOMPLETE: a person must look",
    }
}

/// Each customer probe on its own, when the run measured them so.
fn customer_table(m: &crate::measure::Measurements) -> String {
    let rows = super::customer_rows(m);
    if rows.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n## Customers by client (each customer probe on its own)\n\n");
    s.push_str(&format!("| {} |\n", super::CUSTOMER_HEADER.join(" | ")));
    s.push_str(&"|---".repeat(super::CUSTOMER_HEADER.len()));
    s.push_str("|\n");
    for row in rows {
        s.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    s
}

/// The population, class by class, when the run had one.
fn population_table(m: &crate::measure::Measurements) -> String {
    let Some(p) = &m.population else {
        return String::new();
    };
    let mut s = format!("\n## {}\n\n", super::population_title(p));
    s.push_str(&format!("| {} |\n", super::POPULATION_HEADER.join(" | ")));
    s.push_str(&"|---".repeat(super::POPULATION_HEADER.len()));
    s.push_str("|\n");
    for row in super::population_rows(p) {
        s.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    s
}

fn capacity_table(m: &crate::measure::Measurements) -> String {
    let Some(c) = &m.capacity else {
        return String::new();
    };
    let mut s = "\n## Standby capacity under the load\n\n".to_string();
    s.push_str(&format!(
        "| {} |\n|---|---|---|\n",
        super::capacity::HEADER.join(" | ")
    ));
    for row in super::capacity::rows(c) {
        s.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    s
}

impl Format for Markdown {
    fn render(&self, r: &Report) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "# Game day `{}`: {}\n\n",
            r.scenario.name,
            outcome_phrase(r.outcome)
        ));
        if !r.scenario.description.is_empty() {
            s.push_str(&format!("{}\n\n", r.scenario.description));
        }
        s.push_str(&format!(
            "- run id: `{}`\n- started: {} (UTC)\n- target: {}{}\n- exit code: {}\n",
            r.run_id,
            r.started_at.format("%Y-%m-%d %H:%M:%S%.3f"),
            r.environment.target,
            if r.environment.attached {
                " (attached to a standing lab)"
            } else {
                ""
            },
            r.exit_code
        ));
        if let Some(aws) = &r.environment.aws {
            s.push_str(&format!(
                "- account: {} as `{}`; {} -> {}; record `{}`\n",
                aws.account,
                aws.caller_arn,
                aws.params.primary_region,
                aws.params.secondary_region,
                aws.params.host()
            ));
        }
        if let Some(reason) = &r.reason {
            s.push_str(&format!("- reason: {reason}\n"));
        }
        if let Some(window) = &r.environment.ignored_window {
            s.push_str(&format!(
                "- ran with --ignore-window, as a deliberate exception to: {window}\n"
            ));
        }
        s.push_str(
            "\n## Verdict\n\n| objective | declared | measured | verdict |\n|---|---|---|---|\n",
        );
        for j in &r.verdict {
            let note = j
                .note
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            s.push_str(&format!(
                "| {} | {} | {}{} | {} |\n",
                j.objective,
                super::fmt_declared(j),
                super::fmt_measured(j),
                note,
                verdict_word(j.status)
            ));
        }
        if let Some(m) = &r.phases {
            s.push_str("\n## Phases (after t0, ± the probe interval that observed them)\n\n| phase | floor | measured | note |\n|---|---|---|---|\n");
            for (name, f) in m.phases() {
                s.push_str(&format!(
                    "| {name} | {} | {} | {} |\n",
                    fmt_floor(r, name),
                    fmt_figure(f.value_ms, f.resolution_ms),
                    f.note.clone().unwrap_or_default()
                ));
            }
            for [name, measured, note] in super::write_rows(m) {
                s.push_str(&format!("| {name} | - | {measured} | {note} |\n"));
            }
            s.push_str(&customer_table(m));
            s.push_str(&population_table(m));
            if let Some(l) = &m.load {
                s.push_str(&format!("\n{}\n", super::load_line(l)));
            }
            s.push_str(&capacity_table(m));
            if !m.lost_writes.seqs.is_empty() {
                let seqs: Vec<String> = m.lost_writes.seqs.iter().map(u64::to_string).collect();
                s.push_str(&format!(
                    "\nLost canary sequence numbers: {}\n",
                    seqs.join(", ")
                ));
            }
            if let Some(d) = m.divergent_writes.as_ref().filter(|d| !d.seqs.is_empty()) {
                let seqs: Vec<String> = d.seqs.iter().map(u64::to_string).collect();
                s.push_str(&format!(
                    "\nDivergent canary sequence numbers (only the old writer had them): {}\n",
                    seqs.join(", ")
                ));
            }
        }
        if !r.accuracy.is_empty() {
            s.push_str("\n## Accuracy against the lab's ground truth\n\n| phase | measured | truth | allowance | error | within resolution |\n|---|---|---|---|---|---|\n");
            for a in &r.accuracy {
                s.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} |\n",
                    a.phase,
                    fmt_ms(a.measured_ms),
                    fmt_ms(a.truth_ms),
                    fmt_ms(a.allowance_ms),
                    fmt_ms(a.error_ms),
                    if a.within_resolution { "yes" } else { "no" }
                ));
            }
        }
        if let Some(plan) = &r.plan {
            s.push_str("\n## Changes and their undo\n\n");
            for (i, step) in plan.steps.iter().enumerate() {
                s.push_str(&format!(
                    "{}. {} (undo: {})\n",
                    i + 1,
                    step.apply.summary(),
                    step.undo.summary()
                ));
            }
        }
        s.push_str(&format!("\n## Revert\n\n{}\n", super::revert_sentence(r)));
        s
    }
}
