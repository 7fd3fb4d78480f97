//! Client classes: how the customer an `http` probe emulates keeps a DNS
//! answer. Real clients do not all honour the TTL: a JVM caches answers for
//! 30 s (or forever) whatever the TTL says, and some recursive resolvers
//! stretch short TTLs to a minimum of their own. The probe emulates the
//! class itself, so it behaves the same on the lab and on AWS.
//!
//! ```toml
//! client = { class = "cached", cache_for = "30s" }          # or "forever"
//! client = { class = "stale-resolver", min_ttl = "300s" }
//! client = { class = "pooled", idle_timeout = "90s", max_age = "5m" }
//! client = { class = "fresh" }                              # the default
//! ```

use crate::scenario::duration::HumanDuration;
use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// How one kind of customer keeps a DNS answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(tag = "class", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ClientClass {
    /// A resolver that honours the TTL to the second (today's ideal
    /// customer). A struct variant, so that keys of other classes given
    /// with it are refused.
    Fresh {},
    /// An in-process cache that ignores the TTL: the answer is kept for
    /// `cache_for` (`None`: forever).
    Cached {
        /// How long an answer is kept, or `"forever"`.
        #[serde(deserialize_with = "cache_for")]
        cache_for: Option<Duration>,
    },
    /// A recursive resolver that keeps answers at least `min_ttl`.
    StaleResolver {
        /// The shortest time it keeps an answer.
        #[serde(deserialize_with = "min_ttl")]
        min_ttl: Duration,
    },
    /// An HTTP/1.1 keep-alive pool: requests reuse an idle connection, and
    /// only a new connection resolves the name again. A connection is
    /// dropped when its request fails or hangs past the timeout, after
    /// `idle_timeout` unused, or once older than `max_age`; an error
    /// answer (503) closes nothing.
    Pooled {
        /// How long an unused connection is kept (default 90 s, as common
        /// SDKs do).
        #[serde(default = "default_idle", deserialize_with = "idle_timeout")]
        idle_timeout: Duration,
        /// The oldest a connection may get before it is replaced (default:
        /// no limit).
        #[serde(default, deserialize_with = "max_age")]
        max_age: Option<Duration>,
    },
}

fn default_idle() -> Duration {
    Duration::from_secs(90)
}

fn idle_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    bounded("idle_timeout", HumanDuration::deserialize(d)?.get())
}

fn max_age<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    bounded("max_age", HumanDuration::deserialize(d)?.get()).map(Some)
}

/// Reads `client = { class = ... }`; a bare name is refused with the form
/// to write instead.
pub fn table<'de, D: Deserializer<'de>>(d: D) -> Result<ClientClass, D::Error> {
    struct Table;
    impl<'de> serde::de::Visitor<'de> for Table {
        type Value = ClientClass;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a table such as { class = \"cached\", cache_for = \"30s\" }")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ClientClass, E> {
            Err(E::custom(format!(
                "client = \"{v}\" needs the table form: client = {{ class = \"{v}\" }} (with cache_for for cached, min_ttl for stale-resolver)"
            )))
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<ClientClass, A::Error> {
            ClientClass::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_any(Table)
}

/// The longest a client may keep an answer, as gameday bounds every time.
const MAX_KEEP: Duration = Duration::from_secs(24 * 3600);

fn cache_for<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    if text == "forever" {
        return Ok(None);
    }
    let keep = humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "cache_for = \"{text}\" is not a duration ({e}); write e.g. \"30s\", or \"forever\""
        ))
    })?;
    bounded("cache_for", keep).map(Some)
}

fn min_ttl<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    bounded("min_ttl", HumanDuration::deserialize(d)?.get())
}

fn bounded<E: serde::de::Error>(key: &str, keep: Duration) -> Result<Duration, E> {
    if keep.is_zero() || keep > MAX_KEEP {
        return Err(E::custom(format!(
            "{key} = \"{}\" is out of range; use more than 0s and at most 24h",
            humantime::format_duration(keep)
        )));
    }
    Ok(keep)
}

impl Default for ClientClass {
    fn default() -> Self {
        ClientClass::Fresh {}
    }
}

impl ClientClass {
    /// The class's name, as scenarios write it.
    pub fn name(&self) -> &'static str {
        match self {
            ClientClass::Fresh {} => "fresh",
            ClientClass::Cached { .. } => "cached",
            ClientClass::StaleResolver { .. } => "stale-resolver",
            ClientClass::Pooled { .. } => "pooled",
        }
    }

    /// How long after the flip such a client may still hold the old answer,
    /// given the record's TTL; `None`: forever. (A pooled client resolves
    /// as a fresh one does; what pins it is its connection, see
    /// [`ClientClass::keeps_failed_region`].)
    pub fn keeps_answer(&self, ttl: Duration) -> Option<Duration> {
        match *self {
            ClientClass::Fresh {} | ClientClass::Pooled { .. } => Some(ttl),
            ClientClass::Cached { cache_for } => cache_for,
            ClientClass::StaleResolver { min_ttl } => Some(ttl.max(min_ttl)),
        }
    }

    /// How long after the flip such a client may keep calling the failed
    /// region, which either answers errors at once (`answers_errors`: a
    /// 503 closes no kept connection), goes silent (a hung request is
    /// dropped at the request `timeout`) or resets connections (the client
    /// reconnects at once, resolving as a fresh client does); `None`:
    /// forever.
    pub fn keeps_failed_region(
        &self,
        ttl: Duration,
        answers_errors: bool,
        timeout: Duration,
    ) -> Option<Duration> {
        match *self {
            ClientClass::Pooled { max_age, .. } if answers_errors => {
                max_age.map(|age| age.max(ttl))
            }
            ClientClass::Pooled { .. } => Some(timeout.max(ttl)),
            _ => self.keeps_answer(ttl),
        }
    }

    /// What the client does with an answer, in words (for `plan` and the
    /// floors).
    pub fn describe(&self) -> String {
        match self {
            ClientClass::Fresh {} => "honours the TTL".into(),
            ClientClass::Cached { cache_for: None } => {
                "caches the answer forever, ignoring the TTL".into()
            }
            ClientClass::Cached { cache_for: Some(d) } => format!(
                "caches the answer for {}, ignoring the TTL",
                humantime::format_duration(*d)
            ),
            ClientClass::StaleResolver { min_ttl } => format!(
                "resolves through a resolver that keeps answers at least {}",
                humantime::format_duration(*min_ttl)
            ),
            ClientClass::Pooled {
                idle_timeout,
                max_age,
            } => format!(
                "keeps connections alive ({} idle, {}) and resolves only for a new one",
                humantime::format_duration(*idle_timeout),
                match max_age {
                    Some(age) => format!("at most {} old", humantime::format_duration(*age)),
                    None => "no maximum age".into(),
                }
            ),
        }
    }

    /// The class and its keys in a few words, for tables: `cached 30s`,
    /// `stale-resolver 5m`, `pooled, max age 5m`.
    pub fn short(&self) -> String {
        let d = |d: &Duration| humantime::format_duration(*d).to_string();
        match self {
            ClientClass::Fresh {} => "fresh".into(),
            ClientClass::Cached { cache_for: None } => "cached forever".into(),
            ClientClass::Cached { cache_for: Some(c) } => format!("cached {}", d(c)),
            ClientClass::StaleResolver { min_ttl } => format!("stale-resolver {}", d(min_ttl)),
            ClientClass::Pooled { max_age: None, .. } => "pooled".into(),
            ClientClass::Pooled {
                max_age: Some(a), ..
            } => format!("pooled, max age {}", d(a)),
        }
    }

    /// The minimum TTL its resolver applies, for a stale resolver.
    pub fn min_ttl(&self) -> Option<Duration> {
        match *self {
            ClientClass::StaleResolver { min_ttl } => Some(min_ttl),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(deserialize_with = "table")]
        client: ClientClass,
    }

    fn parse(text: &str) -> Result<ClientClass, String> {
        toml::from_str::<Probe>(text)
            .map(|p| p.client)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn each_class_keeps_the_answer_its_own_way() {
        let ttl = Duration::from_secs(60);
        let cached = parse(r#"client = { class = "cached", cache_for = "30s" }"#).unwrap();
        assert_eq!(cached.keeps_answer(ttl), Some(Duration::from_secs(30)));
        let forever = parse(r#"client = { class = "cached", cache_for = "forever" }"#).unwrap();
        assert_eq!(forever.keeps_answer(ttl), None);
        let stale = parse(r#"client = { class = "stale-resolver", min_ttl = "300s" }"#).unwrap();
        assert_eq!(stale.keeps_answer(ttl), Some(Duration::from_secs(300)));
        assert_eq!(
            stale.keeps_answer(Duration::from_secs(600)),
            Some(Duration::from_secs(600))
        );
        let fresh = parse(r#"client = { class = "fresh" }"#).unwrap();
        assert_eq!(fresh.keeps_answer(ttl), Some(ttl));
    }

    /// A pooled client is pinned by its connection: a region answering
    /// errors keeps it until the connection's maximum age (forever without
    /// one); a silent region loses it at the request timeout.
    #[test]
    fn a_pooled_client_leaves_as_its_connection_dies() {
        let (ttl, timeout) = (Duration::from_secs(60), Duration::from_secs(2));
        let pinned = parse(r#"client = { class = "pooled" }"#).unwrap();
        assert_eq!(
            pinned,
            ClientClass::Pooled {
                idle_timeout: Duration::from_secs(90),
                max_age: None
            }
        );
        assert_eq!(pinned.keeps_failed_region(ttl, true, timeout), None);
        assert_eq!(pinned.keeps_failed_region(ttl, false, timeout), Some(ttl));
        let aged = parse(r#"client = { class = "pooled", idle_timeout = "30s", max_age = "5m" }"#)
            .unwrap();
        assert_eq!(
            aged.keeps_failed_region(ttl, true, timeout),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            aged.keeps_failed_region(Duration::from_secs(1), false, timeout),
            Some(timeout)
        );
        assert_eq!(aged.keeps_answer(ttl), Some(ttl));
    }

    #[test]
    fn a_bad_client_is_refused() {
        for (text, says) in [
            (
                r#"client = { class = "sticky" }"#,
                "unknown variant `sticky`",
            ),
            (
                r#"client = { class = "pooled", max_age = "0s" }"#,
                "max_age = \"0s\" is out of range",
            ),
            (
                r#"client = { class = "cached" }"#,
                "missing field `cache_for`",
            ),
            (
                r#"client = { class = "cached", cache_for = "0s" }"#,
                "out of range",
            ),
            (
                r#"client = { class = "cached", cache_for = "soon" }"#,
                "not a duration",
            ),
            (
                r#"client = { class = "fresh", min_ttl = "5s" }"#,
                "unknown field `min_ttl`",
            ),
            (r#"client = "cached""#, "needs the table form"),
        ] {
            let why = parse(text).unwrap_err();
            assert!(why.contains(says), "{text}: {why}");
        }
    }
}
