//! `gameday discover`: read an account (read-only calls only), write one
//! scenario per game day it can run, and say what it found and what it
//! could not use.

use crate::aws::inventory::{self, Ask, Inventory};
use crate::aws::{AwsClients, AwsEnv};
use crate::discover::{self, Draft, Header};
use crate::words::ExitStatus;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// How `gameday discover` was asked to run.
pub struct Flags {
    /// What to look for.
    pub ask: Ask,
    /// `--profile`.
    pub profile: Option<String>,
    /// Folder for the scenarios.
    pub out: PathBuf,
    /// Overwrite existing files.
    pub force: bool,
    /// One JSON document instead of the summary.
    pub json: bool,
}

/// One scenario as written (or not).
#[derive(Serialize)]
struct Written {
    file: PathBuf,
    name: String,
    breaks: String,
    /// `written`, `kept` (it existed; --force overwrites) or `failed: why`.
    outcome: String,
    rto_floor_ms: Option<f64>,
    rto_ms: f64,
    /// The variable the canary needs, when it has one.
    needs: Option<&'static str>,
}

/// `gameday discover --json`.
#[derive(Serialize)]
struct DiscoverDoc<'a> {
    schema: &'static str,
    version: u32,
    found: &'a Inventory,
    scenarios: &'a [Written],
    lint: &'a [String],
    not_used: &'a [String],
}

/// Reads the account and writes the scenarios; 0 when every one was
/// written (or kept), 2 when the account could not be read.
pub fn discover(flags: Flags) -> ExitStatus {
    let rt = match super::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let clients = AwsClients::load(flags.profile.as_deref()).await;
        let (inv, env) = match read(&clients, &flags.ask).await {
            Ok(both) => both,
            Err(why) => {
                crate::words::errln(format_args!("gameday: discover: {why}"));
                return ExitStatus::Invalid;
            }
        };
        let lint = crate::floor::aws_lint::lint(&env.description);
        let written: Vec<Written> = discover::drafts(&inv)
            .iter()
            .map(|d| write(d, &inv, &env, &lint, &flags))
            .collect();
        let gaps = discover::gaps(&inv);
        if flags.json {
            super::json::print(&DiscoverDoc {
                schema: "gameday.discover",
                version: super::json::VERSION,
                found: &inv,
                scenarios: &written,
                lint: &lint,
                not_used: &gaps,
            });
        } else {
            print_summary(&inv, &written, &lint, &gaps);
        }
        if written.iter().any(|w| w.outcome.starts_with("failed")) {
            ExitStatus::Invalid
        } else {
            ExitStatus::Ok
        }
    })
}

/// The inventory, and the environment a run would see (for floors and lint).
async fn read(clients: &AwsClients, ask: &Ask) -> Result<(Inventory, AwsEnv), String> {
    let inv = inventory::read(clients, ask).await?;
    let env = AwsEnv::discover(&discover::params(&inv), clients.clone()).await?;
    Ok((inv, env))
}

/// Renders one draft with its floor, checks it loads, and writes it.
fn write(d: &Draft, inv: &Inventory, env: &AwsEnv, lint: &[String], flags: &Flags) -> Written {
    let path = flags.out.join(&d.file);
    let floor = rto_floor(d, inv, env);
    let rto = discover::rto_above(floor.as_ref().map(|(f, _)| *f));
    let header = Header {
        floor: floor.as_ref().map(|(f, why)| (*f, why.as_str())),
        lint,
    };
    let text = discover::render(d, inv, &header);
    let outcome = match crate::scenario::parse(&path, &text) {
        Err(e) => format!("failed: the written scenario does not load ({e}); please report this"),
        Ok(_) => save(&path, &text, flags.force),
    };
    Written {
        file: path,
        name: d.name.clone(),
        breaks: d.breaks.clone(),
        outcome,
        rto_floor_ms: floor.map(|(f, _)| f.as_secs_f64() * 1000.0),
        rto_ms: rto.as_secs_f64() * 1000.0,
        needs: d.touches_data.then_some(discover::CANARY_ENV),
    }
}

/// The rto floor of a draft's fault under the account's configuration.
fn rto_floor(d: &Draft, inv: &Inventory, env: &AwsEnv) -> Option<(std::time::Duration, String)> {
    let header = Header {
        floor: None,
        lint: &[],
    };
    let draft =
        crate::scenario::parse(Path::new(&d.file), &discover::render(d, inv, &header)).ok()?;
    let inputs = crate::floor::FloorInputs::aws(&env.description);
    crate::plan::floors_of(&draft.faults, &inputs)
        .rto
        .map(|f| (std::time::Duration::from_secs_f64(f.ms / 1000.0), f.why))
}

/// Writes a new file (0600: it names the account; never through a
/// symlink), or keeps an existing one unless `force`.
fn save(path: &Path, text: &str, force: bool) -> String {
    if let Some(dir) = path.parent() {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return format!("failed: {}: {e}", dir.display());
        }
    }
    let exists = std::fs::symlink_metadata(path).is_ok();
    let result = match (exists, force) {
        (true, false) => return "kept (exists; --force overwrites)".into(),
        (true, true) => crate::files::replace_private(path, text.as_bytes()),
        (false, _) => crate::files::write_new(path, text.as_bytes()),
    };
    match result {
        Ok(()) => "written".into(),
        Err(e) => format!("failed: {}: {e}", path.display()),
    }
}

fn print_summary(inv: &Inventory, written: &[Written], lint: &[String], gaps: &[String]) {
    use crate::words::outln;
    outln(format_args!(
        "Account {} as {}\nRecord {} in zone {}: PRIMARY in {}, SECONDARY in {} (from {})",
        inv.account,
        inv.caller_arn,
        inv.record,
        inv.zone,
        inv.regions[0],
        inv.regions[1],
        inv.regions_from
    ));
    for r in &inv.records {
        outln(format_args!(
            "  {}{}",
            r.target_words(),
            r.health_check_id
                .as_ref()
                .map(|h| format!(", health check {h}"))
                .unwrap_or_default()
        ));
    }
    for b in &inv.balancers {
        let zones: Vec<String> = b.zones.iter().map(|(z, s)| format!("{z} {s}")).collect();
        outln(format_args!(
            "  load balancer {} ({}): {} target group(s); subnets {}",
            b.dns_name,
            b.region,
            b.target_groups.len(),
            zones.join(", ")
        ));
    }
    let mut groups: Vec<&str> = inv
        .targets
        .iter()
        .filter_map(|t| t.auto_scaling_group.as_deref())
        .collect();
    groups.dedup();
    outln(format_args!(
        "  {} primary instance(s){}",
        inv.targets.len(),
        if groups.is_empty() {
            String::new()
        } else {
            format!(", Auto Scaling group(s) {}", groups.join(", "))
        }
    ));
    if let inventory::DatabaseFind::One { database } = &inv.database {
        outln(format_args!("  database {}", inventory::describe(database)));
    }
    print_table(written);
    for finding in lint {
        outln(format_args!("lint: {finding}"));
    }
    for gap in gaps {
        outln(format_args!("not used: {gap}"));
    }
    if let Some(w) = written.iter().find(|w| w.needs.is_some()) {
        outln(format_args!(
            "{} needs its canary's connection string in {} before it runs.",
            w.file.display(),
            discover::CANARY_ENV
        ));
    }
    outln(format_args!(
        "Nothing was changed. Next: gameday validate, then gameday plan each file."
    ));
}

fn print_table(written: &[Written]) {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_header(vec!["scenario", "breaks", "rto floor", "rto", "file"]);
    for w in written {
        t.add_row(vec![
            w.name.clone(),
            w.breaks.clone(),
            w.rto_floor_ms.map_or("-".into(), crate::words::fmt_ms),
            crate::words::fmt_ms(w.rto_ms),
            format!("{} ({})", w.file.display(), w.outcome),
        ]);
    }
    crate::words::outln(format_args!("{t}"));
}
