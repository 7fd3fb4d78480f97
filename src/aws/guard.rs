//! Guards of an AWS run, checked before anything changes; each refusal is one
//! line saying what is wrong and what to do (exit 2).

use super::call::Outside;
use super::discover::AwsDescription;
use super::AwsClients;
use crate::plan::{Action, Plan};
use std::io::{BufRead, IsTerminal, Write};

/// The caller's account must be one the scenario allows.
pub fn account(desc: &AwsDescription) -> Result<(), String> {
    account_allowed(
        &desc.account,
        &desc.caller_arn,
        &desc.params.allowed_accounts,
    )
}

/// The same check on STS's answer alone, before any other call is made.
pub fn account_allowed(account: &str, caller_arn: &str, allowed: &[String]) -> Result<(), String> {
    if allowed.iter().any(|a| a == account) {
        Ok(())
    } else {
        Err(format!(
            "refusing to start: the credentials are for account {account} ({caller_arn}), which is not in allowed_accounts [{}]; use the right profile (--profile) or add the account to the scenario",
            allowed.join(", ")
        ))
    }
}

/// Every change must be in an allowed region, and every resource it names
/// (an ARN: a target group, a global database's secondary) in an allowed
/// account and region, wherever the call itself is made.
pub fn regions(desc: &AwsDescription, plan: &Plan) -> Result<(), String> {
    let allowed = desc.params.regions_allowed();
    let accounts = &desc.params.allowed_accounts;
    for step in &plan.steps {
        for action in [&step.apply, &step.undo] {
            let Action::Aws(call) = action else { continue };
            match call.outside(accounts, &allowed) {
                Some(Outside::Region(region)) => return Err(format!(
                    "refusing to start: [{}] would change {region}, which is not in allowed_regions [{}]; fix the fault's region or allow it",
                    step.fault,
                    allowed.join(", ")
                )),
                Some(Outside::Resource(why)) => return Err(format!(
                    "refusing to start: [{}] names {why}; it would reach outside the scenario's scope",
                    step.fault
                )),
                None => {}
            }
        }
    }
    Ok(())
}

/// A non-lab run needs `--yes`, or the account id typed at a terminal.
pub fn consent(desc: &AwsDescription, plan: &Plan, yes: bool) -> Result<(), String> {
    let what = format!(
        "{}\nThis changes AWS account {} ({} and {}).",
        plan.render(),
        desc.account,
        desc.params.primary_region,
        desc.params.secondary_region
    );
    confirm(&desc.account, &what, "`gameday plan`", yes)
}

/// Consent to change `account`: `--yes`, or the account id typed at a
/// terminal after `what` is shown. `read_first` is what to read before
/// passing --yes without a terminal.
pub fn confirm(account: &str, what: &str, read_first: &str, yes: bool) -> Result<(), String> {
    if yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(format!(
            "refusing to start: this changes AWS account {account} and there is no terminal to confirm it; pass --yes (CI) after reading {read_first}"
        ));
    }
    let mut err = std::io::stderr();
    let _ = write!(err, "{what} Type the account id to go on: ");
    let _ = err.flush();
    let mut line = String::new();
    let _ = stdin.lock().read_line(&mut line);
    if line.trim() == account {
        Ok(())
    } else {
        Err("refusing to start: the account id was not confirmed; nothing was changed".into())
    }
}

/// The secondary must be healthy before anything breaks, or there is nothing
/// to fail over to; and no deny ACL of an earlier run may be left behind.
pub async fn steady(desc: &AwsDescription, clients: &AwsClients) -> Result<(), String> {
    let route53 = clients.route53();
    let checks = std::iter::once(("primary", desc.params.primary_health_check.as_str())).chain(
        desc.params
            .secondary_health_check
            .as_deref()
            .map(|s| ("secondary", s)),
    );
    for (role, id) in checks {
        let verdict = super::health::status(&route53, id).await?;
        if !verdict.is_healthy() {
            return Err(format!(
                "refusing to start: Route 53 calls the {role} unhealthy before any fault (health check {id}: {} of {} checkers healthy); fix it first",
                verdict.healthy, verdict.checkers
            ));
        }
    }
    for region in [&desc.params.primary_region, &desc.params.secondary_region] {
        let left = super::call::deny_acls(&clients.region(region).ec2, "", None).await?;
        if let Some(acl) = left.first() {
            return Err(format!(
                "refusing to start: deny ACL {} of run {} is still in {region} (severing {}); run `gameday revert --sweep --region {region}` first",
                acl.acl_id, acl.run_id, acl.subnet_id
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::call::AwsCall;
    use crate::aws::discover::AwsDescription;
    use crate::plan::Step;

    fn description(account: &str) -> AwsDescription {
        AwsDescription {
            account: account.into(),
            ..crate::aws::discover::example::good()
        }
    }

    fn plan_in(region: &str) -> Plan {
        let ids = vec!["i-1".to_string()];
        Plan {
            findings: Vec::new(),
            steps: vec![Step::outage(
                "stop-instances",
                Action::Aws(AwsCall::StopInstances {
                    region: region.into(),
                    instance_ids: ids.clone(),
                }),
                Action::Aws(AwsCall::StartInstances {
                    region: region.into(),
                    instance_ids: ids,
                }),
            )],
            watches: vec![],
            floors: Default::default(),
        }
    }

    #[test]
    fn the_account_and_every_change_must_be_allowed() {
        assert!(account(&description("123456789012")).is_ok());
        let wrong = account(&description("210987654321")).unwrap_err();
        assert!(
            wrong.contains("account 210987654321")
                && wrong.contains("not in allowed_accounts [123456789012]"),
            "{wrong}"
        );
        assert!(regions(&description("123456789012"), &plan_in("us-west-2")).is_ok());
        let far = regions(&description("123456789012"), &plan_in("eu-west-1")).unwrap_err();
        assert!(
            far.contains(
                "would change eu-west-1, which is not in allowed_regions [us-east-1, us-west-2]"
            ),
            "{far}"
        );
        // A global failover called in an allowed region, promoting a
        // cluster that lives in another region or account.
        for (arn, why) in [
            (
                "arn:aws:rds:eu-west-1:123456789012:cluster:b",
                "region eu-west-1",
            ),
            (
                "arn:aws:rds:us-west-2:999999999999:cluster:b",
                "account 999999999999",
            ),
        ] {
            let mut plan = plan_in("us-east-1");
            plan.steps[0].apply = Action::Aws(AwsCall::GlobalFailover {
                region: "us-east-1".into(),
                global_cluster: "g".into(),
                target_cluster_arn: arn.into(),
                switchover: true,
            });
            let refused = regions(&description("123456789012"), &plan).unwrap_err();
            assert!(refused.contains(why), "{refused}");
        }
    }
}
