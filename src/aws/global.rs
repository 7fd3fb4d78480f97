//! Aurora global databases as the canary and `fail-database` read them: the
//! member clusters and which one writes. Read only.

use crate::aws::error::explain;

/// One member cluster of a global database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The cluster's ARN.
    pub arn: String,
    /// It is the global writer.
    pub writer: bool,
}

/// The members of global database `global`, read through `rds`, the client
/// of `region` (any member region's client sees them), or why not.
pub async fn members(
    rds: &aws_sdk_rds::Client,
    region: &str,
    global: &str,
) -> Result<Vec<Member>, String> {
    let out = rds
        .describe_global_clusters()
        .global_cluster_identifier(global)
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("reading global database {global} in {region}"),
                "rds:DescribeGlobalClusters",
                &e,
            )
        })?;
    let Some(g) = out.global_clusters().first() else {
        return Err(format!(
            "no global database {global} is visible from {region}; check global_cluster and the region"
        ));
    };
    Ok(g.global_cluster_members()
        .iter()
        .map(|m| Member {
            arn: m.db_cluster_arn().unwrap_or_default().to_string(),
            writer: m.is_writer() == Some(true),
        })
        .collect())
}

/// Whether the old primary region's member stopped writing, read after the
/// fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demotion {
    /// The writer member's ARN, if one writes.
    pub writer: Option<String>,
    /// `Some(true)`: the old primary region's member is a secondary now;
    /// `Some(false)`: it still is the global writer; `None`: unknown (no
    /// member writes, or the old primary left the global database).
    pub demoted: Option<bool>,
    /// In one sentence.
    pub detail: String,
}

/// Reads `members` for the old primary region `old_region`.
pub fn demotion(global: &str, members: &[Member], old_region: &str) -> Demotion {
    let in_old =
        |m: &&Member| crate::aws::arn::parse(&m.arn).is_some_and(|a| a.region == old_region);
    let writer = members.iter().find(|m| m.writer);
    let old = members.iter().find(in_old);
    let (demoted, detail) = match (writer, old) {
        (Some(w), _) if in_old(&w) => (
            Some(false),
            format!("not demoted: {} in {old_region} is still the writer of global database {global}", w.arn),
        ),
        (Some(w), Some(o)) => (
            Some(true),
            format!("demoted: {} writes for global database {global}; the old primary {} is a secondary member", w.arn, o.arn),
        ),
        // Detached or deleted: a detached cluster takes writes on its own.
        (Some(w), None) => (
            None,
            format!("left: {} writes for global database {global} and no member is left in {old_region}; a cluster detached from it takes writes on its own (the old-writer probes say whether it does)", w.arn),
        ),
        (None, _) => (
            None,
            format!("global database {global} has no writer member: whether the old primary in {old_region} still takes writes is unknown"),
        ),
    };
    Demotion {
        writer: writer.map(|w| w.arn.clone()),
        demoted,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(arn: &str, writer: bool) -> Member {
        Member {
            arn: arn.into(),
            writer,
        }
    }
    const EAST: &str = "arn:aws:rds:us-east-1:123456789012:cluster:east";
    const WEST: &str = "arn:aws:rds:us-west-2:123456789012:cluster:west";

    #[test]
    fn the_old_primary_still_writing_is_not_demoted() {
        let d = demotion("g", &[m(EAST, true), m(WEST, false)], "us-east-1");
        assert_eq!(d.demoted, Some(false));
        assert_eq!(d.writer.as_deref(), Some(EAST));
        assert!(d.detail.starts_with("not demoted"), "{}", d.detail);
    }

    #[test]
    fn a_switched_over_global_database_demoted_the_old_primary() {
        let d = demotion("g", &[m(EAST, false), m(WEST, true)], "us-east-1");
        assert_eq!(d.demoted, Some(true));
        assert!(
            d.detail.starts_with("demoted") && d.detail.contains(EAST),
            "{}",
            d.detail
        );
    }

    #[test]
    fn an_old_primary_that_left_is_not_called_demoted() {
        let d = demotion("g", &[m(WEST, true)], "us-east-1");
        assert_eq!(d.demoted, None);
        assert!(d.detail.starts_with("left"), "{}", d.detail);
    }

    #[test]
    fn no_writer_is_unknown() {
        let d = demotion("g", &[m(EAST, false), m(WEST, false)], "us-east-1");
        assert_eq!((d.demoted, d.writer), (None, None));
    }
}
