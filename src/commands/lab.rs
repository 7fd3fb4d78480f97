//! `gameday lab`: run the lab in the foreground and print its addresses, so a
//! person can curl and dig it and runs can attach to it.

use super::{load_or_report, runtime};
use crate::lab::{Lab, LabParams, LabPorts};
use crate::run::signals::StopSignals;
use crate::words::ExitStatus;
use crate::words::Role;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// What a person needs to reach the lab. The first line is stable and
/// machine-readable: tests and scripts parse it.
fn addresses(d: &crate::lab::LabDescription, token: &str) -> String {
    let host = d.record.trim_end_matches('.');
    let mut s = String::new();
    let _ = writeln!(s, "gameday lab control {} token {token}", d.control);
    let _ = writeln!(
        s,
        "attach a run:  gameday run SCENARIO --attach {} --lab-token {token}",
        d.control
    );
    let _ = writeln!(
        s,
        "dns:           dig @{} -p {} {host}",
        d.dns.ip(),
        d.dns.port()
    );
    for role in Role::both() {
        let r = d.region(role);
        let _ = writeln!(
            s,
            "{} ({:?}): answers as {}, endpoint {}",
            r.name, role, r.public_ip, r.endpoint
        );
        let _ = writeln!(
            s,
            "  curl -H 'Host: {host}' http://{}/orders/latest",
            r.endpoint
        );
        for t in &r.targets {
            let _ = writeln!(s, "  target {} in {} at {}", t.id, t.az, t.addr);
        }
    }
    let _ = writeln!(
        s,
        "control API:   curl -H 'Authorization: Bearer {token}' http://{}/describe | /health | /truth",
        d.control
    );
    let _ = writeln!(s, "running; Ctrl-C to stop");
    s
}

/// Runs a standing lab until SIGINT or SIGTERM.
pub fn lab(params_from: Option<&Path>, ports: LabPorts) -> ExitStatus {
    let params = match params_from {
        Some(p) => match load_or_report(p) {
            Ok(s) => s.lab,
            Err(code) => return code,
        },
        None => LabParams::default(),
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let mut lab = match Lab::start(params, ports).await {
            Ok(l) => l,
            Err(e) => {
                crate::words::errln(format_args!("gameday: cannot start the lab: {e:#}"));
                return ExitStatus::Invalid;
            }
        };
        // A closed stdout (`gameday lab | head -1`) must not take the lab down.
        let _ =
            std::io::stdout().write_all(addresses(&lab.describe(), &lab.client().token).as_bytes());
        let _ = std::io::stdout().flush();
        match StopSignals::new() {
            Ok(mut signals) => signals.next().await,
            Err(e) => {
                crate::words::errln(format_args!("gameday: cannot listen for SIGTERM: {e}"));
                return ExitStatus::Invalid;
            }
        }
        lab.stop();
        let _ = writeln!(std::io::stdout(), "lab stopped");
        ExitStatus::Ok
    })
}
