//! Reports: `report.json` is the source of truth (versioned schema); every other
//! format renders from it. One file per format behind [`Format`], wired here.

pub mod capacity;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod metrics;
pub mod population;
pub mod table;

use crate::lab::LabParams;
use crate::measure::accuracy::{Accuracy, TruthMark};
use crate::measure::Measurements;
use crate::plan::Plan;
use crate::scenario::Objectives;
use crate::timeline::file::TimelineFile;
use crate::timeline::{Entry, Timeline};
use crate::verdict::{Judgement, Outcome};
use crate::words::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// Version of the `report.json` schema. Bump on any incompatible change.
/// 2: the timeline is a file in the run folder (`timeline`, an object
/// naming it) instead of an array inline; reports of version 1 still read.
pub const SCHEMA_VERSION: u32 = 2;

/// The scenario as the report records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Path it was loaded from.
    pub file: PathBuf,
    /// Objectives, with what the probes filled in.
    #[serde(deserialize_with = "objectives")]
    pub objectives: Objectives,
    /// stable_for, ms.
    pub stable_for_ms: f64,
    /// Baseline, ms.
    pub baseline_ms: f64,
    /// Timeout, ms.
    pub timeout_ms: f64,
    /// The scenario text as run.
    pub text: String,
}

/// A report's objectives: those a scenario declares, read as a scenario's
/// `[objectives]` is (unknown keys refused), and those the probes filled
/// in (`clients`, `population`), which a scenario may not declare.
fn objectives<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Objectives, D::Error> {
    use serde::de::Error;
    let mut map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
    let mut filled = |key: &str| {
        map.remove(key)
            .unwrap_or(serde_json::Value::Array(Vec::new()))
    };
    let clients = serde_json::from_value(filled("clients")).map_err(D::Error::custom)?;
    let population = serde_json::from_value(filled("population")).map_err(D::Error::custom)?;
    let declared: Objectives =
        serde_json::from_value(serde_json::Value::Object(map)).map_err(D::Error::custom)?;
    Ok(Objectives {
        clients,
        population,
        ..declared
    })
}

impl ScenarioInfo {
    /// What the report records of a scenario.
    pub fn of(s: &crate::scenario::Scenario) -> ScenarioInfo {
        ScenarioInfo {
            name: s.name.clone(),
            description: s.description.clone(),
            file: s.file.clone(),
            objectives: s.objectives.clone(),
            stable_for_ms: s.stable_for.as_secs_f64() * 1000.0,
            baseline_ms: s.baseline.as_secs_f64() * 1000.0,
            timeout_ms: s.timeout.as_secs_f64() * 1000.0,
            text: s.text.clone(),
        }
    }
}

/// Where the run happened.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Environment {
    /// `lab`.
    pub target: String,
    /// Whether the run attached to a standing lab.
    pub attached: bool,
    /// Whether `--yes` consent was given.
    #[serde(default)]
    pub consent: bool,
    /// The window guard that `--ignore-window` overrode, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored_window: Option<String>,
    /// The lab as found before the run.
    pub lab: Option<LabSummary>,
    /// The AWS account as found before the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<crate::aws::discover::AwsDescription>,
    /// Host name.
    pub host: String,
    /// gameday version.
    pub gameday_version: String,
}

/// The lab as a report records it: its own type, so report.json does not
/// change whenever the lab's control API does. (Reports written when this was
/// the control API's whole description still read, and keep what they had.)
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabSummary {
    /// Lab parameters in force.
    pub params: LabParams,
    /// Control API.
    pub control: SocketAddr,
    /// Authoritative DNS server (UDP).
    pub dns: SocketAddr,
    /// Zone apex.
    pub zone: String,
    /// Failover record.
    pub record: String,
    /// Primary then secondary.
    pub regions: Vec<LabRegionSummary>,
    /// Region whose database took writes before the run.
    pub writer_region: String,
    /// Whether each region had its own loopback addresses.
    pub multi_address: bool,
    /// What older reports recorded beyond these fields, kept as read so a
    /// re-rendered report loses nothing.
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One lab region as a report records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabRegionSummary {
    /// Region name.
    pub name: String,
    /// Primary or secondary.
    pub role: Role,
    /// Address DNS answers for this region.
    pub public_ip: Ipv4Addr,
    /// Where a client connects for that address.
    pub endpoint: SocketAddr,
    /// Availability Zones.
    pub azs: Vec<String>,
    /// What older reports recorded beyond these fields, kept as read.
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// What the revert did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RevertSummary {
    /// Everything restored and verified.
    pub complete: bool,
    /// Undos applied, in order.
    pub undone: Vec<String>,
    /// Changes deliberately left in place (a database failover), and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_undone: Vec<String>,
    /// Differences from the state before the run, if any remain.
    pub differences: Vec<String>,
    /// Undos the journal still owes (failed, or not tried before the
    /// revert's deadline), in words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owed: Vec<String>,
    /// Undos made and verified that the journal could not record (a full
    /// disk): `gameday status` still lists them until `gameday revert`
    /// repeats them, harmlessly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unrecorded: Vec<String>,
    /// The exact command that finishes an incomplete revert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_with: Option<String>,
    /// How the revert was verified, as the environment says it (absent in
    /// reports written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<String>,
    /// The journal of the run.
    pub journal: PathBuf,
}

/// One run, in full.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Schema version of this document.
    pub schema_version: u32,
    /// Run id (also the report folder name).
    pub run_id: String,
    /// The scenario.
    pub scenario: ScenarioInfo,
    /// The environment.
    pub environment: Environment,
    /// Wall-clock start (UTC), display only.
    pub started_at: DateTime<Utc>,
    /// Wall-clock end (UTC), display only.
    pub finished_at: DateTime<Utc>,
    /// How it ended.
    pub outcome: Outcome,
    /// Process exit code.
    pub exit_code: u8,
    /// Why it was refused or aborted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What was changed and how it was undone.
    pub plan: Option<Plan>,
    /// Every observation and event: the file that holds them (read them
    /// with [`Report::entries`]).
    pub timeline: TimelineRef,
    /// Measured phases; absent when the fault was never injected.
    pub phases: Option<Measurements>,
    /// Objectives judged.
    pub verdict: Vec<Judgement>,
    /// The revert.
    pub revert: RevertSummary,
    /// Lab ground truth on the run clock.
    pub ground_truth: Vec<TruthMark>,
    /// Measured phases against ground truth.
    pub accuracy: Vec<Accuracy>,
    /// The run folder the report was read from or written to (where its
    /// timeline file is); not part of the document.
    #[serde(skip)]
    pub folder: Option<PathBuf>,
}

/// The run's timeline as report.json holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TimelineRef {
    /// Schema 2: a file in the run folder, one entry per line.
    File(TimelineFile),
    /// Schema 1: every entry inline.
    Inline(Timeline),
}

/// A report's timeline entries in time order, one at a time.
pub type Entries<'r> = Box<dyn Iterator<Item = Result<Entry, String>> + 'r>;

impl Report {
    /// The timeline's entries, read from the run folder's file as they are
    /// needed (or from the report itself, for schema 1). The file's name is
    /// input like any other: only a bare name in the run folder is opened,
    /// never through a symlink.
    pub fn entries(&self) -> Result<Entries<'_>, String> {
        let f = match &self.timeline {
            TimelineRef::Inline(t) => return Ok(Box::new(t.entries.iter().cloned().map(Ok))),
            TimelineRef::File(f) => f,
        };
        let bare = !f.file.is_empty()
            && !f.file.starts_with('.')
            && f.file
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !bare {
            return Err(format!(
                "the report names its timeline file {:?}, which is not a file name in its run folder",
                f.file
            ));
        }
        let folder = self.folder.as_deref().ok_or_else(|| {
            "the report's run folder is unknown: read it with gameday report <run folder>/report.json".to_string()
        })?;
        let path = folder.join(&f.file);
        let entries = crate::timeline::file::read(&path)
            .map_err(|e| format!("cannot read the timeline {}: {e}", path.display()))?;
        Ok(Box::new(entries.map(|e| e.map_err(|e| e.to_string()))))
    }
}

/// One output format: renders a report as text.
pub trait Format {
    /// Renders the report.
    fn render(&self, report: &Report) -> String;
}

/// A format by name, and the file it is written to in a run folder (if any).
pub struct FormatEntry {
    /// Name for `--format`.
    pub name: &'static str,
    /// File written for every run; `None` for terminal-only formats.
    pub file: Option<&'static str>,
    /// The format.
    pub format: &'static (dyn Format + Sync),
}

/// Every format, by name. Adding a format is adding a file and a line here.
pub const FORMATS: &[FormatEntry] = &[
    FormatEntry {
        name: "json",
        file: Some("report.json"),
        format: &json::Json,
    },
    FormatEntry {
        name: "md",
        file: Some("report.md"),
        format: &markdown::Markdown,
    },
    FormatEntry {
        name: "html",
        file: Some("report.html"),
        format: &html::Html,
    },
    FormatEntry {
        name: "junit",
        file: Some("junit.xml"),
        format: &junit::Junit,
    },
    FormatEntry {
        name: "table",
        file: None,
        format: &table::Terminal,
    },
    FormatEntry {
        name: "metrics",
        file: None,
        format: &metrics::OpenMetrics,
    },
];

/// A format by its name.
pub fn format(name: &str) -> Option<&'static FormatEntry> {
    FORMATS.iter().find(|f| f.name == name)
}

/// Writes every file format into the run folder `dir` (made by the run):
/// new 0600 files, never through a symlink; returns the paths written. The
/// error names the file that could not be written.
pub fn write_all(report: &Report, dir: &Path) -> Result<Vec<PathBuf>, WriteError> {
    let mut written = Vec::new();
    for entry in FORMATS {
        if let Some(file) = entry.file {
            let path = dir.join(file);
            crate::files::write_new(&path, entry.format.render(report).as_bytes()).map_err(
                |source| WriteError {
                    path: path.clone(),
                    source,
                },
            )?;
            written.push(path);
        }
    }
    Ok(written)
}

/// A report file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the report {}: {source}", path.display())]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// Why a saved report cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not readable.
    #[error("{path}: cannot read the report: {source}")]
    Io {
        /// Path.
        path: String,
        /// I/O error.
        source: std::io::Error,
    },
    /// Not a gameday report.
    #[error("{path}: not a gameday report.json ({reason}); pass the report.json of a run folder")]
    Invalid {
        /// Path.
        path: String,
        /// Decode error.
        reason: String,
    },
    /// Written by a newer gameday.
    #[error("{path}: report schema version {found} is newer than this gameday understands ({SCHEMA_VERSION}); upgrade gameday")]
    TooNew {
        /// Path.
        path: String,
        /// Version found.
        found: u64,
    },
}

/// Reads a saved `report.json`.
pub fn read(path: &Path) -> Result<Report, ReadError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: shown.clone(),
        source,
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| ReadError::Invalid {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v > SCHEMA_VERSION as u64 => {
            return Err(ReadError::TooNew {
                path: shown,
                found: v,
            })
        }
        Some(_) => {}
        None => {
            return Err(ReadError::Invalid {
                path: shown,
                reason: "no schema_version".into(),
            })
        }
    }
    let mut report: Report = serde_json::from_value(value).map_err(|e| ReadError::Invalid {
        path: shown,
        reason: e.to_string(),
    })?;
    report.folder = path.parent().map(Path::to_path_buf);
    Ok(report)
}

/// The floor of a phase as reports name it (`detection`, `dns_flip`,
/// `recovered (rto_observed)`), from the run's plan.
pub fn floor_of(r: &Report, phase: &str) -> Option<f64> {
    let floors = &r.plan.as_ref()?.floors;
    let floor = match phase {
        "detection" => &floors.detection,
        "dns_flip" => &floors.dns_flip,
        "recovered (rto_observed)" | "rto" => &floors.rto,
        _ => return None,
    };
    floor.as_ref().map(|f| f.ms)
}

/// A floor cell: the value or a dash.
pub fn fmt_floor(r: &Report, phase: &str) -> String {
    floor_of(r, phase).map(fmt_ms).unwrap_or_else(|| "-".into())
}

pub use crate::words::fmt_ms;

/// Formats an optional figure with its resolution: `3.20s ±100ms`.
pub fn fmt_figure(value: Option<f64>, resolution: f64) -> String {
    match value {
        Some(v) => format!("{} ±{}", fmt_ms(v), fmt_ms(resolution)),
        None => "not observed".into(),
    }
}

/// A judgement's declared limit, in its unit.
pub fn fmt_declared(j: &crate::verdict::Judgement) -> String {
    match j.unit {
        crate::verdict::Unit::Ms => fmt_ms(j.declared_ms),
        crate::verdict::Unit::Percent => format!("{}%", j.declared_ms),
    }
}

/// A judgement's measured value and its resolution, in its unit.
pub fn fmt_measured(j: &crate::verdict::Judgement) -> String {
    match (j.unit, j.measured_ms) {
        (crate::verdict::Unit::Ms, _) => fmt_figure(j.measured_ms, j.resolution_ms),
        (crate::verdict::Unit::Percent, Some(v)) => format!("{v:.2}%"),
        (crate::verdict::Unit::Percent, None) => "not observed".into(),
    }
}

/// The header of the per-customer table.
pub const CUSTOMER_HEADER: [&str; 6] = [
    "customer probe",
    "client",
    "first failure",
    "recovered",
    "downtime",
    "first on the secondary",
];

/// The per-customer table's rows (each customer probe measured on its own,
/// one client class each), the same in every format; empty when the run
/// had one fresh customer probe.
pub fn customer_rows(m: &Measurements) -> Vec<[String; 6]> {
    let cell = |f: &crate::measure::Figure| match (f.value_ms, &f.note) {
        (Some(v), _) => format!("{} ±{}", fmt_ms(v), fmt_ms(f.resolution_ms)),
        (None, Some(note)) => note.clone(),
        (None, None) => "not observed".into(),
    };
    m.customers
        .iter()
        .map(|c| {
            [
                c.probe.clone(),
                c.client.clone(),
                cell(&c.first_failure),
                cell(&c.recovered),
                cell(&c.downtime),
                cell(&c.on_secondary),
            ]
        })
        .collect()
}

/// The header of the population table.
pub const POPULATION_HEADER: [&str; 10] = [
    "class",
    "clients",
    "client",
    "first failure p50",
    "recovered p50",
    "p90",
    "p99",
    "max",
    "on the secondary: 50% / 90% / 99% / all",
    "never recovered",
];

/// The population table's title: which probe, how many clients, and the
/// resolution every figure in it has.
pub fn population_title(p: &crate::measure::population::PopulationFigures) -> String {
    format!(
        "Customers by class: {} simulated clients of probe {} (every figure ±{}, one request interval; rto judged at p{})",
        p.clients,
        p.probe,
        fmt_ms(p.resolution_ms),
        p.percentile
    )
}

/// The population table's rows, one per class and one for everyone, the
/// same in every format (resolution in the title; a figure that fell on a
/// client never recovered reads `never`).
pub fn population_rows(p: &crate::measure::population::PopulationFigures) -> Vec<[String; 10]> {
    let cell = |f: &crate::measure::Figure| match f.value_ms {
        Some(v) => fmt_ms(v),
        None if f.note.as_deref() == Some("no client failed") => "-".into(),
        None => "never".into(),
    };
    p.classes
        .iter()
        .chain(std::iter::once(&p.all))
        .map(|c| {
            let s = &c.on_secondary;
            [
                c.class.clone(),
                c.clients.to_string(),
                c.client.clone(),
                cell(&c.first_failure.p50),
                cell(&c.recovered.p50),
                cell(&c.recovered.p90),
                cell(&c.recovered.p99),
                cell(&c.recovered.max),
                [&s.half, &s.p90, &s.p99, &s.all].map(cell).join(" / "),
                c.not_recovered.to_string(),
            ]
        })
        .collect()
}

/// The load in one line, the same in every format: what it sent and held,
/// what failed from t0 on, its worst second after t0.
pub fn load_line(l: &crate::measure::load::LoadFigures) -> String {
    let held = match &l.held {
        Some(h) => format!(
            "held {:.1}/s over {} whole seconds ({:.0} to {:.0})",
            h.mean, h.seconds, h.min, h.max
        ),
        None => "too short to hold a rate".into(),
    };
    let worst = |w: Option<(f64, f64)>, what: &dyn Fn(f64) -> String| match w {
        Some((v, at)) => format!("{} (the second from {})", what(v), fmt_ms(at)),
        None => "-".into(),
    };
    format!(
        "Load: {}/s declared; sent {} ({held}), served {}, failed {} ({} from t0 on), dropped {}, unanswered at the end {}; worst second from t0: {}, p99 {} (every figure ±1s: one second of arrivals)",
        l.rate,
        l.sent,
        l.served,
        l.failed,
        l.failed_after_t0,
        l.dropped,
        l.unanswered,
        worst(l.worst_error_rate, &|r| format!("{:.1}% failed", r * 100.0)),
        worst(l.worst_p99_ms, &|ms| fmt_ms(ms)),
    )
}

/// The data-loss rows of the phase tables, each `[name, measured, note]`:
/// lost writes, and with a two-writer read-back, divergent writes and the
/// fencing. One place, so every format shows the same.
pub fn write_rows(m: &Measurements) -> Vec<[String; 3]> {
    let (lost, note) = m.lost_writes.cells();
    let mut rows = vec![["lost_writes".to_string(), lost, note]];
    let span = |w: Option<(f64, f64)>| w.map(|(a, b)| format!("{} to {}", fmt_ms(a), fmt_ms(b)));
    if let Some(d) = &m.divergent_writes {
        let mut notes = vec![format!(
            "only the old writer ({}) has them: acked after the promotion{}",
            d.old_writer,
            d.promotion_ms
                .map(|p| format!(" at {} ±{}", fmt_ms(p), fmt_ms(d.resolution_ms)))
                .unwrap_or_default()
        )];
        notes.extend(span(d.window_ms).map(|w| format!("divergent {w}")));
        notes.extend(span(d.lost_window_ms).map(|w| format!("lost {w}")));
        if d.ambiguous > 0 {
            notes.push(format!("{} during the promotion", d.ambiguous));
        }
        rows.push([
            "divergent_writes".into(),
            format!("{} of {} acked", d.count, m.lost_writes.acked),
            notes.join("; "),
        ]);
        if let Some(g) = &d.demotion {
            let said = match g.demoted {
                Some(true) => "yes",
                Some(false) => "no",
                None => "unknown",
            };
            rows.push(["old_writer_demoted".into(), said.into(), g.detail.clone()]);
        }
    }
    if let Some(f) = &m.fencing {
        rows.push([
            "fencing".into(),
            match f.value_ms {
                Some(v) => format!("{} ±{}", fmt_ms(v), fmt_ms(f.resolution_ms)),
                None if f.note.as_deref().is_some_and(|n| n.starts_with("never")) => "never".into(),
                None => "not observed".into(),
            },
            f.note.clone().unwrap_or_default(),
        ]);
    }
    rows
}

/// How reports written before `revert.verified` existed were verified: by
/// the target they name.
fn legacy_verification(target: &str) -> &'static str {
    if target == "aws" {
        "verified: the state each undo restores holds in the account"
    } else {
        "verified against the state before the run"
    }
}

/// The revert in one or two sentences: how it was verified, and what was left
/// in place on purpose (a database failover is not undone).
pub fn revert_sentence(r: &Report) -> String {
    let mut s = if r.revert.complete {
        let verified = r
            .revert
            .verified
            .clone()
            .unwrap_or_else(|| legacy_verification(&r.environment.target).into());
        format!("Everything was put back and {verified}.")
    } else {
        let mut s = format!(
            "NOT COMPLETE. Remaining differences: {}. Journal: {}",
            r.revert.differences.join("; "),
            r.revert.journal.display()
        );
        if !r.revert.owed.is_empty() {
            s.push_str(&format!(". Still owed: {}", r.revert.owed.join("; ")));
        }
        if let Some(cmd) = &r.revert.finish_with {
            s.push_str(&format!(". Finish it with: {cmd}"));
        }
        s
    };
    for left in &r.revert.not_undone {
        s.push_str(&format!(" Left in place on purpose: {left}."));
    }
    for gap in &r.revert.unrecorded {
        s.push_str(&format!(" Made but not journaled: {gap}."));
    }
    s
}
