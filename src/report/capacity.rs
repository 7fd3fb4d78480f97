//! The standby under the surge, in every format: a table of
//! `capacity_recovered`, `surge_errors`, the load after it and each scaling
//! step (terminal, Markdown, HTML), and in report.html two charts over time
//! after t0: the load (arrivals, served by the secondary, p99 latency) and
//! the standby's capacity (desired, in service, healthy).

use super::fmt_ms;
use super::html::esc;
use crate::measure::capacity::CapacityFigures;
use crate::measure::load::LoadFigures;
use std::fmt::Write;

/// The capacity table's header.
pub const HEADER: [&str; 3] = ["standby", "measured", "note"];

/// The capacity table: `[figure, measured, note]` rows.
pub fn rows(c: &CapacityFigures) -> Vec<[String; 3]> {
    let r = &c.capacity_recovered;
    let mut rows = vec![
        [
            "capacity_recovered".to_string(),
            super::fmt_figure(r.value_ms, r.resolution_ms),
            r.note.clone().unwrap_or_else(|| {
                format!(
                    "the secondary held the load for stable_for: at most {:.2}% failed a second, p99 at most {}",
                    c.max_error_rate * 100.0,
                    fmt_ms(c.max_p99_ms)
                )
            }),
        ],
        [
            "surge_errors".to_string(),
            c.surge_errors.to_string(),
            "requests failed or dropped from the flip's second until capacity_recovered (±1s)".into(),
        ],
    ];
    if let (Some(e), Some(p)) = (c.error_rate_after, c.p99_after_ms) {
        rows.push([
            "after capacity_recovered".into(),
            format!("{:.2}% failed, p99 {}", e * 100.0, fmt_ms(p)),
            "the worst second of each".into(),
        ]);
    }
    for s in &c.steps {
        let at = |v: Option<f64>| v.map_or("never".to_string(), fmt_ms);
        rows.push([
            format!("scale-out {} -> {}", s.from, s.to),
            format!(
                "decided {}, in service {}, healthy {}",
                fmt_ms(s.decided_ms),
                at(s.in_service_ms),
                at(s.healthy_ms)
            ),
            "as the capacity probe read the group (± its interval)".into(),
        ]);
    }
    rows
}

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 56.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;
const RIGHT: f64 = 170.0;

/// One line of a chart: its name, colour and (seconds after t0, value) points.
struct Series {
    name: &'static str,
    colour: &'static str,
    points: Vec<(f64, f64)>,
    /// Drawn as steps (a count that holds until it changes).
    steps: bool,
}

/// The table and both charts.
pub fn html(h: &mut String, c: &CapacityFigures, load: Option<&LoadFigures>) {
    h.push_str("<h2>Standby capacity under the load</h2><table><tr>");
    for head in HEADER {
        let _ = write!(h, "<th>{head}</th>");
    }
    h.push_str("</tr>");
    for row in rows(c) {
        h.push_str("<tr>");
        for cell in row {
            let _ = write!(h, "<td>{}</td>", esc(&cell));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    let end_s = load
        .and_then(|l| l.seconds.last())
        .map_or(0.0, |s| s.from_ms / 1000.0 + 1.0)
        .max(c.points.last().map_or(0.0, |p| p.at_ms / 1000.0))
        .max(1.0);
    if let Some(l) = load {
        h.push_str("<h3>Load per second after t0</h3>");
        h.push_str(&load_chart(l, end_s));
    }
    h.push_str("<h3>Standby capacity after t0</h3>");
    h.push_str(&capacity_chart(c, end_s));
}

fn load_chart(l: &LoadFigures, end_s: f64) -> String {
    let after = l.seconds.iter().filter(|s| s.from_ms >= -1000.0);
    let mid = |s: &crate::measure::load::LoadSecond| s.from_ms / 1000.0 + 0.5;
    let arrivals = after
        .clone()
        .map(|s| (mid(s), f64::from(s.sent + s.dropped)));
    let served = after.clone().map(|s| (mid(s), f64::from(s.on_secondary)));
    let failed = after
        .clone()
        .map(|s| (mid(s), f64::from(s.failed + s.dropped)));
    let p99 = after.filter_map(|s| Some((mid(s), s.p99_ms?)));
    let counts = [
        Series {
            name: "arrivals /s",
            colour: "#000",
            points: arrivals.collect(),
            steps: false,
        },
        Series {
            name: "served by secondary /s",
            colour: "#2ca02c",
            points: served.collect(),
            steps: false,
        },
        Series {
            name: "failed /s",
            colour: "#d62728",
            points: failed.collect(),
            steps: false,
        },
    ];
    let p99 = [Series {
        name: "p99 latency (ms)",
        colour: "#1f77b4",
        points: p99.collect(),
        steps: false,
    }];
    let mut s = chart(&counts, end_s, "requests a second", "load per second");
    s.push_str(&chart(&p99, end_s, "ms", "load p99 latency"));
    s
}

fn capacity_chart(c: &CapacityFigures, end_s: f64) -> String {
    let series = |name, colour, f: fn(&crate::measure::capacity::CapacityPoint) -> u32| Series {
        name,
        colour,
        points: c
            .points
            .iter()
            .map(|p| (p.at_ms / 1000.0, f64::from(f(p))))
            .collect(),
        steps: true,
    };
    chart(
        &[
            series("desired", "#9467bd", |p| p.desired),
            series("in service", "#ff7f0e", |p| p.in_service),
            series("healthy", "#2ca02c", |p| p.healthy),
        ],
        end_s,
        "instances",
        "standby capacity",
    )
}

/// Lines over seconds after t0 (from -1 s to `end_s`), y from 0 to the
/// largest value, as inline SVG.
fn chart(series: &[Series], end_s: f64, unit: &str, label: &str) -> String {
    let top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(1.0, f64::max);
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let x = |t: f64| LEFT + ((t + 1.0).clamp(0.0, end_s + 1.0)) / (end_s + 1.0) * plot_w;
    let y = |v: f64| TOP + (1.0 - v / top) * plot_h;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="11" role="img" aria-label="{}">"#,
        esc(label)
    );
    for v in [0.0, top / 2.0, top] {
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{yv:.1}" y2="{yv:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{v:.0}</text>"##,
            LEFT + plot_w,
            LEFT - 4.0,
            y(v) + 4.0,
            yv = y(v)
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{x0:.1}" x2="{x0:.1}" y1="{TOP}" y2="{:.1}" stroke="#999" stroke-dasharray="4,3"/><text x="{x0:.1}" y="{:.1}" text-anchor="middle">t0</text><text x="{:.1}" y="{:.1}" text-anchor="middle">seconds after t0 ({} s shown); y: {}</text>"##,
        TOP + plot_h,
        TOP + plot_h + 14.0,
        LEFT + plot_w / 2.0,
        HEIGHT - 6.0,
        end_s.round(),
        esc(unit),
        x0 = x(0.0)
    );
    for (i, line) in series.iter().enumerate() {
        let mut coords = Vec::new();
        for (k, &(t, v)) in line.points.iter().enumerate() {
            coords.push(format!("{:.1},{:.1}", x(t), y(v)));
            if line.steps {
                let next = line.points.get(k + 1).map_or(end_s, |p| p.0);
                coords.push(format!("{:.1},{:.1}", x(next), y(v)));
            }
        }
        let ly = TOP + 8.0 + i as f64 * 16.0;
        let lx = WIDTH - RIGHT + 12.0;
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{c}" stroke-width="1.8" points="{}"/><line x1="{lx:.1}" x2="{:.1}" y1="{ly:.1}" y2="{ly:.1}" stroke="{c}" stroke-width="2.5"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            coords.join(" "),
            lx + 18.0,
            lx + 22.0,
            ly + 4.0,
            esc(line.name),
            c = line.colour
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::capacity::{CapacityPoint, ScalingStep};
    use crate::measure::Figure;
    use std::time::Duration;

    fn figures() -> CapacityFigures {
        CapacityFigures {
            capacity_recovered: Figure::of(Duration::from_secs(10), Duration::from_secs(1)),
            surge_errors: 971,
            error_rate_after: Some(0.0),
            p99_after_ms: Some(20.5),
            max_error_rate: 0.01,
            max_p99_ms: 500.0,
            steps: vec![ScalingStep {
                from: 1,
                to: 6,
                decided_ms: 4961.0,
                in_service_ms: Some(8961.0),
                healthy_ms: None,
            }],
            points: vec![
                CapacityPoint {
                    at_ms: -3000.0,
                    desired: 1,
                    in_service: 1,
                    healthy: 1,
                },
                CapacityPoint {
                    at_ms: 4961.0,
                    desired: 6,
                    in_service: 1,
                    healthy: 1,
                },
            ],
        }
    }

    #[test]
    fn rows_name_each_figure_and_step() {
        let rows = rows(&figures());
        assert_eq!(rows[0][1], "10.00s ±1.00s");
        assert_eq!(rows[1][1], "971");
        assert_eq!(rows[3][0], "scale-out 1 -> 6");
        assert!(rows[3][1].contains("healthy never"), "{:?}", rows[3]);
    }

    #[test]
    fn the_capacity_chart_has_a_line_per_count() {
        let mut h = String::new();
        html(&mut h, &figures(), None);
        assert_eq!(h.matches("<polyline").count(), 3);
        assert!(h.contains("standby capacity"));
    }
}
