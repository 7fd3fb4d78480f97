//! `gameday history --html index.html`: one self-contained page for a whole
//! fleet of scenarios (inline CSS and SVG, no scripts, no network): per
//! scenario the last verdict, a sparkline per figure over its runs with the
//! previous runs' median, the regressions flagged, and a link to every
//! run's report.

use super::render::regression_text;
use super::{History, RunPoint, ScenarioHistory, FIGURES};
use crate::report::html::{esc, CSS};
use crate::report::{fmt_figure, fmt_ms};
use std::fmt::Write;
use std::path::{Component, Path, PathBuf};

/// Runs listed per scenario, newest first; older ones are in the sparklines.
const LISTED_RUNS: usize = 30;

const PAGE_CSS: &str = "
.fleet td.scenario a{font-weight:600;color:#1d2433}
.card{background:#fff;border:1px solid #d9dee7;border-radius:6px;padding:12px 16px;margin:16px 0}
.card.regressed{border-color:#d64545;border-width:2px}
.card h2{margin-top:4px}
.regressions{color:#d64545;font-weight:600;margin:6px 0}
.sparks{display:flex;flex-wrap:wrap;gap:18px;margin:8px 0}
.spark{font-size:12px;color:#5a6475}.spark b{color:#1d2433}
.spark.regressed b{color:#d64545}
";

/// The page; links are relative to `index_dir`, where it is written.
pub fn page(h: &History, index_dir: &Path) -> String {
    let mut out = String::new();
    let regressed = h
        .scenarios
        .iter()
        .filter(|s| !s.regressions.is_empty())
        .count();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>gameday fleet</title><style>{CSS}{PAGE_CSS}</style></head><body>\n<h1>Game day fleet</h1>\n<div class=\"meta\">{} scenarios, {} runs; {} regressed (newest run over the median of the previous ones by more than {:.0}% and more than its resolution)</div>\n",
        h.scenarios.len(),
        h.scenarios.iter().map(|s| s.runs.len()).sum::<usize>(),
        regressed,
        h.threshold * 100.0
    );
    summary(&mut out, h, index_dir);
    for s in &h.scenarios {
        card(&mut out, s, index_dir);
    }
    for skipped in &h.skipped {
        let _ = writeln!(out, "<div class=\"meta\">skipped: {}</div>", esc(skipped));
    }
    out.push_str("</body></html>\n");
    out
}

fn outcome(r: &RunPoint) -> String {
    serde_json::to_value(r.outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn badge(r: &RunPoint) -> String {
    let o = outcome(r);
    format!("<span class=\"badge {o}\">{o}</span>")
}

fn anchor(s: &ScenarioHistory) -> String {
    format!("s-{}", esc(&s.scenario))
}

/// One row per scenario: last verdict, when, how many runs, what regressed.
fn summary(out: &mut String, h: &History, index_dir: &Path) {
    out.push_str("<table class=\"fleet\"><tr><th>scenario</th><th>last verdict</th><th>last run (UTC)</th><th>runs</th><th>regressions</th><th>last report</th></tr>\n");
    for s in &h.scenarios {
        let Some(last) = s.runs.last() else { continue };
        let regressions = if s.regressions.is_empty() {
            "none".to_string()
        } else {
            format!(
                "<span class=\"regressions\">{}</span>",
                esc(&s
                    .regressions
                    .iter()
                    .map(|r| r.figure.as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
            )
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"scenario\"><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{regressions}</td><td>{}</td></tr>",
            anchor(s),
            esc(&s.scenario),
            badge(last),
            last.started_at.format("%Y-%m-%d %H:%M"),
            s.runs.len(),
            link(last, index_dir)
        );
    }
    out.push_str("</table>\n");
}

/// A scenario: its regressions, a sparkline per figure, its runs.
fn card(out: &mut String, s: &ScenarioHistory, index_dir: &Path) {
    let class = if s.regressions.is_empty() {
        "card"
    } else {
        "card regressed"
    };
    let _ = writeln!(
        out,
        "<div class=\"{class}\" id=\"{}\"><h2>{}</h2>",
        anchor(s),
        esc(&s.scenario)
    );
    for r in &s.regressions {
        let _ = writeln!(
            out,
            "<div class=\"regressions\">REGRESSION: {}</div>",
            esc(&regression_text(r))
        );
    }
    out.push_str("<div class=\"sparks\">");
    for figure in FIGURES {
        let regressed = s.regressions.iter().any(|r| r.figure == figure);
        spark(out, s, figure, regressed);
    }
    out.push_str("</div>\n");
    runs(out, s, index_dir);
    out.push_str("</div>\n");
}

/// A figure over the runs: a line through the observed values (a gap, and a
/// red mark at the top, where a run did not observe it), the previous
/// runs' median dashed, the newest point red when it regressed.
fn spark(out: &mut String, s: &ScenarioHistory, figure: &str, regressed: bool) {
    const W: f64 = 180.0;
    const H: f64 = 40.0;
    let points: Vec<Option<f64>> = s
        .runs
        .iter()
        .filter(|r| !r.figures.is_empty())
        .map(|r| r.figures.get(figure).copied().flatten())
        .collect();
    let median = s.previous_median.get(figure).copied().flatten();
    let observed: Vec<f64> = points.iter().flatten().copied().chain(median).collect();
    let newest = s.runs.iter().rev().find(|r| !r.figures.is_empty());
    let label = match newest {
        Some(r) => fmt_figure(
            r.figures.get(figure).copied().flatten(),
            r.resolution.get(figure).copied().unwrap_or(0.0),
        ),
        None => "no measured run".into(),
    };
    let class = if regressed {
        "spark regressed"
    } else {
        "spark"
    };
    let _ = write!(
        out,
        "<div class=\"{class}\" data-figure=\"{figure}\">{figure}: <b>{}</b><br>",
        esc(&label)
    );
    let _ = write!(out, "<svg width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\"><title>{figure} over {} runs</title>", points.len());
    if let (Some(lo), Some(hi)) = (
        observed.iter().copied().reduce(f64::min),
        observed.iter().copied().reduce(f64::max),
    ) {
        let span = if hi > lo { hi - lo } else { 1.0 };
        let x = |i: usize| 4.0 + (W - 8.0) * i as f64 / (points.len().max(2) - 1) as f64;
        let y = |v: f64| H - 6.0 - (H - 12.0) * (v - lo) / span;
        if let Some(m) = median {
            let _ = write!(out, "<line class=\"median\" x1=\"0\" x2=\"{W}\" y1=\"{0:.1}\" y2=\"{0:.1}\" stroke=\"#8a93a3\" stroke-dasharray=\"3 3\"><title>median of previous runs {1}</title></line>", y(m), esc(&fmt_ms(m)));
        }
        line(out, &points, &x, &y);
        marks(out, &points, &x, &y, regressed);
    }
    out.push_str("</svg></div>");
}

/// The polyline segments between consecutive observed values.
fn line(
    out: &mut String,
    points: &[Option<f64>],
    x: &dyn Fn(usize) -> f64,
    y: &dyn Fn(f64) -> f64,
) {
    let mut segment: Vec<String> = Vec::new();
    let flush = |segment: &mut Vec<String>, out: &mut String| {
        if segment.len() > 1 {
            let _ = write!(
                out,
                "<polyline fill=\"none\" stroke=\"#4a78c2\" stroke-width=\"1.5\" points=\"{}\"/>",
                segment.join(" ")
            );
        }
        segment.clear();
    };
    for (i, p) in points.iter().enumerate() {
        match p {
            Some(v) => segment.push(format!("{:.1},{:.1}", x(i), y(*v))),
            None => flush(&mut segment, out),
        }
    }
    flush(&mut segment, out);
}

/// A dot per observed value (with its value), a red cross per run that did
/// not observe the figure; the newest dot red when it regressed.
fn marks(
    out: &mut String,
    points: &[Option<f64>],
    x: &dyn Fn(usize) -> f64,
    y: &dyn Fn(f64) -> f64,
    regressed: bool,
) {
    for (i, p) in points.iter().enumerate() {
        let newest = i + 1 == points.len();
        match p {
            Some(v) => {
                let (r, fill) = match (newest, regressed) {
                    (true, true) => (3.5, "#d64545"),
                    (true, false) => (3.0, "#1d2433"),
                    _ => (2.0, "#4a78c2"),
                };
                let _ = write!(out, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{r}\" fill=\"{fill}\"><title>{}</title></circle>", x(i), y(*v), esc(&fmt_ms(*v)));
            }
            None => {
                let _ = write!(out, "<text class=\"missing\" x=\"{:.1}\" y=\"10\" fill=\"#d64545\" font-size=\"10\" text-anchor=\"middle\">×<title>not observed</title></text>", x(i));
            }
        }
    }
}

/// The newest runs, with a link to each report.
fn runs(out: &mut String, s: &ScenarioHistory, index_dir: &Path) {
    out.push_str("<table><tr><th>started (UTC)</th><th>outcome</th>");
    for f in FIGURES {
        let _ = write!(out, "<th>{f}</th>");
    }
    out.push_str("<th>report</th></tr>\n");
    for r in s.runs.iter().rev().take(LISTED_RUNS) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td>",
            r.started_at.format("%Y-%m-%d %H:%M"),
            badge(r)
        );
        for f in FIGURES {
            let cell = r
                .figures
                .get(f)
                .copied()
                .flatten()
                .map(fmt_ms)
                .unwrap_or_else(|| "-".into());
            let _ = write!(out, "<td>{}</td>", esc(&cell));
        }
        let _ = writeln!(out, "<td>{}</td></tr>", link(r, index_dir));
    }
    out.push_str("</table>\n");
    if s.runs.len() > LISTED_RUNS {
        let _ = writeln!(
            out,
            "<div class=\"meta\">{} older runs are in the sparklines only</div>",
            s.runs.len() - LISTED_RUNS
        );
    }
}

/// A link to the run's report.html (report.json when there is none),
/// relative to the page.
fn link(r: &RunPoint, index_dir: &Path) -> String {
    let html = r.report.with_file_name("report.html");
    let target = if html.is_file() {
        html
    } else {
        r.report.clone()
    };
    let href = relative(index_dir, &target)
        .iter()
        .map(|c| percent(&c.to_string_lossy()))
        .collect::<Vec<_>>()
        .join("/");
    format!("<a href=\"{}\">{}</a>", esc(&href), esc(&r.run_id))
}

/// `to` as seen from the folder `from`, both made absolute.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let (from, to) = (absolute(from), absolute(to));
    let from: Vec<Component> = from.components().collect();
    let to_parts: Vec<Component> = to.components().collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to_parts[common..] {
        out.push(c);
    }
    out
}

/// A path segment as a URL writes it.
fn percent(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{percent, relative};
    use std::path::Path;

    #[test]
    fn links_are_relative_to_the_page_and_escaped() {
        assert_eq!(
            relative(
                Path::new("/ci/out"),
                Path::new("/ci/all/a/reports/r1/report.html")
            ),
            Path::new("../all/a/reports/r1/report.html")
        );
        assert_eq!(
            relative(Path::new("/ci"), Path::new("/ci/r1/report.html")),
            Path::new("r1/report.html")
        );
        assert_eq!(percent("a b#c"), "a%20b%23c");
    }
}
