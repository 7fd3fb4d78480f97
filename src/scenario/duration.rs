//! Human durations in scenarios: `"45s"`, `"1m30s"`, `"250ms"`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// The longest duration a scenario may declare; anything longer is a typo, not a game day.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// A duration written the way people write it (`"45s"`), parsed with `humantime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// The wrapped duration.
    pub fn get(self) -> Duration {
        self.0
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"45s\", \"250ms\" or \"1m30s\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HumanDuration, E> {
                let trimmed = v.trim();
                if trimmed.starts_with('-') {
                    return Err(E::custom(format!(
                        "duration \"{v}\" is negative; write a positive duration such as \"45s\""
                    )));
                }
                let d = humantime::parse_duration(trimmed).map_err(|e| {
                    E::custom(format!(
                        "\"{v}\" is not a duration ({e}); write it like \"45s\", \"250ms\" or \"1m30s\""
                    ))
                })?;
                if d > MAX_DURATION {
                    return Err(E::custom(format!(
                        "duration \"{v}\" is longer than 24h; a game day measures seconds to minutes"
                    )));
                }
                Ok(HumanDuration(d))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<HumanDuration, E> {
                Err(E::custom(format!(
                    "{v} has no unit; write durations as strings such as \"{v}s\""
                )))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<HumanDuration, E> {
                self.visit_i64(v as i64)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<HumanDuration, E> {
                Err(E::custom(format!(
                    "{v} has no unit; write durations as strings such as \"{v}s\""
                )))
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct W {
        d: HumanDuration,
    }

    fn parse(s: &str) -> Result<Duration, String> {
        toml::from_str::<W>(s)
            .map(|w| w.d.get())
            .map_err(|e| e.message().to_string())
    }

    #[test]
    fn accepts_human_forms() {
        assert_eq!(parse("d = \"45s\"").unwrap(), Duration::from_secs(45));
        assert_eq!(parse("d = \"1m30s\"").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("d = \"250ms\"").unwrap(), Duration::from_millis(250));
    }

    #[test]
    fn rejects_bad_forms_with_a_hint() {
        assert!(parse("d = 45").unwrap_err().contains("no unit"));
        assert!(parse("d = \"-5s\"").unwrap_err().contains("negative"));
        assert!(parse("d = \"fast\"")
            .unwrap_err()
            .contains("not a duration"));
        assert!(parse("d = \"48h\"")
            .unwrap_err()
            .contains("longer than 24h"));
    }
}

/// A share written as a percentage (`"1%"`, `"0.5%"`), 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Percent(pub f64);

impl Percent {
    /// As a fraction of one.
    pub fn fraction(self) -> f64 {
        self.0 / 100.0
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let n = text
            .trim()
            .strip_suffix('%')
            .and_then(|n| n.trim().parse::<f64>().ok())
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "\"{text}\" is not a percentage; write it like \"1%\" or \"0.5%\""
                ))
            })?;
        if !(0.0..=100.0).contains(&n) {
            return Err(serde::de::Error::custom(format!(
                "\"{text}\" is out of range; a percentage is 0% to 100%"
            )));
        }
        Ok(Percent(n))
    }
}

/// A whole count (instances, requests a second) that a person may mistype
/// as negative: said so in words, not as a type error.
pub fn count<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = i64::deserialize(d)?;
    if n < 0 {
        return Err(serde::de::Error::custom(format!(
            "{n} is negative; a count of instances or requests is 0 or more"
        )));
    }
    u32::try_from(n).map_err(|_| serde::de::Error::custom(format!("{n} is too large for a count")))
}

/// [`count`] for an optional key.
pub fn count_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match Option::<i64>::deserialize(d)? {
        None => Ok(None),
        Some(n) => count(serde::de::value::I64Deserializer::<D::Error>::new(n)).map(Some),
    }
}
