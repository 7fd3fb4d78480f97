//! Where a scenario runs: the embedded (or a standing) lab, or an AWS account.
//!
//! This is the one place that tells the two apart. The run, the plan, the
//! revert and the reports ask an [`Env`]: how to connect, what must hold
//! before a fault, how a revert is verified, what ground truth exists, the
//! customers' TTL, the plan's header, the lint. What differs lives in one
//! file per environment: [`lab`] and [`aws`]. (Per-fault and per-probe files
//! also say what they do on each, since that is their own variation.)

pub mod aws;
pub mod lab;

use crate::aws::{AwsClients, AwsEnv};
use crate::floor::FloorInputs;
use crate::lab::{LabCall, LabClient, LabDescription};
use crate::measure::accuracy::TruthMark;
use crate::net::resolve::Resolvers;
use crate::plan::{Action, Plan, Step};
use crate::probe::resolver::Destination;
use crate::report::Environment;
use crate::words::{Applied, ChangeError, Role};
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

/// A lab a run is connected to: what it described, and its control API.
#[derive(Clone, Debug)]
pub struct LabEnv {
    /// The lab as it described itself before the run.
    pub description: LabDescription,
    /// Its control API.
    pub client: LabClient,
    /// A standing lab (`--attach`), not one this process started.
    pub attached: bool,
}

impl Deref for LabEnv {
    type Target = LabDescription;
    fn deref(&self) -> &LabDescription {
        &self.description
    }
}

/// The environment a run acts on, as found before it. (Built once per run and
/// cloned into probe contexts; the size difference between variants is moot.)
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Env {
    /// The embedded (or standing) lab.
    Lab(LabEnv),
    /// An AWS account.
    Aws(Arc<AwsEnv>),
}

/// What held before the fault, for verifying the revert against it.
#[derive(Debug, Clone)]
pub enum Before {
    /// The lab's whole configuration.
    Lab(crate::lab::LabConfiguration),
    /// On AWS each undo's own state is checked instead.
    Aws,
}

impl Env {
    /// `lab` or `aws`.
    pub fn target_name(&self) -> &'static str {
        match self {
            Env::Lab(_) => "lab",
            Env::Aws(_) => "aws",
        }
    }

    /// The lab, when the target is the lab.
    pub fn lab(&self) -> Option<&LabEnv> {
        match self {
            Env::Lab(l) => Some(l),
            Env::Aws(_) => None,
        }
    }

    /// The AWS environment, when the target is AWS.
    pub fn aws(&self) -> Option<&AwsEnv> {
        match self {
            Env::Lab(_) => None,
            Env::Aws(a) => Some(a),
        }
    }

    /// The region name of a role.
    pub fn region_name(&self, role: Role) -> String {
        match self {
            Env::Lab(l) => l.region(role).name.clone(),
            Env::Aws(a) => a.description.params.region(role).to_string(),
        }
    }

    /// The name customers resolve.
    pub fn record(&self) -> String {
        match self {
            Env::Lab(l) => l.record.trim_end_matches('.').to_string(),
            Env::Aws(a) => a.description.params.host().to_string(),
        }
    }

    /// Where customers' DNS questions go (the lab's DNS server; on AWS the
    /// probe's resolvers or the system's) and the name they ask.
    pub fn customer_query(&self, resolvers: &[SocketAddr]) -> (Resolvers, String) {
        match self {
            Env::Lab(l) => (
                Resolvers::Servers(vec![l.dns]),
                l.record.trim_end_matches('.').to_string(),
            ),
            Env::Aws(a) => {
                let (_, host, _, _) = a.description.params.endpoint_parts();
                (Resolvers::from_list(resolvers), host)
            }
        }
    }

    /// Where a customer whose DNS answered `ip` connects, and which region
    /// that is. On failure, the region (when the answer named one) and why.
    pub async fn destination(&self, ip: Ipv4Addr) -> Result<Destination, (Option<String>, String)> {
        match self {
            Env::Lab(l) => {
                let region = l.region_of_ip(ip).map(|r| r.name.clone());
                match l.endpoint_for(ip) {
                    Some(endpoint) => Ok(Destination {
                        region,
                        endpoint,
                        tls: false,
                    }),
                    None => Err((
                        region,
                        format!("DNS answered {ip}, which is no region's address"),
                    )),
                }
            }
            Env::Aws(a) => {
                let (tls, _, port, _) = a.description.params.endpoint_parts();
                let region = a
                    .addresses
                    .region_of(&a.description, std::net::IpAddr::V4(ip))
                    .await;
                Ok(Destination {
                    region,
                    endpoint: SocketAddr::new(ip.into(), port),
                    tls,
                })
            }
        }
    }

    /// What applies this environment's changes.
    pub fn appliers(&self) -> Appliers {
        match self {
            Env::Lab(l) => Appliers {
                lab: Some(l.client.clone()),
                aws: None,
            },
            Env::Aws(a) => Appliers {
                lab: None,
                aws: Some(a.clients.clone()),
            },
        }
    }

    /// Things a person should know before the run starts.
    pub fn notes(&self, scenario: &crate::scenario::Scenario) -> Vec<String> {
        match self {
            Env::Lab(l) if l.attached && l.params != scenario.lab => vec![
                "gameday: attached to a standing lab; its own [lab] parameters are in force, not the scenario's".into(),
            ],
            _ => Vec::new(),
        }
    }

    /// The guard before the plan: the lab untouched and healthy. Returns what
    /// the revert is verified against.
    pub async fn check_steady(&self) -> Result<Before, String> {
        match self {
            Env::Lab(l) => lab::preflight(&l.client, l).await.map(Before::Lab),
            Env::Aws(_) => Ok(Before::Aws),
        }
    }

    /// Who holds the environment's lease now, if anyone.
    pub async fn lease(&self) -> Result<Option<crate::lease::Lease>, String> {
        match self {
            Env::Lab(l) => l
                .client
                .describe()
                .await
                .map(|d| d.lease)
                .map_err(|e| e.to_string()),
            Env::Aws(a) => {
                let (zone, name) = aws_lease_record(a);
                crate::aws::call::leases(&a.clients, &zone, &name)
                    .await
                    .map(|l| l.into_iter().next())
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// What a lease holds, in words: "the lab at ADDR", "hosted zone Z".
    pub fn leased_thing(&self) -> String {
        match self {
            Env::Lab(l) => format!("the lab at {}", l.client.addr),
            Env::Aws(a) => {
                let (zone, name) = aws_lease_record(a);
                format!("hosted zone {zone} (lease record {name})")
            }
        }
    }

    /// Who takes a lease: the process and machine, and the caller on AWS.
    pub fn lease_holder(&self) -> String {
        let host = crate::journal::this_host();
        let here = crate::journal::whereabouts(Some(std::process::id()), Some(&host));
        match self {
            Env::Lab(_) => here,
            Env::Aws(a) => format!("{here}, {}", a.description.caller_arn),
        }
    }

    /// The change that takes `lease` (over the lapsed `replaces`) and its undo.
    pub fn lease_step(
        &self,
        lease: &crate::lease::Lease,
        replaces: Option<&crate::lease::Lease>,
    ) -> (Action, Action) {
        use crate::aws::AwsCall;
        match self {
            Env::Lab(_) => (
                Action::Lab(LabCall::TakeLease {
                    lease: lease.clone(),
                    replaces: replaces.map(|r| r.run_id.clone()),
                }),
                Action::Lab(LabCall::ReleaseLease {
                    run_id: lease.run_id.clone(),
                }),
            ),
            Env::Aws(a) => {
                let (zone_id, name) = aws_lease_record(a);
                (
                    Action::Aws(AwsCall::TakeLease {
                        zone_id: zone_id.clone(),
                        name: name.clone(),
                        value: lease.value(),
                        replaces: replaces.map(|r| r.value()),
                    }),
                    Action::Aws(AwsCall::ReleaseLease {
                        zone_id,
                        name,
                        value: lease.value(),
                    }),
                )
            }
        }
    }

    /// The exact command that finishes a revert this run left incomplete:
    /// the journal holds the lab's address and token; on AWS the caller
    /// must name the profile again and consent.
    pub fn finish_command(&self, reports: &std::path::Path, profile: Option<&str>) -> String {
        let dir = crate::words::shell_word(&reports.display().to_string());
        match (self, profile) {
            (Env::Lab(_), _) => format!("gameday revert {dir}"),
            (Env::Aws(_), Some(p)) => format!(
                "gameday revert {dir} --profile {} --yes",
                crate::words::shell_word(p)
            ),
            (Env::Aws(_), None) => format!("gameday revert {dir} --yes"),
        }
    }

    /// The guards between the plan and the baseline: on AWS the regions of
    /// every planned change, the steady state and consent.
    pub async fn check_plan(&self, plan: &Plan, consent: bool) -> Result<(), String> {
        match self {
            Env::Lab(_) => Ok(()),
            Env::Aws(a) => aws::preflight(a, plan, consent).await,
        }
    }

    /// What still differs after the undos of `steps`: nothing when the revert
    /// is complete.
    pub async fn verify(&self, before: &Before, steps: &[Step]) -> Vec<String> {
        match (self, before) {
            (Env::Lab(l), Before::Lab(config)) => {
                if l.attached {
                    lab::await_health(&l.client, l).await;
                }
                lab::verify(&l.client, config).await
            }
            _ => aws::verify(&self.appliers(), steps).await,
        }
    }

    /// What the revert verification checked, in a sentence for the report.
    pub fn verification(&self) -> &'static str {
        match self {
            Env::Lab(_) => "verified against the state before the run",
            Env::Aws(_) => "verified: the state each undo restores holds in the account",
        }
    }

    /// The environment's own record of what really happened, from `origin`
    /// on; only the lab keeps one.
    pub async fn truth(&self, origin: crate::clock::MonoNs) -> Vec<TruthMark> {
        match self {
            Env::Lab(l) => lab::truth(&l.client, origin).await,
            Env::Aws(_) => Vec::new(),
        }
    }

    /// What the target itself recorded about the run's changes, as events
    /// on the run's clock: on AWS, when each FIS action started and ended.
    /// Read after the revert; what cannot be read is said as an event too.
    pub async fn evidence(
        &self,
        steps: &[Step],
        clock: &crate::clock::RunClock,
    ) -> Vec<(crate::clock::Offset, &'static str, String)> {
        match self {
            Env::Lab(_) => Vec::new(),
            Env::Aws(a) => aws::evidence(&a.clients, steps, clock).await,
        }
    }

    /// The inputs of the floors: health checks, TTL, target groups.
    pub fn floor_inputs(&self) -> FloorInputs {
        match self {
            Env::Lab(l) => FloorInputs::lab(&l.params),
            Env::Aws(a) => FloorInputs::aws(&a.description),
        }
    }

    /// The TTL customers' caches honour.
    pub fn ttl(&self) -> Duration {
        match self {
            Env::Lab(l) => l.params.dns_ttl.get(),
            Env::Aws(_) => self.floor_inputs().ttl,
        }
    }

    /// Lint findings for the failover configuration.
    pub fn lint(&self) -> Vec<String> {
        match self {
            Env::Lab(l) => crate::floor::lint(&l.params),
            Env::Aws(a) => {
                let mut lint = crate::floor::aws_lint::lint(&a.description);
                lint.extend(a.endpoint.lint(&a.description.params));
                lint
            }
        }
    }

    /// Warnings about the plan itself: on AWS, a change outside the allowed
    /// regions.
    pub fn plan_warnings(&self, plan: &Plan) -> Vec<String> {
        match self {
            Env::Lab(_) => Vec::new(),
            Env::Aws(a) => crate::aws::guard::regions(&a.description, plan)
                .err()
                .into_iter()
                .collect(),
        }
    }

    /// The plan's header: which environment, and on AWS the zone, its
    /// failover records and any change outside the allowed regions.
    pub fn plan_header(&self, plan: &Plan) -> String {
        match self {
            Env::Lab(l) if l.attached => "target lab (standing)\n".into(),
            Env::Lab(_) => "target lab\n".into(),
            Env::Aws(a) => {
                let mut header = aws::plan_header(a);
                for why in self.plan_warnings(plan) {
                    header.push_str(&format!("warning: {why}\n"));
                }
                header
            }
        }
    }

    /// The environment as the report records it.
    pub fn report(&self, consent: bool, ignored_window: Option<String>) -> Environment {
        Environment {
            target: self.target_name().into(),
            attached: self.lab().is_some_and(|l| l.attached),
            consent,
            ignored_window,
            aws: self.aws().map(|a| a.description.clone()),
            lab: self.lab().map(|l| lab::summary(&l.description)),
            host: crate::journal::this_host(),
            gameday_version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    /// The journal's first line: where the run acts. On the lab, its control
    /// address and token; on AWS, the account, the allowed accounts and
    /// regions (a revert checks every undo against them) and the profile.
    pub fn run_start(
        &self,
        run_id: &str,
        profile: Option<String>,
        scenario_sha256: String,
    ) -> crate::journal::JournalEntry {
        let (control, lab_token, profile, scope) = match self {
            Env::Lab(l) => (
                l.client.addr.to_string(),
                Some(l.client.token.clone()),
                None,
                None,
            ),
            Env::Aws(a) => {
                let d = &a.description;
                let scope = crate::journal::AwsScope {
                    account: d.account.clone(),
                    allowed_accounts: d.params.allowed_accounts.clone(),
                    allowed_regions: d.params.regions_allowed(),
                };
                (String::new(), None, profile, Some(scope))
            }
        };
        crate::journal::JournalEntry::RunStart {
            run_id: run_id.to_string(),
            target: self.target_name().into(),
            control,
            profile,
            scope,
            scenario_sha256,
            lab_token,
            pid: Some(std::process::id()),
            host: Some(crate::journal::this_host()),
        }
    }
}

/// What applies changes: the lab's control API, AWS clients, or both (a revert
/// may find either in a journal).
#[derive(Clone, Debug, Default)]
pub struct Appliers {
    /// The lab's control API.
    pub lab: Option<LabClient>,
    /// AWS clients.
    pub aws: Option<AwsClients>,
}

impl Appliers {
    /// What can apply a journal's undos: the lab at `lab` (which must be on
    /// loopback) when any undo is a lab call, AWS clients with `profile` when
    /// any is an AWS call.
    pub async fn for_undos<'a>(
        undos: impl Iterator<Item = &'a Action> + Clone,
        lab: Option<LabClient>,
        profile: Option<&str>,
    ) -> Result<Appliers, String> {
        let lab = if undos.clone().any(|a| matches!(a, Action::Lab(_))) {
            match lab {
                Some(client) if client.addr.ip().is_loopback() => Some(client),
                Some(client) => {
                    return Err(format!(
                        "the journal names a lab at {}, which is not on loopback; gameday labs only listen there, so the journal was not written by one",
                        client.addr
                    ))
                }
                None => return Err("the journal does not say where the lab is (or its token)".into()),
            }
        } else {
            None
        };
        let aws = if undos.clone().any(|a| matches!(a, Action::Aws(_))) {
            Some(AwsClients::load(profile).await)
        } else {
            None
        };
        Ok(Appliers { lab, aws })
    }

    /// Makes one change (or undo).
    pub async fn apply(&self, action: &Action) -> Result<Applied, ChangeError> {
        match action {
            Action::Lab(call) => match &self.lab {
                Some(client) => client.apply(call).await.map_err(ChangeError::from),
                None => Err(
                    "no lab to apply a lab change to; attach to the lab the journal names".into(),
                ),
            },
            Action::Aws(call) => match &self.aws {
                Some(clients) => call.apply(clients).await,
                None => Err("no AWS credentials loaded to apply an AWS change".into()),
            },
        }
    }

    /// Where a change that goes on after it is made stands (an FIS
    /// experiment); `None` for changes that are done once made.
    pub async fn follow(
        &self,
        action: &Action,
    ) -> Option<Result<crate::aws::call::ChangeState, ChangeError>> {
        match (action, &self.aws) {
            (Action::Aws(call), Some(clients)) => call.follow(clients).await,
            _ => None,
        }
    }

    /// Which of the changes `made` no longer holds, and why; None when all
    /// do (or their state cannot be read this time: the next look tries again).
    pub async fn undone_behind_our_back(&self, made: &[Action]) -> Option<String> {
        let mut lab = None;
        for action in made {
            let undone = match (action, &self.lab, &self.aws) {
                (Action::Lab(call), Some(client), _) => {
                    if lab.is_none() {
                        lab = Some(client.describe().await.ok()?);
                    }
                    call.still_in_place(lab.as_ref()?).err()
                }
                (Action::Aws(call), _, Some(clients)) => {
                    call.still_in_place(clients).await.ok().flatten()
                }
                _ => None,
            };
            if undone.is_some() {
                return undone;
            }
        }
        None
    }

    /// Whether the state an undo establishes holds now (lab undos are verified
    /// by comparing whole configurations instead).
    pub async fn holds(&self, action: &Action) -> Result<(), ChangeError> {
        match (action, &self.aws) {
            (Action::Aws(call), Some(clients)) => call.holds(clients).await,
            (Action::Aws(_), None) => Err("no AWS credentials loaded to verify".into()),
            (Action::Lab(_), _) => Ok(()),
        }
    }
}

/// An environment ready to run against.
pub struct Connected {
    /// What was found.
    pub env: Env,
    /// The embedded lab this process started, if any (stopped on drop).
    pub embedded: Option<crate::lab::Lab>,
}

impl Connected {
    /// Stops the embedded lab, if this process started one.
    pub fn stop(mut self) {
        if let Some(mut lab) = self.embedded.take() {
            lab.stop();
        }
    }
}

/// The floors' inputs a scenario declares without connecting to anything:
/// the lab's are its `[lab]` table; an AWS account's must be read (`None`).
pub fn offline_floor_inputs(scenario: &crate::scenario::Scenario) -> Option<FloorInputs> {
    match scenario.target {
        crate::scenario::Target::Lab => Some(FloorInputs::lab(&scenario.lab)),
        crate::scenario::Target::Aws => None,
    }
}

/// How many threads a run's async runtime gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// One: the runner alone, which only waits on the network (a standing
    /// lab, an AWS account). No wake-ups across threads, the least CPU.
    One,
    /// A worker per core: the embedded lab serves the customers from this
    /// process, and its answers must not wait behind the runner's work.
    PerCore,
}

/// The threads a run of `scenario` needs: the embedded lab shares the
/// process, a standing lab (`attached`) or an AWS account does not.
pub fn run_threads(scenario: &crate::scenario::Scenario, attached: bool) -> Threads {
    match (scenario.target, attached) {
        (crate::scenario::Target::Lab, false) => Threads::PerCore,
        _ => Threads::One,
    }
}

/// Starts (or attaches to) the lab, or loads AWS credentials and reads the
/// account, for a scenario. Changes nothing.
pub async fn connect(
    scenario: &crate::scenario::Scenario,
    attach: Option<LabClient>,
    profile: Option<&str>,
) -> Result<Connected, String> {
    use crate::scenario::Target;
    match (scenario.target, &scenario.aws) {
        (Target::Aws, Some(params)) => {
            if attach.is_some() {
                return Err("--attach is for a standing lab; this scenario's target is aws".into());
            }
            let through = scenario
                .probes
                .iter()
                .find_map(|p| p.customer_resolvers())
                .map(Resolvers::from_list)
                .unwrap_or(Resolvers::System);
            let env = aws::connect(params, profile, &through).await?;
            Ok(Connected {
                env: Env::Aws(Arc::new(env)),
                embedded: None,
            })
        }
        (Target::Aws, None) => Err("target = \"aws\" needs an [aws] table".into()),
        (Target::Lab, _) => lab::connect(scenario, attach).await,
    }
}

/// The hosted zone and name of the AWS lease record.
fn aws_lease_record(a: &AwsEnv) -> (String, String) {
    let p = &a.description.params;
    (
        p.hosted_zone_id.clone(),
        format!(
            "{}{}",
            crate::lease::RECORD_PREFIX,
            p.record_name.trim_end_matches('.')
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(file: &str) -> crate::scenario::Scenario {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let text = std::fs::read_to_string(&path).expect("shipped scenario");
        crate::scenario::parse(&path, &text).expect("valid")
    }

    #[test]
    fn only_the_embedded_lab_gets_a_worker_per_core() {
        let lab = scenario("scenarios/kill-primary-targets.toml");
        assert_eq!(run_threads(&lab, false), Threads::PerCore);
        assert_eq!(run_threads(&lab, true), Threads::One);
        let aws = scenario("scenarios/aws/kill-primary-targets.toml");
        assert_eq!(run_threads(&aws, false), Threads::One);
    }
}
