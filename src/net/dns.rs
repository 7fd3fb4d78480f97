//! DNS queries over UDP with hickory-proto: what a stub or a caching resolver sends.

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

/// Sends one A query for `name` straight to `server`, with no cache.
pub async fn query_a(
    server: SocketAddr,
    name: &str,
    timeout: Duration,
) -> Result<AAnswer, DnsError> {
    let fqdn = Name::from_str(name).map_err(|e| DnsError::Io(format!("bad name {name}: {e}")))?;
    // The query id only has to be unpredictable enough to pair replies on a fresh socket.
    let id = (crate::clock::mono_now() as u16) ^ (std::process::id() as u16);
    let mut msg = Message::new();
    msg.set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(false)
        .add_query(Query::query(fqdn, RecordType::A));
    let bytes = msg.to_vec().map_err(|e| DnsError::Io(e.to_string()))?;
    let bind: SocketAddr = if server.is_ipv4() {
        "127.0.0.1:0".parse().expect("literal")
    } else {
        "[::1]:0".parse().expect("literal")
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
    if reply.response_code() != ResponseCode::NoError {
        return Err(DnsError::Rcode(reply.response_code().to_string()));
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
