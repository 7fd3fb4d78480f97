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

/// One probe write made straight to a database instance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriterProbe {
    /// The standby's instance (else the old writer's).
    pub standby: bool,
    /// When it was sent.
    pub sent: Offset,
    /// When the answer came.
    pub answered: Offset,
    /// It committed.
    pub accepted: bool,
}

/// When something happened, as far as probes can place it: after `after`,
/// no later than `by`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bracket {
    /// The last probe that still saw the old state was sent here.
    pub after: Offset,
    /// The first probe that saw the new state was answered here.
    pub by: Offset,
    /// ... and sent here.
    pub seen: Offset,
}

impl Bracket {
    /// When it was first seen: like every phase, when the first
    /// observation that shows the new state asked (at most one interval late).
    pub fn estimate(&self) -> Offset {
        self.seen
    }

    /// The middle of the bracket: where a write inside it is placed.
    pub fn middle(&self) -> Offset {
        Offset(self.after.0 + (self.by.0.saturating_sub(self.after.0)) / 2)
    }
}

/// The old writer's fencing, as its probes saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fenced {
    /// It refused writes before the standby took one.
    BeforePromotion(Bracket),
    /// It refused writes within this bracket after the promotion.
    After(Bracket),
    /// It took writes until observing ended.
    Never,
}

/// The two-writer case: writes only the old writer holds.
#[derive(Debug, Clone, PartialEq)]
pub struct TwoWriters {
    /// When the standby first took a write.
    pub promotion: Option<Bracket>,
    /// When the old writer stopped taking them.
    pub fenced: Option<Fenced>,
    /// Acked, absent on the new writer, before the promotion (the lag and the cut), ascending.
    pub lost: Vec<u64>,
    /// Acked by the old writer after the promotion, absent on the new writer, ascending.
    pub divergent: Vec<u64>,
    /// Missing writes whose commit overlaps the promotion's bracket: placed
    /// by its middle, either way possible.
    pub ambiguous: u64,
    /// Ack times of the first and last lost write.
    pub lost_window: Option<(Offset, Offset)>,
    /// Ack times of the first and last divergent write.
    pub divergent_window: Option<(Offset, Offset)>,
}

/// Splits the acked writes the new writer lacks into lost and divergent, by
/// when the standby first took a probe write; `old` is what the old writer's
/// instance holds (`None`: it could not be read, so nothing is called divergent).
pub fn two_writers(
    writes: &[Write],
    serving: &[u64],
    old: Option<&[u64]>,
    probes: &[WriterProbe],
    t0: Offset,
) -> TwoWriters {
    let promotion = transition(probes, true, t0, true);
    let fenced = promotion.map(|p| fencing(probes, t0, p));
    let present: HashSet<u64> = serving.iter().copied().collect();
    let on_old: Option<HashSet<u64>> = old.map(|o| o.iter().copied().collect());
    let mut missing: Vec<&Write> = writes
        .iter()
        .filter(|w| w.acked && !present.contains(&w.seq))
        .collect();
    missing.sort_by_key(|w| w.acked_at);
    // The old writer acked its writes before it was fenced: once its fencing
    // is placed before the promotion, none of them can be after it.
    let fenced_first = matches!(fenced, Some(Fenced::BeforePromotion(_)));
    let (mut lost, mut divergent, mut ambiguous) = (Vec::new(), Vec::new(), 0);
    for w in missing {
        let held_by_old = on_old.as_ref().is_some_and(|o| o.contains(&w.seq));
        let after_promotion = match promotion {
            Some(p) if w.at >= p.by => true,
            Some(p) if w.acked_at <= p.after => false,
            Some(p) => {
                ambiguous += 1;
                !fenced_first && w.acked_at > p.middle()
            }
            None => false,
        };
        if held_by_old && after_promotion {
            divergent.push(w);
        } else {
            lost.push(w);
        }
    }
    let window = |ws: &[&Write]| Some((ws.first()?.acked_at, ws.last()?.acked_at));
    let seqs = |ws: &[&Write]| {
        let mut s: Vec<u64> = ws.iter().map(|w| w.seq).collect();
        s.sort_unstable();
        s
    };
    TwoWriters {
        promotion,
        fenced,
        lost_window: window(&lost),
        divergent_window: window(&divergent),
        lost: seqs(&lost),
        divergent: seqs(&divergent),
        ambiguous,
    }
}

/// The first time after t0 an instance's probes flip: the standby from
/// refusing to taking writes (`to_accepting`), the old writer the other way.
/// Probes are taken in the order they were sent: a tick held up by a slow
/// answer overlaps the next, whose probes are recorded later but may ask
/// first.
fn transition(
    probes: &[WriterProbe],
    standby: bool,
    t0: Offset,
    to_accepting: bool,
) -> Option<Bracket> {
    let mut asked: Vec<&WriterProbe> = probes
        .iter()
        .filter(|p| p.standby == standby && p.sent >= t0)
        .collect();
    asked.sort_by_key(|p| p.sent);
    let mut last_old_state: Option<Offset> = None;
    for p in asked {
        if p.accepted == to_accepting {
            return Some(Bracket {
                after: last_old_state.unwrap_or(t0),
                by: p.answered,
                seen: p.sent,
            });
        }
        last_old_state = Some(p.sent);
    }
    None
}

/// The old writer's fencing relative to the promotion.
fn fencing(probes: &[WriterProbe], t0: Offset, promotion: Bracket) -> Fenced {
    match transition(probes, false, t0, false) {
        // Seen refusing no later than the standby was seen taking writes.
        Some(b) if b.by <= promotion.by => Fenced::BeforePromotion(b),
        Some(b) => Fenced::After(b),
        None => Fenced::Never,
    }
}

#[cfg(test)]
mod two_writer_tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// A tick every 100 ms: old-writer probe, standby probe, customer
    /// write, standby probe (the standby's only until promoted); each takes 1 ms.
    struct Lab {
        promoted_at: u64,
        fenced_at: Option<u64>,
    }

    fn run(lab: &Lab, ticks: u64) -> (Vec<Write>, Vec<WriterProbe>, Vec<u64>, Vec<u64>) {
        let (mut writes, mut probes, mut old) = (vec![], vec![], vec![]);
        let mut promoted_seen = false;
        let mut probe = |standby: bool, at: u64, promoted_seen: &mut bool| {
            let accepted = if standby {
                at * MS >= lab.promoted_at
            } else {
                lab.fenced_at.is_none_or(|f| at * MS < f)
            };
            *promoted_seen |= standby && accepted;
            probes.push(WriterProbe {
                standby,
                sent: Offset(at * MS),
                answered: Offset((at + 1) * MS),
                accepted,
            });
        };
        for i in 1..=ticks {
            let t = i * 100;
            probe(false, t, &mut promoted_seen);
            if !promoted_seen {
                probe(true, t + 1, &mut promoted_seen);
            }
            // The customer still reaches the old region and writes there;
            // replication was cut at t0 = 0, so the new writer has none of it.
            let fenced = lab.fenced_at.is_some_and(|f| (t + 3) * MS >= f);
            writes.push(Write {
                at: Offset((t + 2) * MS),
                seq: i,
                acked: !fenced,
                acked_at: Offset((t + 3) * MS),
            });
            if !fenced {
                old.push(i);
            }
            if !promoted_seen {
                probe(true, t + 4, &mut promoted_seen);
            }
        }
        (writes, probes, Vec::new(), old)
    }

    #[test]
    fn without_fencing_every_write_after_the_promotion_is_divergent() {
        let lab = Lab {
            promoted_at: 550 * MS,
            fenced_at: None,
        };
        let (writes, probes, new, old) = run(&lab, 10);
        let t = two_writers(&writes, &new, Some(&old), &probes, Offset(0));
        assert_eq!(t.lost, vec![1, 2, 3, 4, 5]);
        assert_eq!(t.divergent, vec![6, 7, 8, 9, 10]);
        assert_eq!(t.ambiguous, 0);
        assert_eq!(t.fenced, Some(Fenced::Never));
        assert_eq!(
            t.divergent_window,
            Some((Offset(603 * MS), Offset(1003 * MS)))
        );
    }

    #[test]
    fn fencing_before_the_promotion_leaves_nothing_divergent() {
        let lab = Lab {
            promoted_at: 550 * MS,
            fenced_at: Some(540 * MS),
        };
        let (writes, probes, new, old) = run(&lab, 10);
        let t = two_writers(&writes, &new, Some(&old), &probes, Offset(0));
        assert_eq!(t.lost, vec![1, 2, 3, 4, 5]);
        assert!(t.divergent.is_empty());
        assert!(matches!(t.fenced, Some(Fenced::BeforePromotion(_))));
    }

    #[test]
    fn fencing_after_the_promotion_bounds_the_divergent_writes() {
        let lab = Lab {
            promoted_at: 550 * MS,
            fenced_at: Some(850 * MS),
        };
        let (writes, probes, new, old) = run(&lab, 10);
        let t = two_writers(&writes, &new, Some(&old), &probes, Offset(0));
        assert_eq!(t.divergent, vec![6, 7, 8]);
        let Some(Fenced::After(b)) = t.fenced else {
            panic!("{:?}", t.fenced)
        };
        assert!(b.after.0 < 850 * MS && b.by.0 >= 850 * MS, "{b:?}");
    }

    /// Fenced and promoted together, between the old writer's probe and the
    /// standby's of one tick: the probes cannot order them, and the fencing is
    /// placed within one interval after the promotion, never before the
    /// writes it refused.
    #[test]
    fn fencing_and_promotion_between_the_same_probes_stay_unordered() {
        let lab = Lab {
            promoted_at: 600 * MS + MS / 2,
            fenced_at: Some(600 * MS + MS / 2),
        };
        let (writes, probes, new, old) = run(&lab, 10);
        let t = two_writers(&writes, &new, Some(&old), &probes, Offset(0));
        assert!(t.divergent.is_empty(), "{:?}", t.divergent);
        let (Some(p), Some(Fenced::After(f))) = (t.promotion, t.fenced) else {
            panic!("{:?}", t.fenced)
        };
        assert!(f.after < p.by, "{f:?} {p:?}");
        let gap = f.estimate().0 - p.estimate().0;
        assert!(gap <= 100 * MS, "{gap}");
    }

    #[test]
    fn no_promotion_means_nothing_divergent() {
        let lab = Lab {
            promoted_at: u64::MAX,
            fenced_at: None,
        };
        let (writes, probes, _, old) = run(&lab, 5);
        // Replication resumed: the standby (still the serving writer's replica) has them all.
        let t = two_writers(&writes, &old, Some(&old), &probes, Offset(0));
        assert!(t.lost.is_empty() && t.divergent.is_empty());
        assert_eq!(t.promotion, None);
        assert_eq!(t.fenced, None);
    }

    #[test]
    fn a_write_during_the_promotion_is_flagged_ambiguous() {
        // Promoted between the standby probe before write 6 (601 ms) and the one after it (604 ms).
        let lab = Lab {
            promoted_at: 6025 * MS / 10,
            fenced_at: None,
        };
        let (writes, probes, new, old) = run(&lab, 8);
        let t = two_writers(&writes, &new, Some(&old), &probes, Offset(0));
        assert_eq!(t.ambiguous, 1);
        assert_eq!(t.lost.len() + t.divergent.len(), 8);
    }

    /// A slow answer from the old writer holds up one tick's standby probe
    /// past the next tick's: the promotion is seen by the probe that asked
    /// first, though it was recorded second.
    #[test]
    fn the_promotion_is_seen_by_the_probe_sent_first() {
        let probe = |sent: u64, answered: u64, accepted| WriterProbe {
            standby: true,
            sent: Offset(sent * MS),
            answered: Offset(answered * MS),
            accepted,
        };
        // Ticks at 1100, 1200 and 1300 ms; promoted at 1250 ms.
        let probes = [
            probe(1101, 1102, false),
            probe(1359, 1365, true),
            probe(1357, 1364, true),
        ];
        let p = transition(&probes, true, Offset(0), true).unwrap();
        assert_eq!(p.seen, Offset(1357 * MS));
        assert_eq!(p.by, Offset(1364 * MS));
        assert_eq!(p.after, Offset(1101 * MS));
    }

    /// Fenced and promoted in one step (the embedded lab): the old writer's
    /// last ack falls in the promotion's bracket after its middle, but the
    /// old writer was seen refusing before the standby was seen taking
    /// writes, so the write is lost, not divergent.
    #[test]
    fn a_write_the_old_writer_acked_before_its_fencing_is_never_divergent() {
        let probe = |standby, sent: u64, accepted| WriterProbe {
            standby,
            sent: Offset(sent * MS),
            answered: Offset((sent + 1) * MS),
            accepted,
        };
        let probes = [
            probe(false, 500, true),
            probe(true, 500, false),
            probe(true, 600, false),
            probe(false, 680, false),
            probe(true, 700, true),
        ];
        let writes = [Write {
            at: Offset(660 * MS),
            seq: 1,
            acked: true,
            acked_at: Offset(670 * MS),
        }];
        let t = two_writers(&writes, &[], Some(&[1]), &probes, Offset(0));
        assert!(matches!(t.fenced, Some(Fenced::BeforePromotion(_))));
        assert_eq!((t.lost, t.divergent, t.ambiguous), (vec![1], vec![], 1));
    }

    #[test]
    fn an_unreadable_old_writer_makes_nothing_divergent() {
        let lab = Lab {
            promoted_at: 550 * MS,
            fenced_at: None,
        };
        let (writes, probes, new, _) = run(&lab, 10);
        let t = two_writers(&writes, &new, None, &probes, Offset(0));
        assert_eq!(t.lost.len(), 10);
        assert!(t.divergent.is_empty());
    }
}
