//! One game day at a time per environment: a lease taken before the baseline
//! and released after the revert, journaled like any change so that
//! `gameday revert` releases a dead run's lease. On the lab the control API
//! holds it; on AWS a TXT record beside the failover record does
//! (`_gameday-lease.<record>`), created with a Route 53 CREATE, which fails
//! when the record already exists.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// Prefix of the TXT record name that holds a lease on AWS.
pub const RECORD_PREFIX: &str = "_gameday-lease.";

/// Who holds an environment, since when and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The run holding it.
    pub run_id: String,
    /// Who runs it: "pid P on host H" (and the caller on AWS).
    pub holder: String,
    /// When it was taken (wall time: it is compared across machines).
    pub since: DateTime<Utc>,
    /// When it lapses: a run that died without a revert blocks no one after it.
    pub until: DateTime<Utc>,
}

impl Lease {
    /// Whether it has lapsed at `now`.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.until
    }

    /// The lease as one line of text (the TXT record's value): printable
    /// ASCII without quotes or backslashes, at most 255 bytes.
    pub fn value(&self) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .filter(|c| c.is_ascii_graphic() || *c == ' ')
                .filter(|c| !matches!(c, '"' | '\\' | ';'))
                .take(120)
                .collect()
        };
        format!(
            "gameday-lease run={}; holder={}; since={}; until={}",
            clean(&self.run_id),
            clean(&self.holder),
            self.since.to_rfc3339_opts(SecondsFormat::Secs, true),
            self.until.to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }

    /// Reads a value written by [`Lease::value`] (quotes around it allowed).
    pub fn parse(text: &str) -> Option<Lease> {
        let body = text
            .trim()
            .trim_matches('"')
            .strip_prefix("gameday-lease ")?;
        let mut run_id = None;
        let mut holder = None;
        let mut since = None;
        let mut until = None;
        for part in body.split("; ") {
            let (k, v) = part.split_once('=')?;
            match k {
                "run" => run_id = Some(v.to_string()),
                "holder" => holder = Some(v.to_string()),
                "since" => since = DateTime::parse_from_rfc3339(v).ok(),
                "until" => until = DateTime::parse_from_rfc3339(v).ok(),
                _ => {}
            }
        }
        Some(Lease {
            run_id: run_id?,
            holder: holder?,
            since: since?.with_timezone(&Utc),
            until: until?.with_timezone(&Utc),
        })
    }

    /// "run X (holder) since T, until U", for refusals and warnings.
    pub fn describe(&self) -> String {
        format!(
            "run {} ({}) since {}, until {}",
            self.run_id,
            self.holder,
            self.since.format("%Y-%m-%dT%H:%M:%SZ"),
            self.until.format("%Y-%m-%dT%H:%M:%SZ")
        )
    }
}

/// Why a run may not take the lease `held`, or None when it has lapsed.
pub fn refusal(held: &Lease, now: DateTime<Utc>, what: &str) -> Option<String> {
    (!held.expired(now)).then(|| {
        format!(
            "refusing to start: {what} is leased to {}; one game day at a time. Wait for it to end; if it died, `gameday revert` on its reports folder releases the lease (or it lapses at its end time)",
            held.describe()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn lease() -> Lease {
        Lease {
            run_id: "kill-primary-targets-20261130T070000Z-1a2b".into(),
            holder: "pid 42 on host ci-7".into(),
            since: Utc.with_ymd_and_hms(2026, 11, 30, 7, 0, 0).unwrap(),
            until: Utc.with_ymd_and_hms(2026, 11, 30, 7, 20, 0).unwrap(),
        }
    }

    #[test]
    fn a_value_reads_back_and_carries_nothing_that_breaks_a_txt_record() {
        let l = lease();
        assert_eq!(Lease::parse(&l.value()), Some(l.clone()));
        assert_eq!(Lease::parse(&format!("\"{}\"", l.value())), Some(l.clone()));
        let hostile = Lease {
            holder: "a\"b\\c; run=evil\n".into(),
            ..l.clone()
        };
        let v = hostile.value();
        assert!(v.len() <= 255 && !v.contains(['"', '\\', '\n']), "{v}");
        assert_eq!(Lease::parse(&v).unwrap().run_id, l.run_id);
        assert_eq!(Lease::parse("something else"), None);
    }

    #[test]
    fn only_a_lease_that_has_not_lapsed_refuses() {
        let l = lease();
        let during = Utc.with_ymd_and_hms(2026, 11, 30, 7, 10, 0).unwrap();
        let why = refusal(&l, during, "the lab").unwrap();
        assert!(why.contains("leased to run kill-primary-targets-20261130T070000Z-1a2b (pid 42 on host ci-7) since 2026-11-30T07:00:00Z"), "{why}");
        assert!(refusal(&l, l.until, "the lab").is_none());
    }
}
