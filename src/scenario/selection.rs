//! Which of the matching resources a fault takes, as FIS does: `all`, `count:N`, `percent:P`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// How many of the matching resources a fault acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Selection {
    /// Every matching resource.
    #[default]
    All,
    /// Exactly N resources (N >= 1).
    Count(usize),
    /// P percent of the resources, rounded up, at least one (1..=100).
    Percent(u8),
}

impl Selection {
    /// How many of `available` resources this selection takes, or why it cannot.
    pub fn how_many(self, available: usize) -> Result<usize, String> {
        let n = match self {
            Selection::All => available,
            Selection::Count(n) if n > available => {
                return Err(format!(
                    "selection count:{n} asks for more resources than the {available} that match"
                ))
            }
            Selection::Count(n) => n,
            Selection::Percent(p) => (available * p as usize).div_ceil(100),
        };
        if n == 0 {
            return Err("the selection matches no resource".into());
        }
        Ok(n)
    }
}

impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selection::All => f.write_str("all"),
            Selection::Count(n) => write!(f, "count:{n}"),
            Selection::Percent(p) => write!(f, "percent:{p}"),
        }
    }
}

impl std::str::FromStr for Selection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let hint = "write \"all\", \"count:N\" (N >= 1) or \"percent:P\" (1 to 100)";
        if s == "all" {
            return Ok(Selection::All);
        }
        if let Some(n) = s.strip_prefix("count:") {
            return match n.parse::<usize>() {
                Ok(0) => Err(format!("selection \"{s}\" selects nothing; {hint}")),
                Ok(n) => Ok(Selection::Count(n)),
                Err(_) => Err(format!("selection \"{s}\" has no whole count; {hint}")),
            };
        }
        if let Some(p) = s.strip_prefix("percent:") {
            return match p.parse::<u8>() {
                Ok(p) if (1..=100).contains(&p) => Ok(Selection::Percent(p)),
                _ => Err(format!(
                    "selection \"{s}\" is not a percentage from 1 to 100; {hint}"
                )),
            };
        }
        Err(format!("unknown selection \"{s}\"; {hint}"))
    }
}

impl Serialize for Selection {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Selection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_counts() {
        assert_eq!("all".parse::<Selection>().unwrap().how_many(4), Ok(4));
        assert_eq!("count:1".parse::<Selection>().unwrap().how_many(4), Ok(1));
        assert_eq!(
            "percent:50".parse::<Selection>().unwrap().how_many(3),
            Ok(2)
        );
        assert!("count:5".parse::<Selection>().unwrap().how_many(4).is_err());
        assert!("count:0".parse::<Selection>().is_err());
        assert!("percent:0".parse::<Selection>().is_err());
        assert!("percent:101".parse::<Selection>().is_err());
        assert!("some".parse::<Selection>().is_err());
        assert!(Selection::All.how_many(0).is_err());
    }
}
