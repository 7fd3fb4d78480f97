//! The live view while a run is going, drawn on stderr when it is a terminal:
//! a bar of elapsed time against the timeout with the objectives marked, a
//! checklist of the phases as they are observed (time, floor, objective),
//! and one line per probe with its latest result in its state's colour.
//! Every line is cut to the terminal's width. Without a terminal nothing is
//! drawn and events are plain lines. `NO_COLOR` (and `CLICOLOR=0`) turn the
//! colour off; console decides, as it does for every output here.

use crate::floor::Floors;
use crate::measure::{Figure, Measurements};
use crate::scenario::Objectives;
use console::Style;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::time::Duration;

/// A probe's latest result as the view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    /// In a few words.
    pub text: String,
    /// Good, bad, or neither (see `Observation::good`).
    pub good: Option<bool>,
}

/// What does not change during a run: the objectives, the floors, the timeout.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// Scenario name.
    pub scenario: String,
    /// Declared objectives.
    pub objectives: Option<Objectives>,
    /// The plan's floors.
    pub floors: Floors,
    /// The baseline's length.
    pub baseline: Duration,
    /// After t0, the run is aborted at this point.
    pub timeout: Duration,
}

/// One moment of the run.
pub struct Moment<'a> {
    /// `baseline` or `observe`.
    pub stage: &'a str,
    /// Since the baseline started, or since t0.
    pub elapsed: Duration,
    /// Latest result of each probe.
    pub probes: &'a BTreeMap<String, Latest>,
    /// The phases measured so far (observe only).
    pub phases: Option<&'a Measurements>,
}

/// The live display.
pub struct Progress {
    bar: ProgressBar,
    enabled: bool,
    frame: Frame,
}

impl Progress {
    /// The view on stderr; `enabled = false` draws nothing.
    pub fn new(enabled: bool) -> Self {
        let bar = if enabled {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(250));
        Progress {
            bar,
            enabled,
            frame: Frame::default(),
        }
    }

    /// Whether the view is drawn (a terminal, no `--no-progress`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// What the view draws against: objectives, floors, timeout.
    pub fn set_frame(&mut self, frame: Frame) {
        self.frame = frame;
    }

    /// Draws one moment.
    pub fn update(&self, moment: &Moment) {
        if !self.enabled {
            return;
        }
        let width = console::Term::stderr().size().1 as usize;
        let colour = Colours::new(console::colors_enabled_stderr());
        self.bar
            .set_message(render(&self.frame, moment, width, &colour));
    }

    /// Prints a line above the view (or plainly, without a terminal).
    pub fn say(&self, line: &str) {
        if self.enabled {
            self.bar.println(line);
        } else {
            crate::words::errln(format_args!("{line}"));
        }
    }

    /// Removes the view.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The styles of the view; all plain without colour.
pub struct Colours {
    good: Style,
    bad: Style,
    dim: Style,
    bold: Style,
}

impl Colours {
    /// Styles that colour only when `on`.
    pub fn new(on: bool) -> Colours {
        let style = |s: Style| s.force_styling(on);
        Colours {
            good: style(Style::new().green()),
            bad: style(Style::new().red().bold()),
            dim: style(Style::new().dim()),
            bold: style(Style::new().bold()),
        }
    }

    fn state(&self, good: Option<bool>) -> &Style {
        match good {
            Some(true) => &self.good,
            Some(false) => &self.bad,
            None => &self.dim,
        }
    }
}

/// The view as text: every line at most `width` columns (at least 40).
pub fn render(frame: &Frame, m: &Moment, width: usize, c: &Colours) -> String {
    let width = width.clamp(40, 160);
    let mut lines = vec![header(frame, m, c), bar(frame, m, width, c)];
    lines.extend(checklist(frame, m, c));
    lines.extend(probes(m, c));
    lines
        .iter()
        .map(|l| console::truncate_str(l, width - 1, "…").into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn secs(d: Duration) -> String {
    crate::words::fmt_ms(d.as_secs_f64() * 1000.0)
}

fn header(frame: &Frame, m: &Moment, c: &Colours) -> String {
    let when = match m.stage {
        "observe" => format!("t0 + {}", secs(m.elapsed)),
        _ => format!("{} of {}", secs(m.elapsed), secs(frame.baseline)),
    };
    format!(
        "{} {}  {}  {when}",
        c.bold.apply_to("gameday"),
        frame.scenario,
        c.bold.apply_to(m.stage)
    )
}

/// Elapsed time against the baseline's length or the timeout, with the
/// objectives marked after t0: `d` max_detection, `f` max_dns_flip, `R` rto.
fn bar(frame: &Frame, m: &Moment, width: usize, c: &Colours) -> String {
    let total = match m.stage {
        "observe" => frame.timeout,
        _ => frame.baseline,
    }
    .max(Duration::from_millis(1));
    let cells = (width.min(100) - 22).max(10);
    let at = |d: Duration| {
        ((d.as_secs_f64() / total.as_secs_f64()) * cells as f64).min(cells as f64) as usize
    };
    let filled = at(m.elapsed);
    let mut row: Vec<char> = (0..cells)
        .map(|i| if i < filled { '█' } else { '·' })
        .collect();
    if let (Some(o), "observe") = (&frame.objectives, m.stage) {
        let marks = [
            (o.max_detection, 'd'),
            (o.max_dns_flip, 'f'),
            (Some(o.rto), 'R'),
        ];
        for (limit, mark) in marks {
            if let Some(limit) = limit {
                row[at(limit.get()).min(cells - 1)] = mark;
            }
        }
    }
    let row: String = row.into_iter().collect();
    let split = row.char_indices().nth(filled).map_or(row.len(), |(i, _)| i);
    format!(
        "[{}{}] {} / {}",
        c.good.apply_to(&row[..split]),
        c.dim.apply_to(&row[split..]),
        secs(m.elapsed),
        secs(total)
    )
}

/// One line per phase: observed (✔, in red when over its objective) or
/// not yet (·), its time, the floor and the objective beside it.
fn checklist(frame: &Frame, m: &Moment, c: &Colours) -> Vec<String> {
    let Some(phases) = m.phases else {
        return vec![format!(
            "{}",
            c.dim
                .apply_to("  phases are timed from t0, after the baseline")
        )];
    };
    let o = frame.objectives.as_ref();
    let f = &frame.floors;
    let rows: [(&str, &Figure, Option<f64>, Option<Duration>); 5] = [
        (
            "detection",
            &phases.detection,
            f.detection.as_ref().map(|f| f.ms),
            o.and_then(|o| o.max_detection).map(|d| d.get()),
        ),
        (
            "dns flip",
            &phases.dns_flip,
            f.dns_flip.as_ref().map(|f| f.ms),
            o.and_then(|o| o.max_dns_flip).map(|d| d.get()),
        ),
        ("first failure", &phases.first_failure, None, None),
        (
            "recovered",
            &phases.rto_observed,
            f.rto.as_ref().map(|f| f.ms),
            o.map(|o| o.rto.get()),
        ),
        ("writes recovered", &phases.write_recovery, None, None),
    ];
    rows.into_iter()
        .map(|(name, figure, floor, objective)| phase_line(name, figure, floor, objective, c))
        .collect()
}

fn phase_line(
    name: &str,
    figure: &Figure,
    floor: Option<f64>,
    objective: Option<Duration>,
    c: &Colours,
) -> String {
    let floor = floor.map_or("-".into(), crate::words::fmt_ms);
    let limit = objective.map_or("-".into(), secs);
    let (mark, time) = match figure.value() {
        Some(v) if objective.is_some_and(|o| v > o) => (c.bad.apply_to("✘"), secs(v)),
        Some(v) => (c.good.apply_to("✔"), secs(v)),
        None => (c.dim.apply_to("·"), "-".into()),
    };
    format!("  {mark} {name:<17}{time:>9}   floor {floor:>7}   objective {limit:>7}")
}

fn probes(m: &Moment, c: &Colours) -> Vec<String> {
    m.probes
        .iter()
        .map(|(name, latest)| {
            format!(
                "  {name:<28} {}",
                c.state(latest.good).apply_to(&latest.text)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        Frame {
            scenario: "kill-primary-targets".into(),
            objectives: Some(Objectives {
                rto: crate::scenario::duration::HumanDuration(Duration::from_secs(8)),
                rpo: None,
                max_detection: Some(crate::scenario::duration::HumanDuration(
                    Duration::from_secs(5),
                )),
                max_dns_flip: None,
                max_fencing: None,
                max_time_to_capacity: None,
                max_error_rate: None,
                max_p99_latency: None,
                clients: Vec::new(),
                population: Vec::new(),
            }),
            floors: Floors::default(),
            baseline: Duration::from_secs(2),
            timeout: Duration::from_secs(30),
        }
    }

    #[test]
    fn every_line_fits_and_probes_get_one_line_each() {
        let mut probes = BTreeMap::new();
        for (name, good) in [("customer", Some(false)), ("dns", None)] {
            probes.insert(
                name.to_string(),
                Latest {
                    text: format!("{name} {}", "x".repeat(200)),
                    good,
                },
            );
        }
        let m = Moment {
            stage: "baseline",
            elapsed: Duration::from_secs(1),
            probes: &probes,
            phases: None,
        };
        for width in [80, 140] {
            let text = render(&frame(), &m, width, &Colours::new(false));
            for line in text.lines() {
                assert!(console::measure_text_width(line) < width, "{line}");
            }
            assert_eq!(text.lines().filter(|l| l.contains("xxx")).count(), 2);
        }
    }

    #[test]
    fn the_bar_marks_the_objectives_against_the_timeout() {
        let probes = BTreeMap::new();
        let m = Moment {
            stage: "observe",
            elapsed: Duration::from_secs(15),
            probes: &probes,
            phases: None,
        };
        let text = render(&frame(), &m, 80, &Colours::new(false));
        let bar = text.lines().nth(1).unwrap();
        let cells: String = bar.chars().skip(1).take_while(|ch| *ch != ']').collect();
        // 58 cells for 30 s: d at 5 s, R at 8 s, half filled at 15 s.
        assert_eq!(cells.chars().count(), 58, "{bar}");
        assert_eq!(cells.chars().position(|ch| ch == 'd'), Some(9), "{bar}");
        assert_eq!(cells.chars().position(|ch| ch == 'R'), Some(15), "{bar}");
        assert_eq!(cells.chars().filter(|ch| *ch == '·').count(), 29, "{bar}");
        assert!(bar.ends_with("15.00s / 30.00s"), "{bar}");
    }
}
