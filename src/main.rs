//! The `gameday` command line. Parsing only; the work is in `gameday::commands`.

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;
use gameday::commands;
use gameday::lab::{LabClient, LabPorts};
use gameday::revert::RevertOptions;
use gameday::words::ExitStatus;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  gameday validate scenarios/*.toml
  gameday plan scenarios/kill-primary-targets.toml
  gameday run scenarios/kill-primary-targets.toml
  gameday lab                      # in one terminal; prints its control address and token
  gameday run scenarios/sever-primary-az.toml --attach 127.0.0.1:7070 --lab-token TOKEN

Exit codes: 0 every objective met, 1 an objective breached, 2 invalid input or
refused to start, 3 aborted (signal, timeout) and reverted, 4 revert incomplete,
5 everything put back but the report could not be written.";

/// The version and the build it is (`--version`): figures measured on a
/// debug build are two to three times those of a release build, so a report
/// of CPU or memory needs to say which.
const VERSION: &str = if cfg!(debug_assertions) {
    concat!(env!("CARGO_PKG_VERSION"), " (debug build)")
} else {
    concat!(env!("CARGO_PKG_VERSION"), " (release build)")
};

/// Rehearse a multi-region failover on purpose, measure every phase, judge it
/// against RTO and RPO, and always put the environment back.
#[derive(Parser)]
#[command(name = "gameday", version = VERSION, about, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// A standing lab to use instead of a fresh one: its address and token.
#[derive(clap::Args)]
struct Attach {
    /// Attach to a standing lab (started with `gameday lab`) at this control address.
    #[arg(long, value_name = "ADDR")]
    attach: Option<SocketAddr>,
    /// The standing lab's control token (printed by `gameday lab`); or set
    /// GAMEDAY_LAB_TOKEN.
    #[arg(long, value_name = "TOKEN", requires = "attach")]
    lab_token: Option<String>,
}

impl Attach {
    /// The lab's client (token from `--lab-token` or GAMEDAY_LAB_TOKEN), if
    /// one was named.
    fn client(self) -> Result<Option<LabClient>, ExitStatus> {
        let Some(addr) = self.attach else {
            return Ok(None);
        };
        match self
            .lab_token
            .or_else(|| std::env::var("GAMEDAY_LAB_TOKEN").ok())
        {
            Some(token) if !token.is_empty() => Ok(Some(LabClient::new(addr, token))),
            _ => {
                eprintln!(
                    "gameday: --attach {addr} needs the lab's control token: pass --lab-token TOKEN (printed by `gameday lab`) or set GAMEDAY_LAB_TOKEN"
                );
                Err(ExitStatus::Invalid)
            }
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Check scenario files; each error names file:line:col.
    #[command(after_help = "Example:\n  gameday validate scenarios/*.toml")]
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Also fail (exit 2) when an objective is below the floor its configuration allows.
        #[arg(long)]
        strict: bool,
        /// Print one JSON document (schema gameday.validate, docs/cli.md) instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Show what would be broken, how it is undone and what is watched; changes nothing.
    #[command(
        after_help = "Examples:\n  gameday plan scenarios/fail-primary-database.toml\n  gameday plan scenarios/aws/kill-primary-targets.toml --profile staging"
    )]
    Plan(PlanArgs),
    /// Run a game day: baseline, fault, observe, revert, measure, judge, report.
    #[command(
        after_help = "Examples:\n  gameday run scenarios/kill-primary-targets.toml\n  gameday run scenarios/primary-region-outage.toml --reports /tmp/reports"
    )]
    Run(RunArgs),
    /// Re-render a saved run: table, md, html, junit, json or metrics (OpenMetrics).
    #[command(
        after_help = "Example:\n  gameday report reports/<run-id>/report.json --format html > timeline.html"
    )]
    Report {
        /// A run's report.json.
        report: PathBuf,
        /// Output format.
        #[arg(long, default_value = "table", value_parser = ["table", "md", "html", "junit", "json", "metrics"])]
        format: String,
    },
    /// Per scenario, the runs over time, the median of previous runs and regressions.
    #[command(
        after_help = "Examples:\n  gameday history reports/ --threshold 0.25 --fail-on-regression\n  gameday history artifacts/ --html index.html   (every report.json up to 4 folders down)"
    )]
    History {
        /// Folder of run folders.
        #[arg(default_value = "reports")]
        dir: PathBuf,
        /// Output format.
        #[arg(long, default_value = "table", value_parser = ["table", "md", "json"])]
        format: String,
        /// Share over the median of previous runs that counts as a regression (0.2 = 20%).
        #[arg(long, default_value_t = 0.2)]
        threshold: f64,
        /// Exit 1 when the newest run of any scenario regressed.
        #[arg(long)]
        fail_on_regression: bool,
        /// Also write one self-contained page for the whole fleet to FILE: per
        /// scenario the last verdict, a sparkline per figure, regressions,
        /// links to each run's report.html.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Finish every interrupted run: apply the undos its journal still owes, newest first.
    #[command(
        after_help = "Examples:\n  gameday status && gameday revert\n  gameday revert --profile staging --yes\n  gameday revert --sweep --account 123456789012 --region us-east-1 --region us-west-2\n\nOnly journals of your own (not writable by others), at most 7 days old (--force), with\nexactly the undos gameday plans, inside the account and regions the run recorded; STS is\nasked first. Idempotent: running it twice is harmless. Exit 4 when an undo could not be\napplied or a journal was refused."
    )]
    Revert {
        /// Folder of run folders.
        #[arg(default_value = "reports")]
        dir: PathBuf,
        /// AWS: restore every subnet a gameday deny ACL severs, from the ACLs' tags
        /// alone (for when the journal is lost); needs --region.
        #[arg(long, requires_all = ["region", "account"])]
        sweep: bool,
        /// Region to sweep (repeat for several).
        #[arg(long, value_name = "REGION")]
        region: Vec<String>,
        /// The AWS account to sweep (12 digits); the credentials must be for it.
        #[arg(long, value_name = "ID", requires = "sweep")]
        account: Option<String>,
        /// AWS named profile for credentials; a journal's own profile is never used.
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        /// Consent to change the AWS account without typing its id (required
        /// without a terminal).
        #[arg(long)]
        yes: bool,
        /// Revert journals older than 7 days too.
        #[arg(long)]
        force: bool,
    },
    /// List runs whose journal still owes undos.
    Status {
        /// Folder of run folders.
        #[arg(default_value = "reports")]
        dir: PathBuf,
        /// Print one JSON document (schema gameday.status, docs/cli.md) instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Read an AWS account (read-only) and write one scenario per game day it can run.
    #[command(
        after_help = "Examples:\n  gameday discover --zone Z0123456789EXAMPLE --record app.example.com --profile staging\n  gameday discover --zone Z0123 --record app.example.com --regions us-east-1,us-west-2 --out scenarios/aws/ --json"
    )]
    Discover(DiscoverArgs),
    /// Print a shell completion script for bash, zsh or fish.
    #[command(
        after_help = "Examples:\n  gameday completions bash > ~/.local/share/bash-completion/completions/gameday\n  gameday completions zsh > \"${fpath[1]}/_gameday\"\n  gameday completions fish > ~/.config/fish/completions/gameday.fish"
    )]
    Completions {
        /// The shell.
        shell: Shell,
    },
    /// Print the man page (roff), or write one page per subcommand into a folder.
    #[command(
        after_help = "Examples:\n  gameday man | man -l -\n  gameday man --out /usr/local/share/man/man1"
    )]
    Man {
        /// Write gameday.1 and gameday-<subcommand>.1 into this folder.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Run the embedded lab in the foreground and print its addresses.
    #[command(
        after_help = "Example:\n  gameday lab --control-port 7070 --dns-port 5353\n  dig @127.0.0.1 -p 5353 app.lab.gameday.test"
    )]
    Lab(LabArgs),
}

/// The arguments of `gameday plan`.
#[derive(clap::Args)]
struct PlanArgs {
    /// Scenario file.
    scenario: PathBuf,
    #[command(flatten)]
    attach: Attach,
    /// Fail (exit 2) when an objective is below the floor its configuration allows.
    #[arg(long)]
    strict: bool,
    /// AWS named profile for credentials (over the scenario's `profile`).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Declare that this runner is not on AWS (when instance metadata cannot say).
    #[arg(long)]
    runner_not_on_aws: bool,
    /// Print one JSON document (schema gameday.plan, docs/cli.md) instead of text.
    #[arg(long)]
    json: bool,
}

/// The arguments of `gameday run`.
#[derive(clap::Args)]
struct RunArgs {
    /// Scenario file.
    scenario: PathBuf,
    #[command(flatten)]
    attach: Attach,
    /// Folder for run reports.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    reports: PathBuf,
    /// Do not draw the live display.
    #[arg(long)]
    no_progress: bool,
    /// Consent to change a non-lab target without a typed confirmation (required
    /// without a terminal); the embedded lab never asks.
    #[arg(long)]
    yes: bool,
    /// Run outside the scenario's allowed windows or on a blocked date, as a
    /// deliberate exception that the report records.
    #[arg(long)]
    ignore_window: bool,
    /// AWS named profile for credentials (over the scenario's `profile`).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Declare that this runner is not on AWS (when instance metadata cannot
    /// say which subnet it is in, sever-az needs this).
    #[arg(long)]
    runner_not_on_aws: bool,
    /// Also write the run's figures as OpenMetrics text to FILE (replaced
    /// atomically, for node_exporter's textfile collector). A failure is a
    /// warning; the exit code stays the verdict's.
    #[arg(long, value_name = "FILE")]
    metrics_file: Option<PathBuf>,
    /// Also publish the run's figures to this Pushgateway (HTTP PUT of the
    /// OpenMetrics text, grouped by job, scenario and environment).
    #[arg(long, value_name = "URL")]
    pushgateway: Option<String>,
    /// Also publish the run's figures to: cloudwatch (PutMetricData,
    /// namespace Gameday). Over the scenario's [metrics] table.
    #[arg(long, value_name = "SINK", value_parser = ["cloudwatch"])]
    metrics: Vec<String>,
}

/// The arguments of `gameday lab`.
#[derive(clap::Args)]
struct LabArgs {
    /// Take the [lab] parameters from this scenario.
    #[arg(long, value_name = "SCENARIO")]
    params: Option<PathBuf>,
    /// UDP port for the DNS server (default: any free port).
    #[arg(long)]
    dns_port: Option<u16>,
    /// TCP port for the control API (default: any free port).
    #[arg(long)]
    control_port: Option<u16>,
    /// Bind only 127.0.0.1 (distinct ports per region), as on a stock macOS.
    #[arg(long)]
    single_address: bool,
    /// Each region's public address, PRIMARY,SECONDARY (IPv4 addresses of
    /// this host): the endpoints and databases listen there and DNS
    /// answers them, for customers on another host or network namespace.
    /// The control API stays on 127.0.0.1.
    #[arg(long, value_name = "PRIMARY,SECONDARY", value_parser = parse_public_addresses)]
    public_addresses: Option<[std::net::Ipv4Addr; 2]>,
    /// Address the DNS server listens on (default 127.0.0.1).
    #[arg(long, value_name = "IP")]
    dns_address: Option<std::net::IpAddr>,
}

/// The arguments of `gameday discover`.
#[derive(clap::Args)]
struct DiscoverArgs {
    /// The Route 53 hosted zone id that holds the failover records.
    #[arg(long, value_name = "ZONE_ID")]
    zone: String,
    /// The failover record customers resolve, e.g. app.example.com.
    #[arg(long, value_name = "NAME")]
    record: String,
    /// AWS named profile for credentials.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// The database to fail: a global cluster, Aurora cluster or Multi-AZ
    /// instance id (when several are found).
    #[arg(long, value_name = "ID")]
    database: Option<String>,
    /// PRIMARY,SECONDARY regions, when the records do not say (plain A records).
    #[arg(long, value_name = "PRIMARY,SECONDARY", value_parser = parse_regions)]
    regions: Option<[String; 2]>,
    /// Folder for the scenarios.
    #[arg(long, value_name = "DIR", default_value = "scenarios/aws")]
    out: PathBuf,
    /// Overwrite scenario files that already exist.
    #[arg(long)]
    force: bool,
    /// Print one JSON document (schema gameday.discover, docs/discover.md) instead of the summary.
    #[arg(long)]
    json: bool,
}

impl DiscoverArgs {
    fn dispatch(self) -> ExitStatus {
        commands::discover::discover(commands::discover::Flags {
            ask: gameday::aws::inventory::Ask {
                zone: self.zone,
                record: self.record,
                database: self.database,
                regions: self.regions,
            },
            profile: self.profile,
            out: self.out,
            force: self.force,
            json: self.json,
        })
    }
}

/// `--regions us-east-1,us-west-2`: two different region names.
fn parse_regions(text: &str) -> Result<[String; 2], String> {
    let Some((p, s)) = text.split_once(',') else {
        return Err("give two regions, PRIMARY,SECONDARY (e.g. us-east-1,us-west-2)".into());
    };
    let (p, s) = (p.trim(), s.trim());
    for r in [p, s] {
        if !gameday::aws::params::is_region(r) {
            return Err(format!(
                "{r:?} is not an AWS region name; write it like us-east-1"
            ));
        }
    }
    if p == s {
        return Err("the two regions are the same; a failover needs two".into());
    }
    Ok([p.to_string(), s.to_string()])
}

/// `--public-addresses 10.0.1.10,10.0.2.10`: two different IPv4 addresses.
fn parse_public_addresses(text: &str) -> Result<[std::net::Ipv4Addr; 2], String> {
    let parse = |a: &str| {
        a.trim()
            .parse::<std::net::Ipv4Addr>()
            .map_err(|e| format!("{a:?} is not an IPv4 address ({e})"))
    };
    match text.split_once(',') {
        Some((p, s)) => {
            let both = [parse(p)?, parse(s)?];
            if both[0] == both[1] {
                return Err("the two regions need different addresses".into());
            }
            Ok(both)
        }
        None => Err("give two addresses, PRIMARY,SECONDARY (e.g. 10.0.1.10,10.0.2.10)".into()),
    }
}

fn main() -> ExitCode {
    #[cfg(feature = "failpoints")]
    let _crash_points = gameday::crash::setup();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let status = if e.use_stderr() {
                ExitStatus::Invalid
            } else {
                ExitStatus::Ok
            };
            let _ = e.print();
            return status.into();
        }
    };
    if cli.command.only_prints() {
        die_quietly_on_a_closed_pipe();
    }
    dispatch(cli.command).into()
}

impl Command {
    /// Commands that change no environment: when their reader goes away
    /// (`gameday plan x.toml | head`), stopping is right.
    fn only_prints(&self) -> bool {
        !matches!(
            self,
            Command::Run(_) | Command::Revert { .. } | Command::Lab(_)
        )
    }
}

/// Restores the default SIGPIPE (Rust ignores it), so a closed stdout ends
/// the process as it does for other Unix tools instead of a panic. Never for
/// `run`, `revert` or `lab`: they must live to put things back.
fn die_quietly_on_a_closed_pipe() {
    // SAFETY: signal(2) with SIG_DFL, before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Runs one subcommand.
fn dispatch(command: Command) -> ExitStatus {
    match command {
        Command::Report { report, format } => commands::report::render(&report, &format),
        Command::Revert {
            sweep: true,
            region,
            account,
            profile,
            yes,
            ..
        } => commands::revert::sweep(
            &region,
            account.as_deref().unwrap_or_default(),
            profile.as_deref(),
            yes,
        ),
        Command::Revert {
            dir,
            profile,
            yes,
            force,
            ..
        } => commands::revert::revert(&dir, &RevertOptions { profile, force }, yes),
        Command::Status { dir, json } => commands::revert::status(&dir, json),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "gameday",
                &mut std::io::stdout(),
            );
            ExitStatus::Ok
        }
        Command::Man { out } => commands::man::man(Cli::command(), out.as_deref()),
        Command::History {
            dir,
            format,
            threshold,
            fail_on_regression,
            html,
        } => commands::history::history(
            &dir,
            commands::history::Flags {
                format: &format,
                threshold,
                fail_on_regression,
                html: html.as_deref(),
            },
        ),
        Command::Validate {
            scenarios,
            strict,
            json,
        } => commands::validate::validate(&scenarios, strict, json),
        Command::Plan(args) => args.dispatch(),
        Command::Run(args) => args.dispatch(),
        Command::Lab(args) => args.dispatch(),
        Command::Discover(args) => args.dispatch(),
    }
}

impl PlanArgs {
    fn dispatch(self) -> ExitStatus {
        match self.attach.client() {
            Ok(attach) => commands::plan::plan(
                &self.scenario,
                attach,
                commands::plan::Flags {
                    profile: self.profile.as_deref(),
                    strict: self.strict,
                    runner_not_on_aws: self.runner_not_on_aws,
                    json: self.json,
                },
            ),
            Err(code) => code,
        }
    }
}

impl RunArgs {
    fn dispatch(self) -> ExitStatus {
        let attach = match self.attach.client() {
            Ok(attach) => attach,
            Err(code) => return code,
        };
        commands::run::run(
            &self.scenario,
            attach,
            self.reports,
            commands::run::Flags {
                no_progress: self.no_progress,
                consent: self.yes,
                ignore_window: self.ignore_window,
                profile: self.profile,
                runner_not_on_aws: self.runner_not_on_aws,
                metrics: commands::run::MetricsFlags {
                    file: self.metrics_file,
                    pushgateway: self.pushgateway,
                    cloudwatch: self.metrics.iter().any(|m| m == "cloudwatch"),
                },
            },
        )
    }
}

impl LabArgs {
    fn dispatch(self) -> ExitStatus {
        commands::lab::lab(
            self.params.as_deref(),
            LabPorts {
                dns: self.dns_port,
                control: self.control_port,
                single_address: self.single_address,
                public: self.public_addresses,
                dns_ip: self.dns_address,
            },
        )
    }
}
