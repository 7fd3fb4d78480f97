//! How a scenario names a region: by role (`primary`, `secondary`) or by the lab's region name.

use crate::words::Role;
use serde::{Deserialize, Deserializer};

/// A region named in a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RegionRef(pub Role);

impl<'de> Deserialize<'de> for RegionRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "primary" => Ok(RegionRef(Role::Primary)),
            "secondary" => Ok(RegionRef(Role::Secondary)),
            other => crate::lab::role_of_region(other).map(RegionRef).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown region \"{other}\"; write \"primary\", \"secondary\", \"{}\" or \"{}\"",
                    crate::lab::REGION_NAMES[0],
                    crate::lab::REGION_NAMES[1]
                ))
            }),
        }
    }
}
