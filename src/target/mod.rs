//! Where a scenario runs: the embedded lab or an AWS account. The run loop is
//! the same for both; what differs lives here, one file per target: how a
//! change is applied, what must hold before the fault (beyond the probes'
//! baseline), how a revert is verified, and what ground truth exists.

pub mod aws;
pub mod lab;

use crate::aws::{AwsClients, AwsEnv};
use crate::lab::{Applied, LabClient, LabDescription, Role};
use crate::plan::Action;
use std::sync::Arc;

/// The environment a run acts on, as found before it. (Built once per run and
/// cloned into probe contexts; the size difference between variants is moot.)
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Env {
    /// The embedded (or standing) lab.
    Lab(LabDescription),
    /// An AWS account.
    Aws(Arc<AwsEnv>),
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
    pub fn lab(&self) -> Option<&LabDescription> {
        match self {
            Env::Lab(d) => Some(d),
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
            Env::Lab(d) => d.region(role).name.clone(),
            Env::Aws(a) => a.description.params.region(role).to_string(),
        }
    }

    /// The name customers resolve.
    pub fn record(&self) -> String {
        match self {
            Env::Lab(d) => d.record.trim_end_matches('.').to_string(),
            Env::Aws(a) => a.description.params.host().to_string(),
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
    /// Makes one change (or undo).
    pub async fn apply(&self, action: &Action) -> Result<Applied, String> {
        match action {
            Action::Lab(call) => match &self.lab {
                Some(client) => client.apply(call).await.map_err(|e| e.to_string()),
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
    ) -> Option<Result<crate::aws::call::ChangeState, String>> {
        match (action, &self.aws) {
            (Action::Aws(call), Some(clients)) => call.follow(clients).await,
            _ => None,
        }
    }

    /// Whether the state an undo establishes holds now (lab undos are verified
    /// by comparing whole configurations instead).
    pub async fn holds(&self, action: &Action) -> Result<(), String> {
        match (action, &self.aws) {
            (Action::Aws(call), Some(clients)) => call.holds(clients).await,
            (Action::Aws(_), None) => Err("no AWS credentials loaded to verify".into()),
            (Action::Lab(_), _) => Ok(()),
        }
    }
}

/// A target ready to run against.
pub struct Connected {
    /// What was found.
    pub env: Env,
    /// What applies changes.
    pub appliers: Appliers,
    /// The embedded lab this process started, if any (stopped on drop).
    pub embedded: Option<crate::lab::Lab>,
}

/// Starts (or attaches to) the lab, or loads AWS credentials and reads the
/// account, for a scenario. Changes nothing.
pub async fn connect(
    scenario: &crate::scenario::Scenario,
    attach: Option<std::net::SocketAddr>,
    profile: Option<&str>,
) -> Result<Connected, String> {
    use crate::scenario::Target;
    match (scenario.target, &scenario.aws) {
        (Target::Aws, Some(params)) => {
            if attach.is_some() {
                return Err("--attach is for a standing lab; this scenario's target is aws".into());
            }
            let env = aws::connect(params, profile).await?;
            Ok(Connected {
                appliers: Appliers {
                    lab: None,
                    aws: Some(env.clients.clone()),
                },
                env: Env::Aws(Arc::new(env)),
                embedded: None,
            })
        }
        (Target::Aws, None) => Err("target = \"aws\" needs an [aws] table".into()),
        (Target::Lab, _) => {
            let mut embedded = None;
            let client = match attach {
                Some(addr) => LabClient { addr },
                None => {
                    let lab = crate::lab::Lab::start(
                        scenario.lab.clone(),
                        crate::lab::LabPorts::default(),
                    )
                    .await
                    .map_err(|e| format!("cannot start the lab: {e:#}"))?;
                    let client = LabClient {
                        addr: lab.control_addr(),
                    };
                    embedded = Some(lab);
                    client
                }
            };
            let env = client.describe().await.map_err(|e| e.to_string())?;
            Ok(Connected {
                env: Env::Lab(env),
                appliers: Appliers {
                    lab: Some(client),
                    aws: None,
                },
                embedded,
            })
        }
    }
}
