//! The game day's lease on AWS: a TXT record `_gameday-lease.<record>` in the
//! failover record's hosted zone. Route 53 refuses a CREATE of a record that
//! exists, so two runs cannot both take it; each run reads it back after
//! taking it and gives it up if the value is not its own alone (an endpoint
//! that does not refuse the second CREATE), and deletes it with its exact
//! value, so it never removes another run's lease.

use super::applied;
use crate::aws::error::explain;
use crate::aws::AwsClients;
use crate::lease::Lease;
use crate::words::{Applied, ChangeError};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

/// The TTL of the lease record: nothing resolves it but gameday.
const TTL: i64 = 60;

/// The values of the TXT records named `name` (unquoted).
pub async fn lease_values(
    aws: &AwsClients,
    zone_id: &str,
    name: &str,
) -> Result<Vec<String>, ChangeError> {
    let out = aws
        .route53()
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .start_record_name(name)
        .start_record_type(RrType::Txt)
        .max_items(10)
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("reading the lease record {name} in {zone_id}"),
                "route53:ListResourceRecordSets",
                &e,
            )
        })?;
    let want = format!("{}.", name.trim_end_matches('.').to_ascii_lowercase());
    Ok(out
        .resource_record_sets()
        .iter()
        .filter(|r| r.name().to_ascii_lowercase() == want && r.r#type() == &RrType::Txt)
        .flat_map(|r| r.resource_records())
        .map(|v| v.value().trim_matches('"').to_string())
        .collect())
}

/// The leases recorded at `name` (normally none or one).
pub async fn leases(
    aws: &AwsClients,
    zone_id: &str,
    name: &str,
) -> Result<Vec<Lease>, ChangeError> {
    Ok(lease_values(aws, zone_id, name)
        .await?
        .iter()
        .filter_map(|v| Lease::parse(v))
        .collect())
}

fn change(action: ChangeAction, name: &str, value: &str) -> Result<Change, ChangeError> {
    let record = ResourceRecord::builder()
        .value(format!("\"{value}\""))
        .build()
        .map_err(|e| ChangeError::permanent(e.to_string()))?;
    let set = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::Txt)
        .ttl(TTL)
        .resource_records(record)
        .build()
        .map_err(|e| ChangeError::permanent(e.to_string()))?;
    Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
        .map_err(|e| ChangeError::permanent(e.to_string()))
}

async fn submit(
    aws: &AwsClients,
    zone_id: &str,
    changes: Vec<Change>,
    doing: &str,
) -> Result<(), ChangeError> {
    let batch = ChangeBatch::builder()
        .set_changes(Some(changes))
        .build()
        .map_err(|e| ChangeError::permanent(e.to_string()))?;
    aws.route53()
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(batch)
        .send()
        .await
        .map_err(|e| explain(doing, "route53:ChangeResourceRecordSets", &e))?;
    Ok(())
}

/// Creates the lease record (deleting the lapsed `replaces` in the same
/// batch), then reads it back: anything but our value alone is a lost race,
/// and ours is deleted again.
pub async fn take_lease(
    aws: &AwsClients,
    zone_id: &str,
    name: &str,
    value: &str,
    replaces: Option<&str>,
) -> Result<Applied, ChangeError> {
    let held = lease_values(aws, zone_id, name).await?;
    if held == [value] {
        return Ok(applied(false));
    }
    let mut changes = Vec::new();
    if let Some(old) = replaces {
        changes.push(change(ChangeAction::Delete, name, old)?);
    }
    changes.push(change(ChangeAction::Create, name, value)?);
    submit(
        aws,
        zone_id,
        changes,
        &format!("taking the lease {name} in {zone_id}"),
    )
    .await?;
    let now = lease_values(aws, zone_id, name).await?;
    if now != [value] {
        let _ = release_lease(aws, zone_id, name, value).await;
        let other = now
            .iter()
            .filter(|v| *v != value)
            .filter_map(|v| Lease::parse(v))
            .map(|l| l.describe())
            .next()
            .unwrap_or_else(|| "another value".into());
        return Err(ChangeError::permanent(format!(
            "the lease {name} is held by {other}"
        )));
    }
    Ok(applied(true))
}

/// Deletes the lease record if it still holds exactly `value`.
pub async fn release_lease(
    aws: &AwsClients,
    zone_id: &str,
    name: &str,
    value: &str,
) -> Result<Applied, ChangeError> {
    if !lease_values(aws, zone_id, name)
        .await?
        .iter()
        .any(|v| v == value)
    {
        return Ok(applied(false));
    }
    let delete = change(ChangeAction::Delete, name, value)?;
    submit(
        aws,
        zone_id,
        vec![delete],
        &format!("releasing the lease {name} in {zone_id}"),
    )
    .await?;
    Ok(applied(true))
}

/// After the release: the value is gone.
pub async fn released(
    aws: &AwsClients,
    zone_id: &str,
    name: &str,
    value: &str,
) -> Result<(), ChangeError> {
    if lease_values(aws, zone_id, name)
        .await?
        .iter()
        .any(|v| v == value)
    {
        Err(format!("the lease {name} in {zone_id} is still held").into())
    } else {
        Ok(())
    }
}
