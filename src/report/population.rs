//! The population's part of report.html: its table, and its drain curve
//! (per second after t0, the share of each class's requests not yet served
//! by the secondary), drawn as inline SVG like the timeline; and the load's
//! error rate per second, drawn the same way.

use super::fmt_ms;
use super::html::esc;
use crate::measure::population::{Drain, PopulationFigures};
use std::fmt::Write;

/// One colour per class, in order (then again), and everyone in black.
const COLOURS: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 56.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;
const RIGHT: f64 = 150.0;

/// The population's table and drain curve.
pub fn html(h: &mut String, p: &PopulationFigures) {
    let _ = write!(
        h,
        "<h2>{}</h2><table><tr>",
        esc(&super::population_title(p))
    );
    for head in super::POPULATION_HEADER {
        let _ = write!(h, "<th>{head}</th>");
    }
    h.push_str("</tr>");
    for row in super::population_rows(p) {
        h.push_str("<tr>");
        for cell in row {
            let _ = write!(h, "<td>{}</td>", esc(&cell));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    h.push_str("<h2>Drain curve: requests not yet served by the secondary</h2>");
    h.push_str(&drain_svg(&p.drain, "drain curve"));
}

/// The load's line and its error rate per second after t0.
pub fn load_html(h: &mut String, l: &crate::measure::load::LoadFigures) {
    let _ = write!(h, "<h2>Load</h2><p>{}</p>", esc(&super::load_line(l)));
    let points = l
        .seconds
        .iter()
        .filter(|s| s.from_ms >= 0.0)
        .map(|s| crate::measure::population::DrainPoint {
            second: (s.from_ms / 1000.0).round() as u32,
            shares: vec![s.error_rate()],
            all: None,
        })
        .collect();
    let rate = Drain {
        classes: vec!["failed or dropped".into()],
        points,
    };
    h.push_str("<h3>Error rate per second after t0</h3>");
    h.push_str(&drain_svg(&rate, "load error rate"));
}

/// Seconds between the time axis's ticks: about eight of them.
fn tick_step(seconds: f64) -> f64 {
    [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
    ]
    .into_iter()
    .find(|s| seconds / s <= 10.0)
    .unwrap_or(3600.0)
}

/// One polyline through the points a series has (a second it sent
/// nothing leaves a gap in no line: the line joins its neighbours).
fn polyline(points: impl Iterator<Item = (f64, f64)>, colour: &str, width: f64) -> String {
    let coords: Vec<String> = points.map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
    format!(
        r#"<polyline fill="none" stroke="{colour}" stroke-width="{width}" points="{}"/>"#,
        coords.join(" ")
    )
}

/// A share per second as inline SVG (the drain curve: one line per class,
/// everyone in black), labelled `label` for readers.
pub fn drain_svg(d: &Drain, label: &str) -> String {
    let seconds = d.points.len().max(1) as f64;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    // A share covers its second: drawn at the second's middle.
    let x = |s: u32| LEFT + (f64::from(s) + 0.5) / seconds * plot_w;
    let y = |share: f64| TOP + (1.0 - share) * plot_h;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="11" role="img" aria-label="{}">"#,
        esc(label)
    );
    for share in [0.0, 0.5, 1.0] {
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{:.0}%</text>"##,
            LEFT + plot_w,
            LEFT - 4.0,
            y(share) + 4.0,
            share * 100.0,
            y = y(share)
        );
    }
    let step = tick_step(seconds);
    let mut t = 0.0;
    while t <= seconds {
        let tx = LEFT + t / seconds * plot_w;
        let _ = write!(
            s,
            r##"<line x1="{tx:.1}" x2="{tx:.1}" y1="{:.1}" y2="{:.1}" stroke="#999"/><text x="{tx:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 4.0,
            TOP + plot_h + 16.0,
            fmt_ms(t * 1000.0)
        );
        t += step;
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">after t0 (one point per second)</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 6.0
    );
    for (i, class) in d.classes.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points = d
            .points
            .iter()
            .filter_map(|p| Some((x(p.second), y(p.shares.get(i).copied().flatten()?))));
        s.push_str(&polyline(points, colour, 1.5));
        legend(&mut s, i, colour, class);
    }
    if d.points.iter().any(|p| p.all.is_some()) {
        let all = d
            .points
            .iter()
            .filter_map(|p| Some((x(p.second), y(p.all?))));
        s.push_str(&polyline(all, "#000", 2.5));
        legend(&mut s, d.classes.len(), "#000", "everyone");
    }
    s.push_str("</svg>");
    s
}

fn legend(s: &mut String, i: usize, colour: &str, name: &str) {
    let ly = TOP + 8.0 + i as f64 * 16.0;
    let lx = WIDTH - RIGHT + 12.0;
    let _ = write!(
        s,
        r#"<line x1="{lx:.1}" x2="{:.1}" y1="{ly:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="2.5"/><text x="{:.1}" y="{:.1}">{}</text>"#,
        lx + 18.0,
        lx + 22.0,
        ly + 4.0,
        esc(name)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::population::DrainPoint;

    #[test]
    fn one_line_per_class_and_names_escaped() {
        let d = Drain {
            classes: vec!["fresh".into(), "<jvm>".into()],
            points: (0..30)
                .map(|s| DrainPoint {
                    second: s,
                    shares: vec![
                        Some(if s < 10 { 1.0 } else { 0.0 }),
                        (s % 2 == 0).then_some(1.0),
                    ],
                    all: Some(0.5),
                })
                .collect(),
        };
        let svg = drain_svg(&d, "drain curve");
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(svg.contains("&lt;jvm&gt;") && !svg.contains("<jvm>"));
        // The jvm line has only the seconds it sent something.
        let jvm = svg.split("<polyline").nth(2).unwrap();
        assert_eq!(
            jvm.split("points=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .split(' ')
                .count(),
            15
        );
        assert!(svg.contains(">100%<") && svg.contains(">30.00s<"), "{svg}");
    }
}
