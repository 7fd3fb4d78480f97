//! Route 53 health-check status as Route 53 itself decides it: each checker
//! reports its last observation, and the endpoint is healthy when more than
//! 18% of the checkers say so.

use super::error::explain;

/// The checkers' verdict on one health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckerVerdict {
    /// Checkers whose last observation was a success.
    pub healthy: u32,
    /// Checkers that reported.
    pub checkers: u32,
}

impl CheckerVerdict {
    /// From the checkers' status lines (`Success: HTTP Status Code 200...`,
    /// `Failure: Connection timed out...`).
    pub fn from_statuses<'a>(statuses: impl IntoIterator<Item = &'a str>) -> CheckerVerdict {
        let mut v = CheckerVerdict {
            healthy: 0,
            checkers: 0,
        };
        for s in statuses {
            v.checkers += 1;
            if s.trim_start().starts_with("Success") {
                v.healthy += 1;
            }
        }
        v
    }

    /// Healthy when more than 18% of the checkers say so (none reporting is not healthy).
    pub fn is_healthy(&self) -> bool {
        self.checkers > 0 && u64::from(self.healthy) * 100 > u64::from(self.checkers) * 18
    }
}

/// Reads GetHealthCheckStatus for one health check.
pub async fn status(route53: &aws_sdk_route53::Client, id: &str) -> Result<CheckerVerdict, String> {
    let out = route53
        .get_health_check_status()
        .health_check_id(id)
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("reading the status of health check {id}"),
                "route53:GetHealthCheckStatus",
                &e,
            )
        })?;
    Ok(CheckerVerdict::from_statuses(
        out.health_check_observations()
            .iter()
            .filter_map(|o| o.status_report())
            .filter_map(|r| r.status()),
    ))
}

#[cfg(test)]
mod tests {
    use super::CheckerVerdict;

    fn verdict(healthy: usize, failing: usize) -> CheckerVerdict {
        let ok = "Success: HTTP Status Code 200, OK";
        let bad = "Failure: Connection timed out. The endpoint or the internet connection is down, or requests are being blocked by your firewall.";
        CheckerVerdict::from_statuses(
            std::iter::repeat_n(ok, healthy).chain(std::iter::repeat_n(bad, failing)),
        )
    }

    #[test]
    fn eighteen_percent_rule() {
        // Route 53 runs 16 checkers by default (8 regions x 2).
        assert!(verdict(16, 0).is_healthy());
        assert!(verdict(3, 13).is_healthy(), "3/16 = 18.75% > 18%");
        assert!(!verdict(2, 14).is_healthy(), "2/16 = 12.5%");
        assert!(!verdict(0, 16).is_healthy());
        // Exactly 18% is not more than 18%.
        assert!(!verdict(9, 41).is_healthy(), "9/50 = 18%");
        assert!(verdict(10, 40).is_healthy(), "10/50 = 20%");
        assert!(!verdict(0, 0).is_healthy(), "no checker reported");
        assert_eq!(
            verdict(3, 13),
            CheckerVerdict {
                healthy: 3,
                checkers: 16
            }
        );
    }
}
