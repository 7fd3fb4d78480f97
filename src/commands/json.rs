//! The `--json` documents of `plan`, `validate` and `status`: one object on
//! stdout, named by `schema` and versioned by `version` (docs/cli.md). A new
//! field is added without a new version; a field removed or changed in
//! meaning raises it.

use crate::floor::Floors;
use crate::plan::{Plan, Watch};
use crate::revert::PendingRun;
use crate::scenario::{Objectives, Scenario};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The version of every document here.
pub const VERSION: u32 = 1;

/// Prints a document as one pretty JSON object on stdout.
pub fn print<T: Serialize>(doc: &T) {
    match serde_json::to_string_pretty(doc) {
        Ok(text) => println!("{text}"),
        // Every document here is plain data: this cannot happen.
        Err(e) => eprintln!("gameday: cannot write the JSON document: {e}"),
    }
}

fn ms(d: crate::scenario::duration::HumanDuration) -> f64 {
    d.get().as_secs_f64() * 1000.0
}

/// The declared objectives, in ms.
#[derive(Serialize)]
pub struct ObjectivesDoc {
    rto_ms: f64,
    /// Absent: data loss is not judged (no rpo declared).
    rpo_ms: Option<f64>,
    max_detection_ms: Option<f64>,
    max_dns_flip_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_fencing_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_time_to_capacity_ms: Option<f64>,
    /// Percent of a second's requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    max_error_rate_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_p99_latency_ms: Option<f64>,
}

impl ObjectivesDoc {
    fn of(o: &Objectives) -> ObjectivesDoc {
        ObjectivesDoc {
            rto_ms: ms(o.rto),
            rpo_ms: o.rpo.map(ms),
            max_detection_ms: o.max_detection.map(ms),
            max_dns_flip_ms: o.max_dns_flip.map(ms),
            max_fencing_ms: o.max_fencing.map(ms),
            max_time_to_capacity_ms: o.max_time_to_capacity.map(ms),
            max_error_rate_percent: o.max_error_rate.map(|p| p.0),
            max_p99_latency_ms: o.max_p99_latency.map(ms),
        }
    }
}

/// One timed phase: its floor and the objective that judges it.
#[derive(Serialize)]
pub struct FloorDoc {
    phase: &'static str,
    objective: &'static str,
    floor_ms: Option<f64>,
    why: Option<String>,
    declared_ms: Option<f64>,
    below_floor: bool,
    /// For rto: the first customer's floor (`floor_ms` is the last's).
    #[serde(skip_serializing_if = "Option::is_none")]
    first_customer_ms: Option<f64>,
}

fn floors(floors: &Floors, objectives: &Objectives) -> Vec<FloorDoc> {
    crate::floor::against(floors, objectives)
        .into_iter()
        .map(|a| FloorDoc {
            phase: a.phase,
            objective: a.objective,
            floor_ms: a.floor.map(|f| f.ms),
            why: a.floor.map(|f| f.why.clone()),
            declared_ms: a.declared.map(ms),
            below_floor: a.below_floor(),
            first_customer_ms: match a.phase {
                "rto" => floors.rto_first.as_ref().map(|f| f.ms),
                _ => None,
            },
        })
        .collect()
}

/// One planned change and its undo, in words.
#[derive(Serialize)]
pub struct ChangeDoc {
    fault: String,
    change: String,
    undo: String,
    delay_ms: u64,
    starts_outage: bool,
}

/// `gameday plan --json`.
#[derive(Serialize)]
pub struct PlanDoc<'a> {
    schema: &'static str,
    version: u32,
    scenario: &'a str,
    file: &'a Path,
    target: &'static str,
    attached: bool,
    /// The AWS account and the caller, as STS named them.
    account: Option<String>,
    caller_arn: Option<String>,
    changes: Vec<ChangeDoc>,
    watched: &'a [Watch],
    objectives: ObjectivesDoc,
    floors: Vec<FloorDoc>,
    /// Lint findings and guard warnings, one sentence each.
    warnings: Vec<String>,
    /// Always true: plan changes nothing.
    changed_nothing: bool,
}

impl<'a> PlanDoc<'a> {
    /// The document of a resolved plan.
    pub fn of(
        scenario: &'a Scenario,
        path: &'a Path,
        env: &crate::environment::Env,
        plan: &'a Plan,
    ) -> PlanDoc<'a> {
        let aws = env.aws().map(|a| &a.description);
        let mut warnings = env.plan_warnings(plan);
        warnings.extend(
            crate::floor::impossible(&plan.floors, &scenario.objectives)
                .into_iter()
                .map(|i| i.message),
        );
        warnings.extend(env.lint());
        warnings.extend(plan.floors.capacity_lint.iter().cloned());
        warnings.extend(plan.findings.iter().cloned());
        PlanDoc {
            schema: "gameday.plan",
            version: VERSION,
            scenario: &scenario.name,
            file: path,
            target: env.target_name(),
            attached: env.lab().is_some_and(|l| l.attached),
            account: aws.map(|d| d.account.clone()),
            caller_arn: aws.map(|d| d.caller_arn.clone()),
            changes: plan
                .steps
                .iter()
                .map(|s| ChangeDoc {
                    fault: s.fault.clone(),
                    change: s.apply.summary(),
                    undo: s.undo.summary(),
                    delay_ms: s.delay_ms,
                    starts_outage: s.starts_outage,
                })
                .collect(),
            watched: &plan.watches,
            objectives: ObjectivesDoc::of(&scenario.objectives),
            floors: floors(&plan.floors, &scenario.objectives),
            warnings,
            changed_nothing: true,
        }
    }
}

/// Where a scenario is wrong.
#[derive(Serialize)]
pub struct ErrorDoc {
    line: Option<usize>,
    col: Option<usize>,
    message: String,
}

/// One scenario as `validate --json` found it.
#[derive(Serialize)]
pub struct ValidatedDoc {
    file: PathBuf,
    valid: bool,
    /// Set when the file cannot be used.
    error: Option<ErrorDoc>,
    name: Option<String>,
    target: Option<&'static str>,
    faults: usize,
    probes: usize,
    objectives: Option<ObjectivesDoc>,
    /// Absent on AWS: floors need the account (`gameday plan`).
    floors: Option<Vec<FloorDoc>>,
    warnings: Vec<String>,
}

impl ValidatedDoc {
    /// A file that could not be loaded.
    pub fn refused(path: &Path, e: &crate::scenario::error::ScenarioError) -> ValidatedDoc {
        use crate::scenario::error::ScenarioError;
        let (line, col, message) = match e {
            ScenarioError::Invalid {
                line, col, message, ..
            } => (Some(*line), Some(*col), message.clone()),
            other => (None, None, other.to_string()),
        };
        ValidatedDoc {
            file: path.to_path_buf(),
            valid: false,
            error: Some(ErrorDoc { line, col, message }),
            name: None,
            target: None,
            faults: 0,
            probes: 0,
            objectives: None,
            floors: None,
            warnings: Vec::new(),
        }
    }

    /// A file that loaded; `valid` is false only under --strict with an
    /// objective below its floor.
    pub fn loaded(
        path: &Path,
        s: &Scenario,
        checked: Option<(&Floors, Vec<String>)>,
        valid: bool,
    ) -> ValidatedDoc {
        let (floors_doc, warnings) = match checked {
            Some((f, warnings)) => (Some(floors(f, &s.objectives)), warnings),
            None => (None, Vec::new()),
        };
        ValidatedDoc {
            file: path.to_path_buf(),
            valid,
            error: None,
            name: Some(s.name.clone()),
            target: Some(s.target.as_str()),
            faults: s.faults.len(),
            probes: s.probes.len(),
            objectives: Some(ObjectivesDoc::of(&s.objectives)),
            floors: floors_doc,
            warnings,
        }
    }

    /// Whether the file is usable.
    pub fn valid(&self) -> bool {
        self.valid
    }
}

/// `gameday validate --json`.
#[derive(Serialize)]
pub struct ValidateDoc {
    schema: &'static str,
    version: u32,
    valid: bool,
    scenarios: Vec<ValidatedDoc>,
}

impl ValidateDoc {
    /// The document of every file validated.
    pub fn of(scenarios: Vec<ValidatedDoc>) -> ValidateDoc {
        ValidateDoc {
            schema: "gameday.validate",
            version: VERSION,
            valid: scenarios.iter().all(ValidatedDoc::valid),
            scenarios,
        }
    }
}

/// One undo a journal still owes.
#[derive(Serialize)]
pub struct OwedDoc {
    /// The 1-based step of the run; absent for the lease.
    step: Option<usize>,
    lease: bool,
    undo: String,
}

/// One run with pending undos.
#[derive(Serialize)]
pub struct RunDoc {
    run_id: String,
    journal: PathBuf,
    target: String,
    lab_control: Option<String>,
    account: Option<String>,
    profile: Option<String>,
    /// RFC 3339, UTC.
    started: Option<String>,
    pid: Option<u32>,
    host: Option<String>,
    /// In progress: another process holds the journal.
    live: bool,
    /// Why `gameday revert` would refuse this journal, if it would.
    not_trusted: Option<String>,
    pending: Vec<OwedDoc>,
}

/// `gameday status --json`.
#[derive(Serialize)]
pub struct StatusDoc<'a> {
    schema: &'static str,
    version: u32,
    dir: &'a Path,
    runs: Vec<RunDoc>,
}

impl<'a> StatusDoc<'a> {
    /// The document of every run under `dir` that owes undos.
    pub fn of(dir: &'a Path, pending: &[PendingRun]) -> StatusDoc<'a> {
        StatusDoc {
            schema: "gameday.status",
            version: VERSION,
            dir,
            runs: pending.iter().map(run).collect(),
        }
    }
}

fn run(r: &PendingRun) -> RunDoc {
    RunDoc {
        run_id: r.run_id.clone(),
        journal: r.journal.clone(),
        target: r.target.clone(),
        lab_control: r.control.clone(),
        account: r.scope.as_ref().map(|s| s.account.clone()),
        profile: r.profile.clone(),
        started: r.started.map(|t| t.to_rfc3339()),
        pid: r.pid,
        host: r.host.clone(),
        live: r.live,
        not_trusted: crate::revert::trust::offline(r, chrono::Utc::now(), false).err(),
        pending: r
            .pending
            .iter()
            .map(|p| OwedDoc {
                step: (!p.undo.is_lease()).then_some(p.step + 1),
                lease: p.undo.is_lease(),
                undo: p.undo.summary(),
            })
            .collect(),
    }
}
