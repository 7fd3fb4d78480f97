//! `gameday revert --sweep`: restore from AWS alone. Every deny ACL gameday
//! creates carries its run id, the subnet it severs and that subnet's original
//! ACL in tags, so even with the journal lost the subnets can be put back.

use super::call::{deny_acls, AwsCall};
use super::AwsClients;

/// Restores every subnet severed by any gameday run in `regions` and deletes
/// the deny ACLs. Returns what was restored, or what was and the first failure.
pub async fn sweep(
    clients: &AwsClients,
    regions: &[String],
) -> Result<Vec<String>, (Vec<String>, String)> {
    let mut restored = Vec::new();
    for region in regions {
        let found = deny_acls(&clients.region(region).ec2, "", None)
            .await
            .map_err(|e| (restored.clone(), e))?;
        for acl in found {
            if acl.original_acl_id.is_empty() || acl.subnet_id.is_empty() {
                return Err((
                    restored,
                    format!("deny ACL {} in {region} lacks its gameday:subnet or gameday:original-acl tag; restore it by hand", acl.acl_id),
                ));
            }
            let undo = AwsCall::RestoreSubnet {
                region: region.clone(),
                subnet_id: acl.subnet_id.clone(),
                original_acl_id: acl.original_acl_id.clone(),
                run_id: acl.run_id.clone(),
            };
            undo.apply(clients)
                .await
                .map_err(|e| (restored.clone(), e.message))?;
            undo.holds(clients)
                .await
                .map_err(|e| (restored.clone(), e.message))?;
            restored.push(undo.summary());
        }
    }
    Ok(restored)
}
