//! Which region an address belongs to: what the failover records point at,
//! resolved (an alias to a load balancer changes its addresses over time, so
//! the answer is refreshed every 30 s).

use super::discover::AwsDescription;
use crate::clock::{mono_now, MonoNs};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

const REFRESH_NS: u64 = 30_000_000_000;

/// Addresses of each region's failover target, cached.
#[derive(Debug, Default)]
pub struct AddressBook {
    cache: Mutex<Option<(HashMap<IpAddr, String>, MonoNs)>>,
}

impl AddressBook {
    /// The region whose failover record points at `ip`, if any.
    pub async fn region_of(&self, desc: &AwsDescription, ip: IpAddr) -> Option<String> {
        let fresh = {
            let cache = self.cache.lock().expect("address book lock");
            cache
                .as_ref()
                .filter(|(_, at)| mono_now() - at < REFRESH_NS)
                .map(|(m, _)| m.get(&ip).cloned())
        };
        if let Some(found) = fresh {
            return found;
        }
        let mut map = HashMap::new();
        for record in &desc.records {
            let region = match record.failover.as_str() {
                "PRIMARY" => desc.params.primary_region.clone(),
                _ => desc.params.secondary_region.clone(),
            };
            for v in &record.values {
                if let Ok(ip) = v.parse::<IpAddr>() {
                    map.insert(ip, region.clone());
                }
            }
            if let Some(alias) = &record.alias {
                let name = alias.dns_name.trim_end_matches('.');
                if let Ok(found) = tokio::net::lookup_host((name, 443)).await {
                    for a in found {
                        map.insert(a.ip(), region.clone());
                    }
                }
            }
        }
        let answer = map.get(&ip).cloned();
        *self.cache.lock().expect("address book lock") = Some((map, mono_now()));
        answer
    }
}
