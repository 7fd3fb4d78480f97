//! `gameday revert --sweep`: restore from AWS alone. Every deny ACL gameday
//! creates carries its run id, the subnet it severs and that subnet's original
//! ACL in tags, so even with the journal lost the subnets can be put back.
//!
//! Tags are not proof: anyone with `ec2:CreateTags` can write them. So the
//! sweep first asks STS who the caller is (and refuses an account it was not
//! told to sweep), then acts on an ACL only when the subnet is associated
//! with it now, every one of its entries denies (as gameday creates them),
//! and the original ACL exists in the same VPC. Anything else is reported,
//! never acted on.

use super::call::{acl_vpc, deny_acls, AwsCall, DenyAcl};
use super::AwsClients;

/// What a sweep did: restored subnets, and ACLs it refused to act on.
#[derive(Debug, Default)]
pub struct Swept {
    /// What was restored, one line each.
    pub restored: Vec<String>,
    /// Tagged ACLs that were not restored, and why.
    pub refused: Vec<String>,
}

/// Restores every subnet severed by any gameday run in `regions` of
/// `account` and deletes the deny ACLs; `confirm` is asked once the caller's
/// account is known. An `Err` is what stopped the sweep, with what it did.
pub async fn sweep(
    clients: &AwsClients,
    regions: &[String],
    account: &str,
    confirm: impl FnOnce(&str) -> Result<(), String>,
) -> Result<Swept, (Swept, String)> {
    let mut swept = Swept::default();
    let (caller, _) = clients
        .caller(&regions[0])
        .await
        .map_err(|e| (Swept::default(), e))?;
    if caller != account {
        return Err((
            swept,
            format!("the credentials are for account {caller}, not {account} (--account); use that account's profile (--profile)"),
        ));
    }
    confirm(&caller).map_err(|e| (Swept::default(), e))?;
    for region in regions {
        let ec2 = clients.region(region).ec2;
        let found = match deny_acls(&ec2, "", None).await {
            Ok(found) => found,
            Err(e) => return Err((swept, e)),
        };
        for acl in found {
            if let Err(why) = genuine(&ec2, &acl).await {
                swept
                    .refused
                    .push(format!("{} in {region}: {why}", acl.acl_id));
                continue;
            }
            if let Err(e) = restore(clients, region, &acl, &mut swept).await {
                return Err((swept, e));
            }
        }
    }
    Ok(swept)
}

/// Whether a tagged ACL is one of gameday's deny ACLs, severing that subnet now.
async fn genuine(ec2: &aws_sdk_ec2::Client, acl: &DenyAcl) -> Result<(), String> {
    if acl.original_acl_id.is_empty() || acl.subnet_id.is_empty() {
        return Err(
            "lacks its gameday:subnet or gameday:original-acl tag; restore it by hand".into(),
        );
    }
    if !acl.associated.contains(&acl.subnet_id) {
        return Err(format!(
            "its tags name subnet {}, which is not associated with it; not touched",
            acl.subnet_id
        ));
    }
    if !acl.deny_all {
        return Err("it has allow rules (or is a default ACL), so gameday did not make it; not touched, whatever its tags say".into());
    }
    let original_vpc = acl_vpc(ec2, &acl.original_acl_id).await?;
    if original_vpc != acl.vpc_id {
        return Err(format!(
            "its tags name original ACL {} in {original_vpc}, not in the ACL's VPC {}; not touched",
            acl.original_acl_id, acl.vpc_id
        ));
    }
    Ok(())
}

async fn restore(
    clients: &AwsClients,
    region: &str,
    acl: &DenyAcl,
    swept: &mut Swept,
) -> Result<(), String> {
    let undo = AwsCall::RestoreSubnet {
        region: region.to_string(),
        subnet_id: acl.subnet_id.clone(),
        original_acl_id: acl.original_acl_id.clone(),
        run_id: acl.run_id.clone(),
    };
    undo.apply(clients).await.map_err(|e| e.message)?;
    undo.holds(clients).await.map_err(|e| e.message)?;
    swept.restored.push(undo.summary());
    Ok(())
}
