//! `gameday plan`: resolve what will be broken, how it will be undone and what is
//! watched. Changes nothing: an embedded lab is started only to resolve against.

use super::{load_or_report, runtime, EXIT_INVALID};
use crate::lab::{Lab, LabClient, LabPorts};
use std::net::SocketAddr;
use std::path::Path;

/// Prints the plan of a scenario.
pub fn plan(path: &Path, attach: Option<SocketAddr>, strict: bool) -> u8 {
    let scenario = match load_or_report(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let mut lab = None;
        let client = match attach {
            Some(addr) => LabClient { addr },
            None => match Lab::start(scenario.lab.clone(), LabPorts::default()).await {
                Ok(l) => {
                    let c = LabClient {
                        addr: l.control_addr(),
                    };
                    lab = Some(l);
                    c
                }
                Err(e) => {
                    eprintln!("gameday: cannot start the lab to plan against: {e:#}");
                    return EXIT_INVALID;
                }
            },
        };
        let env = match client.describe().await {
            Ok(env) => env,
            Err(e) => {
                eprintln!("gameday: {e}");
                return EXIT_INVALID;
            }
        };
        let code = match crate::plan::resolve(&scenario.faults, &scenario.probes, &env) {
            Ok(plan) => {
                println!(
                    "Plan for {} ({}), target lab{}",
                    scenario.name,
                    path.display(),
                    if attach.is_some() { " (standing)" } else { "" }
                );
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
                print!("{}", crate::plan::render_lint(&env.params));
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
        if let Some(mut l) = lab {
            l.stop();
        }
        code
    })
}
