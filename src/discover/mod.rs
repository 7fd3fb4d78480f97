//! `gameday discover`'s scenarios: from what an account holds (an
//! `aws::inventory::Inventory`) to one scenario per game day it can run,
//! each with the `[aws]` table filled in. Pure: reading the account is
//! `aws::inventory`, writing files is `commands::discover`.

use crate::aws::inventory::{Database, DatabaseFind, Inventory};
use crate::aws::AwsParams;
use serde::Serialize;
use std::fmt::Write;
use std::time::Duration;

/// The environment variable the database scenario's canary reads.
pub const CANARY_ENV: &str = "GAMEDAY_CANARY_DSN";

/// One game day discover can write.
#[derive(Debug, Clone, Serialize)]
pub struct Draft {
    /// File name, e.g. `kill-primary-targets.toml`.
    pub file: String,
    /// Scenario name.
    pub name: String,
    /// What it breaks, in one sentence.
    pub breaks: String,
    /// The `[[faults]]` table.
    #[serde(skip)]
    pub fault: String,
    /// Whether it touches data (then it has an rpo and a canary).
    pub touches_data: bool,
}

/// What discover could not use, and the flag or change that would let it.
pub fn gaps(inv: &Inventory) -> Vec<String> {
    let mut out = Vec::new();
    if inv.primary_balancer().is_none() {
        out.push(format!(
            "the PRIMARY record is {}, not an alias to a load balancer: no kill-primary-targets or sever-primary-az",
            inv.records[0].target_words()
        ));
    }
    if inv.targets.is_empty() {
        out.push(format!(
            "no instance behind the primary in {}: no stop-primary-instances",
            inv.regions[0]
        ));
    }
    match &inv.database {
        DatabaseFind::None => out.push(format!(
            "no global database spanning {} and {}, Aurora cluster with a reader or Multi-AZ instance in {}: no fail-primary-database",
            inv.regions[0], inv.regions[1], inv.regions[0]
        )),
        DatabaseFind::Ambiguous { candidates } => out.push(format!(
            "{} databases could be failed: {}; pass --database with one of them",
            candidates.len(),
            candidates.join(", ")
        )),
        DatabaseFind::One { .. } => {}
    }
    if !inv.fis_templates.iter().any(|t| t.cuts_the_network()) {
        out.push(format!(
            "no FIS experiment template in {} cuts the network (an aws:network:* action): no primary-region-outage",
            inv.regions[0]
        ));
    }
    out
}

/// Every game day the inventory allows.
pub fn drafts(inv: &Inventory) -> Vec<Draft> {
    let mut out = Vec::new();
    if let Some(b) = inv
        .primary_balancer()
        .filter(|b| !b.target_groups.is_empty())
    {
        out.push(draft(
            "kill-primary-targets",
            format!(
                "deregister every target of the primary's target groups ({} in {})",
                b.target_groups.len(),
                b.region
            ),
            format!(
                "kind = \"deregister-targets\"\nregion = \"primary\"\ntarget_groups = {}\nselection = \"all\"\n",
                toml_list(&b.target_groups)
            ),
            false,
        ));
    }
    if let Some(b) = inv.primary_balancer() {
        for (zone, subnet) in &b.zones {
            out.push(draft(
                &format!("sever-primary-az-{zone}"),
                format!("deny all traffic of subnet {subnet} ({zone}), behind the primary's load balancer"),
                format!(
                    "kind = \"sever-az\"\nregion = \"primary\"\naz = \"{zone}\"\nsubnets = [\"{subnet}\"]\n"
                ),
                false,
            ));
        }
    }
    if !inv.targets.is_empty() {
        let ids: Vec<String> = inv.targets.iter().map(|t| t.instance.clone()).collect();
        out.push(draft(
            "stop-primary-instances",
            format!("stop half of the primary's {} instances", ids.len()),
            format!(
                "kind = \"stop-instances\"\nregion = \"primary\"\ninstance_ids = {}\nselection = \"percent:50\"\n",
                toml_list(&ids)
            ),
            false,
        ));
    }
    if let DatabaseFind::One { database } = &inv.database {
        out.push(database_draft(database));
    }
    for t in inv.fis_templates.iter().filter(|t| t.cuts_the_network()) {
        out.push(draft(
            if inv
                .fis_templates
                .iter()
                .filter(|t| t.cuts_the_network())
                .count()
                == 1
            {
                "primary-region-outage".to_string()
            } else {
                format!("primary-region-outage-{}", t.id)
            }
            .as_str(),
            format!("run FIS experiment template {} ({})", t.id, t.description),
            format!(
                "kind = \"fis-experiment\"\nregion = \"primary\"\ntemplate_id = \"{}\"\n",
                t.id
            ),
            false,
        ));
    }
    out
}

fn database_draft(d: &Database) -> Draft {
    let (breaks, fault) = match d {
        Database::Global { id, target_cluster } => (
            format!("switch global database {id} over to {target_cluster} (no data loss)"),
            format!("global_cluster = \"{id}\"\nmode = \"global-switchover\"\ntarget_cluster = \"{target_cluster}\"\n"),
        ),
        Database::Cluster { id } => (
            format!("fail Aurora cluster {id} over to a reader"),
            format!("cluster = \"{id}\"\nmode = \"failover\"\n"),
        ),
        Database::Instance { id } => (
            format!("reboot Multi-AZ instance {id} with failover to its standby"),
            format!("instance = \"{id}\"\nmode = \"reboot-failover\"\n"),
        ),
    };
    draft(
        "fail-primary-database",
        breaks,
        format!("kind = \"fail-database\"\nregion = \"primary\"\n{fault}"),
        true,
    )
}

fn draft(name: &str, breaks: String, fault: String, touches_data: bool) -> Draft {
    Draft {
        file: format!("{name}.toml"),
        name: name.to_string(),
        breaks,
        fault,
        touches_data,
    }
}

fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

/// The `[aws]` table of every written scenario.
pub fn params(inv: &Inventory) -> AwsParams {
    let scheme = match inv.primary_check.check_type.as_str() {
        t if t.starts_with("HTTPS") => "https",
        _ => "http",
    };
    let path = inv.primary_check.resource_path.as_deref().unwrap_or("/");
    AwsParams {
        primary_region: inv.regions[0].clone(),
        secondary_region: inv.regions[1].clone(),
        allowed_accounts: vec![inv.account.clone()],
        allowed_regions: Vec::new(),
        profile: None,
        hosted_zone_id: inv.zone.clone(),
        record_name: inv.record.clone(),
        endpoint: format!("{scheme}://{}{path}", inv.record),
        primary_health_check: inv.primary_check.id.clone(),
        secondary_health_check: inv.secondary_check.as_ref().map(|c| c.id.clone()),
        runner_not_on_aws: false,
        endpoint_skips_record: false,
    }
}

/// A round number above a floor: the floor plus half a minute, rounded up
/// to a whole minute (at least one minute).
pub fn rto_above(floor: Option<Duration>) -> Duration {
    let with_margin = floor.unwrap_or_default() + Duration::from_secs(30);
    let minutes = with_margin.as_secs().div_ceil(60).max(1);
    Duration::from_secs(minutes * 60)
}

/// What the header of a written scenario says beside the text.
pub struct Header<'a> {
    /// The rto floor and its arithmetic, if this configuration has one.
    pub floor: Option<(Duration, &'a str)>,
    /// Lint findings about the failover configuration.
    pub lint: &'a [String],
}

/// The scenario text of a draft.
pub fn render(d: &Draft, inv: &Inventory, header: &Header) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Written by `gameday discover --zone {} --record {}` for account {}.\n# It will {}.",
        inv.zone, inv.record, inv.account, d.breaks
    );
    for finding in header.lint {
        let _ = writeln!(s, "# lint: {finding}");
    }
    let rto = rto_above(header.floor.map(|(f, _)| f));
    let _ = writeln!(
        s,
        "name = \"{}\"\ndescription = \"{}\"\ntarget = \"aws\"\nbaseline = \"30s\"\nstable_for = \"30s\"\ntimeout = \"{}\"\nobserve_at_least = \"2m\"\nmax_duration = \"{}\"\n",
        d.name,
        d.breaks.replace('"', "'"),
        humantime::format_duration(rto * 3),
        humantime::format_duration(rto * 3 + Duration::from_secs(600))
    );
    s.push_str("[objectives]\n");
    match header.floor {
        Some((floor, why)) => {
            let _ = writeln!(
                s,
                "# floor {}: {why}; the objective is the floor plus 30 s, rounded up to a minute",
                humantime::format_duration(floor)
            );
        }
        None => s.push_str("# no floor: this fault does not wait for DNS to fail over\n"),
    }
    let _ = writeln!(s, "rto = \"{}\"", humantime::format_duration(rto));
    if d.touches_data {
        s.push_str("rpo = \"0s\"\n");
    }
    s.push_str("\n[guards]\n# A placeholder: your off-peak window, in the account's time zone.\nwindows = [\"Tue:02:00-Tue:05:00\"]\n\n");
    s.push_str(&aws_table(&params(inv)));
    let _ = writeln!(s, "\n[[faults]]\n{}", d.fault);
    s.push_str(&probes(inv, d.touches_data));
    s
}

fn aws_table(p: &AwsParams) -> String {
    let mut s = format!(
        "[aws]\nprimary_region = \"{}\"\nsecondary_region = \"{}\"\nallowed_accounts = [\"{}\"]\nhosted_zone_id = \"{}\"\nrecord_name = \"{}\"\nendpoint = \"{}\"\nprimary_health_check = \"{}\"\n",
        p.primary_region,
        p.secondary_region,
        p.allowed_accounts.join("\", \""),
        p.hosted_zone_id,
        p.record_name,
        p.endpoint,
        p.primary_health_check
    );
    if let Some(id) = &p.secondary_health_check {
        let _ = writeln!(s, "secondary_health_check = \"{id}\"");
    }
    s
}

fn probes(inv: &Inventory, touches_data: bool) -> String {
    let mut s = String::from(
        "[[probes]]\nkind = \"http\"\ninterval = \"1s\"\n\n[[probes]]\nkind = \"dns\"\ninterval = \"1s\"\n\n[[probes]]\nkind = \"health-check\"\ninterval = \"1s\"\n",
    );
    if inv.primary_balancer().is_some() {
        s.push_str("\n[[probes]]\nkind = \"target-health\"\ninterval = \"5s\"\n");
    }
    if touches_data {
        let _ = write!(
            s,
            "\n# The canary writes to the database through this connection string\n# (TLS required and verified unless it names another sslmode).\n[[probes]]\nkind = \"canary\"\ninterval = \"1s\"\nconnection_env = \"{CANARY_ENV}\"\n"
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rto_is_a_round_number_above_the_floor() {
        let s = Duration::from_secs;
        assert_eq!(rto_above(Some(s(80))), s(120));
        assert_eq!(rto_above(Some(s(90))), s(120));
        assert_eq!(rto_above(Some(s(91))), s(180));
        assert_eq!(rto_above(None), s(60));
    }
}
