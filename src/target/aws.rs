//! The AWS target: connecting (credentials, discovery, the account guard),
//! the guards before the fault, and verifying a revert by checking that the
//! state each undo establishes holds.

use super::Appliers;
use crate::aws::{guard, AwsClients, AwsEnv, AwsParams};
use crate::plan::{Plan, Step};

/// Loads credentials and reads the environment; refuses a wrong account at
/// once, before anything else is read.
pub async fn connect(params: &AwsParams, profile: Option<&str>) -> Result<AwsEnv, String> {
    let clients = AwsClients::load(profile.or(params.profile.as_deref())).await;
    let env = AwsEnv::discover(params, clients).await?;
    guard::account(&env.description)?;
    Ok(env)
}

/// Guards between the plan and the baseline: regions, steady state, consent.
pub async fn preflight(env: &AwsEnv, plan: &Plan, consent: bool) -> Result<(), String> {
    guard::regions(&env.description, plan)?;
    guard::steady(&env.description, &env.clients).await?;
    guard::consent(&env.description, plan, consent)
}

/// What does not hold after the undos of `steps`.
pub async fn verify(appliers: &Appliers, steps: &[Step]) -> Vec<String> {
    let mut out = Vec::new();
    for s in steps {
        if let Err(e) = appliers.holds(&s.undo).await {
            out.push(e);
        }
    }
    out
}
