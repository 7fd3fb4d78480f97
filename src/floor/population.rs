//! A population's floors: the earliest its clients can be served again at
//! the percentile its rto is judged at, for everyone and for each class.
//!
//! A client recovers once its cached answer (or its connection) is given
//! up after the flip. A real population's caches are spread over their
//! lifetimes, so the client at fraction `u` of its class waits about
//! `u x` how long its class keeps the failed region (the TTL, `cache_for`,
//! `min_ttl`, a pooled connection's life); the floor takes the earliest
//! edge of each client's share of that spread.

use super::{FailureMode, FloorInputs, Impossible};
use crate::measure::population::{ClassSpec, PopulationSpec};
use crate::scenario::PopulationObjective;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The floor of one population objective (the population's or a class's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationFloor {
    /// The class, or `None` for everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// The floor at the population's percentile, ms after t0; `None`: the
    /// client at that percentile is never served again.
    pub ms: Option<f64>,
    /// Where it comes from.
    pub why: String,
}

/// Each client's earliest recovery after `detection`, class by class
/// (`None`: never).
fn earliest(
    p: &FloorInputs,
    classes: &[&ClassSpec],
    timeout: Duration,
    mode: FailureMode,
    detection: Duration,
) -> Vec<Option<Duration>> {
    let answers_errors = mode == FailureMode::Error;
    classes
        .iter()
        .flat_map(|c| {
            let keep = c.client.keeps_failed_region(p.ttl, answers_errors, timeout);
            (0..c.clients).map(move |k| {
                keep.map(|keep| detection + keep.mul_f64(f64::from(k) / f64::from(c.clients)))
            })
        })
        .collect()
}

/// The nearest-rank `percentile` of `values`, `None` (never) sorting last.
fn at_percentile(mut values: Vec<Option<Duration>>, percentile: u8) -> Option<Option<Duration>> {
    values.sort_by_key(|v| v.unwrap_or(Duration::MAX));
    let rank = (usize::from(percentile) * values.len())
        .div_ceil(100)
        .max(1);
    values.get(rank - 1).copied()
}

/// The population's floors: everyone's, then each class's, at its
/// percentile.
pub fn floors(
    p: &FloorInputs,
    spec: &PopulationSpec,
    mode: FailureMode,
    detection: Duration,
    detection_why: &str,
) -> Vec<PopulationFloor> {
    let floor = |class: Option<&ClassSpec>| {
        let members: Vec<&ClassSpec> = match class {
            Some(c) => vec![c],
            None => spec.classes.iter().collect(),
        };
        let value = at_percentile(
            earliest(p, &members, spec.timeout, mode, detection),
            spec.percentile,
        )?;
        Some(PopulationFloor {
            class: class.map(|c| c.label.clone()),
            ms: value.map(|v| v.as_secs_f64() * 1000.0),
            why: format!(
                "{detection_why}, then the p{} client's share of how long its class keeps the failed region ({} on the record; the clients' caches spread over their lifetimes)",
                spec.percentile, p.ttl_why
            ),
        })
    };
    std::iter::once(None)
        .chain(spec.classes.iter().map(Some))
        .filter_map(floor)
        .collect()
}

/// Population objectives that cannot hold: below their floor, or at a
/// percentile that falls on a client never served again.
pub fn impossible(
    floors: &[PopulationFloor],
    objectives: &[PopulationObjective],
) -> Vec<Impossible> {
    objectives
        .iter()
        .filter_map(|o| {
            let f = floors.iter().find(|f| f.class == o.class)?;
            let objective = format!("rto ({})", o.name());
            let message = match f.ms {
                None => format!(
                    "{objective} {} cannot be met: the p{} client never leaves the failed region",
                    o.rto, o.percentile
                ),
                Some(ms) if o.rto.get().as_secs_f64() * 1000.0 < ms => format!(
                    "{objective} {} is below the floor of {}: {}",
                    o.rto,
                    crate::report::fmt_ms(ms),
                    f.why
                ),
                Some(_) => return None,
            };
            Some(Impossible { objective, message })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::client::ClientClass;

    fn spec(percentile: u8) -> PopulationSpec {
        let jvm = ClientClass::Cached {
            cache_for: Some(Duration::from_secs(30)),
        };
        PopulationSpec::sample(
            &[("fresh", ClientClass::default(), 90), ("jvm", jvm, 10)],
            percentile,
        )
    }

    #[test]
    fn the_percentile_client_waits_its_share_of_its_class_keep() {
        let inputs = FloorInputs::lab(&crate::lab::params::LabParams::default());
        let ttl = inputs.ttl;
        let detection = Duration::from_secs(4);
        let f = floors(&inputs, &spec(90), FailureMode::Hang, detection, "checks");
        assert_eq!(f.len(), 3);
        // Everyone: the first jvm client leaves at detection, so the 90th
        // of 100 is the next-to-last fresh one, 88/90 of a TTL.
        let all = (detection + ttl.mul_f64(88.0 / 90.0)).as_secs_f64() * 1000.0;
        assert_eq!(f[0].ms, Some(all));
        // The jvm class alone: its 9th of 10, 8/10 of 30 s.
        assert_eq!(f[2].class.as_deref(), Some("jvm"));
        assert_eq!(f[2].ms, Some(4_000.0 + 24_000.0));
        let forever = PopulationSpec {
            classes: vec![ClassSpec {
                client: ClientClass::Cached { cache_for: None },
                ..spec(90).classes[1].clone()
            }],
            ..spec(90)
        };
        let f = floors(&inputs, &forever, FailureMode::Hang, detection, "checks");
        assert_eq!(f[0].ms, None);
        let objective = PopulationObjective {
            probe: "customers".into(),
            class: None,
            percentile: 90,
            rto: crate::scenario::duration::HumanDuration(Duration::from_secs(60)),
        };
        let bad = impossible(&f, &[objective]);
        assert!(
            bad[0].message.contains("never leaves the failed region"),
            "{bad:?}"
        );
    }
}
