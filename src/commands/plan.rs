//! `gameday plan`: resolve what will be broken, how it will be undone and what is
//! watched. Changes nothing: an embedded lab is started only to resolve against;
//! on AWS only read calls are made.

use super::{load_or_report, runtime, EXIT_INVALID};
use crate::target::Env;
use std::net::SocketAddr;
use std::path::Path;

/// Prints the plan of a scenario.
pub fn plan(path: &Path, attach: Option<SocketAddr>, profile: Option<&str>, strict: bool) -> u8 {
    let scenario = match load_or_report(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let connected = match crate::target::connect(&scenario, attach, profile).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("gameday: {}: {e}", path.display());
                return EXIT_INVALID;
            }
        };
        let env = &connected.env;
        let code =
            match crate::plan::resolve(&scenario.faults, &scenario.probes, env, "<run-id>").await {
                Ok(plan) => {
                    let target = match env {
                        Env::Lab(_) if attach.is_some() => "lab (standing)".to_string(),
                        Env::Lab(_) => "lab".to_string(),
                        Env::Aws(a) => format!(
                            "aws, account {} as {}",
                            a.description.account, a.description.caller_arn
                        ),
                    };
                    println!(
                        "Plan for {} ({}), target {target}",
                        scenario.name,
                        path.display()
                    );
                    if let Env::Aws(a) = env {
                        let d = &a.description;
                        println!(
                            "Zone {} name servers (delegation set): {}",
                            d.params.hosted_zone_id,
                            d.name_servers.join(", ")
                        );
                        for r in &d.records {
                            println!(
                                "Record {} {} ({}): {}{}",
                                r.failover,
                                d.params.host(),
                                r.set_identifier,
                                r.alias
                                    .as_ref()
                                    .map(|a| format!(
                                        "alias {} (evaluate_target_health {})",
                                        a.dns_name, a.evaluate_target_health
                                    ))
                                    .unwrap_or_else(|| format!(
                                        "{} TTL {}",
                                        r.values.join(", "),
                                        r.ttl.unwrap_or(0)
                                    )),
                                r.health_check_id
                                    .as_ref()
                                    .map(|h| format!(", health check {h}"))
                                    .unwrap_or_default()
                            );
                        }
                        if let Err(why) = crate::aws::guard::regions(d, &plan) {
                            println!("warning: {why}");
                        }
                    }
                    print!("{}", plan.render());
                    println!(
                        "Objectives: rto {}, rpo {}{}{}",
                        scenario.objectives.rto,
                        scenario.objectives.rpo,
                        scenario
                            .objectives
                            .max_detection
                            .map(|d| format!(", max_detection {d}"))
                            .unwrap_or_default(),
                        scenario
                            .objectives
                            .max_dns_flip
                            .map(|d| format!(", max_dns_flip {d}"))
                            .unwrap_or_default()
                    );
                    print!(
                        "{}",
                        crate::plan::render_floors(&plan.floors, &scenario.objectives)
                    );
                    print!("{}", crate::plan::render_lint(env));
                    println!("Nothing was changed.");
                    if strict
                        && !crate::floor::impossible(&plan.floors, &scenario.objectives).is_empty()
                    {
                        eprintln!(
                            "gameday: {}: an objective is below its floor (--strict)",
                            path.display()
                        );
                        EXIT_INVALID
                    } else {
                        0
                    }
                }
                Err(e) => {
                    eprintln!("gameday: {}: {e}", path.display());
                    EXIT_INVALID
                }
            };
        if let Some(mut l) = connected.embedded {
            l.stop();
        }
        code
    })
}
