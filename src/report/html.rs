//! `report.html`: one self-contained file (inline CSS and SVG, no scripts, no
//! network) that draws the timeline: a lane per probe with its observations,
//! the fault and t0, each phase as a span, each objective as a line, ground
//! truth, and the verdict table under it.

use super::markdown::outcome_phrase;
use super::{fmt_figure, fmt_floor, fmt_ms, Format, Report};
use crate::clock::Offset;
use crate::timeline::{Observation, What};
use crate::verdict::{Outcome, Status};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;

/// Self-contained HTML.
pub struct Html;

/// Escapes text for HTML element content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const GREEN: &str = "#2e9e4f";
const RED: &str = "#d64545";
const BLUE: &str = "#4a78c2";
const PURPLE: &str = "#8e5bd6";
const BLACK: &str = "#222";
const ORANGE: &str = "#e08a1e";

/// Canary writes that did not survive, by how.
struct Missing {
    lost: HashSet<u64>,
    divergent: HashSet<u64>,
}

pub(crate) const CSS: &str = "
body{font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:24px;color:#1d2433;background:#fafbfc}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#5a6475;font-size:13px;margin-bottom:12px}
.warn{background:#fff4e0;border:1px solid #e0b060;border-radius:6px;padding:6px 10px}
.badge{display:inline-block;padding:3px 10px;border-radius:12px;color:#fff;font-weight:600;font-size:13px}
.badge.passed{background:#2e9e4f}.badge.breached{background:#d64545}.badge.aborted,.badge.refused{background:#c98a12}.badge.revert-incomplete{background:#7a1f1f}
table{border-collapse:collapse;font-size:13px;background:#fff}
th,td{border:1px solid #d9dee7;padding:5px 10px;text-align:left}th{background:#eef1f6}
td.met{color:#2e9e4f;font-weight:600}td.breached,td.not-measured{color:#d64545;font-weight:700}
.timeline{background:#fff;border:1px solid #d9dee7;border-radius:6px;padding:8px;overflow-x:auto}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
pre{background:#fff;border:1px solid #d9dee7;padding:10px;font-size:12px;overflow-x:auto}
";

struct Scale {
    left: f64,
    width: f64,
    span_ms: f64,
}

impl Scale {
    fn x(&self, ms: f64) -> f64 {
        self.left + (ms.max(0.0) / self.span_ms) * self.width
    }
}

/// The lane an observation is drawn in.
fn lane(source: &str, o: &Observation) -> String {
    match o {
        Observation::HealthCheck { region, .. } => format!("{source} {region}"),
        Observation::TargetHealth { region, .. } => format!("{source} {region}"),
        _ => source.to_string(),
    }
}

/// Consecutive observations of one lane drawn in the same colour: one
/// rectangle however long the run. Every change of colour (a failure
/// starting or ending, a region changing) starts a new run, so thinning a
/// long game day hides no transition and no failure.
struct Run {
    lane: usize,
    source: String,
    color: &'static str,
    from_ms: f64,
    to_ms: f64,
    count: usize,
    first: Observation,
    last: Observation,
}

impl Run {
    fn title(&self) -> String {
        if self.count == 1 {
            return format!("+{:.3}s {}", self.from_ms / 1000.0, self.first.summary());
        }
        format!(
            "+{:.3}s to +{:.3}s: {} observations, first {}, last {}",
            self.from_ms / 1000.0,
            self.to_ms / 1000.0,
            self.count,
            self.first.summary(),
            self.last.summary()
        )
    }
}

/// What the timeline drawing needs, gathered in one pass over the report's
/// entries (read from its timeline file one at a time): the lanes in order
/// of appearance, the runs of each lane, the run's events and the last
/// instant. It holds runs, not observations, so a long game day costs its
/// changes of colour, not its length.
struct Gathered {
    lanes: Vec<String>,
    runs: Vec<Run>,
    events: Vec<(Offset, String, String)>,
    end_ms: f64,
    /// Why the timeline could not be read (whole or in part).
    unreadable: Option<String>,
}

impl Gathered {
    fn of(r: &Report, primary: &str, missing: &Missing) -> Gathered {
        let mut g = Gathered {
            lanes: Vec::new(),
            runs: Vec::new(),
            events: Vec::new(),
            end_ms: 0.0,
            unreadable: None,
        };
        let mut open: Vec<Option<Run>> = Vec::new();
        let entries = match r.entries() {
            Ok(entries) => entries,
            Err(why) => {
                g.unreadable = Some(why);
                return g;
            }
        };
        for e in entries {
            let e = match e {
                Ok(e) => e,
                Err(why) => {
                    g.unreadable = Some(why);
                    break;
                }
            };
            let at_ms = e.at.0 as f64 / 1e6;
            g.end_ms = g.end_ms.max(at_ms);
            let o = match e.what {
                What::Event { name, detail } => {
                    g.events.push((e.at, name, detail));
                    continue;
                }
                // A population's requests are drawn as its drain curve:
                // thousands of interleaved clients make no lane.
                What::Observation(Observation::Customer { .. } | Observation::Load { .. }) => {
                    continue
                }
                What::Observation(o) => o,
            };
            let name = lane(&e.source, &o);
            let lane = match g.lanes.iter().position(|l| *l == name) {
                Some(i) => i,
                None => {
                    g.lanes.push(name);
                    open.push(None);
                    g.lanes.len() - 1
                }
            };
            let color = color_of(&o, primary, missing);
            match &mut open[lane] {
                Some(run) if run.color == color => {
                    run.to_ms = at_ms;
                    run.count += 1;
                    run.last = o;
                }
                slot => {
                    let next = Run {
                        lane,
                        source: e.source,
                        color,
                        from_ms: at_ms,
                        to_ms: at_ms,
                        count: 1,
                        first: o.clone(),
                        last: o,
                    };
                    g.runs.extend(slot.replace(next));
                }
            }
        }
        g.runs.extend(open.into_iter().flatten());
        g
    }
}

fn color_of(o: &Observation, primary: &str, missing: &Missing) -> &'static str {
    match o {
        Observation::Http { ok: true, .. }
        | Observation::Customer { ok: true, .. }
        | Observation::HealthCheck { healthy: true, .. } => GREEN,
        Observation::Http { .. }
        | Observation::Customer { .. }
        | Observation::HealthCheck { .. } => RED,
        Observation::Load { failed: 0, .. } => GREEN,
        Observation::Load { .. } => RED,
        Observation::Capacity { error: Some(_), .. } => RED,
        Observation::Capacity {
            desired, healthy, ..
        } if healthy >= desired => GREEN,
        Observation::Capacity { .. } => ORANGE,
        Observation::Dns {
            region: Some(r), ..
        } if r == primary => BLUE,
        Observation::Dns {
            region: Some(_), ..
        } => PURPLE,
        Observation::Dns { .. } => RED,
        Observation::CanaryWrite {
            seq, acked: true, ..
        } if missing.divergent.contains(seq) => ORANGE,
        Observation::CanaryWrite {
            seq, acked: true, ..
        } if missing.lost.contains(seq) => BLACK,
        Observation::CanaryWrite { acked: true, .. } => GREEN,
        Observation::CanaryWrite { .. } => RED,
        Observation::CanaryReadBack { .. } => BLACK,
        Observation::WriterProbe { accepted: true, .. } => GREEN,
        Observation::WriterProbe { .. } => RED,
        Observation::GlobalMembership {
            demoted: Some(true),
            ..
        } => GREEN,
        Observation::GlobalMembership {
            demoted: Some(false),
            ..
        } => RED,
        Observation::GlobalMembership { .. } => BLACK,
        Observation::TargetHealth { healthy, .. } if *healthy > 0 => GREEN,
        Observation::TargetHealth { .. } => RED,
        Observation::Alarm { state, .. } if state == "OK" => GREEN,
        Observation::Alarm { .. } => RED,
    }
}

/// Where the phase rows and the objective lines go.
struct Rows {
    base: f64,
    top: f64,
    lane_h: f64,
    bottom: f64,
}

/// The primary region's name (DNS answers for it are drawn blue).
fn primary_region(r: &Report) -> String {
    r.environment
        .lab
        .as_ref()
        .map(|l| l.regions[0].name.clone())
        .or_else(|| {
            r.environment
                .aws
                .as_ref()
                .map(|a| a.params.primary_region.clone())
        })
        .unwrap_or_default()
}

impl Missing {
    /// The canary writes later found lost or divergent.
    fn of(r: &Report) -> Missing {
        Missing {
            lost: r
                .phases
                .as_ref()
                .map(|m| m.lost_writes.seqs.iter().copied().collect())
                .unwrap_or_default(),
            divergent: r
                .phases
                .as_ref()
                .and_then(|m| m.divergent_writes.as_ref())
                .map(|d| d.seqs.iter().copied().collect())
                .unwrap_or_default(),
        }
    }
}

/// Phase spans under the probe lanes, t0 and the objectives as lines.
fn draw_phases(
    s: &mut String,
    r: &Report,
    m: &crate::measure::Measurements,
    scale: &Scale,
    rows: Rows,
) {
    let (base, top, lane_h, bottom) = (rows.base, rows.top, rows.lane_h, rows.bottom);
    let t0 = m.t0_ms;
    let spans = [
        (
            "detection",
            Some(t0),
            m.detection.value_ms.map(|v| t0 + v),
            "#e69138",
        ),
        (
            "dns flip",
            Some(t0),
            m.dns_flip.value_ms.map(|v| t0 + v),
            PURPLE,
        ),
        (
            "outage (customers)",
            m.first_failure.value_ms.map(|v| t0 + v),
            m.recovered.value_ms.map(|v| t0 + v),
            RED,
        ),
        (
            "writes failing",
            Some(t0),
            m.write_recovery.value_ms.map(|v| t0 + v),
            "#a05a2c",
        ),
    ];
    for (row, (name, from, to, color)) in spans.into_iter().enumerate() {
        let y = base + lane_h * row as f64 + 4.0;
        if let (Some(a), Some(b)) = (from, to) {
            let (xa, xb) = (scale.x(a), scale.x(b).max(scale.x(a) + 2.0));
            let _ = write!(
                s,
                r#"<rect x="{xa:.1}" y="{y:.1}" width="{:.1}" height="16" fill="{color}" opacity="0.75"><title>{name}: {}</title></rect><text x="{:.1}" y="{:.1}">{name} {}</text>"#,
                xb - xa,
                fmt_ms(b - t0),
                xb + 4.0,
                y + 12.5,
                fmt_ms(b - t0)
            );
        } else {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" fill="#5a6475">{name}: not observed</text>"##,
                scale.x(t0) + 4.0,
                y + 12.5
            );
        }
    }
    // t0 and the objectives as vertical lines.
    let x0 = scale.x(t0);
    let _ = write!(
        s,
        r#"<line x1="{x0:.1}" y1="{top}" x2="{x0:.1}" y2="{bottom:.0}" stroke="{RED}" stroke-width="2"/><text x="{:.1}" y="{:.0}" fill="{RED}" font-weight="bold">t0: fault</text>"#,
        x0 + 3.0,
        bottom + 14.0
    );
    // rpo is a window of data, not a point in time: it has no line.
    for (row, j) in r.verdict.iter().filter(|j| j.is_deadline()).enumerate() {
        let x = scale.x(t0 + j.declared_ms);
        let c = if j.status == Status::Met { GREEN } else { RED };
        let label_y = bottom + 29.0 + 15.0 * row as f64;
        let _ = write!(
            s,
            r#"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{:.0}" stroke="{c}" stroke-dasharray="5,4"/><text x="{:.1}" y="{label_y:.0}" fill="{c}" text-anchor="end">{} {}</text>"#,
            label_y - 10.0,
            x - 3.0,
            esc(&j.objective),
            fmt_ms(j.declared_ms)
        );
    }
}

/// Ground truth and run events, as diamonds on their own lane at `y`.
fn draw_truth(
    s: &mut String,
    r: &Report,
    events: &[(Offset, String, String)],
    scale: &Scale,
    y: f64,
) {
    for g in &r.ground_truth {
        let x = scale.x(g.at_ms);
        let _ = write!(
            s,
            r##"<path d="M{x:.1},{:.1} l6,8 l-6,8 l-6,-8 z" fill="#444"><title>+{:.3}s {} {} {}</title></path>"##,
            y,
            g.at_ms / 1000.0,
            esc(&g.kind),
            esc(&g.region),
            esc(&g.detail)
        );
    }
    for (at, name, detail) in events {
        let x = scale.x(at.0 as f64 / 1e6);
        let _ = write!(
            s,
            r##"<path d="M{x:.1},{:.1} l5,7 l-5,7 l-5,-7 z" fill="#c98a12"><title>+{:.3}s {} {}</title></path>"##,
            y + 1.0,
            at.secs(),
            esc(name),
            esc(detail)
        );
    }
}

fn svg(r: &Report, g: &Gathered) -> String {
    let intervals: BTreeMap<String, f64> = r
        .plan
        .as_ref()
        .map(|p| {
            p.watches
                .iter()
                .map(|w| (w.name.clone(), w.interval_ms as f64))
                .collect()
        })
        .unwrap_or_default();
    // Wide enough for every observation and every objective's deadline.
    let t0_ms = r.phases.as_ref().map(|m| m.t0_ms).unwrap_or(0.0);
    let deadlines = r
        .verdict
        .iter()
        .filter(|j| j.is_deadline())
        .map(|j| t0_ms + j.declared_ms);
    let end_ms = deadlines.fold(g.end_ms.max(1000.0), f64::max) * 1.04;
    let scale = Scale {
        left: 210.0,
        width: 1100.0,
        span_ms: end_ms,
    };
    let lanes = &g.lanes;
    let lane_h = 26.0;
    let top = 28.0;
    let phase_rows = 4.0;
    let objective_rows = r.verdict.iter().filter(|j| j.objective != "rpo").count() as f64;
    let height =
        top + lane_h * (lanes.len() as f64 + phase_rows + 1.0) + 30.0 + 15.0 * objective_rows;
    let mut s = String::new();
    let _ = write!(
        s,
        // A viewBox lets the drawing shrink to the window instead of hiding its right edge.
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0} {height:.0}" width="100%" style="max-width:{w:.0}px" font-family="sans-serif" font-size="12" role="img" aria-label="timeline">"#,
        w = scale.left + scale.width + 20.0
    );
    // Time axis, one tick per second (or coarser for long runs).
    let step = [1000.0, 2000.0, 5000.0, 10000.0, 30000.0, 60000.0]
        .into_iter()
        .find(|st| end_ms / st <= 24.0)
        .unwrap_or(120000.0);
    let mut t = 0.0;
    while t <= end_ms {
        let x = scale.x(t);
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{:.0}" stroke="#eceff4"/><text x="{x:.1}" y="{:.0}" text-anchor="middle" fill="#5a6475">{:.0}s</text>"##,
            height - 22.0,
            top - 10.0,
            t / 1000.0
        );
        t += step;
    }
    for (i, l) in lanes.iter().enumerate() {
        let y = top + lane_h * i as f64;
        let _ = write!(
            s,
            r##"<text x="8" y="{:.1}" fill="#1d2433">{}</text><line x1="{}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#e3e7ee"/>"##,
            y + 17.0,
            esc(l),
            scale.left,
            y + lane_h,
            scale.left + scale.width,
            y + lane_h
        );
    }
    for run in &g.runs {
        let w = (intervals.get(&run.source).copied().unwrap_or(100.0) / scale.span_ms
            * scale.width
            * 0.85)
            .clamp(1.5, 40.0);
        let y = top + lane_h * run.lane as f64 + 5.0;
        let (xa, xb) = (scale.x(run.from_ms), scale.x(run.to_ms));
        let _ = write!(
            s,
            r#"<rect x="{xa:.1}" y="{y:.1}" width="{:.1}" height="16" fill="{}"><title>{}</title></rect>"#,
            xb - xa + w,
            run.color,
            esc(&run.title())
        );
    }
    // Phase spans under the probe lanes.
    let base = top + lane_h * lanes.len() as f64 + 6.0;
    let _ = write!(
        s,
        r##"<text x="8" y="{:.1}" font-weight="bold">phases (from t0)</text>"##,
        base + 17.0
    );
    if let Some(m) = &r.phases {
        draw_phases(
            &mut s,
            r,
            m,
            &scale,
            Rows {
                base,
                top,
                lane_h,
                bottom: height - 22.0 - 15.0 * objective_rows,
            },
        );
    }
    // Ground truth and run events, as diamonds on their own lane.
    let y = base + lane_h * phase_rows + 4.0;
    let _ = write!(
        s,
        r##"<text x="8" y="{:.1}" font-weight="bold">ground truth / run</text>"##,
        y + 12.0
    );
    draw_truth(&mut s, r, &g.events, &scale, y);
    s.push_str("</svg>");
    s
}

/// Each customer probe on its own, when the run measured them so.
fn customer_table(h: &mut String, m: &crate::measure::Measurements) {
    let rows = super::customer_rows(m);
    if rows.is_empty() {
        return;
    }
    h.push_str("<h2>Customers by client</h2><table><tr>");
    for head in super::CUSTOMER_HEADER {
        let _ = write!(h, "<th>{head}</th>");
    }
    h.push_str("</tr>");
    for row in rows {
        h.push_str("<tr>");
        for cell in row {
            let _ = write!(h, "<td>{}</td>", esc(&cell));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
}

impl Format for Html {
    fn render(&self, r: &Report) -> String {
        let class = match r.outcome {
            Outcome::Passed => "passed",
            Outcome::Breached => "breached",
            Outcome::Aborted => "aborted",
            Outcome::Refused => "refused",
            Outcome::RevertIncomplete => "revert-incomplete",
        };
        let mut h = String::new();
        let _ = write!(h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>gameday {}</title><style>{CSS}</style></head><body>", esc(&r.run_id));
        let _ = write!(
            h,
            "<h1>Game day <code>{}</code> <span class=\"badge {class}\">{}</span></h1>",
            esc(&r.scenario.name),
            esc(outcome_phrase(r.outcome))
        );
        let _ = write!(
            h,
            "<div class=\"meta\">{} &middot; run <code>{}</code> &middot; started {} UTC &middot; target {}{} &middot; exit code {}</div>",
            esc(&r.scenario.description),
            esc(&r.run_id),
            r.started_at.format("%Y-%m-%d %H:%M:%S"),
            esc(&r.environment.target),
            if r.environment.attached { " (standing lab)" } else { "" },
            r.exit_code
        );
        if let Some(reason) = &r.reason {
            let _ = write!(h, "<p><strong>Reason:</strong> {}</p>", esc(reason));
        }
        let divergent_legend = if r
            .phases
            .as_ref()
            .is_some_and(|m| m.divergent_writes.is_some())
        {
            "<span><i style=\"background:#e08a1e\"></i>acked by the old writer after the promotion (divergent)</span>"
        } else {
            ""
        };
        let _ = write!(h, "<h2>Timeline</h2><div class=\"legend\"><span><i style=\"background:#2e9e4f\"></i>ok / healthy / acked</span><span><i style=\"background:#d64545\"></i>failed / unhealthy</span><span><i style=\"background:#4a78c2\"></i>DNS answers primary</span><span><i style=\"background:#8e5bd6\"></i>DNS answers secondary</span><span><i style=\"background:#222\"></i>acked write later lost</span>{}<span>dashed: objectives from t0</span></div>", divergent_legend);
        let gathered = Gathered::of(r, &primary_region(r), &Missing::of(r));
        if let Some(why) = &gathered.unreadable {
            let _ = write!(
                h,
                "<p class=\"warn\"><strong>The timeline could not be read whole:</strong> {}. What was read is drawn.</p>",
                esc(why)
            );
        }
        let _ = write!(h, "<div class=\"timeline\">{}</div>", svg(r, &gathered));
        h.push_str("<h2>Verdict</h2><table><tr><th>objective</th><th>declared</th><th>measured</th><th>verdict</th></tr>");
        for j in &r.verdict {
            let (cls, word) = match j.status {
                Status::Met => ("met", "met"),
                Status::Breached => ("breached", "BREACHED"),
                Status::NotMeasured => ("not-measured", "NOT MEASURED"),
            };
            let note = j
                .note
                .as_ref()
                .map(|n| format!(" ({})", esc(n)))
                .unwrap_or_default();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}{note}</td><td class=\"{cls}\">{word}</td></tr>",
                esc(&j.objective),
                super::fmt_declared(j),
                super::fmt_measured(j)
            );
        }
        h.push_str("</table>");
        if let Some(m) = &r.phases {
            h.push_str("<h2>Phases (after t0)</h2><table><tr><th>phase</th><th>floor</th><th>measured</th><th>note</th></tr>");
            for (name, f) in m.phases() {
                let _ = write!(
                    h,
                    "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    fmt_floor(r, name),
                    fmt_figure(f.value_ms, f.resolution_ms),
                    esc(f.note.as_deref().unwrap_or(""))
                );
            }
            for [name, measured, note] in super::write_rows(m) {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>-</td><td>{}</td><td>{}</td></tr>",
                    esc(&name),
                    esc(&measured),
                    esc(&note)
                );
            }
            h.push_str("</table>");
            customer_table(&mut h, m);
            if let Some(p) = &m.population {
                super::population::html(&mut h, p);
            }
            if let Some(l) = &m.load {
                super::population::load_html(&mut h, l);
            }
            if let Some(c) = &m.capacity {
                super::capacity::html(&mut h, c, m.load.as_ref());
            }
        }
        if !r.accuracy.is_empty() {
            h.push_str("<h2>Accuracy against the lab's ground truth</h2><table><tr><th>phase</th><th>measured</th><th>truth</th><th>allowance</th><th>error</th><th>within resolution</th></tr>");
            for a in &r.accuracy {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&a.phase),
                    fmt_ms(a.measured_ms),
                    fmt_ms(a.truth_ms),
                    fmt_ms(a.allowance_ms),
                    fmt_ms(a.error_ms),
                    if a.within_resolution { "yes" } else { "no" }
                );
            }
            h.push_str("</table>");
        }
        if !r.ground_truth.is_empty() {
            let t0 = r.phases.as_ref().map(|m| m.t0_ms).unwrap_or(0.0);
            h.push_str("<h2>Ground truth (what really happened in the lab)</h2><table><tr><th>after t0</th><th>event</th><th>region</th><th>detail</th></tr>");
            for g in &r.ground_truth {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    fmt_ms(g.at_ms - t0),
                    esc(&g.kind),
                    esc(&g.region),
                    esc(&g.detail)
                );
            }
            h.push_str("</table>");
        }
        if let Some(plan) = &r.plan {
            h.push_str("<h2>Changes and their undo</h2><ol>");
            for step in &plan.steps {
                let _ = write!(
                    h,
                    "<li>{} <em>(undo: {})</em></li>",
                    esc(&step.apply.summary()),
                    esc(&step.undo.summary())
                );
            }
            h.push_str("</ol>");
        }
        let _ = write!(
            h,
            "<h2>Revert</h2><p>{}</p>",
            esc(&super::revert_sentence(r))
        );
        let _ = writeln!(
            h,
            "<h2>Scenario</h2><pre>{}</pre></body></html>",
            esc(&r.scenario.text)
        );
        h
    }
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }
}
