//! Name resolution as a customer's stub and recursive resolvers do it, with
//! hickory-resolver: /etc/resolv.conf, recursion desired, CNAME chains
//! followed (bounded), TCP when an answer is truncated, answers cached for
//! their TTL. After DNS flips, a customer keeps going to the old region until
//! its cached answer expires.

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::TokioResolver;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The longest CNAME chain followed: a loop or a runaway chain ends here.
pub const MAX_CHAIN: usize = 8;

/// Where a customer's DNS questions go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolvers {
    /// The system's resolvers, from /etc/resolv.conf.
    System,
    /// These servers (each over UDP, and TCP when an answer is truncated).
    Servers(Vec<SocketAddr>),
}

impl Resolvers {
    /// A probe's `resolvers` list: empty means the system's.
    pub fn from_list(list: &[SocketAddr]) -> Resolvers {
        match list {
            [] => Resolvers::System,
            list => Resolvers::Servers(list.to_vec()),
        }
    }
}

impl std::fmt::Display for Resolvers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resolvers::System => f.write_str("the system resolver (/etc/resolv.conf)"),
            Resolvers::Servers(s) => {
                let list: Vec<String> = s.iter().map(|a| a.to_string()).collect();
                f.write_str(&list.join(", "))
            }
        }
    }
}

/// One resolved name: its addresses and the names the chain went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The A records at the end of the chain, in order.
    pub addresses: Vec<Ipv4Addr>,
    /// The name asked, then every CNAME target, lower case, without the final dot.
    pub chain: Vec<String>,
    /// How long the answer is still valid: its TTL, counted down by any
    /// cache it came through (this resolver's included).
    pub ttl: Duration,
    /// The A records' TTL as the server sent it (the smallest), which a
    /// resolver that keeps nothing ([`build_uncached`]) has to go by.
    pub record_ttl: Duration,
}

/// The options of a customer's resolver: recursion desired, no hosts file
/// (DNS is what is measured), IPv4, CNAME records kept so the chain can be
/// checked, `timeout` per question.
fn options(timeout: Duration, min_ttl: Option<Duration>, cache: bool) -> ResolverOpts {
    let mut opts = ResolverOpts::default();
    opts.positive_min_ttl = min_ttl;
    opts.timeout = timeout;
    opts.attempts = 1;
    opts.recursion_desired = true;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.preserve_intermediates = true;
    opts.ip_strategy = hickory_resolver::config::LookupIpStrategy::Ipv4Only;
    opts.cache_size = if cache { 64 } else { 0 };
    opts
}

/// A resolver asking `through`.
pub fn build(through: &Resolvers, timeout: Duration) -> Result<TokioResolver, String> {
    build_keeping(through, timeout, None)
}

/// A resolver asking `through` that keeps every answer at least `min_ttl`
/// (as a TTL-stretching recursive resolver does), when given.
pub fn build_keeping(
    through: &Resolvers,
    timeout: Duration,
    min_ttl: Option<Duration>,
) -> Result<TokioResolver, String> {
    build_with(through, options(timeout, min_ttl, true))
}

fn build_with(through: &Resolvers, opts: ResolverOpts) -> Result<TokioResolver, String> {
    let config = match through {
        Resolvers::System => {
            let (config, _) = hickory_resolver::system_conf::read_system_conf().map_err(|e| {
                format!(
                    "cannot use /etc/resolv.conf ({e}); list resolvers = [\"ip:53\"] in the probe"
                )
            })?;
            if config.name_servers().is_empty() {
                return Err(
                    "no nameserver in /etc/resolv.conf; list resolvers = [\"ip:53\"] in the probe"
                        .into(),
                );
            }
            config
        }
        Resolvers::Servers(servers) => {
            let mut config = ResolverConfig::new();
            for server in servers {
                config.add_name_server(NameServerConfig::new(*server, Protocol::Udp));
                config.add_name_server(NameServerConfig::new(*server, Protocol::Tcp));
            }
            config
        }
    };
    let mut builder =
        TokioResolver::builder_with_config(config, TokioConnectionProvider::default());
    *builder.options_mut() = opts;
    Ok(builder.build())
}

/// A resolver asking `through` that keeps nothing: every question goes to
/// the servers (a population of simulated clients keeps answers itself,
/// each on its own schedule). An empty cache is not enough: its store
/// evicts lazily, so an answer could still be served a moment after it
/// was stored; every answer also expires the moment it arrives.
pub fn build_uncached(through: &Resolvers, timeout: Duration) -> Result<TokioResolver, String> {
    let mut opts = options(timeout, None, false);
    opts.positive_max_ttl = Some(Duration::ZERO);
    opts.negative_max_ttl = Some(Duration::ZERO);
    build_with(through, opts)
}

/// `name` as an absolute name (no search domains are tried).
fn absolute(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

/// Resolves `name` with `resolver`, within `timeout`, and checks its chain.
pub async fn resolve(
    resolver: &TokioResolver,
    name: &str,
    timeout: Duration,
) -> Result<Resolved, String> {
    let lookup = tokio::time::timeout(timeout, resolver.ipv4_lookup(absolute(name)))
        .await
        .map_err(|_| {
            format!(
                "no answer within {}",
                crate::words::fmt_ms(timeout.as_secs_f64() * 1000.0)
            )
        })?
        .map_err(|e| e.to_string())?;
    let mut chain = vec![name.trim_end_matches('.').to_ascii_lowercase()];
    let mut addresses = Vec::new();
    let mut record_ttl = u32::MAX;
    for record in lookup.as_lookup().records() {
        if record.record_type() == RecordType::A {
            record_ttl = record_ttl.min(record.ttl());
        }
        match (record.record_type(), record.data()) {
            (RecordType::CNAME, RData::CNAME(target)) => chain.push(
                target
                    .0
                    .to_ascii()
                    .trim_end_matches('.')
                    .to_ascii_lowercase(),
            ),
            (RecordType::A, RData::A(a)) => addresses.push(a.0),
            _ => {}
        }
    }
    if chain.len() > MAX_CHAIN + 1 {
        return Err(format!(
            "{name} is a chain of {} CNAMEs, more than {MAX_CHAIN}",
            chain.len() - 1
        ));
    }
    if addresses.is_empty() {
        return Err(format!("{name} has no A record"));
    }
    let ttl = lookup
        .valid_until()
        .saturating_duration_since(std::time::Instant::now());
    Ok(Resolved {
        addresses,
        chain,
        ttl,
        record_ttl: Duration::from_secs(u64::from(record_ttl)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::op::{Message, MessageType, OpCode};
    use hickory_resolver::proto::rr::rdata::{A, CNAME};
    use hickory_resolver::proto::rr::{Name, Record};
    use std::str::FromStr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A recursive server's reply to `query`, with no records yet.
    fn empty_reply(query: &Message) -> Message {
        let mut reply = Message::new();
        reply
            .set_id(query.id())
            .set_message_type(MessageType::Response)
            .set_op_code(OpCode::Query)
            .set_recursion_available(true)
            .add_queries(query.queries().to_vec());
        reply
    }

    /// 40 A records for the name asked: more than fit the 512 bytes of a
    /// plain UDP answer.
    fn big_answer(query: &Message) -> Message {
        let mut reply = empty_reply(query);
        let name = query.queries()[0].name().clone();
        for i in 0..40u8 {
            reply.add_answer(Record::from_rdata(
                name.clone(),
                30,
                RData::A(A::new(192, 0, 2, i + 1)),
            ));
        }
        reply
    }

    /// A server that answers over UDP with the TC bit and no records, and
    /// over TCP with the whole answer, on the same port. Counts TCP queries.
    async fn truncating_server() -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicU32>) {
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        let tcp = tokio::net::TcpListener::bind(addr).await.unwrap();
        let over_tcp = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = udp.recv_from(&mut buf).await {
                let q = Message::from_vec(&buf[..n]).unwrap();
                let mut reply = big_answer(&q);
                reply.take_answers();
                reply.set_truncated(true);
                udp.send_to(&reply.to_vec().unwrap(), from).await.unwrap();
            }
        });
        let counter = over_tcp.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = tcp.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut len = [0u8; 2];
                s.read_exact(&mut len).await.unwrap();
                let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
                s.read_exact(&mut q).await.unwrap();
                let reply = big_answer(&Message::from_vec(&q).unwrap())
                    .to_vec()
                    .unwrap();
                s.write_all(&(reply.len() as u16).to_be_bytes())
                    .await
                    .unwrap();
                s.write_all(&reply).await.unwrap();
            }
        });
        (addr, over_tcp)
    }

    #[tokio::test]
    async fn a_truncated_answer_is_asked_again_over_tcp() {
        let (server, over_tcp) = truncating_server().await;
        let resolver = build(&Resolvers::Servers(vec![server]), Duration::from_secs(3)).unwrap();
        let got = resolve(&resolver, "big.example.test", Duration::from_secs(3))
            .await
            .unwrap();
        assert_eq!(got.addresses.len(), 40, "{got:?}");
        assert_eq!(got.addresses[0], Ipv4Addr::new(192, 0, 2, 1));
        assert!(over_tcp.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    }

    /// A server answering every A query with 192.0.2.`last` (TTL 30 s),
    /// counting the queries it got.
    async fn flipping_server() -> (
        SocketAddr,
        std::sync::Arc<std::sync::atomic::AtomicU8>,
        std::sync::Arc<std::sync::atomic::AtomicU32>,
    ) {
        use std::sync::atomic::Ordering::SeqCst;
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        let last = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(1));
        let asked = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let (l, a) = (last.clone(), asked.clone());
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = udp.recv_from(&mut buf).await {
                a.fetch_add(1, SeqCst);
                let q = Message::from_vec(&buf[..n]).unwrap();
                let mut reply = empty_reply(&q);
                let ip = A::new(192, 0, 2, l.load(SeqCst));
                reply.add_answer(Record::from_rdata(
                    q.queries()[0].name().clone(),
                    30,
                    RData::A(ip),
                ));
                udp.send_to(&reply.to_vec().unwrap(), from).await.unwrap();
            }
        });
        (addr, last, asked)
    }

    /// The resolver behind a population keeps nothing: each lookup reaches
    /// the server, sees a changed answer at once, and still learns the
    /// record's TTL; the ordinary resolver answers from its cache.
    #[tokio::test]
    async fn an_uncached_resolver_asks_every_time_and_keeps_the_ttl() {
        use std::sync::atomic::Ordering::SeqCst;
        let (server, last, asked) = flipping_server().await;
        let through = Resolvers::Servers(vec![server]);
        let t = Duration::from_secs(3);
        let uncached = build_uncached(&through, t).unwrap();
        let first = resolve(&uncached, "app.example.test", t).await.unwrap();
        last.store(2, SeqCst);
        let second = resolve(&uncached, "app.example.test", t).await.unwrap();
        assert_eq!(first.addresses, [Ipv4Addr::new(192, 0, 2, 1)]);
        assert_eq!(second.addresses, [Ipv4Addr::new(192, 0, 2, 2)]);
        assert_eq!(asked.load(SeqCst), 2);
        assert_eq!(second.record_ttl, Duration::from_secs(30));
        let cached = build(&through, t).unwrap();
        resolve(&cached, "app.example.test", t).await.unwrap();
        last.store(3, SeqCst);
        let kept = resolve(&cached, "app.example.test", t).await.unwrap();
        assert_eq!(kept.addresses, [Ipv4Addr::new(192, 0, 2, 2)]);
        assert_eq!(asked.load(SeqCst), 3);
    }

    /// A server that answers every name in `chain` with a CNAME to the next
    /// (the last one: an A record), one link per answer, as separate zones do.
    async fn chain_server(chain: Vec<String>) -> SocketAddr {
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = udp.recv_from(&mut buf).await {
                let q = Message::from_vec(&buf[..n]).unwrap();
                let asked = q.queries()[0].name().to_ascii().to_ascii_lowercase();
                let mut reply = empty_reply(&q);
                let name = q.queries()[0].name().clone();
                match chain.iter().position(|c| *c == asked) {
                    Some(i) if i + 1 < chain.len() => {
                        reply.add_answer(Record::from_rdata(
                            name,
                            30,
                            RData::CNAME(CNAME(Name::from_str(&chain[i + 1]).unwrap())),
                        ));
                    }
                    Some(_) => {
                        reply.add_answer(Record::from_rdata(
                            name,
                            30,
                            RData::A(A::new(192, 0, 2, 7)),
                        ));
                    }
                    None => {
                        reply
                            .set_response_code(hickory_resolver::proto::op::ResponseCode::NXDomain);
                    }
                }
                udp.send_to(&reply.to_vec().unwrap(), from).await.unwrap();
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_cname_chain_is_followed_and_reported() {
        let chain: Vec<String> = [
            "api.example.test.",
            "edge.example.test.",
            "app.example.test.",
        ]
        .map(String::from)
        .to_vec();
        let server = chain_server(chain).await;
        let resolver = build(&Resolvers::Servers(vec![server]), Duration::from_secs(3)).unwrap();
        let got = resolve(&resolver, "API.example.test", Duration::from_secs(3))
            .await
            .unwrap();
        assert_eq!(got.addresses, vec![Ipv4Addr::new(192, 0, 2, 7)]);
        assert_eq!(
            got.chain,
            vec!["api.example.test", "edge.example.test", "app.example.test"]
        );
    }

    #[tokio::test]
    async fn a_runaway_chain_ends() {
        let chain: Vec<String> = (0..20).map(|i| format!("c{i}.example.test.")).collect();
        let server = chain_server(chain).await;
        let resolver = build(&Resolvers::Servers(vec![server]), Duration::from_secs(3)).unwrap();
        let err = resolve(&resolver, "c0.example.test", Duration::from_secs(3))
            .await
            .unwrap_err();
        // hickory gives up after 8 links, with the name it stopped at.
        assert!(err.contains("example.test"), "{err}");
    }
}
