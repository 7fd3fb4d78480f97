//! `gameday plan`: resolve what will be broken, how it will be undone and what is
//! watched. Changes nothing: an embedded lab is started only to resolve against;
//! on AWS only read calls are made.

use super::scenario_and_runtime;
use crate::environment::Env;
use crate::scenario::Scenario;
use crate::words::ExitStatus;
use std::path::Path;

/// How `gameday plan` was asked to run.
#[derive(Default)]
pub struct Flags<'a> {
    /// `--profile`.
    pub profile: Option<&'a str>,
    /// `--strict`: exit 2 when an objective is below its floor.
    pub strict: bool,
    /// `--runner-not-on-aws`.
    pub runner_not_on_aws: bool,
    /// `--json`: the documented object (docs/cli.md) instead of text.
    pub json: bool,
}

/// Prints the plan of a scenario.
pub fn plan(path: &Path, attach: Option<crate::lab::LabClient>, flags: Flags) -> ExitStatus {
    let (mut scenario, rt) = match scenario_and_runtime(path) {
        Ok(both) => both,
        Err(code) => return code,
    };
    super::declare_runner_not_on_aws(&mut scenario, flags.runner_not_on_aws);
    rt.block_on(async {
        let connected = match crate::environment::connect(&scenario, attach, flags.profile).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("gameday: {}: {e}", path.display());
                return ExitStatus::Invalid;
            }
        };
        let code = show(&scenario, path, &connected.env, &flags).await;
        connected.stop();
        code
    })
}

/// Resolves the plan and prints it with its floors and lint.
async fn show(scenario: &Scenario, path: &Path, env: &Env, flags: &Flags<'_>) -> ExitStatus {
    let plan = match crate::plan::resolve(&scenario.faults, &scenario.probes, env, "<run-id>").await
    {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("gameday: {}: {e}", path.display());
            return ExitStatus::Invalid;
        }
    };
    if flags.json {
        super::json::print(&super::json::PlanDoc::of(scenario, path, env, &plan));
    } else {
        print_text(scenario, path, env, &plan);
    }
    if flags.strict && !crate::floor::impossible(&plan.floors, &scenario.objectives).is_empty() {
        eprintln!(
            "gameday: {}: an objective is below its floor (--strict)",
            path.display()
        );
        ExitStatus::Invalid
    } else {
        ExitStatus::Ok
    }
}

/// The plan for a terminal.
fn print_text(scenario: &Scenario, path: &Path, env: &Env, plan: &crate::plan::Plan) {
    print!(
        "Plan for {} ({}), {}",
        scenario.name,
        path.display(),
        env.plan_header(plan)
    );
    print!("{}", plan.render());
    println!("{}", objectives_line(&scenario.objectives));
    print!(
        "{}",
        crate::plan::render_floors(&plan.floors, &scenario.objectives)
    );
    print!("{}", crate::plan::render_lint(env));
    for finding in &plan.findings {
        println!("warning: {finding}");
    }
    println!("Nothing was changed.");
}

fn objectives_line(o: &crate::scenario::Objectives) -> String {
    let clients: String = o
        .clients
        .iter()
        .map(|c| format!(", rto ({}) {}", c.probe, c.rto))
        .chain(
            o.population
                .iter()
                .map(|p| format!(", rto ({}) {}", p.name(), p.rto)),
        )
        .collect();
    format!(
        "Objectives: rto {}, {}{}{}{clients}",
        o.rto,
        o.rpo_words(),
        o.max_detection
            .map(|d| format!(", max_detection {d}"))
            .unwrap_or_default(),
        o.max_dns_flip
            .map(|d| format!(", max_dns_flip {d}"))
            .unwrap_or_default()
    ) + &capacity_objectives(o)
}

/// `max_time_to_capacity`, `max_error_rate` and `max_p99_latency`, when declared.
fn capacity_objectives(o: &crate::scenario::Objectives) -> String {
    let named = [
        (
            "max_time_to_capacity",
            o.max_time_to_capacity.map(|d| d.to_string()),
        ),
        ("max_error_rate", o.max_error_rate.map(|p| p.to_string())),
        ("max_p99_latency", o.max_p99_latency.map(|d| d.to_string())),
    ];
    named
        .into_iter()
        .filter_map(|(k, v)| Some(format!(", {k} {}", v?)))
        .collect::<String>()
}
