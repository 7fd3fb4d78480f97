//! The plan: every change a run will make, resolved to concrete resources, each
//! with its undo, and what will be watched. `gameday plan` stops here.

use crate::environment::Env;
use crate::fault::Fault;
use crate::lab::LabCall;
use crate::probe::Probe;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One change to an environment. Serializable, so the journal can replay undos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "target", rename_all = "kebab-case")]
pub enum Action {
    /// A call to the lab's control API.
    Lab(LabCall),
    /// A call to AWS.
    Aws(crate::aws::AwsCall),
}

impl Action {
    /// Why this "undo" deliberately leaves the change in place (a database
    /// failover), if it does.
    pub fn not_undone(&self) -> Option<&str> {
        match self {
            Action::Aws(crate::aws::AwsCall::NotUndone { why }) => Some(why),
            _ => None,
        }
    }

    /// Whether this is exactly the undo gameday plans for `change`.
    pub fn is_undo_of(&self, change: &Action) -> bool {
        match (change, self) {
            (Action::Lab(c), Action::Lab(u)) => u.is_undo_of(c),
            (Action::Aws(c), Action::Aws(u)) => u.is_undo_of(c),
            _ => false,
        }
    }

    /// Whether this is the game day's lease rather than a change to the
    /// environment (released last, after every undo).
    pub fn is_lease(&self) -> bool {
        match self {
            Action::Lab(call) => call.is_lease(),
            Action::Aws(call) => call.is_lease(),
        }
    }

    /// The action in a few words.
    pub fn summary(&self) -> String {
        match self {
            Action::Lab(call) => call.summary(),
            Action::Aws(call) => call.summary(),
        }
    }
}

/// One planned change and its undo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The fault kind that asked for it.
    pub fault: String,
    /// The change.
    pub apply: Action,
    /// How to put things back.
    pub undo: Action,
    /// Wait this long after the previous step before making this change, ms.
    #[serde(default)]
    pub delay_ms: u64,
    /// Whether this change starts the outage: t0 is when the first such step took
    /// effect. Preparations (cutting replication first) do not.
    #[serde(default = "yes")]
    pub starts_outage: bool,
}

fn yes() -> bool {
    true
}

impl Step {
    /// A change that starts the outage at once.
    pub fn outage(fault: &str, apply: Action, undo: Action) -> Step {
        Step {
            fault: fault.into(),
            apply,
            undo,
            delay_ms: 0,
            starts_outage: true,
        }
    }
}

/// A fault that cannot be resolved against the environment.
#[derive(Debug, thiserror::Error)]
#[error("fault #{index} ({kind}): {reason}")]
pub struct PlanError {
    /// 1-based position of the fault in the scenario.
    pub index: usize,
    /// Fault kind.
    pub kind: String,
    /// What is wrong and what to do.
    pub reason: String,
}

/// A probe as the plan shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Watch {
    /// Probe name.
    pub name: String,
    /// Probe kind.
    pub kind: String,
    /// What it watches.
    pub watches: String,
    /// Interval, which is the resolution of what it measures.
    pub interval_ms: u64,
}

/// What a run will do.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Plan {
    /// Changes, in the order they are made; undone in reverse.
    pub steps: Vec<Step>,
    /// Probes.
    pub watches: Vec<Watch>,
    /// The fastest each phase can be with this configuration.
    #[serde(default)]
    pub floors: crate::floor::Floors,
    /// What the probes found wrong in what they will watch (the standby's
    /// groups on AWS), as warnings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
}

/// Resolves every fault against the environment. Changes nothing. `run_id`
/// names what the run will create (tags), so undos can find it.
pub async fn resolve(
    faults: &[Box<dyn Fault>],
    probes: &[Arc<dyn Probe>],
    env: &Env,
    run_id: &str,
) -> Result<Plan, PlanError> {
    let mut steps = Vec::new();
    for (i, f) in faults.iter().enumerate() {
        let resolved = f.plan(env, run_id).await.map_err(|reason| PlanError {
            index: i + 1,
            kind: f.kind().to_string(),
            reason,
        })?;
        if let Some(odd) = resolved.iter().find(|s| !s.undo.is_undo_of(&s.apply)) {
            return Err(PlanError {
                index: i + 1,
                kind: f.kind().to_string(),
                reason: format!(
                    "internal error: the planned undo \"{}\" does not undo \"{}\"; a revert would refuse it, so nothing runs (please report this)",
                    odd.undo.summary(),
                    odd.apply.summary()
                ),
            });
        }
        steps.extend(resolved);
    }
    let watches = probes
        .iter()
        .map(|p| Watch {
            name: p.name().to_string(),
            kind: p.kind().as_str().to_string(),
            watches: p.describe(env),
            interval_ms: p.shown_interval().as_millis() as u64,
        })
        .collect();
    let mut findings = Vec::new();
    for p in probes {
        findings.extend(p.lint(env).await);
    }
    Ok(Plan {
        findings,
        steps,
        watches,
        floors: floors_of(faults, &env.floor_inputs().for_probes(probes)),
    })
}

/// The floors of a set of faults under some configuration.
pub fn floors_of(
    faults: &[Box<dyn Fault>],
    inputs: &crate::floor::FloorInputs,
) -> crate::floor::Floors {
    crate::floor::combine(
        faults
            .iter()
            .map(|f| {
                let (path, mode) = f.recovery();
                crate::floor::Floors {
                    data_loss: f.data_loss(inputs),
                    ..crate::floor::compute(inputs, path, mode)
                }
            })
            .collect(),
    )
}

/// Floor against objective for each timed phase, as text for a terminal, with a
/// warning line for each objective below its floor.
pub fn render_floors(
    floors: &crate::floor::Floors,
    objectives: &crate::scenario::Objectives,
) -> String {
    use crate::report::fmt_ms;
    let mut out =
        String::from("Floors (the fastest this configuration allows) against objectives:\n");
    for a in crate::floor::against(floors, objectives) {
        let floor_text = a.floor.map(|f| fmt_ms(f.ms)).unwrap_or_else(|| "-".into());
        let objective_text = a
            .declared
            .map(|o| o.to_string())
            .unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "  {:<10} floor {floor_text:>8} | objective {objective_text}\n",
            a.phase
        ));
    }
    for o in &objectives.population {
        let floor = floors.population.iter().find(|f| f.class == o.class);
        let floor_text = match floor.map(|f| f.ms) {
            Some(Some(ms)) => fmt_ms(ms),
            Some(None) => "never".into(),
            None => "-".into(),
        };
        out.push_str(&format!(
            "  rto ({}) floor {floor_text:>8} | objective {}\n",
            o.name(),
            o.rto
        ));
    }
    if let (Some(first), Some(_)) = (&floors.rto_first, &floors.rto) {
        out.push_str(&format!(
            "  (the rto floor is the last customer's; the first can be served from {})\n",
            fmt_ms(first.ms)
        ));
    }
    for bad in crate::floor::impossible(floors, objectives) {
        out.push_str(&format!("warning: {}\n", bad.message));
    }
    for finding in &floors.capacity_lint {
        out.push_str(&format!("warning: {finding}\n"));
    }
    out
}

/// Lint findings for the environment's failover configuration, as warning lines.
pub fn render_lint(env: &Env) -> String {
    env.lint()
        .into_iter()
        .map(|f| format!("warning: {f}\n"))
        .collect()
}

impl Plan {
    /// The plan as text for a terminal.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("Changes (made in this order, undone in reverse):\n");
        for (i, s) in self.steps.iter().enumerate() {
            if s.delay_ms > 0 {
                out.push_str(&format!("     (then wait {} ms)\n", s.delay_ms));
            }
            out.push_str(&format!(
                "  {}. [{}] {}\n     undo: {}\n",
                i + 1,
                s.fault,
                s.apply.summary(),
                s.undo.summary()
            ));
        }
        out.push_str("Watched:\n");
        for w in &self.watches {
            out.push_str(&format!(
                "  - {} ({}, every {} ms): {}\n",
                w.name, w.kind, w.interval_ms, w.watches
            ));
        }
        out
    }
}
