//! The network test bed itself (tests/common/testbed.rs): gameday's DNS on
//! non-loopback addresses, through a real recursive resolver (unbound), and
//! a bed that leaves nothing behind.

mod common;

use common::testbed::{TestBed, AUTHORITATIVE, REGIONS, RESOLVER};
use gameday::net::dns::{query_a, DnsError};
use gameday::net::resolve::{build, resolve, Resolvers};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// An embedded-database lab's parameters: the DNS tests need no PostgreSQL.
fn embedded_params() -> PathBuf {
    common::root().join("scenarios/kill-primary-targets.toml")
}

/// Runs `f` in the runner's namespace of a bed without moto or PostgreSQL,
/// or returns None where no bed can be built.
fn in_runner<T: Send, F: std::future::Future<Output = T>>(
    f: impl FnOnce() -> F + Send,
) -> Option<T> {
    let _serial = common::moto::Moto::serial();
    if !common::testbed::available() {
        return None;
    }
    let bed = TestBed::network(&embedded_params());
    Some(bed.runner.run(|| common::rt().block_on(f())))
}

#[test]
fn the_dns_probe_asks_an_authoritative_server_on_a_non_loopback_address() {
    let Some((answer, refused)) = in_runner(|| {
        async {
            let authoritative = SocketAddr::new(AUTHORITATIVE.into(), 53);
            let answer = query_a(authoritative, gameday::lab::RECORD, Duration::from_secs(2)).await;
            // A recursive resolver is no authoritative server: it refuses RD=0.
            let resolver = SocketAddr::new(RESOLVER.into(), 53);
            let refused = query_a(resolver, gameday::lab::RECORD, Duration::from_secs(2)).await;
            (answer, refused)
        }
    }) else {
        return;
    };
    let answer = answer.expect("the lab's authoritative server answers across the veth");
    assert_eq!(answer.addresses, vec![REGIONS[0]]);
    assert!(answer.authoritative);
    match refused {
        Err(DnsError::Rcode(text)) => assert!(
            text.starts_with("Refused") && text.contains("authoritative name servers"),
            "{text}"
        ),
        other => panic!("unbound answered a non-recursive question: {other:?}"),
    }
}

#[test]
fn a_customer_resolves_through_unbound_and_follows_the_cname() {
    let Some((record, alias)) = in_runner(|| async {
        let through = Resolvers::Servers(vec![SocketAddr::new(RESOLVER.into(), 53)]);
        let resolver = build(&through, Duration::from_secs(3)).unwrap();
        let record = resolve(&resolver, gameday::lab::RECORD, Duration::from_secs(3)).await;
        let alias = resolve(&resolver, gameday::lab::ALIAS, Duration::from_secs(3)).await;
        (record, alias)
    }) else {
        return;
    };
    let record = record.expect("unbound resolves the failover record through its stub zone");
    assert_eq!(record.addresses, vec![REGIONS[0]]);
    let alias = alias.expect("the alias resolves");
    assert_eq!(alias.addresses, vec![REGIONS[0]]);
    assert_eq!(
        alias.chain,
        vec![
            gameday::lab::ALIAS.trim_end_matches('.'),
            gameday::lab::RECORD.trim_end_matches('.')
        ]
    );
}

/// Whether a process is gone (or a zombie nobody has reaped yet).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

/// `ip netns list`.
fn netns_list() -> String {
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_test_bed_tears_itself_down() {
    let _serial = common::moto::Moto::serial();
    if !common::testbed::available() {
        return;
    }
    let params = common::root().join("scenarios/postgres/fail-primary-database.toml");
    if !common::postgres_available() {
        return;
    }
    let bed = TestBed::start(&params);
    let footprint = bed.footprint();
    // Everything running in the two namespaces, PostgreSQL included.
    let mut pids = footprint.pids.clone();
    for ns in &footprint.namespaces {
        let out = std::process::Command::new("ip")
            .args(["netns", "pids", ns])
            .output()
            .unwrap();
        pids.extend(
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    assert!(
        pids.len() > footprint.pids.len(),
        "PostgreSQL runs in the bed: {pids:?}"
    );
    let listed = netns_list();
    for ns in &footprint.namespaces {
        assert!(
            listed.contains(ns.as_str()),
            "{ns} exists while the bed runs"
        );
    }
    drop(bed);

    let listed = netns_list();
    for ns in &footprint.namespaces {
        assert!(!listed.contains(ns.as_str()), "{ns} is left: {listed}");
        assert!(!std::path::Path::new(&format!("/run/netns/{ns}")).exists());
    }
    for link in &footprint.links {
        let shown = std::process::Command::new("ip")
            .args(["link", "show", link])
            .output()
            .unwrap();
        assert!(!shown.status.success(), "link {link} is left in the host");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !pids.iter().all(|p| gone(*p)) {
        assert!(
            std::time::Instant::now() < deadline,
            "processes left: {:?}",
            pids.iter().filter(|p| !gone(**p)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_secondary_the_health_checks_cannot_reach_is_refused_before_any_fault() {
    let _serial = common::moto::Moto::serial();
    if !common::testbed::available() {
        return;
    }
    if !std::path::Path::new("/usr/sbin/nft").exists() {
        common::skip(&common::test_name(), "no nft (apt-get install nftables)");
        return;
    }
    let bed = TestBed::network(&embedded_params());
    let env = bed.describe();
    let secondary = &env.regions[1];
    // A firewall the lab knows nothing of: its configuration stays pristine,
    // only its health checks stop reaching the secondary.
    let rule = format!(
        "table inet gameday_test {{\n chain out {{\n  type filter hook output priority 0;\n  ip daddr {} tcp dport {} drop\n }}\n}}\n",
        secondary.endpoint.ip(),
        secondary.endpoint.port()
    );
    let rules = bed.dir.join("firewall.nft");
    std::fs::write(&rules, &rule).unwrap();
    let mut nft = std::process::Command::new("nft");
    bed.service.enter(&mut nft);
    let status = nft.arg("-f").arg(&rules).status().unwrap();
    assert!(status.success(), "nft refused {rule}");
    let client = bed.lab.client.clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let health = bed
            .service
            .run(|| common::rt().block_on(client.health()))
            .unwrap();
        if health
            .iter()
            .any(|r| r.region == secondary.name && !r.healthy)
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the health checks never called the secondary unhealthy: {health:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let before = env.configuration();
    let reports = common::scratch("sick-secondary");
    let mut run = common::gameday();
    bed.service.enter(&mut run);
    let out = run
        .current_dir(common::root())
        .args([
            "run",
            "scenarios/kill-primary-targets.toml",
            "--no-progress",
        ])
        .args(["--attach", &bed.lab.addr(), "--lab-token", bed.lab.token()])
        .arg("--reports")
        .arg(&reports)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", common::explain(&out));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!(
            "refusing to start: health checks call {} unhealthy before any fault",
            secondary.name
        )),
        "{said}"
    );
    // Nothing was journaled, nothing changed.
    assert!(
        !common::change_events(&reports)
            .iter()
            .any(|e| e == "intent"),
        "a refused run journaled a change"
    );
    assert_eq!(bed.describe().configuration(), before);
    let _ = std::fs::remove_dir_all(reports);
}
