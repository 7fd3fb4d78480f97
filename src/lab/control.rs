//! The lab's control API: the only way anything changes the lab, whether the lab
//! runs inside the runner or as its own process (`gameday lab`).
//!
//! Every call is idempotent (applying it twice is harmless) and answers with the
//! monotonic instant its change took effect, so a run can take `t0` from the
//! lab's own clock.

use super::alb::{Target, TargetHealth};
use super::checker::RegionHealth;
use super::database::InstanceView;
use super::truth::TruthEvent;
use super::LabRegion;
use super::{LabParams, LabState};
use crate::clock::mono_now;
use crate::net::http::{self, Body};
use crate::words::{Applied, ChangeError, Role};
use hyper::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// One change to the lab (or its undo). Serializable: the journal stores these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "kebab-case")]
pub enum LabCall {
    /// Remove targets from a region's ALB target group.
    DeregisterTargets {
        /// Region name.
        region: String,
        /// Target ids.
        targets: Vec<String>,
    },
    /// Put targets back into a region's ALB target group.
    RegisterTargets {
        /// Region name.
        region: String,
        /// Target ids.
        targets: Vec<String>,
    },
    /// Drop all traffic to and from an Availability Zone's targets.
    SeverAz {
        /// Region name.
        region: String,
        /// AZ name, e.g. `me-central-1a`.
        az: String,
    },
    /// Undo of [`LabCall::SeverAz`].
    RestoreAz {
        /// Region name.
        region: String,
        /// AZ name.
        az: String,
    },
    /// Crash a region's database instance.
    FailDatabase {
        /// Region name.
        region: String,
    },
    /// Bring a crashed instance back; fails back if the standby was promoted.
    RestoreDatabase {
        /// Region name.
        region: String,
    },
    /// Cut a whole region off: its public endpoint, targets and database.
    IsolateRegion {
        /// Region name.
        region: String,
        /// Reset every connection (a TCP RST, at once) instead of going
        /// silent.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reset: bool,
    },
    /// Undo of [`LabCall::IsolateRegion`].
    RestoreRegion {
        /// Region name.
        region: String,
    },
    /// Cut a region off from the health checkers and from the other region
    /// (replication, the standby's view of it, apps across the link), while
    /// its database keeps running and a share of customers still reach it.
    PartitionRegion {
        /// Region name.
        region: String,
        /// Share of new customer connections that still reach the region, in
        /// thousandths (1000: all of them).
        reachable_permille: u32,
        /// When its old writer is fenced if the standby is promoted meanwhile.
        fencing: super::database::Fencing,
        /// Reconnect it by itself after this long, ms (as an FIS
        /// cross-region connectivity action ends after its duration).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lasts_ms: Option<u64>,
    },
    /// Undo of [`LabCall::PartitionRegion`]: reconnect it, then fail the
    /// database back if the standby was promoted (what only the old writer
    /// took is discarded).
    ReconnectRegion {
        /// Region name.
        region: String,
    },
    /// Stop replication from the writer to the standby: what the writer commits
    /// from now on is not replicated.
    CutReplication,
    /// Undo of [`LabCall::CutReplication`].
    RestoreReplication,
    /// Take the lab's lease for a run: refused while another run holds one
    /// that has not lapsed; `replaces` names the lapsed one to take over.
    TakeLease {
        /// The lease to hold.
        lease: crate::lease::Lease,
        /// Run id of the lapsed lease this one takes over, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaces: Option<String>,
    },
    /// Undo of [`LabCall::TakeLease`]: release it if that run still holds it.
    ReleaseLease {
        /// The run whose lease to release.
        run_id: String,
    },
}

impl LabCall {
    /// Whether `self` is exactly the undo gameday plans for `change`: a
    /// revert applies nothing else, whatever a journal says.
    pub fn is_undo_of(&self, change: &LabCall) -> bool {
        use LabCall::*;
        match (change, self) {
            (
                DeregisterTargets { region, targets },
                RegisterTargets {
                    region: r,
                    targets: t,
                },
            ) => region == r && targets == t,
            (SeverAz { region, az }, RestoreAz { region: r, az: a }) => region == r && az == a,
            (FailDatabase { region }, RestoreDatabase { region: r })
            | (IsolateRegion { region, .. }, RestoreRegion { region: r })
            | (PartitionRegion { region, .. }, ReconnectRegion { region: r }) => region == r,
            (CutReplication, RestoreReplication) => true,
            (TakeLease { lease, .. }, ReleaseLease { run_id }) => lease.run_id == *run_id,
            _ => false,
        }
    }

    /// The call in a few words, for plans and journals.
    pub fn summary(&self) -> String {
        match self {
            LabCall::DeregisterTargets { region, targets } => {
                format!("deregister {} from the {region} ALB", targets.join(", "))
            }
            LabCall::RegisterTargets { region, targets } => {
                format!("register {} with the {region} ALB", targets.join(", "))
            }
            LabCall::SeverAz { az, .. } => {
                format!("drop all traffic of AZ {az} (deny-all network ACL)")
            }
            LabCall::RestoreAz { az, .. } => format!("let traffic of AZ {az} through again"),
            LabCall::FailDatabase { region } => format!("crash the {region} database instance"),
            LabCall::RestoreDatabase { region } => format!(
                "restart the {region} database instance and fail back if its standby was promoted"
            ),
            LabCall::IsolateRegion { region, reset } => format!(
                "cut region {region} off (endpoint, targets, database){}",
                if *reset {
                    ", resetting every connection"
                } else {
                    ""
                }
            ),
            LabCall::RestoreRegion { region } => {
                format!("reconnect region {region} and fail back the database if needed")
            }
            LabCall::PartitionRegion {
                region,
                reachable_permille,
                fencing,
                lasts_ms,
            } => format!(
                "cut region {region} off from the health checkers and the other region{} ({}% of customers still reach it; old writer fenced: {fencing})",
                lasts_ms
                    .map(|ms| format!(" for {}", humantime::format_duration(Duration::from_millis(ms))))
                    .unwrap_or_default(),
                *reachable_permille as f64 / 10.0
            ),
            LabCall::ReconnectRegion { region } => format!(
                "reconnect region {region} and fail back the database if needed (what only the old writer took is discarded)"
            ),
            LabCall::CutReplication => {
                "cut database replication from the writer to the standby".into()
            }
            LabCall::RestoreReplication => "let database replication flow again".into(),
            LabCall::TakeLease { lease, replaces } => match replaces {
                Some(old) => format!(
                    "take over the lab's lapsed lease of run {old} for run {}",
                    lease.run_id
                ),
                None => format!("take the lab's lease for run {}", lease.run_id),
            },
            LabCall::ReleaseLease { run_id } => format!("release the lab's lease of run {run_id}"),
        }
    }

    /// Whether this is the lease rather than a change to the environment.
    pub fn is_lease(&self) -> bool {
        matches!(
            self,
            LabCall::TakeLease { .. } | LabCall::ReleaseLease { .. }
        )
    }

    /// For a change that was made: whether it is still in place in `lab`,
    /// or what undid it (someone else's revert, a hand-made fix).
    pub fn still_in_place(&self, lab: &LabDescription) -> Result<(), String> {
        let config = lab.configuration();
        let held = |link: &str, hold: &str| {
            config
                .holds
                .get(link)
                .is_some_and(|h| h.iter().any(|x| x == hold))
        };
        let fine = match self {
            LabCall::DeregisterTargets { targets, .. } => targets
                .iter()
                .all(|t| config.registered.get(t) == Some(&false)),
            LabCall::SeverAz { az, .. } => {
                let hold = format!("sever-az:{az}");
                config
                    .holds
                    .iter()
                    .filter(|(link, _)| link.starts_with(az.as_str()) && link.ends_with(" link"))
                    .all(|(link, _)| held(link, &hold))
            }
            LabCall::IsolateRegion { region, reset } => {
                held(&format!("{region} endpoint"), &outage_hold(region, *reset))
            }
            LabCall::FailDatabase { region } => {
                held(&format!("{region} database"), "fail-database")
            }
            // One that ends by itself is not undone behind the run's back when it does.
            LabCall::PartitionRegion {
                lasts_ms: Some(_), ..
            } => true,
            LabCall::PartitionRegion { region, .. } => held(
                &format!("{region} health-check path"),
                &format!("isolate-region:{region}"),
            ),
            LabCall::CutReplication => held("replication link", "cut-replication"),
            LabCall::TakeLease { lease, .. } => {
                lab.lease.as_ref().is_some_and(|l| l.run_id == lease.run_id)
            }
            _ => true,
        };
        if fine {
            Ok(())
        } else {
            Err(format!("\"{}\" no longer holds", self.summary()))
        }
    }
}

/// One region of a running lab.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegionDescription {
    /// Region name.
    pub name: String,
    /// Primary or secondary.
    pub role: Role,
    /// Address DNS answers for this region.
    pub public_ip: Ipv4Addr,
    /// Where a client connects for that address (the same address on Linux).
    pub endpoint: SocketAddr,
    /// Holds on the public endpoint (non-empty: cut off).
    pub endpoint_holds: Vec<String>,
    /// ALB target group.
    pub targets: Vec<Target>,
    /// Holds on each target's AZ link, by target id.
    pub target_holds: BTreeMap<String, Vec<String>>,
    /// Availability Zones.
    pub azs: Vec<String>,
    /// Database instance.
    pub database: InstanceView,
    /// Holds on the database link.
    pub database_holds: Vec<String>,
    /// Holds on the health checkers' path to the region (absent in reports
    /// written before it existed).
    #[serde(default)]
    pub checker_holds: Vec<String>,
    /// A partial hold on the public endpoint (`name=share`): only that share
    /// of customer connections gets through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_share: Option<String>,
    /// Where apps reach this region's database instance (absent in reports
    /// written before it was recorded).
    #[serde(default)]
    pub database_endpoint: Option<SocketAddr>,
    /// The region's Auto Scaling group (the standby's, with `[lab.autoscaling]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupDescription>,
}

/// An Auto Scaling group as DescribeAutoScalingGroups would show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDescription {
    /// Fewest instances.
    pub min: u32,
    /// Most instances.
    pub max: u32,
    /// Instances it wants now.
    pub desired: u32,
    /// Launched and still booting.
    pub booting: u32,
    /// Instances at the start (its pilot light).
    pub initial: u32,
}

/// Everything a run needs to know about a lab.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabDescription {
    /// Lab parameters in force.
    pub params: LabParams,
    /// Control API.
    pub control: SocketAddr,
    /// Authoritative DNS server (UDP).
    pub dns: SocketAddr,
    /// Zone apex.
    pub zone: String,
    /// Failover record.
    pub record: String,
    /// Primary then secondary.
    pub regions: Vec<RegionDescription>,
    /// Region whose database takes writes.
    pub writer_region: String,
    /// Holds on the replication link (non-empty: nothing replicates).
    #[serde(default)]
    pub replication_holds: Vec<String>,
    /// Whether each region has its own loopback addresses.
    pub multi_address: bool,
    /// The CA of the database's TLS certificate (`database_tls`), for clients to trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_ca: Option<std::path::PathBuf>,
    /// A libpq passfile (0600, the invoking user's) for reading the lab's
    /// PostgreSQL directly (`PGPASSFILE=... psql ...`), when it runs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_passfile: Option<std::path::PathBuf>,
    /// The run holding the lab's lease, if one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<crate::lease::Lease>,
}

impl LabDescription {
    /// The region of a role.
    pub fn region(&self, role: Role) -> &RegionDescription {
        &self.regions[role.index()]
    }

    /// Where to connect for an address a DNS answer gave.
    pub fn endpoint_for(&self, ip: Ipv4Addr) -> Option<SocketAddr> {
        self.regions
            .iter()
            .find(|r| r.public_ip == ip)
            .map(|r| r.endpoint)
    }

    /// Which region an answered address belongs to.
    pub fn region_of_ip(&self, ip: Ipv4Addr) -> Option<&RegionDescription> {
        self.regions.iter().find(|r| r.public_ip == ip)
    }

    /// The part of the lab a game day changes, to compare before and after.
    pub fn configuration(&self) -> LabConfiguration {
        let mut registered = BTreeMap::new();
        let mut holds = BTreeMap::new();
        let mut databases = BTreeMap::new();
        for r in &self.regions {
            // The group registers its own instances; no game day's change.
            for t in r.targets.iter().filter(|t| !t.autoscaled) {
                registered.insert(t.id.clone(), t.registered);
            }
            holds.insert(format!("{} endpoint", r.name), r.endpoint_holds.clone());
            holds.insert(format!("{} database", r.name), r.database_holds.clone());
            holds.insert(
                format!("{} health-check path", r.name),
                r.checker_holds.clone(),
            );
            holds.insert(
                format!("{} endpoint share", r.name),
                r.endpoint_share.iter().cloned().collect(),
            );
            for (id, h) in &r.target_holds {
                holds.insert(format!("{id} link"), h.clone());
            }
            databases.insert(r.name.clone(), (r.database.role, r.database.crashed));
        }
        holds.insert("replication link".into(), self.replication_holds.clone());
        LabConfiguration {
            registered,
            holds,
            databases,
            writer_region: self.writer_region.clone(),
        }
    }
}

/// The changeable state of a lab, comparable for revert verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabConfiguration {
    /// Target id -> registered.
    pub registered: BTreeMap<String, bool>,
    /// Link -> holds on it.
    pub holds: BTreeMap<String, Vec<String>>,
    /// Region -> (database role, crashed).
    pub databases: BTreeMap<String, (super::database::DbRole, bool)>,
    /// Writer region.
    pub writer_region: String,
}

impl LabConfiguration {
    /// Human-readable differences from `expected`, empty when equal.
    pub fn differences(&self, expected: &LabConfiguration) -> Vec<String> {
        let mut out = Vec::new();
        for (id, want) in &expected.registered {
            let got = self.registered.get(id).copied().unwrap_or(false);
            if got != *want {
                out.push(format!("target {id} registered={got}, expected {want}"));
            }
        }
        for (link, want) in &expected.holds {
            let got = self.holds.get(link).cloned().unwrap_or_default();
            if &got != want {
                out.push(format!("{link} holds {got:?}, expected {want:?}"));
            }
        }
        for (region, want) in &expected.databases {
            if let Some(got) = self.databases.get(region) {
                if got != want {
                    out.push(format!("{region} database is {got:?}, expected {want:?}"));
                }
            }
        }
        if self.writer_region != expected.writer_region {
            out.push(format!(
                "writer is {}, expected {}",
                self.writer_region, expected.writer_region
            ));
        }
        out
    }
}

fn group_description(state: &LabState, role: Role) -> Option<GroupDescription> {
    let a = state.params.autoscaling.as_ref()?;
    let g = state.group.as_ref().filter(|_| role == Role::Secondary)?;
    let (desired, booting) = g.view();
    Some(GroupDescription {
        min: a.min,
        max: a.max,
        desired,
        booting,
        initial: a.initial(),
    })
}

/// Describes the lab's current state.
pub(crate) fn describe(state: &LabState) -> LabDescription {
    let regions = Role::both()
        .map(|role| {
            let r = &state.regions[role.index()];
            RegionDescription {
                name: role.lab_region().to_string(),
                role,
                public_ip: r.public_ip,
                endpoint: r.ingress.listen,
                endpoint_holds: r.ingress.holds(),
                targets: r.alb.targets(),
                target_holds: r
                    .alb
                    .targets()
                    .iter()
                    .zip(&r.target_gates)
                    .map(|(t, (_, g))| (t.id.clone(), g.holds()))
                    .collect(),
                azs: super::AZ_SUFFIXES
                    .iter()
                    .map(|s| format!("{}{s}", role.lab_region()))
                    .collect(),
                database: state.database.view(role),
                database_holds: state.database.gate(role).holds(),
                checker_holds: r.checker_path.holds(),
                endpoint_share: r.ingress.share(),
                database_endpoint: Some(state.database.gate(role).listen),
                group: group_description(state, role),
            }
        })
        .to_vec();
    LabDescription {
        params: state.params.clone(),
        control: state.control,
        dns: state.dns,
        zone: super::ZONE.to_string(),
        record: super::RECORD.to_string(),
        regions,
        writer_region: state.database.writer().lab_region().to_string(),
        replication_holds: state.database.replication_holds(),
        multi_address: state.multi_address,
        database_ca: state.database.ca_file(),
        database_passfile: state.database.passfile(),
        lease: state.lease.lock().expect("lease lock").clone(),
    }
}

/// Takes or releases the lab's lease; a lease held by another run that has
/// not lapsed refuses the take (nothing to retry: a person must wait).
fn lease_call(state: &LabState, call: &LabCall) -> Result<Applied, ChangeError> {
    let mut held = state.lease.lock().expect("lease lock");
    let changed = match call {
        LabCall::TakeLease { lease, replaces } => match held.as_ref() {
            Some(h) if h.run_id == lease.run_id => false,
            Some(h)
                if replaces.as_deref() == Some(h.run_id.as_str())
                    && h.expired(chrono::Utc::now()) =>
            {
                *held = Some(lease.clone());
                true
            }
            Some(h) => {
                return Err(ChangeError::permanent(format!(
                    "the lab is leased to {}",
                    h.describe()
                )))
            }
            None => {
                *held = Some(lease.clone());
                true
            }
        },
        LabCall::ReleaseLease { run_id } => {
            let ours = held.as_ref().is_some_and(|h| h.run_id == *run_id);
            if ours {
                *held = None;
            }
            ours
        }
        _ => false,
    };
    Ok(Applied {
        effective_at: mono_now(),
        changed,
    })
}

fn role_of(region: &str) -> Result<Role, String> {
    super::role_of_region(region).ok_or_else(|| {
        format!(
            "no region {region} in the lab; it has {}",
            super::REGION_NAMES.join(" and ")
        )
    })
}

/// Applies one call. Errors are for calls that name things the lab does not have.
pub(crate) async fn apply(state: &Arc<LabState>, call: &LabCall) -> Result<Applied, ChangeError> {
    match call {
        LabCall::TakeLease { .. } | LabCall::ReleaseLease { .. } => lease_call(state, call),
        LabCall::DeregisterTargets { region, targets } => {
            set_registered(state, region, targets, false)
        }
        LabCall::RegisterTargets { region, targets } => {
            set_registered(state, region, targets, true)
        }
        LabCall::SeverAz { region, az } => set_az_severed(state, region, az, true),
        LabCall::RestoreAz { region, az } => set_az_severed(state, region, az, false),
        LabCall::FailDatabase { region } => fail_database(state, region).await,
        LabCall::RestoreDatabase { region } => restore_database(state, region).await,
        LabCall::IsolateRegion { region, reset } => {
            set_region_isolated(state, region, Some(*reset)).await
        }
        LabCall::RestoreRegion { region } => set_region_isolated(state, region, None).await,
        LabCall::PartitionRegion {
            region,
            reachable_permille,
            fencing,
            lasts_ms,
        } => {
            let applied = partition_region(state, region, *reachable_permille, *fencing).await?;
            if let (Some(ms), true) = (lasts_ms, applied.changed) {
                let (state, region, ms) = (state.clone(), region.clone(), *ms);
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    if let Err(e) = reconnect_region(&state, &region).await {
                        state.truth.record("reconnect-failed", &region, e.message);
                    }
                });
            }
            Ok(applied)
        }
        LabCall::ReconnectRegion { region } => reconnect_region(state, region).await,
        LabCall::CutReplication => set_replication_cut(state, true).await,
        LabCall::RestoreReplication => set_replication_cut(state, false).await,
    }
}

/// When a call took effect: a real change is ground truth (recorded now); a
/// repeated call changes nothing.
fn applied(state: &LabState, changed: bool, kind: &str, region: &str, detail: String) -> Applied {
    Applied {
        effective_at: if changed {
            state.truth.record(kind, region, detail)
        } else {
            mono_now()
        },
        changed,
    }
}

fn set_registered(
    state: &LabState,
    region: &str,
    targets: &[String],
    register: bool,
) -> Result<Applied, ChangeError> {
    let role = role_of(region)?;
    let changed = state.regions[role.index()]
        .alb
        .set_registered(targets, register)?;
    let kind = if register {
        "targets-registered"
    } else {
        "targets-deregistered"
    };
    Ok(applied(state, changed, kind, region, targets.join(",")))
}

fn set_az_severed(
    state: &LabState,
    region: &str,
    az: &str,
    sever: bool,
) -> Result<Applied, ChangeError> {
    let role = role_of(region)?;
    let gates: Vec<_> = state.regions[role.index()]
        .target_gates
        .iter()
        .filter(|(a, _)| a == az)
        .collect();
    if gates.is_empty() {
        return Err(format!("no Availability Zone {az} in {region}").into());
    }
    let hold = format!("sever-az:{az}");
    let mut changed = false;
    for (_, g) in gates {
        let had = g.holds().contains(&hold);
        if sever {
            g.hold(&hold);
        } else {
            g.lift(&hold);
        }
        changed |= had != sever;
    }
    let kind = if sever { "az-severed" } else { "az-restored" };
    Ok(applied(state, changed, kind, region, az.to_string()))
}

async fn fail_database(state: &LabState, region: &str) -> Result<Applied, ChangeError> {
    let role = role_of(region)?;
    // Unreachable from the moment its gate holds; stopping a real
    // instance takes longer, but nothing reaches it meanwhile.
    let at = mono_now();
    state.database.gate(role).hold("fail-database");
    let changed = state
        .database
        .crash(role)
        .await
        .map_err(ChangeError::transient)?;
    let effective_at = if changed {
        state
            .truth
            .record_at(at, "database-failed", region, "instance crashed")
    } else {
        mono_now()
    };
    Ok(Applied {
        effective_at,
        changed,
    })
}

async fn restore_database(state: &LabState, region: &str) -> Result<Applied, ChangeError> {
    let role = role_of(region)?;
    state.database.gate(role).lift("fail-database");
    let changed = state
        .database
        .recover(role)
        .await
        .map_err(ChangeError::transient)?;
    Ok(applied(
        state,
        changed,
        "database-restored",
        region,
        "instance running".into(),
    ))
}

/// The gates' hold of a region outage: silent, or resetting every
/// connection (`net::gate::RESET`).
fn outage_hold(region: &str, reset: bool) -> String {
    match reset {
        true => format!("region-outage:{region}{}", crate::net::gate::RESET),
        false => format!("region-outage:{region}"),
    }
}

/// Cuts a region off (`Some(reset)`) or reconnects it (`None`: lifts
/// either kind of hold).
async fn set_region_isolated(
    state: &LabState,
    region: &str,
    cut: Option<bool>,
) -> Result<Applied, ChangeError> {
    let role = role_of(region)?;
    let r = &state.regions[role.index()];
    let isolate = cut.is_some();
    let holds = match cut {
        Some(reset) => vec![outage_hold(region, reset)],
        None => vec![outage_hold(region, false), outage_hold(region, true)],
    };
    let had = holds.iter().any(|h| r.ingress.holds().contains(h));
    let hold = holds[0].clone();
    // Replication crosses regions: either region going dark cuts it.
    let mut gates: Vec<&crate::net::gate::Gate> =
        vec![&r.ingress, &r.checker_path, state.database.gate(role)];
    gates.extend(state.database.replication_gate());
    gates.extend(r.target_gates.iter().map(|(_, g)| g));
    for g in gates {
        for h in &holds {
            if isolate {
                g.hold(h);
            } else {
                g.lift(h);
            }
        }
    }
    if !isolate {
        state
            .database
            .reconcile()
            .await
            .map_err(ChangeError::transient)?;
    }
    let kind = if isolate {
        "region-isolated"
    } else {
        "region-restored"
    };
    Ok(applied(state, had != isolate, kind, region, hold))
}

async fn partition_region(
    state: &LabState,
    region: &str,
    reachable_permille: u32,
    fencing: super::database::Fencing,
) -> Result<Applied, ChangeError> {
    let role = role_of(region)?;
    if reachable_permille > 1000 {
        return Err(ChangeError::permanent(format!(
            "reachable share {reachable_permille}/1000 is more than all customers"
        )));
    }
    let r = &state.regions[role.index()];
    let hold = format!("isolate-region:{region}");
    let at = mono_now();
    let mut changed = r.checker_path.hold(&hold);
    if reachable_permille < 1000 {
        changed |= r
            .ingress
            .admit_share(&hold, f64::from(reachable_permille) / 1000.0);
    }
    let isolation = super::database::Isolation::new(role, fencing);
    changed |= state
        .database
        .set_isolation(Some(isolation))
        .await
        .map_err(ChangeError::transient)?;
    let effective_at = if changed {
        state.truth.record_at(
            at,
            "region-partitioned",
            region,
            format!(
                "cut off from the health checkers and the other region; {}% of customers still reach it; fencing {fencing}",
                f64::from(reachable_permille) / 10.0
            ),
        )
    } else {
        mono_now()
    };
    Ok(Applied {
        effective_at,
        changed,
    })
}

async fn reconnect_region(state: &LabState, region: &str) -> Result<Applied, ChangeError> {
    let role = role_of(region)?;
    let r = &state.regions[role.index()];
    let hold = format!("isolate-region:{region}");
    let mut changed = r.checker_path.lift(&hold);
    changed |= r.ingress.lift_share(&hold);
    if state.database.isolation().is_some_and(|i| i.region == role) {
        changed |= state
            .database
            .set_isolation(None)
            .await
            .map_err(ChangeError::transient)?;
    }
    state
        .database
        .reconcile()
        .await
        .map_err(ChangeError::transient)?;
    Ok(applied(
        state,
        changed,
        "region-reconnected",
        region,
        "reachable again; database failed back if the standby was promoted".into(),
    ))
}

async fn set_replication_cut(state: &LabState, cut: bool) -> Result<Applied, ChangeError> {
    let changed = state
        .database
        .set_replication_cut(cut)
        .await
        .map_err(ChangeError::transient)?;
    let kind = if cut {
        "replication-cut"
    } else {
        "replication-restored"
    };
    let writer = state.database.writer().lab_region();
    Ok(applied(
        state,
        changed,
        kind,
        writer,
        "writer to standby".into(),
    ))
}

/// Why a request to the control API is refused before it is routed: a Host
/// that is not the control address (DNS rebinding), a missing or wrong token
/// (any other local process or web page), a POST that is not JSON (a
/// cross-origin form or `text/plain` request cannot send JSON without a
/// preflight).
fn refusal(state: &LabState, req: &Request<hyper::body::Incoming>) -> Option<Response<Body>> {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let host_ok = header(hyper::header::HOST).is_some_and(|h| {
        h.parse::<SocketAddr>().is_ok_and(|a| a.ip().is_loopback())
            || h.strip_prefix("localhost:")
                .is_some_and(|p| p.parse::<u16>().is_ok())
    });
    if !host_ok {
        return Some(http::respond(
            StatusCode::FORBIDDEN,
            "text/plain",
            "the control API answers only requests addressed to its loopback address",
        ));
    }
    let expected = format!("Bearer {}", state.token);
    let token_ok = header(hyper::header::AUTHORIZATION)
        .is_some_and(|t| constant_time_eq(t.as_bytes(), expected.as_bytes()));
    if !token_ok && req.uri().path() != "/healthz" {
        return Some(http::respond(
            StatusCode::UNAUTHORIZED,
            "text/plain",
            "missing or wrong token: send `Authorization: Bearer <token>` with the token `gameday lab` printed",
        ));
    }
    let json = header(hyper::header::CONTENT_TYPE)
        .is_some_and(|c| c.split(';').next() == Some("application/json"));
    if req.method() == Method::POST && !json {
        return Some(http::respond(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "text/plain",
            "POST bodies must be application/json",
        ));
    }
    None
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn handle(state: Arc<LabState>, req: Request<hyper::body::Incoming>) -> Response<Body> {
    if let Some(refused) = refusal(&state, &req) {
        return refused;
    }
    let (method, path) = http::route(&req);
    match (method, path.as_str()) {
        (Method::GET, "/healthz") => http::respond(StatusCode::OK, "text/plain", "ok"),
        (Method::GET, "/describe") => http::json(StatusCode::OK, &describe(&state)),
        (Method::GET, "/health") => {
            let health: Vec<RegionHealth> = Role::both()
                .iter()
                .map(|r| state.checkers.status(*r))
                .collect();
            http::json(StatusCode::OK, &health)
        }
        (Method::GET, "/truth") => http::json(StatusCode::OK, &state.truth.events()),
        (Method::POST, "/apply") => {
            let body = match http::read_body(req).await {
                Ok(b) => b,
                Err(resp) => return resp,
            };
            match serde_json::from_slice::<LabCall>(&body) {
                Ok(call) => match apply(&state, &call).await {
                    Ok(applied) => http::json(StatusCode::OK, &applied),
                    // 503: the lab could not carry it out now (a retry can help);
                    // 400: the call names something the lab does not have.
                    Err(e) if e.retryable() => {
                        http::respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", e.message)
                    }
                    Err(e) => http::respond(StatusCode::BAD_REQUEST, "text/plain", e.message),
                },
                Err(e) => http::respond(
                    StatusCode::BAD_REQUEST,
                    "text/plain",
                    format!("not a lab call: {e}"),
                ),
            }
        }
        (Method::POST, "/database") => {
            let body = match http::read_body(req).await {
                Ok(b) => b,
                Err(resp) => return resp,
            };
            match serde_json::from_slice::<DirectRequest>(&body) {
                Ok(ask) => http::json(StatusCode::OK, &direct(&state, ask).await),
                Err(e) => http::respond(
                    StatusCode::BAD_REQUEST,
                    "text/plain",
                    format!("not a database request: {e}"),
                ),
            }
        }
        _ => http::respond(StatusCode::NOT_FOUND, "text/plain", "no such route"),
    }
}

/// A write or read made straight to one region's database instance, not
/// through an app: how the canary asks each writer itself whether it takes
/// writes and what it holds. The database answers, not the lab's truth.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum DirectRequest {
    /// Insert one canary record.
    Write {
        /// Region of the instance.
        region: String,
        /// Sequence number.
        seq: u64,
        /// Canary id.
        canary: String,
        /// How long to wait for the commit, ms.
        timeout_ms: u64,
    },
    /// Every sequence number of one canary the instance holds.
    Read {
        /// Region of the instance.
        region: String,
        /// Canary id.
        canary: String,
        /// How long to wait, ms.
        timeout_ms: u64,
    },
}

/// The database's answer to a [`DirectRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectAnswer {
    /// Why it failed (refused, read-only, unreachable), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What a read found.
    #[serde(default)]
    pub seqs: Vec<u64>,
}

async fn direct(state: &LabState, ask: DirectRequest) -> DirectAnswer {
    let (region, timeout) = match &ask {
        DirectRequest::Write {
            region, timeout_ms, ..
        }
        | DirectRequest::Read {
            region, timeout_ms, ..
        } => (region, Duration::from_millis((*timeout_ms).min(10_000))),
    };
    let role = match role_of(region) {
        Ok(r) => r,
        Err(e) => {
            return DirectAnswer {
                error: Some(e),
                seqs: Vec::new(),
            }
        }
    };
    let db = &state.database;
    let result = match &ask {
        DirectRequest::Write { seq, canary, .. } => db
            .write(role, *seq, canary, timeout)
            .await
            .map(|_| Vec::new()),
        DirectRequest::Read { canary, .. } => db.canary(role, canary, timeout).await,
    };
    match result {
        Ok(seqs) => DirectAnswer { error: None, seqs },
        Err(e) => DirectAnswer {
            error: Some(e),
            seqs: Vec::new(),
        },
    }
}

/// Serves the control API until aborted.
pub(crate) fn serve(listener: TcpListener, state: Arc<LabState>) -> tokio::task::JoinHandle<()> {
    http::serve(listener, move |req| handle(state.clone(), req))
}

/// Talks to a lab's control API, embedded or standing.
#[derive(Clone)]
pub struct LabClient {
    /// Control API address.
    pub addr: SocketAddr,
    /// Its bearer token.
    pub token: String,
    /// One connection kept open for the reads a probe makes every tick
    /// (`/health`), shared by the clones; changes always open their own.
    kept: Arc<tokio::sync::Mutex<Option<http::Connection>>>,
}

impl std::fmt::Debug for LabClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabClient")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Why a control call failed.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The lab did not answer.
    #[error("the lab control API at {addr} did not answer ({source}); is the lab running? start one with `gameday lab`")]
    Unreachable {
        /// Control address.
        addr: SocketAddr,
        /// Transport error.
        source: http::HttpError,
    },
    /// The lab refused the call.
    #[error("the lab refused {what}: {reason}")]
    Refused {
        /// What was asked.
        what: String,
        /// The lab's reason.
        reason: String,
        /// Whether the lab said it could not do it *now* (HTTP 5xx).
        transient: bool,
    },
    /// The answer could not be decoded.
    #[error("the lab at {addr} answered something that is not a gameday lab: {reason}")]
    Garbled {
        /// Control address.
        addr: SocketAddr,
        /// Decode error.
        reason: String,
    },
}

impl From<LabError> for ChangeError {
    /// An unreachable lab may be back in a moment, and a 5xx is the lab saying
    /// "not now"; a refused or garbled call will be the same next time.
    fn from(e: LabError) -> ChangeError {
        let transient = matches!(
            e,
            LabError::Unreachable { .. }
                | LabError::Refused {
                    transient: true,
                    ..
                }
        );
        if transient {
            ChangeError::transient(e.to_string())
        } else {
            ChangeError::permanent(e.to_string())
        }
    }
}

const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

impl LabClient {
    /// A client of the control API at `addr` with `token`.
    pub fn new(addr: SocketAddr, token: String) -> Self {
        LabClient {
            addr,
            token,
            kept: Arc::default(),
        }
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        what: &str,
    ) -> Result<T, LabError> {
        let reply = http::request_bearer(
            self.addr,
            method,
            path,
            body.map(Into::into),
            &self.token,
            CONTROL_TIMEOUT,
        )
        .await;
        self.decode(reply, what)
    }

    /// A GET on the kept connection: opened on first use, and again after
    /// it failed (a read on a kept connection the lab closed meanwhile is
    /// retried once on a new one; a GET changes nothing). A second caller
    /// while it is busy opens its own.
    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
    ) -> Result<T, LabError> {
        let Ok(mut slot) = self.kept.try_lock() else {
            return self.call(Method::GET, path, None, what).await;
        };
        let host = self.addr.to_string();
        let mut reused = slot.take().filter(|c| !c.is_closed());
        let reply = loop {
            let fresh = reused.is_none();
            let mut conn = match reused.take() {
                Some(conn) => conn,
                None => match http::open(self.addr, None, &host, CONTROL_TIMEOUT).await {
                    Ok(conn) => conn,
                    Err(e) => break Err(e),
                },
            };
            match conn
                .get_authorized(&host, path, &self.token, CONTROL_TIMEOUT)
                .await
            {
                Ok(reply) => {
                    *slot = Some(conn);
                    break Ok(reply);
                }
                // Only a kept connection the lab closed is worth a second
                // try; a hung lab is not asked twice.
                Err(http::HttpError::Connect(_)) if !fresh => continue,
                Err(e) => break Err(e),
            }
        };
        self.decode(reply, what)
    }

    /// A control reply as `T`, or what went wrong.
    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        reply: Result<http::Reply, http::HttpError>,
        what: &str,
    ) -> Result<T, LabError> {
        let reply = reply.map_err(|source| LabError::Unreachable {
            addr: self.addr,
            source,
        })?;
        if !reply.status.is_success() {
            return Err(LabError::Refused {
                what: what.to_string(),
                reason: String::from_utf8_lossy(&reply.body).into_owned(),
                transient: reply.status.is_server_error(),
            });
        }
        serde_json::from_slice(&reply.body).map_err(|e| LabError::Garbled {
            addr: self.addr,
            reason: e.to_string(),
        })
    }

    /// Describes the lab.
    pub async fn describe(&self) -> Result<LabDescription, LabError> {
        self.call(Method::GET, "/describe", None, "describe").await
    }

    /// Health-check status of both regions.
    pub async fn health(&self) -> Result<Vec<RegionHealth>, LabError> {
        self.read("/health", "health").await
    }

    /// Ground truth so far.
    pub async fn truth(&self) -> Result<Vec<TruthEvent>, LabError> {
        self.call(Method::GET, "/truth", None, "truth").await
    }

    /// Asks one region's database instance directly (not a change).
    pub async fn direct(&self, ask: &DirectRequest) -> Result<DirectAnswer, LabError> {
        let body = serde_json::to_vec(ask).expect("database requests serialize");
        self.call(
            Method::POST,
            "/database",
            Some(body),
            "a direct database request",
        )
        .await
    }

    /// Applies one change.
    pub async fn apply(&self, call: &LabCall) -> Result<Applied, LabError> {
        let body = serde_json::to_vec(call).expect("lab calls serialize");
        self.call(Method::POST, "/apply", Some(body), &call.summary())
            .await
    }
}

/// Whether a target receives traffic.
pub fn in_service(t: &Target) -> bool {
    t.registered && t.health == TargetHealth::Healthy
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A control API that answers `/health` with `[]` on keep-alive
    /// connections and counts the connections it accepts. After
    /// `per_connection` answers it reads one more request and closes the
    /// connection without answering it (as a lab restarting would).
    async fn counting_lab(per_connection: usize) -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    for answered in 0.. {
                        let mut got = Vec::new();
                        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                            match stream.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => got.extend_from_slice(&buf[..n]),
                            }
                        }
                        if answered == per_connection {
                            return;
                        }
                        let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n[]";
                        if stream.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (addr, accepted)
    }

    #[tokio::test]
    async fn health_reads_share_one_kept_connection() {
        let (addr, accepted) = counting_lab(100).await;
        let client = LabClient::new(addr, "t".into());
        for _ in 0..5 {
            assert!(client.clone().health().await.unwrap().is_empty());
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_kept_connection_the_lab_closed_is_replaced_without_a_failed_read() {
        let (addr, accepted) = counting_lab(2).await;
        let client = LabClient::new(addr, "t".into());
        for _ in 0..5 {
            assert!(client.health().await.unwrap().is_empty());
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }
}
