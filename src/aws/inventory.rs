//! What `gameday discover` reads from an account, with read-only calls only
//! (docs/discover.md lists them): the failover pair of a record, its regions
//! and health checks, the load balancers the records alias with their
//! subnets per AZ and target groups, the primary's targets and their Auto
//! Scaling groups, the database, and the FIS experiment templates.

use super::discover::{self, FailoverRecord, HealthCheckConfig};
use super::error::explain;
use super::AwsClients;
use serde::Serialize;

/// What was asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct Ask {
    /// Hosted zone id.
    pub zone: String,
    /// The record customers resolve.
    pub record: String,
    /// The database to fail (a global cluster, cluster or instance id).
    pub database: Option<String>,
    /// PRIMARY,SECONDARY regions, for records that do not name them.
    pub regions: Option<[String; 2]>,
}

/// A load balancer a failover record aliases.
#[derive(Debug, Clone, Serialize)]
pub struct Balancer {
    /// Region.
    pub region: String,
    /// DNS name.
    pub dns_name: String,
    /// Its Availability Zones and the subnet in each, in order.
    pub zones: Vec<(String, String)>,
    /// Target group ARNs behind it.
    pub target_groups: Vec<String>,
}

/// One target of the primary.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// Instance id.
    pub instance: String,
    /// Availability Zone.
    pub az: String,
    /// Its Auto Scaling group, from the instance's tag.
    pub auto_scaling_group: Option<String>,
}

/// The database a game day can fail, as found.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Database {
    /// An Aurora global database with a cluster in the secondary region.
    Global {
        /// Global cluster id.
        id: String,
        /// The secondary region's member cluster ARN.
        target_cluster: String,
    },
    /// An Aurora cluster with a reader, in the primary region.
    Cluster {
        /// Cluster id.
        id: String,
    },
    /// A Multi-AZ DB instance in the primary region.
    Instance {
        /// Instance id.
        id: String,
    },
}

impl Database {
    /// The id, as `--database` takes it.
    pub fn id(&self) -> &str {
        match self {
            Database::Global { id, .. } | Database::Cluster { id } | Database::Instance { id } => {
                id
            }
        }
    }
}

/// What the search for a database found.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "found", rename_all = "kebab-case")]
pub enum DatabaseFind {
    /// One database, or the one `--database` named.
    One {
        /// The database.
        database: Database,
    },
    /// Several candidates: listed, not guessed.
    Ambiguous {
        /// Each candidate, `id (kind)`.
        candidates: Vec<String>,
    },
    /// No database in the two regions.
    None,
}

/// An FIS experiment template of the primary region.
#[derive(Debug, Clone, Serialize)]
pub struct FisTemplate {
    /// Id.
    pub id: String,
    /// Description.
    pub description: String,
    /// Its action ids (`aws:network:disrupt-connectivity`, ...).
    pub actions: Vec<String>,
}

impl FisTemplate {
    /// Whether it cuts the network (what a region outage is made of).
    pub fn cuts_the_network(&self) -> bool {
        self.actions.iter().any(|a| a.starts_with("aws:network:"))
    }
}

/// Everything discover found.
#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    /// The caller's account.
    pub account: String,
    /// The caller.
    pub caller_arn: String,
    /// Hosted zone id.
    pub zone: String,
    /// The record, without its trailing dot.
    pub record: String,
    /// PRIMARY then SECONDARY.
    pub records: Vec<FailoverRecord>,
    /// Primary, then secondary region.
    pub regions: [String; 2],
    /// How the regions were found.
    pub regions_from: String,
    /// The PRIMARY record's health check.
    pub primary_check: HealthCheckConfig,
    /// The SECONDARY record's health check, if any.
    pub secondary_check: Option<HealthCheckConfig>,
    /// The load balancers the records alias.
    pub balancers: Vec<Balancer>,
    /// The primary's targets.
    pub targets: Vec<Target>,
    /// The database.
    pub database: DatabaseFind,
    /// FIS experiment templates in the primary region.
    pub fis_templates: Vec<FisTemplate>,
}

impl Inventory {
    /// The primary region's load balancer, if the PRIMARY record aliases one.
    pub fn primary_balancer(&self) -> Option<&Balancer> {
        self.balancers.iter().find(|b| b.region == self.regions[0])
    }
}

/// Reads the account. Every call is a read; nothing is changed.
pub async fn read(clients: &AwsClients, ask: &Ask) -> Result<Inventory, String> {
    let sts_region = clients
        .configured_region()
        .unwrap_or_else(|| "us-east-1".into());
    let (account, caller_arn) = clients.caller(&sts_region).await?;
    let zone = ask.zone.trim_start_matches("/hostedzone/").to_string();
    let record = ask.record.trim_end_matches('.').to_string();
    let route53 = clients.route53();
    let records = pair(&route53, &zone, &record).await?;
    let (regions, regions_from) = regions(&records, ask)?;
    let primary_check = check_of(&route53, &records[0]).await?.ok_or_else(|| {
        format!("the PRIMARY record of {record} has no health check: Route 53 cannot fail over without one; attach a health check to it (or gameday has nothing to watch)")
    })?;
    let secondary_check = check_of(&route53, &records[1]).await?;
    let balancers = balancers(clients, &records, &regions).await?;
    let targets = targets(clients, &regions[0], &records[0], &balancers).await?;
    Ok(Inventory {
        database: database(clients, &regions, ask.database.as_deref()).await?,
        fis_templates: fis_templates(clients, &regions[0]).await?,
        account,
        caller_arn,
        zone,
        record,
        records,
        regions,
        regions_from,
        primary_check,
        secondary_check,
        balancers,
        targets,
    })
}

/// The PRIMARY and SECONDARY records of `record`, or an error listing what
/// the zone holds instead.
async fn pair(
    route53: &aws_sdk_route53::Client,
    zone: &str,
    record: &str,
) -> Result<Vec<FailoverRecord>, String> {
    let found = discover::failover_records(route53, zone, record).await?;
    let role = |r: &str| found.iter().find(|f| f.failover == r).cloned();
    match (role("PRIMARY"), role("SECONDARY")) {
        (Some(p), Some(s)) => Ok(vec![p, s]),
        (p, s) if p.is_some() || s.is_some() => Err(format!(
            "{record} in zone {zone} has only a {} failover record; a failover needs both PRIMARY and SECONDARY",
            if p.is_some() { "PRIMARY" } else { "SECONDARY" }
        )),
        _ => Err(format!(
            "no failover records named {record} in zone {zone}; records there: {}; pass --record with one of them",
            names_in(route53, zone).await?.join(", ")
        )),
    }
}

/// The names of a zone's records (the first 100), for an error message.
async fn names_in(route53: &aws_sdk_route53::Client, zone: &str) -> Result<Vec<String>, String> {
    let out = route53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .max_items(100)
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("listing the records of zone {zone}"),
                "route53:ListResourceRecordSets",
                &e,
            )
            .message
        })?;
    let mut names: Vec<String> = out
        .resource_record_sets()
        .iter()
        .map(|r| format!("{} {}", r.name().trim_end_matches('.'), r.r#type().as_str()))
        .collect();
    names.dedup();
    Ok(names)
}

/// The regions: from the alias targets' DNS names, else from `--regions`.
fn regions(records: &[FailoverRecord], ask: &Ask) -> Result<([String; 2], String), String> {
    let of = |r: &FailoverRecord| {
        r.alias.as_ref().and_then(|a| {
            a.dns_name
                .split('.')
                .find(|part| super::params::is_region(part))
                .map(str::to_string)
        })
    };
    if let (Some(p), Some(s)) = (of(&records[0]), of(&records[1])) {
        if p != s {
            return Ok(([p, s], "the alias targets' DNS names".into()));
        }
    }
    match &ask.regions {
        Some(given) => Ok((given.clone(), "--regions".into())),
        None => Err(format!(
            "cannot tell the regions of the failover records ({}): they alias no load balancer whose name says its region; pass --regions PRIMARY,SECONDARY (e.g. --regions us-east-1,us-west-2)",
            records
                .iter()
                .map(FailoverRecord::target_words)
                .collect::<Vec<_>>()
                .join(" and ")
        )),
    }
}

async fn check_of(
    route53: &aws_sdk_route53::Client,
    record: &FailoverRecord,
) -> Result<Option<HealthCheckConfig>, String> {
    match &record.health_check_id {
        Some(id) => Ok(Some(discover::health_check(route53, id).await?)),
        None => Ok(None),
    }
}

/// The load balancers the records alias, in their regions.
async fn balancers(
    clients: &AwsClients,
    records: &[FailoverRecord],
    regions: &[String; 2],
) -> Result<Vec<Balancer>, String> {
    let mut out = Vec::new();
    for (record, region) in records.iter().zip(regions) {
        let Some(alias) = &record.alias else { continue };
        let elbv2 = clients.region(region).elbv2;
        let lbs = elbv2.describe_load_balancers().send().await.map_err(|e| {
            explain(
                &format!("listing load balancers in {region}"),
                "elasticloadbalancing:DescribeLoadBalancers",
                &e,
            )
            .message
        })?;
        let want = discover::normalize(&alias.dns_name);
        for lb in lbs.load_balancers() {
            let dns = lb.dns_name().unwrap_or_default();
            if discover::normalize(dns) != want {
                continue;
            }
            let groups =
                discover::target_groups_behind(clients, region, std::slice::from_ref(&want))
                    .await?;
            out.push(Balancer {
                region: region.clone(),
                dns_name: dns.to_string(),
                zones: lb
                    .availability_zones()
                    .iter()
                    .map(|z| {
                        (
                            z.zone_name().unwrap_or_default().to_string(),
                            z.subnet_id().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
                target_groups: groups.into_iter().map(|g| g.arn).collect(),
            });
        }
    }
    Ok(out)
}

/// The primary's targets: registered in its load balancer's target groups,
/// or, for plain A records, the instances that hold the record's addresses.
async fn targets(
    clients: &AwsClients,
    region: &str,
    primary: &FailoverRecord,
    balancers: &[Balancer],
) -> Result<Vec<Target>, String> {
    let mut ids = Vec::new();
    for b in balancers.iter().filter(|b| b.region == region) {
        for tg in &b.target_groups {
            ids.extend(registered(clients, region, tg).await?);
        }
    }
    let mut request = clients.region(region).ec2.describe_instances();
    if !ids.is_empty() {
        request = request.set_instance_ids(Some(ids));
    } else if primary.alias.is_none() && !primary.values.is_empty() {
        request = request.filters(super::ec2_filter(
            "ip-address",
            primary.values.iter().map(String::as_str),
        ));
    } else {
        return Ok(Vec::new());
    }
    let out = request.send().await.map_err(|e| {
        explain(
            &format!("reading the primary's instances in {region}"),
            "ec2:DescribeInstances",
            &e,
        )
        .message
    })?;
    let mut found: Vec<Target> = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| Target {
            instance: i.instance_id().unwrap_or_default().to_string(),
            az: i
                .placement()
                .and_then(|p| p.availability_zone())
                .unwrap_or_default()
                .to_string(),
            auto_scaling_group: i
                .tags()
                .iter()
                .find(|t| t.key() == Some("aws:autoscaling:groupName"))
                .and_then(|t| t.value())
                .map(str::to_string),
        })
        .collect();
    found.sort_by(|a, b| a.instance.cmp(&b.instance));
    Ok(found)
}

async fn registered(clients: &AwsClients, region: &str, tg: &str) -> Result<Vec<String>, String> {
    let out = clients
        .region(region)
        .elbv2
        .describe_target_health()
        .target_group_arn(tg)
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("reading the targets of {tg}"),
                "elasticloadbalancing:DescribeTargetHealth",
                &e,
            )
            .message
        })?;
    Ok(out
        .target_health_descriptions()
        .iter()
        .filter_map(|d| d.target().and_then(|t| t.id()).map(str::to_string))
        .filter(|id| id.starts_with("i-"))
        .collect())
}

/// The database: the one `--database` names, else the only global database
/// spanning both regions, else the only Aurora cluster or Multi-AZ instance
/// of the primary region; several are listed, never guessed.
async fn database(
    clients: &AwsClients,
    regions: &[String; 2],
    named: Option<&str>,
) -> Result<DatabaseFind, String> {
    let found = databases(clients, regions).await?;
    if let Some(name) = named {
        return match found.into_iter().find(|d| d.id() == name) {
            Some(database) => Ok(DatabaseFind::One { database }),
            None => Err(format!(
                "--database {name}: no global database spanning {} and {}, Aurora cluster with a reader or Multi-AZ instance in {} has that id",
                regions[0], regions[1], regions[0]
            )),
        };
    }
    let globals: Vec<&Database> = found
        .iter()
        .filter(|d| matches!(d, Database::Global { .. }))
        .collect();
    let pick = if globals.is_empty() {
        found.iter().collect()
    } else {
        globals
    };
    Ok(match pick.as_slice() {
        [] => DatabaseFind::None,
        [one] => DatabaseFind::One {
            database: (*one).clone(),
        },
        many => DatabaseFind::Ambiguous {
            candidates: many.iter().map(|d| describe(d)).collect(),
        },
    })
}

/// `id (kind)`, for a list of candidates.
pub fn describe(d: &Database) -> String {
    let kind = match d {
        Database::Global { .. } => "global database",
        Database::Cluster { .. } => "Aurora cluster",
        Database::Instance { .. } => "Multi-AZ instance",
    };
    format!("{} ({kind})", d.id())
}

/// Every database a game day could fail.
async fn databases(clients: &AwsClients, regions: &[String; 2]) -> Result<Vec<Database>, String> {
    let rds = clients.region(&regions[0]).rds;
    let globals = rds.describe_global_clusters().send().await.map_err(|e| {
        explain("listing global databases", "rds:DescribeGlobalClusters", &e).message
    })?;
    let mut out = Vec::new();
    let mut in_global = Vec::new();
    for g in globals.global_clusters() {
        let members: Vec<&str> = g
            .global_cluster_members()
            .iter()
            .filter_map(|m| m.db_cluster_arn())
            .collect();
        in_global.extend(members.iter().map(|m| m.to_string()));
        let in_region = |r: &str| {
            members
                .iter()
                .find(|arn| arn.split(':').nth(3) == Some(r))
                .map(|a| a.to_string())
        };
        if let (Some(_), Some(target)) = (in_region(&regions[0]), in_region(&regions[1])) {
            out.push(Database::Global {
                id: g
                    .global_cluster_identifier()
                    .unwrap_or_default()
                    .to_string(),
                target_cluster: target,
            });
        }
    }
    let clusters = rds.describe_db_clusters().send().await.map_err(|e| {
        let what = format!("listing DB clusters in {}", regions[0]);
        explain(&what, "rds:DescribeDBClusters", &e).message
    })?;
    for c in clusters.db_clusters() {
        let arn = c.db_cluster_arn().unwrap_or_default();
        let readers = c
            .db_cluster_members()
            .iter()
            .filter(|m| m.is_cluster_writer() != Some(true))
            .count();
        if readers > 0 && !in_global.iter().any(|g| g == arn) {
            out.push(Database::Cluster {
                id: c.db_cluster_identifier().unwrap_or_default().to_string(),
            });
        }
    }
    let instances = rds.describe_db_instances().send().await.map_err(|e| {
        let what = format!("listing DB instances in {}", regions[0]);
        explain(&what, "rds:DescribeDBInstances", &e).message
    })?;
    for i in instances.db_instances() {
        if i.multi_az() == Some(true) && i.db_cluster_identifier().is_none() {
            out.push(Database::Instance {
                id: i.db_instance_identifier().unwrap_or_default().to_string(),
            });
        }
    }
    Ok(out)
}

/// The primary region's FIS experiment templates, with their actions.
async fn fis_templates(clients: &AwsClients, region: &str) -> Result<Vec<FisTemplate>, String> {
    let fis = clients.region(region).fis;
    let list = fis.list_experiment_templates().send().await.map_err(|e| {
        explain(
            &format!("listing FIS experiment templates in {region}"),
            "fis:ListExperimentTemplates",
            &e,
        )
        .message
    })?;
    let mut out = Vec::new();
    for summary in list.experiment_templates() {
        let id = summary.id().unwrap_or_default().to_string();
        let full = fis
            .get_experiment_template()
            .id(&id)
            .send()
            .await
            .map_err(|e| {
                explain(
                    &format!("reading FIS experiment template {id}"),
                    "fis:GetExperimentTemplate",
                    &e,
                )
                .message
            })?;
        let mut actions: Vec<String> = full
            .experiment_template()
            .and_then(|t| t.actions())
            .map(|a| {
                a.values()
                    .filter_map(|v| v.action_id())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        actions.sort();
        out.push(FisTemplate {
            id,
            description: summary.description().unwrap_or_default().to_string(),
            actions,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}
