//! The embedded lab: a real two-region topology in one process, on loopback.
//!
//! Per region: two Availability Zones of HTTP targets running the orders app, an
//! ALB-like proxy with target health checks, and a database instance. Across
//! regions: Route 53-like health checkers, an authoritative DNS server answering
//! the failover pair, and asynchronous replication with automated promotion.
//! Every link crosses a [`Gate`], so faults cut traffic the way a deny-all network
//! ACL does. A control API (HTTP on loopback) applies changes and serves the
//! ground truth, for an embedded run and for a lab started with `gameday lab` alike.

pub mod alb;
pub mod app;
pub mod autoscaler;
pub mod checker;
pub mod control;
pub mod database;
pub mod dns;
pub mod params;
pub mod truth;

pub use control::{LabCall, LabClient, LabConfiguration, LabDescription};
pub use params::LabParams;

use crate::net::gate::Gate;
use crate::net::http;
use crate::words::Role;
use alb::{Alb, AlbSettings};
use app::{App, Capacity};
use autoscaler::Group;
use checker::{CheckerSettings, HealthCheckers};
use database::{embedded, postgres, Database, Engine, Replication};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;
use truth::Truth;

/// Region names, primary first, named like the seed's setup.
pub const REGION_NAMES: [&str; 2] = ["me-central-1", "eu-central-1"];
/// Availability Zone suffixes in each region.
pub const AZ_SUFFIXES: [&str; 2] = ["a", "b"];
/// The zone the lab's DNS server is authoritative for (`.test` is reserved, RFC 2606).
pub const ZONE: &str = "lab.gameday.test.";
/// The failover record customers resolve.
pub const RECORD: &str = "app.lab.gameday.test.";
/// A customer-facing name that is a CNAME to the failover record, as
/// `www.example.com` often is.
pub const ALIAS: &str = "www.lab.gameday.test.";

/// The lab's region names for the two roles.
pub trait LabRegion {
    /// The lab region name of this role.
    fn lab_region(self) -> &'static str;
}

impl LabRegion for Role {
    fn lab_region(self) -> &'static str {
        REGION_NAMES[self.index()]
    }
}

/// Role of a lab region name.
pub fn role_of_region(name: &str) -> Option<Role> {
    Role::both().into_iter().find(|r| r.lab_region() == name)
}

/// How to bind a lab: fixed ports so a person can reach a standing lab, and the
/// single-address layout of machines where only 127.0.0.1 exists.
#[derive(Debug, Clone, Copy, Default)]
pub struct LabPorts {
    /// UDP port of the DNS server.
    pub dns: Option<u16>,
    /// TCP port of the control API.
    pub control: Option<u16>,
    /// Bind everything on 127.0.0.1 even where 127.0.1.x and 127.0.2.x work.
    pub single_address: bool,
    /// Each region's public address (primary, secondary): its endpoint and
    /// its database listen there and DNS answers it, so customers on another
    /// host or network namespace reach the lab. Default: loopback addresses.
    pub public: Option<[Ipv4Addr; 2]>,
    /// Where the DNS server listens (default 127.0.0.1).
    pub dns_ip: Option<IpAddr>,
}

/// Everything one region runs.
pub(crate) struct RegionLab {
    pub alb: Arc<Alb>,
    pub ingress: Gate,
    /// The health checkers' own path to the public endpoint, so a region can
    /// be cut off from them while customers still reach it.
    pub checker_path: Gate,
    pub public_ip: Ipv4Addr,
    /// Gates in front of each target, with the target's AZ name.
    pub target_gates: Vec<(String, Gate)>,
}

/// The shared state every control call works on.
pub(crate) struct LabState {
    pub params: LabParams,
    pub truth: Arc<Truth>,
    pub regions: [RegionLab; 2],
    pub database: Arc<dyn Database>,
    pub checkers: Arc<HealthCheckers>,
    pub dns: SocketAddr,
    pub control: SocketAddr,
    /// The control API's bearer token: random per lab, printed once.
    pub token: String,
    pub multi_address: bool,
    /// The run holding the lab (one game day at a time).
    pub lease: std::sync::Mutex<Option<crate::lease::Lease>>,
    /// The standby's Auto Scaling group, with `[lab.autoscaling]`.
    pub group: Option<Arc<Group>>,
}

/// Tasks that are aborted when dropped, so a lab that fails to start leaves
/// nothing running.
struct Tasks(Vec<JoinHandle<()>>);

impl Tasks {
    fn push(&mut self, t: JoinHandle<()>) {
        self.0.push(t);
    }
}

impl Extend<JoinHandle<()>> for Tasks {
    fn extend<I: IntoIterator<Item = JoinHandle<()>>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in self.0.drain(..) {
            t.abort();
        }
    }
}

/// A running lab. Dropping it (or calling [`Lab::stop`]) stops every task.
pub struct Lab {
    state: Arc<LabState>,
    tasks: Vec<JoinHandle<()>>,
}

/// The host part of a region's public address (its endpoint) in the loopback layout.
const PUBLIC_HOST: u8 = 10;
/// The host part of a region's database endpoint in the loopback layout.
const DATABASE_HOST: u8 = 50;
/// The host part of the health checkers' path to a region in the loopback layout.
const CHECKER_HOST: u8 = 60;

/// Each target of a region as (AZ index, number in its AZ): `targets_per_az`
/// in each AZ, or for the standby's group its `max` slots alternating AZs.
fn target_slots(params: &LabParams, role: Role) -> Vec<(usize, u32)> {
    match (&params.autoscaling, role) {
        (Some(a), Role::Secondary) => (0..a.max).map(|k| ((k % 2) as usize, k / 2 + 1)).collect(),
        _ => (0..AZ_SUFFIXES.len())
            .flat_map(|az| (1..=params.targets_per_az).map(move |i| (az, i)))
            .collect(),
    }
}

fn region_ip(role: Role, host: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, role.index() as u8 + 1, 0, host)
}

async fn loopback_listener() -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await
}

impl Lab {
    /// Starts a lab with `params` on loopback.
    pub async fn start(params: LabParams, ports: LabPorts) -> anyhow::Result<Lab> {
        use anyhow::Context;
        let truth = Arc::new(Truth::default());
        // Aborts everything already started if a later step fails.
        let mut tasks = Tasks(Vec::new());
        // Linux routes all of 127/8 to loopback; elsewhere (stock macOS) only
        // 127.0.0.1 exists and the region addresses become names the probes map.
        let multi_address = !ports.single_address
            && std::net::TcpListener::bind((region_ip(Role::Primary, PUBLIC_HOST), 0)).is_ok()
            && std::net::TcpListener::bind((region_ip(Role::Secondary, PUBLIC_HOST), 0)).is_ok();
        let bind_ip = |role: Role, host: u8| -> IpAddr {
            if let (Some(public), PUBLIC_HOST | DATABASE_HOST) = (ports.public, host) {
                IpAddr::V4(public[role.index()])
            } else if multi_address {
                IpAddr::V4(region_ip(role, host))
            } else {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            }
        };
        let public_ip = |role: Role| match ports.public {
            Some(public) => public[role.index()],
            None => region_ip(role, PUBLIC_HOST),
        };
        let names = REGION_NAMES.map(String::from);

        // The database, each region's instance behind its database gate.
        let database: Arc<dyn Database> = match params.database {
            Engine::Embedded => {
                let mut listeners = Vec::new();
                let mut gates = Vec::new();
                for role in Role::both() {
                    let listener = loopback_listener()
                        .await
                        .context("binding a database listener")?;
                    let (gate, task) = Gate::start(
                        SocketAddr::new(bind_ip(role, DATABASE_HOST), 0),
                        listener.local_addr()?,
                    )
                    .await
                    .context("binding a database gate")?;
                    tasks.push(task);
                    listeners.push(listener);
                    gates.push(gate);
                }
                let settings = embedded::Settings {
                    lag: params.replication_lag.get(),
                    promotion_delay: params.promotion_delay.get(),
                    auto_promote: params.auto_promote,
                    synchronous: params.replication == Replication::Sync,
                };
                let cluster = Arc::new(embedded::Cluster::new(
                    [gates[0].clone(), gates[1].clone()],
                    truth.clone(),
                    names.clone(),
                    settings,
                ));
                for (role, listener) in Role::both().into_iter().zip(listeners) {
                    let c = cluster.clone();
                    tasks.push(http::serve(listener, move |req| {
                        c.clone().handle(role, req)
                    }));
                }
                cluster
            }
            Engine::Postgres => {
                let settings = postgres::Settings {
                    promotion_delay: params.promotion_delay.get(),
                    auto_promote: params.auto_promote,
                    synchronous: params.replication == Replication::Sync,
                    replay_delay: params.replay_delay.get(),
                    tls: params.database_tls,
                };
                let (cluster, gate_tasks) =
                    postgres::PgCluster::start(settings, truth.clone(), names.clone(), |role| {
                        bind_ip(role, DATABASE_HOST)
                    })
                    .await?;
                tasks.extend(gate_tasks);
                cluster
            }
        };
        tasks.push(database.clone().spawn_automation());

        // Targets and ALBs.
        let alb_settings = AlbSettings {
            interval: params.alb_health_interval.get(),
            timeout: params.alb_health_timeout.get(),
            healthy_threshold: params.alb_healthy_threshold,
            unhealthy_threshold: params.alb_unhealthy_threshold,
            target_timeout: params.alb_target_timeout.get(),
        };
        let mut albs = Vec::new();
        let mut alb_addrs = Vec::new();
        let mut all_target_gates = Vec::new();
        let mut group = None;
        for role in Role::both() {
            let mut targets = Vec::new();
            let mut target_gates = Vec::new();
            for (az_index, i) in target_slots(&params, role) {
                let az = format!("{}{}", role.lab_region(), AZ_SUFFIXES[az_index]);
                let id = format!("{az}-t{i}");
                let listener = loopback_listener().await.context("binding a target")?;
                let app = Arc::new(App {
                    region: role,
                    region_name: role.lab_region().to_string(),
                    target_id: id.clone(),
                    db: database.clone(),
                    db_timeout: params.app_db_timeout.get(),
                    capacity: (params.target_capacity > 0).then(|| {
                        Capacity::new(
                            params.target_capacity,
                            params.target_queue.get(),
                            truth.clone(),
                        )
                    }),
                });
                let upstream = listener.local_addr()?;
                tasks.push(http::serve(listener, move |req| app.clone().handle(req)));
                let host = 100 + (az_index as u8) * 10 + i as u8;
                let (gate, task) = Gate::start(SocketAddr::new(bind_ip(role, host), 0), upstream)
                    .await
                    .context("binding a target gate")?;
                tasks.push(task);
                targets.push((id, az.clone(), gate.listen));
                target_gates.push((az.clone(), gate));
            }
            let alb = Arc::new(Alb::new(
                role.lab_region().to_string(),
                alb_settings,
                targets,
                truth.clone(),
            ));
            if let (Some(a), Role::Secondary) = (&params.autoscaling, role) {
                alb.make_group(a.initial() as usize);
                let g = Arc::new(Group::new(
                    a.clone(),
                    params.target_capacity,
                    alb.clone(),
                    role.lab_region().to_string(),
                    truth.clone(),
                ));
                tasks.push(g.clone().spawn());
                group = Some(g);
            }
            tasks.push(alb.spawn_health_checks());
            let listener = loopback_listener().await.context("binding an ALB")?;
            alb_addrs.push(listener.local_addr()?);
            let a = alb.clone();
            tasks.push(http::serve(listener, move |req| a.clone().handle(req)));
            albs.push(alb);
            all_target_gates.push(target_gates);
        }

        // Public ingress of each region: one port on both region addresses, as a
        // customer only learns the address from DNS.
        let mut ingress = None;
        for _ in 0..20 {
            let (g0, t0) = Gate::start(
                SocketAddr::new(bind_ip(Role::Primary, PUBLIC_HOST), 0),
                alb_addrs[0],
            )
            .await?;
            let same_port = multi_address || ports.public.is_some();
            let port = if same_port { g0.listen.port() } else { 0 };
            match Gate::start(
                SocketAddr::new(bind_ip(Role::Secondary, PUBLIC_HOST), port),
                alb_addrs[1],
            )
            .await
            {
                Ok((g1, t1)) => {
                    tasks.push(t0);
                    tasks.push(t1);
                    ingress = Some([g0, g1]);
                    break;
                }
                Err(_) => t0.abort(),
            }
        }
        let ingress =
            ingress.context("no free port for the regions' public endpoints after 20 tries")?;

        // Route 53-like health checks and the authoritative DNS server.
        let checkers = Arc::new(HealthCheckers::new(
            CheckerSettings {
                interval: params.health_check_interval.get(),
                failure_threshold: params.failure_threshold,
                timeout: params.health_check_timeout.get(),
                checkers: params.checkers as usize,
            },
            names.clone(),
            truth.clone(),
        ));
        let host = RECORD.trim_end_matches('.').to_string();
        let mut checker_paths = Vec::new();
        for role in Role::both() {
            // In front of the public endpoint, as Route 53's checkers reach it:
            // whatever cuts the endpoint cuts them too.
            let (gate, task) = Gate::start(
                SocketAddr::new(bind_ip(role, CHECKER_HOST), 0),
                ingress[role.index()].listen,
            )
            .await
            .context("binding a health-check path")?;
            tasks.push(task);
            tasks.extend(checkers.spawn(role, gate.listen, host.clone()));
            checker_paths.push(gate);
        }
        let dns_bind = SocketAddr::new(
            ports.dns_ip.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            ports.dns.unwrap_or(0),
        );
        let dns_socket = UdpSocket::bind(dns_bind)
            .await
            .with_context(|| format!("binding the lab DNS server on {dns_bind}"))?;
        let dns_addr = dns::addr(&dns_socket);
        let zone = dns::Zone {
            apex: hickory_proto::rr::Name::from_ascii(ZONE)?,
            record: hickory_proto::rr::Name::from_ascii(RECORD)?,
            alias: hickory_proto::rr::Name::from_ascii(ALIAS)?,
            addresses: Role::both().map(public_ip),
            ttl: params.dns_ttl.get().as_secs() as u32,
        };
        tasks.push(dns::spawn(dns_socket, zone, checkers.clone()));

        let control_listener = TcpListener::bind(SocketAddr::from((
            [127, 0, 0, 1],
            ports.control.unwrap_or(0),
        )))
        .await
        .with_context(|| {
            format!(
                "binding the lab control API on 127.0.0.1:{}",
                ports.control.unwrap_or(0)
            )
        })?;
        let control_addr = control_listener.local_addr()?;

        let mut gates_iter = all_target_gates.into_iter();
        let mut albs_iter = albs.into_iter();
        let regions = Role::both().map(|role| RegionLab {
            alb: albs_iter.next().expect("two regions"),
            ingress: ingress[role.index()].clone(),
            checker_path: checker_paths[role.index()].clone(),
            public_ip: public_ip(role),
            target_gates: gates_iter.next().expect("two regions"),
        });
        let state = Arc::new(LabState {
            params,
            truth,
            regions,
            database,
            checkers,
            dns: dns_addr,
            control: control_addr,
            token: crate::files::random_hex(16),
            multi_address,
            lease: std::sync::Mutex::new(None),
            group,
        });
        tasks.push(control::serve(control_listener, state.clone()));
        Ok(Lab {
            state,
            tasks: std::mem::take(&mut tasks.0),
        })
    }

    /// Address of the control API.
    pub fn control_addr(&self) -> SocketAddr {
        self.state.control
    }

    /// A client of this lab's control API (address and token).
    pub fn client(&self) -> LabClient {
        LabClient::new(self.state.control, self.state.token.clone())
    }

    /// Full description of the running lab.
    pub fn describe(&self) -> LabDescription {
        control::describe(&self.state)
    }

    /// Stops every task of the lab and the database it runs.
    pub fn stop(&mut self) {
        let had_tasks = !self.tasks.is_empty();
        for t in self.tasks.drain(..) {
            t.abort();
        }
        if had_tasks {
            self.state.database.shutdown();
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop();
    }
}
