//! The terminal summary: objectives and phases as comfy-tables.

use super::{fmt_figure, fmt_floor, Format, Report};
use crate::verdict::Status;
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};

/// A table that wraps its cells to fit a terminal's width (and is as wide
/// as its content without a terminal, as in the golden files).
fn table() -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t
}

/// Terminal tables.
pub struct Terminal;

impl Format for Terminal {
    fn render(&self, r: &Report) -> String {
        let mut out = String::new();
        let mut t = table();
        t.set_header(vec!["objective", "declared", "measured", "verdict"]);
        for j in &r.verdict {
            let verdict = match j.status {
                Status::Met => "met",
                Status::Breached => "BREACHED",
                Status::NotMeasured => "NOT MEASURED",
            };
            let mut measured = super::fmt_measured(j);
            if let Some(n) = &j.note {
                measured.push_str(&format!(" ({n})"));
            }
            t.add_row(vec![
                j.objective.clone(),
                super::fmt_declared(j),
                measured,
                verdict.into(),
            ]);
        }
        out.push_str(&t.to_string());
        out.push('\n');
        if let Some(m) = &r.phases {
            let mut p = table();
            p.set_header(vec!["phase (after t0)", "floor", "measured", "note"]);
            for (name, f) in m.phases() {
                p.add_row(vec![
                    name.to_string(),
                    fmt_floor(r, name),
                    fmt_figure(f.value_ms, f.resolution_ms),
                    f.note.clone().unwrap_or_default(),
                ]);
            }
            for [name, measured, note] in super::write_rows(m) {
                p.add_row(vec![name, "-".into(), measured, note]);
            }
            out.push_str(&p.to_string());
            out.push('\n');
            let rows = super::customer_rows(m);
            if !rows.is_empty() {
                let mut c = table();
                c.set_header(super::CUSTOMER_HEADER.to_vec());
                for row in rows {
                    c.add_row(row.to_vec());
                }
                out.push_str(&c.to_string());
                out.push('\n');
            }
            if let Some(l) = &m.load {
                out.push_str(&format!("{}\n", super::load_line(l)));
            }
            if let Some(cap) = &m.capacity {
                let mut c = table();
                c.set_header(super::capacity::HEADER.to_vec());
                for row in super::capacity::rows(cap) {
                    c.add_row(row.to_vec());
                }
                out.push_str(&c.to_string());
                out.push('\n');
            }
            if let Some(pop) = &m.population {
                let mut c = table();
                c.set_header(super::POPULATION_HEADER.to_vec());
                for row in super::population_rows(pop) {
                    c.add_row(row.to_vec());
                }
                out.push_str(&format!("{}\n{c}\n", super::population_title(pop)));
            }
        }
        out
    }
}
