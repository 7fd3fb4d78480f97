//! Amazon Resource Names, read only as far as scope checks need: the region
//! and account a resource lives in, whatever region a call is made in.

/// The parts of an ARN that say where a resource is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: &'a str,
    /// `elasticloadbalancing`, `rds`, `ec2`...
    pub service: &'a str,
    /// Empty for global resources.
    pub region: &'a str,
    /// Empty for some resources.
    pub account: &'a str,
}

/// Parses `arn:partition:service:region:account:resource`.
pub fn parse(s: &str) -> Option<Arn<'_>> {
    let mut parts = s.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let arn = Arn {
        partition: parts.next()?,
        service: parts.next()?,
        region: parts.next()?,
        account: parts.next()?,
    };
    let resource = parts.next()?;
    (!arn.partition.is_empty() && !arn.service.is_empty() && !resource.is_empty()).then_some(arn)
}

/// Why `arn` is outside the allowed accounts and regions, if it is.
pub fn outside(arn: &str, accounts: &[String], regions: &[String]) -> Option<String> {
    let Some(a) = parse(arn) else {
        return Some(format!("{arn} is not an ARN"));
    };
    if !a.region.is_empty() && !regions.iter().any(|r| r == a.region) {
        return Some(format!(
            "{arn} is in region {}, not in the allowed regions [{}]",
            a.region,
            regions.join(", ")
        ));
    }
    if !a.account.is_empty() && !accounts.iter().any(|x| x == a.account) {
        return Some(format!(
            "{arn} is in account {}, not in the allowed accounts [{}]",
            a.account,
            accounts.join(", ")
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_says_where_its_resource_is() {
        let a = parse("arn:aws:rds:eu-west-1:123456789012:cluster:db-b").unwrap();
        assert_eq!(
            (a.service, a.region, a.account),
            ("rds", "eu-west-1", "123456789012")
        );
        assert!(parse("cluster:db-b").is_none());
        let (accounts, regions) = (
            vec!["123456789012".to_string()],
            vec!["us-east-1".to_string()],
        );
        let far = outside(
            "arn:aws:rds:eu-west-1:123456789012:cluster:db-b",
            &accounts,
            &regions,
        );
        assert!(far.unwrap().contains("region eu-west-1"));
        let other = outside(
            "arn:aws:rds:us-east-1:999999999999:cluster:db-b",
            &accounts,
            &regions,
        );
        assert!(other.unwrap().contains("account 999999999999"));
        assert!(outside(
            "arn:aws:rds:us-east-1:123456789012:cluster:db-b",
            &accounts,
            &regions
        )
        .is_none());
        assert!(outside("arn:aws:iam::123456789012:role/x", &accounts, &regions).is_none());
    }
}
