//! Lost writes and the observed RPO, from the canary.

use crate::clock::Offset;
use std::collections::HashSet;
use std::time::Duration;

/// One canary write.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    /// When it was sent.
    pub at: Offset,
    /// Sequence number.
    pub seq: u64,
    /// Acked.
    pub acked: bool,
    /// When the ack came back (meaningful when acked).
    pub acked_at: Offset,
}

/// What the canary shows.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteFigures {
    /// Acked sequence numbers missing from the read-back, ascending; `None` without a read-back.
    pub lost: Option<Vec<u64>>,
    /// Window of acked writes lost: from the newest acked write that survived
    /// (before the loss) to the newest lost one.
    pub rpo: Option<Duration>,
    /// First write sent at or after t0 that failed.
    pub first_failure: Option<Offset>,
    /// First acked write sent after that failure.
    pub recovered: Option<Offset>,
}

/// Analyses canary writes and the read-back (`region`, present seqs).
pub fn analyse(writes: &[Write], readback: Option<(&str, &[u64])>, t0: Offset) -> WriteFigures {
    let mut sorted: Vec<&Write> = writes.iter().collect();
    sorted.sort_by_key(|w| w.at);
    let first_failure = sorted.iter().find(|w| w.at >= t0 && !w.acked).map(|w| w.at);
    let recovered =
        first_failure.and_then(|ff| sorted.iter().find(|w| w.at > ff && w.acked).map(|w| w.at));
    let (lost, rpo) = match readback {
        None => (None, None),
        Some((_, present)) => {
            let present: HashSet<u64> = present.iter().copied().collect();
            let mut acked: Vec<&Write> = sorted.iter().copied().filter(|w| w.acked).collect();
            acked.sort_by_key(|w| w.acked_at);
            let lost_writes: Vec<&Write> = acked
                .iter()
                .copied()
                .filter(|w| !present.contains(&w.seq))
                .collect();
            let mut lost: Vec<u64> = lost_writes.iter().map(|w| w.seq).collect();
            lost.sort_unstable();
            let rpo = match (lost_writes.first(), lost_writes.last()) {
                (Some(oldest), Some(newest)) => {
                    // The newest acked write that survived, among those acked before the loss began.
                    let reference = acked
                        .iter()
                        .filter(|w| present.contains(&w.seq) && w.acked_at <= oldest.acked_at)
                        .map(|w| w.acked_at)
                        .next_back();
                    reference.map(|r| newest.acked_at.since(r))
                }
                _ => Some(Duration::ZERO),
            };
            (Some(lost), rpo)
        }
    };
    WriteFigures {
        lost,
        rpo,
        first_failure,
        recovered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn w(i: u64, acked: bool) -> Write {
        // One write every 100ms, acked 10ms later.
        Write {
            at: Offset(i * 100 * MS),
            seq: i,
            acked,
            acked_at: Offset(i * 100 * MS + 10 * MS),
        }
    }

    #[test]
    fn nothing_lost() {
        let writes: Vec<Write> = (1..=5).map(|i| w(i, true)).collect();
        let f = analyse(&writes, Some(("eu", &[1, 2, 3, 4, 5])), Offset(0));
        assert_eq!(f.lost, Some(vec![]));
        assert_eq!(f.rpo, Some(Duration::ZERO));
        assert_eq!(f.first_failure, None);
    }

    #[test]
    fn writes_lost_in_the_replication_lag() {
        // 1..=6 acked; 5 and 6 were not replicated; 7 and 8 failed; 9, 10 acked by the new writer.
        let writes: Vec<Write> = (1..=10).map(|i| w(i, !(7..=8).contains(&i))).collect();
        let f = analyse(
            &writes,
            Some(("eu", &[1, 2, 3, 4, 9, 10])),
            Offset(650 * MS),
        );
        assert_eq!(f.lost, Some(vec![5, 6]));
        // Newest survivor before the loss is 4 (acked 410ms); newest lost is 6 (acked 610ms).
        assert_eq!(f.rpo, Some(Duration::from_millis(200)));
        assert_eq!(f.first_failure, Some(Offset(700 * MS)));
        assert_eq!(f.recovered, Some(Offset(900 * MS)));
    }

    #[test]
    fn no_readback_counts_nothing() {
        let writes: Vec<Write> = (1..=3).map(|i| w(i, true)).collect();
        let f = analyse(&writes, None, Offset(0));
        assert_eq!(f.lost, None);
        assert_eq!(f.rpo, None);
    }

    #[test]
    fn failed_writes_are_never_lost_writes() {
        let writes = vec![w(1, true), w(2, false), w(3, true)];
        let f = analyse(&writes, Some(("eu", &[1, 3])), Offset(0));
        assert_eq!(f.lost, Some(vec![]));
        assert_eq!(f.first_failure, Some(Offset(200 * MS)));
        assert_eq!(f.recovered, Some(Offset(300 * MS)));
    }
}
