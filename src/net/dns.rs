//! One DNS question to one named server over UDP, with hickory-proto: the raw,
//! uncached, non-recursive answers the DNS probe needs from authoritative servers.

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;
use tokio::net::UdpSocket;

/// The answer to one A query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AAnswer {
    /// Addresses in the answer section, in order.
    pub addresses: Vec<Ipv4Addr>,
    /// The smallest TTL of those records, in seconds.
    pub ttl: u32,
    /// Whether the server said it is authoritative.
    pub authoritative: bool,
}

/// Why a DNS query failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DnsError {
    /// No answer in time.
    #[error("no DNS answer within {0:?}")]
    Timeout(Duration),
    /// The server answered with an error code.
    #[error("DNS server answered {0}")]
    Rcode(String),
    /// Socket or message error.
    #[error("DNS query failed: {0}")]
    Io(String),
}

/// Sends one A query for `name` straight to an *authoritative* `server`,
/// with no cache and recursion not desired (RD=0): what the DNS probe asks
/// the zone's own name servers. A customer's resolution (recursion, CNAME
/// chains, TCP, caching) is `probe::resolver`'s.
pub async fn query_a(
    server: SocketAddr,
    name: &str,
    timeout: Duration,
) -> Result<AAnswer, DnsError> {
    let fqdn = Name::from_str(name).map_err(|e| DnsError::Io(format!("bad name {name}: {e}")))?;
    // A random id (and a random source port from the kernel): an off-path
    // spoofer has to guess both.
    let mut id = [0u8; 2];
    getrandom::fill(&mut id).map_err(|e| DnsError::Io(e.to_string()))?;
    let id = u16::from_ne_bytes(id);
    let mut msg = Message::new();
    msg.set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(false)
        .add_query(Query::query(fqdn, RecordType::A));
    let bytes = msg.to_vec().map_err(|e| DnsError::Io(e.to_string()))?;
    // The unspecified address of the server's family: the kernel picks the
    // source address of the route to the server (a loopback source cannot
    // reach a VPC resolver or any other non-loopback server).
    let bind: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0".parse().expect("literal")
    } else {
        "[::]:0".parse().expect("literal")
    };
    let exchange = async {
        let sock = UdpSocket::bind(bind)
            .await
            .map_err(|e| DnsError::Io(e.to_string()))?;
        sock.send_to(&bytes, server)
            .await
            .map_err(|e| DnsError::Io(e.to_string()))?;
        let mut buf = [0u8; 1500];
        loop {
            let (n, from) = sock
                .recv_from(&mut buf)
                .await
                .map_err(|e| DnsError::Io(e.to_string()))?;
            if from != server {
                continue;
            }
            let reply = Message::from_vec(&buf[..n]).map_err(|e| DnsError::Io(e.to_string()))?;
            if reply.id() != id {
                continue;
            }
            return Ok(reply);
        }
    };
    let reply = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| DnsError::Timeout(timeout))??;
    match reply.response_code() {
        ResponseCode::NoError => {}
        ResponseCode::Refused => {
            return Err(DnsError::Rcode(format!(
                "Refused ({server} is not authoritative for {name} and will not answer it without recursion; list the zone's authoritative name servers, not a recursive resolver)"
            )))
        }
        code => return Err(DnsError::Rcode(code.to_string())),
    }
    let mut addresses = Vec::new();
    let mut ttl = u32::MAX;
    for record in reply.answers() {
        if let RData::A(a) = record.data() {
            addresses.push(a.0);
            ttl = ttl.min(record.ttl());
        }
    }
    if addresses.is_empty() {
        ttl = 0;
    }
    Ok(AAnswer {
        addresses,
        ttl,
        authoritative: reply.authoritative(),
    })
}

#[cfg(test)]
mod recursion_tests {
    use super::*;

    /// A one-shot DNS server that answers 192.0.2.1 and reports the RD bit
    /// of the query it got.
    async fn serve_once() -> (SocketAddr, tokio::task::JoinHandle<bool>) {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = sock.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let (n, from) = sock.recv_from(&mut buf).await.unwrap();
            let q = Message::from_vec(&buf[..n]).unwrap();
            let mut reply = Message::new();
            reply
                .set_id(q.id())
                .set_message_type(MessageType::Response)
                .set_op_code(OpCode::Query)
                .add_queries(q.queries().to_vec())
                .add_answer(hickory_proto::rr::Record::from_rdata(
                    q.queries()[0].name().clone(),
                    5,
                    RData::A(Ipv4Addr::new(192, 0, 2, 1).into()),
                ));
            sock.send_to(&reply.to_vec().unwrap(), from).await.unwrap();
            q.recursion_desired()
        });
        (addr, task)
    }

    #[tokio::test]
    async fn the_authoritative_probe_sends_rd0() {
        let (server, asked) = serve_once().await;
        let a = query_a(server, "app.example.com.", Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(a.addresses, vec![Ipv4Addr::new(192, 0, 2, 1)]);
        assert!(
            !asked.await.unwrap(),
            "the DNS probe must not ask for recursion"
        );
    }
}
