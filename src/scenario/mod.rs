//! Scenario files: what to break, how to watch, what the objectives are.
//!
//! Loading is strict: unknown keys, wrong types and impossible values are each
//! reported as one line naming `file:line:col`, and nothing runs.

pub mod duration;
pub mod error;
pub mod guards;
pub mod region;
pub mod selection;

use crate::fault::{self, Fault};
use crate::lab::LabParams;
use crate::probe::{self, Probe, ProbeKind};
use duration::HumanDuration;
use error::{ScenarioError, Source};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use toml::de::{DeTable, DeValue};

/// Where a scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The embedded lab (default).
    #[default]
    Lab,
    /// An AWS account, through the official SDK.
    Aws,
}

impl Target {
    /// As written in scenarios.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Lab => "lab",
            Target::Aws => "aws",
        }
    }
}

/// Declared limits the run is judged against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objectives {
    /// Recovery time objective: t0 to customers served again, stably.
    pub rto: HumanDuration,
    /// Recovery point objective: the window of acked writes that may be lost.
    /// Absent for a game day that does not touch data: it needs no canary,
    /// and the report says data loss was not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo: Option<HumanDuration>,
    /// Longest acceptable time for health checks to call the primary unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_detection: Option<HumanDuration>,
    /// Longest acceptable time for DNS to answer the secondary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_dns_flip: Option<HumanDuration>,
    /// Longest acceptable time from the standby's promotion until the old
    /// writer refuses writes ("never" breaches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fencing: Option<HumanDuration>,
    /// Longest acceptable time from t0 until the secondary holds the
    /// `[load]` (`capacity_recovered`; "never" breaches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_time_to_capacity: Option<HumanDuration>,
    /// The largest share of a second's load that may fail once the
    /// secondary holds it; also what "holding" allows (default 1%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_error_rate: Option<duration::Percent>,
    /// The largest p99 latency of a second of the load once the secondary
    /// holds it; also what "holding" allows (default 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_p99_latency: Option<HumanDuration>,
    /// Each customer probe's own rto (the `rto` key of an `http` probe),
    /// judged on that probe alone. Filled from the probes, never read from
    /// `[objectives]` (a report reads it back: `report::objectives`).
    #[serde(default, skip_deserializing, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientObjective>,
    /// The population's rto (its own, or the scenario's) and its classes'
    /// own, each judged at the population's `rto_percentile`. Filled from
    /// the `customers` probe, as `clients` is.
    #[serde(default, skip_deserializing, skip_serializing_if = "Vec::is_empty")]
    pub population: Vec<PopulationObjective>,
}

/// A population's rto, or one of its classes', judged at a percentile of
/// its simulated clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationObjective {
    /// The `customers` probe.
    pub probe: String,
    /// The class, for a class's own rto.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// The percentile of clients judged.
    pub percentile: u8,
    /// The rto.
    pub rto: HumanDuration,
}

impl PopulationObjective {
    /// How reports name it, inside `rto (...)`: `customers, p90` or
    /// `customers: jvm, p90`.
    pub fn name(&self) -> String {
        match &self.class {
            Some(c) => format!("{}: {c}, p{}", self.probe, self.percentile),
            None => format!("{}, p{}", self.probe, self.percentile),
        }
    }
}

/// One customer probe's own rto.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientObjective {
    /// The probe.
    pub probe: String,
    /// Its rto.
    pub rto: HumanDuration,
    /// Its client keeps the old answer forever: the objective cannot hold.
    #[serde(skip)]
    pub forever: bool,
}

impl Objectives {
    /// `rpo 5s`, or that the run does not judge data loss.
    pub fn rpo_words(&self) -> String {
        match self.rpo {
            Some(rpo) => format!("rpo {rpo}"),
            None => "no rpo (data loss not measured)".into(),
        }
    }
}

fn default_baseline() -> HumanDuration {
    HumanDuration(Duration::from_secs(2))
}
fn default_stable_for() -> HumanDuration {
    HumanDuration(Duration::from_secs(2))
}
fn default_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(60))
}
fn default_revert_timeout() -> HumanDuration {
    HumanDuration(crate::undo::DEFAULT_REVERT_TIMEOUT)
}
fn default_observe_at_least() -> HumanDuration {
    HumanDuration(Duration::from_secs(5))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    target: Target,
    objectives: Objectives,
    #[serde(default = "default_baseline")]
    baseline: HumanDuration,
    #[serde(default = "default_stable_for")]
    stable_for: HumanDuration,
    #[serde(default = "default_timeout")]
    timeout: HumanDuration,
    #[serde(default = "default_observe_at_least")]
    observe_at_least: HumanDuration,
    #[serde(default)]
    max_duration: Option<HumanDuration>,
    #[serde(default = "default_revert_timeout")]
    revert_timeout: HumanDuration,
    #[serde(default)]
    guards: guards::Guards,
    #[serde(default)]
    lab: LabParams,
    #[serde(default)]
    aws: Option<crate::aws::AwsParams>,
    #[serde(default)]
    metrics: crate::publish::MetricsParams,
    #[serde(default)]
    load: Option<crate::probe::load::LoadParams>,
    #[serde(default)]
    #[serde(rename = "faults")]
    _faults: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    #[serde(rename = "probes")]
    _probes: Vec<serde::de::IgnoredAny>,
    #[serde(default, rename = "stop_conditions")]
    _stop_conditions: Vec<serde::de::IgnoredAny>,
}

/// A loaded, validated scenario.
pub struct Scenario {
    /// Where it was loaded from.
    pub file: PathBuf,
    /// The file's text, kept for the report.
    pub text: String,
    /// Short name, used in run ids.
    pub name: String,
    /// What the game day rehearses.
    pub description: String,
    /// Where it runs.
    pub target: Target,
    /// What it is judged against.
    pub objectives: Objectives,
    /// Steady-state period before the fault.
    pub baseline: Duration,
    /// How long customers must be served without a failure to count as recovered.
    pub stable_for: Duration,
    /// Longest the observation may last after t0 before the run is aborted.
    pub timeout: Duration,
    /// Shortest observation after t0, so a late outage is not missed.
    pub observe_at_least: Duration,
    /// Hard deadline for the whole run: when it passes, revert, whatever is happening.
    pub max_duration: Option<Duration>,
    /// Longest the revert keeps trying an API that fails or hangs before it
    /// stops, exits 4 and names what is still owed.
    pub revert_timeout: Duration,
    /// When the game day may run.
    pub guards: guards::Guards,
    /// Signals that end the run early (revert, exit 3).
    pub stop_conditions: Vec<Box<dyn crate::stop::StopCondition>>,
    /// Lab parameters.
    pub lab: LabParams,
    /// The `[aws]` table, for target = "aws".
    pub aws: Option<crate::aws::AwsParams>,
    /// Where the figures are published after the run (`[metrics]`).
    pub metrics: crate::publish::MetricsParams,
    /// What to break, in order.
    pub faults: Vec<Box<dyn Fault>>,
    /// What to watch.
    pub probes: Vec<Arc<dyn Probe>>,
    /// The `[load]`'s rate a second, when it has one (the load itself is
    /// among `probes`).
    pub load_rate: Option<f64>,
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scenario")
            .field("file", &self.file)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Probes one scenario may have.
pub const MAX_PROBES: usize = 16;
/// Requests per second all probes of a scenario may send together: a
/// scenario pointed at a production endpoint must not be a flood.
pub const MAX_REQUEST_RATE: f64 = 400.0;
/// The shortest probe interval on AWS: real endpoints and APIs are not
/// polled faster than this.
pub const AWS_MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Each customer probe's own rto, as objectives.
fn client_objectives(probes: &[Arc<dyn Probe>]) -> Vec<ClientObjective> {
    probes
        .iter()
        .filter_map(|p| {
            Some(ClientObjective {
                probe: p.name().to_string(),
                rto: p.rto()?,
                forever: p.client()?.keeps_answer(Duration::ZERO).is_none(),
            })
        })
        .collect()
}

/// The population's rto and its classes' own, as objectives.
fn population_objectives(
    probes: &[Arc<dyn Probe>],
    rto: Duration,
    stable_for: Duration,
) -> Vec<PopulationObjective> {
    let Some(p) = probes.iter().find_map(|p| p.population(rto, stable_for)) else {
        return Vec::new();
    };
    let objective = |class: Option<String>, rto| PopulationObjective {
        probe: p.probe.clone(),
        class,
        percentile: p.percentile,
        rto: HumanDuration(rto),
    };
    let mut out = vec![objective(None, p.rto)];
    out.extend(
        p.classes
            .iter()
            .filter_map(|c| Some(objective(Some(c.label.clone()), c.rto?))),
    );
    out
}

/// The caps on probes: how many, how many requests a second together (on
/// the lab a population is bounded on its own: it stays on loopback).
fn bounds(probes: &[Arc<dyn Probe>], target: Target) -> Result<(), String> {
    if probes.len() > MAX_PROBES {
        return Err(format!(
            "{} probes; at most {MAX_PROBES} per scenario (docs/scenarios.md, \"Bounds\")",
            probes.len()
        ));
    }
    let rate: f64 = probes
        .iter()
        .filter(|p| {
            target == Target::Aws || !matches!(p.kind(), ProbeKind::Customers | ProbeKind::Load)
        })
        .map(|p| p.requests_per_tick() as f64 / p.interval().as_secs_f64())
        .sum();
    if rate > MAX_REQUEST_RATE {
        return Err(format!(
            "the probes send {rate:.0} requests a second together; at most {MAX_REQUEST_RATE:.0} (fewer probes, fewer requests per tick or longer intervals)"
        ));
    }
    Ok(())
}

/// On AWS, no probe runs faster than [`AWS_MIN_INTERVAL`].
fn aws_interval(p: &dyn Probe, target: Target) -> Result<(), (&'static str, String)> {
    if target == Target::Aws && p.interval() < AWS_MIN_INTERVAL {
        return Err((
            "interval",
            format!(
                "probe \"{}\" runs every {}; on AWS probe at most every {} (interval = \"100ms\" or more)",
                p.name(),
                humantime::format_duration(p.interval()),
                humantime::format_duration(AWS_MIN_INTERVAL)
            ),
        ));
    }
    Ok(())
}

impl Scenario {
    /// SHA-256 of the file's text, hex: which scenario a journal or report
    /// belongs to, whatever its path.
    pub fn sha256(&self) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(self.text.as_bytes()))
    }

    /// The probes of one kind.
    pub fn probes_of(&self, kind: ProbeKind) -> impl Iterator<Item = &Arc<dyn Probe>> {
        self.probes.iter().filter(move |p| p.kind() == kind)
    }
}

/// Reads and validates a scenario file.
pub fn load(file: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(file).map_err(|source| ScenarioError::Unreadable {
        file: file.to_path_buf(),
        source,
    })?;
    parse(file, &text)
}

/// The span of the value at `key` in a table, if present.
fn key_span(table: &DeTable<'_>, key: &str) -> Option<Range<usize>> {
    table.get(key).map(|v| v.span())
}

fn table_of<'a>(value: &'a DeValue<'a>) -> Option<&'a DeTable<'a>> {
    match value {
        DeValue::Table(t) => Some(t),
        _ => None,
    }
}

/// How a registry builds its entry (fault, probe, stop condition) from a table.
type ParseTable<T> = fn(toml::de::ValueDeserializer<'_>) -> Result<T, toml::de::Error>;

/// One `[[...]]` table of a scenario, with its span.
type Item<'a> = serde_spanned::Spanned<DeValue<'a>>;

/// Parses every `[[key]]` table through `registry` by its `kind`. Each table is
/// deserialized on its own so that an error inside it points at the exact key.
fn parse_tables<'a, T>(
    src: &Source<'_>,
    root: &DeTable<'a>,
    key: &str,
    what: &str,
    registry: &[(&str, ParseTable<T>)],
) -> Result<Vec<(Item<'a>, T)>, ScenarioError> {
    let items: Vec<Item<'a>> = match root.get(key).map(|v| v.get_ref()) {
        Some(DeValue::Array(a)) => a.iter().cloned().collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for item in items {
        let table = table_of(item.get_ref()).ok_or_else(|| {
            src.error(
                Some(item.span()),
                format!("each [[{key}]] entry must be a table"),
            )
        })?;
        let kind = match table.get("kind").map(|k| (k.span(), k.get_ref())) {
            Some((_, DeValue::String(s))) => s.to_string(),
            Some((span, _)) => return Err(src.error(Some(span), "kind must be a string")),
            None => {
                return Err(src.error(
                    Some(item.span()),
                    format!("this [[{key}]] entry has no kind; add kind = \"...\""),
                ))
            }
        };
        let Some((_, parse)) = registry.iter().find(|(k, _)| *k == kind) else {
            let known: Vec<&str> = registry.iter().map(|(k, _)| *k).collect();
            return Err(src.error(
                key_span(table, "kind"),
                format!(
                    "unknown {what} kind \"{kind}\"; known kinds: {}",
                    known.join(", ")
                ),
            ));
        };
        let parsed = parse(toml::de::ValueDeserializer::from(item.clone()))
            .map_err(|e| src.toml_error(&e))?;
        out.push((item, parsed));
    }
    Ok(out)
}

/// Parses and validates scenario text; `file` is used in messages.
pub fn parse(file: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let src = Source { file, text };
    let root = DeTable::parse(text).map_err(|e| src.toml_error(&e))?;
    let root_table = root.get_ref();
    let raw: RawScenario = toml::from_str(text).map_err(|e| src.toml_error(&e))?;
    let at_key = |key: &str| key_span(root_table, key);
    // `key` may be dotted (`autoscaling.min`): the deepest table found.
    let sub_key = |table: &str, key: &str| {
        let mut t = root_table.get(table).and_then(|t| table_of(t.get_ref()));
        let mut parts = key.split('.').peekable();
        while let (Some(part), Some(inner)) = (parts.next(), t) {
            if parts.peek().is_none() {
                return key_span(inner, part).or_else(|| at_key(table));
            }
            match inner.get(part).and_then(|v| table_of(v.get_ref())) {
                Some(deeper) => t = Some(deeper),
                None => return key_span(inner, part).or_else(|| at_key(table)),
            }
        }
        at_key(table)
    };

    let name_ok = !raw.name.is_empty()
        && raw.name.len() <= 64
        && raw
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !name_ok {
        return Err(src.error(
            at_key("name"),
            format!("name \"{}\" must be 1 to 64 letters, digits, '-', '_' or '.'; it names the run's report folder", raw.name),
        ));
    }
    if let Err((key, msg)) = raw.lab.check() {
        return Err(src.error(sub_key("lab", key), msg));
    }
    match (raw.target, &raw.aws) {
        (Target::Aws, None) => {
            return Err(src.error(
                at_key("target"),
                "target = \"aws\" needs an [aws] table: primary_region, secondary_region, allowed_accounts, hosted_zone_id, record_name, endpoint, primary_health_check",
            ))
        }
        (Target::Lab, Some(_)) => {
            return Err(src.error(
                at_key("aws"),
                "the [aws] table only applies with target = \"aws\"; add that line or remove the table",
            ))
        }
        (Target::Aws, Some(aws)) => {
            if let Err((key, msg)) = aws.check() {
                return Err(src.error(sub_key("aws", key), msg));
            }
            if root_table.contains_key("lab") {
                return Err(src.error(
                    at_key("lab"),
                    "the [lab] table only applies with target = \"lab\"; remove it",
                ));
            }
        }
        (Target::Lab, None) => {}
    }
    let stable_for = raw.stable_for.get();
    if stable_for < Duration::from_millis(100) {
        return Err(src.error(
            at_key("stable_for"),
            "stable_for must be at least 100ms, or one lucky probe counts as recovery",
        ));
    }
    if raw.baseline.get() < Duration::from_millis(500) {
        return Err(src.error(
            at_key("baseline"),
            "baseline must be at least 500ms to prove the steady state",
        ));
    }
    if raw.timeout.get() <= stable_for {
        return Err(src.error(
            at_key("timeout"),
            format!(
                "timeout {} leaves no room to observe stable_for {}; make timeout longer",
                raw.timeout, raw.stable_for
            ),
        ));
    }
    if raw.observe_at_least > raw.timeout {
        return Err(src.error(
            at_key("observe_at_least"),
            "observe_at_least is longer than timeout; shorten it or raise timeout",
        ));
    }
    if let Some(max) = raw.max_duration {
        let needed = raw.baseline.get() + stable_for;
        if max.get() <= needed {
            return Err(src.error(
                at_key("max_duration"),
                format!("max_duration {max} leaves no room for the baseline and stable_for ({}); make it longer", humantime::format_duration(needed)),
            ));
        }
    }
    if raw.revert_timeout.get() < Duration::from_secs(1) {
        return Err(src.error(
            at_key("revert_timeout"),
            "revert_timeout must be at least 1s, or no undo gets a chance to be made",
        ));
    }
    if let Err((key, msg)) = raw.metrics.check() {
        return Err(src.error(sub_key("metrics", key), msg));
    }
    if raw.objectives.rto.get().is_zero() {
        return Err(src.error(
            sub_key("objectives", "rto"),
            "rto = \"0s\" can never be met by a failover; declare the time customers may wait",
        ));
    }

    let mut faults: Vec<Box<dyn Fault>> = Vec::new();
    for (item, f) in parse_tables(&src, root_table, "faults", "fault", fault::REGISTRY)? {
        if let Err((key, why)) = f.check_target(raw.target) {
            let span = table_of(item.get_ref())
                .and_then(|t| key_span(t, key))
                .or(Some(item.span()));
            return Err(src.error(span, why));
        }
        faults.push(f);
    }
    if faults.is_empty() {
        return Err(src.error(
            at_key("faults"),
            "the scenario breaks nothing; add a [[faults]] table, e.g. kind = \"deregister-targets\"",
        ));
    }

    let mut probes: Vec<Arc<dyn Probe>> = Vec::new();
    let mut populations = Vec::new();
    for (item, p) in parse_tables(&src, root_table, "probes", "probe", probe::REGISTRY)? {
        if probes.iter().any(|q| q.name() == p.name()) {
            return Err(src.error(
                Some(item.span()),
                format!(
                    "two probes are named \"{}\"; give each a distinct name = \"...\"",
                    p.name()
                ),
            ));
        }
        if let Err((key, why)) = p
            .check_target(raw.target)
            .and_then(|()| aws_interval(p.as_ref(), raw.target))
        {
            let span = table_of(item.get_ref())
                .and_then(|t| key_span(t, key))
                .or(Some(item.span()));
            return Err(src.error(span, why));
        }
        if p.kind() == ProbeKind::Customers {
            populations.push(item.span());
        }
        probes.push(Arc::from(p));
    }
    let load_rate = raw.load.as_ref().map(|l| l.rate.0);
    let o = &raw.objectives;
    let capacity_keys = [
        ("max_time_to_capacity", o.max_time_to_capacity.is_some()),
        ("max_error_rate", o.max_error_rate.is_some()),
        ("max_p99_latency", o.max_p99_latency.is_some()),
    ];
    if let (Some((key, _)), None) = (capacity_keys.iter().find(|(_, set)| *set), &raw.load) {
        return Err(src.error(
            sub_key("objectives", key),
            format!("{key} judges the standby under the customers' load; add a [load] table (rate and cap) or remove it"),
        ));
    }
    if let Some(load) = raw.load {
        if let Err((key, why)) = load.check(raw.target) {
            return Err(src.error(sub_key("load", key), why));
        }
        if probes.iter().any(|p| p.name() == crate::probe::load::NAME) {
            return Err(src.error(
                at_key("load"),
                "a probe is named \"load\", the name the [load] table's entries carry; rename that probe",
            ));
        }
        probes.push(Arc::new(crate::probe::load::Load::new(load)));
    }
    if let Err(why) = bounds(&probes, raw.target) {
        return Err(src.error(at_key("probes"), why));
    }
    let has = |k: ProbeKind| probes.iter().any(|p| p.kind() == k);
    if let Some(span) = populations.get(1) {
        return Err(src.error(
            Some(span.clone()),
            "a second customers probe; one population per scenario (give it more classes instead)",
        ));
    }
    if !has(ProbeKind::Http) {
        return Err(src.error(
            at_key("probes"),
            "no customer probe: add a [[probes]] table with kind = \"http\"; without it rto cannot be measured",
        ));
    }
    if raw.objectives.rpo.is_some() && !has(ProbeKind::Canary) {
        return Err(src.error(
            sub_key("objectives", "rpo"),
            "rpo is declared but no probe measures lost writes; add a [[probes]] table with kind = \"canary\"",
        ));
    }
    if raw.objectives.max_detection.is_some() && !has(ProbeKind::HealthCheck) {
        return Err(src.error(
            sub_key("objectives", "max_detection"),
            "max_detection is declared but nothing watches the health checks; add [[probes]] kind = \"health-check\"",
        ));
    }
    let isolates = faults
        .iter()
        .any(|f| f.kind() == fault::isolate_region::KIND);
    let both = probes.iter().any(|p| p.watches_both_writers());
    if isolates && has(ProbeKind::Canary) && !both {
        return Err(src.error(
            at_key("probes"),
            "isolate-region leaves two writers, and a canary reading back through an app may read the old one and count nothing; add both_writers = true to the [[probes]] kind = \"canary\" table",
        ));
    }
    if raw.objectives.max_fencing.is_some() && !both {
        return Err(src.error(
            sub_key("objectives", "max_fencing"),
            "max_fencing is declared but nothing watches the old writer; add both_writers = true to the [[probes]] kind = \"canary\" table",
        ));
    }
    if raw.objectives.max_dns_flip.is_some() && !has(ProbeKind::Dns) {
        return Err(src.error(
            sub_key("objectives", "max_dns_flip"),
            "max_dns_flip is declared but nothing watches DNS; add [[probes]] kind = \"dns\"",
        ));
    }

    let mut stop_conditions = Vec::new();
    for (item, condition) in parse_tables(
        &src,
        root_table,
        "stop_conditions",
        "stop condition",
        crate::stop::REGISTRY,
    )? {
        if let Err((key, why)) = condition.check_probes(&probes) {
            let span = table_of(item.get_ref())
                .and_then(|t| key_span(t, key))
                .or(Some(item.span()));
            return Err(src.error(span, why));
        }
        stop_conditions.push(condition);
    }

    Ok(Scenario {
        file: file.to_path_buf(),
        text: text.to_string(),
        name: raw.name,
        description: raw.description,
        target: raw.target,
        objectives: Objectives {
            clients: client_objectives(&probes),
            population: population_objectives(&probes, raw.objectives.rto.get(), stable_for),
            ..raw.objectives
        },
        baseline: raw.baseline.get(),
        stable_for,
        timeout: raw.timeout.get(),
        observe_at_least: raw.observe_at_least.get(),
        max_duration: raw.max_duration.map(HumanDuration::get),
        revert_timeout: raw.revert_timeout.get(),
        guards: raw.guards,
        stop_conditions,
        lab: raw.lab,
        aws: raw.aws,
        metrics: raw.metrics,
        faults,
        probes,
        load_rate,
    })
}
