//! The lab's authoritative DNS server: real DNS over UDP on loopback, answering
//! the PRIMARY/SECONDARY failover pair of one record with the configured TTL,
//! and an alias (CNAME) to it.

use super::checker::HealthCheckers;
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, NS, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::net::UdpSocket;

/// What the server is authoritative for.
pub struct Zone {
    /// Zone apex, e.g. `lab.gameday.test.`
    pub apex: Name,
    /// The failover record, e.g. `app.lab.gameday.test.`
    pub record: Name,
    /// A name that is a CNAME to `record`, e.g. `www.lab.gameday.test.`
    pub alias: Name,
    /// Public address of each region (primary, secondary).
    pub addresses: [Ipv4Addr; 2],
    /// TTL of the failover answer, seconds.
    pub ttl: u32,
}

fn answer(zone: &Zone, health: &HealthCheckers, query: &Message) -> Message {
    let mut reply = Message::new();
    reply
        .set_id(query.id())
        .set_message_type(MessageType::Response)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(query.recursion_desired())
        .set_recursion_available(false);
    let Some(q) = query.queries().first().cloned() else {
        reply.set_response_code(ResponseCode::FormErr);
        return reply;
    };
    reply.add_query(q.clone());
    if query.op_code() != OpCode::Query {
        reply.set_response_code(ResponseCode::NotImp);
        return reply;
    }
    let name = q.name().to_lowercase();
    if !zone.apex.zone_of(&name) {
        reply.set_response_code(ResponseCode::Refused);
        return reply;
    }
    reply.set_authoritative(true);
    let soa = Record::from_rdata(
        zone.apex.clone(),
        zone.ttl,
        RData::SOA(SOA::new(
            Name::from_ascii("ns1")
                .and_then(|n| n.append_domain(&zone.apex))
                .unwrap_or_else(|_| zone.apex.clone()),
            Name::from_ascii("hostmaster")
                .and_then(|n| n.append_domain(&zone.apex))
                .unwrap_or_else(|_| zone.apex.clone()),
            1,
            60,
            30,
            600,
            zone.ttl,
        )),
    );
    if name == zone.alias {
        // The CNAME, and the record it names as an authoritative server adds
        // what it holds of the chain.
        reply.add_answer(Record::from_rdata(
            name,
            zone.ttl,
            RData::CNAME(CNAME(zone.record.clone())),
        ));
        if matches!(q.query_type(), RecordType::A) {
            reply.add_answer(failover_answer(zone, health));
        }
    } else if name == zone.record {
        if q.query_type() == RecordType::A {
            reply.add_answer(failover_answer(zone, health));
        } else {
            reply.add_name_server(soa);
        }
    } else if name == zone.apex {
        match q.query_type() {
            RecordType::SOA => {
                reply.add_answer(soa);
            }
            RecordType::NS => {
                let ns = Name::from_ascii("ns1")
                    .and_then(|n| n.append_domain(&zone.apex))
                    .unwrap_or_else(|_| zone.apex.clone());
                reply.add_answer(Record::from_rdata(name, zone.ttl, RData::NS(NS(ns))));
            }
            _ => {
                reply.add_name_server(soa);
            }
        }
    } else {
        reply.set_response_code(ResponseCode::NXDomain);
        reply.add_name_server(soa);
    }
    reply
}

/// The failover record's A answer: the address of the region DNS serves now.
fn failover_answer(zone: &Zone, health: &HealthCheckers) -> Record {
    let role = health.answer();
    Record::from_rdata(
        zone.record.clone(),
        zone.ttl,
        RData::A(A(zone.addresses[role.index()])),
    )
}

/// Serves the zone on `socket` until aborted.
pub fn spawn(
    socket: UdpSocket,
    zone: Zone,
    health: Arc<HealthCheckers>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                continue;
            };
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            if query.message_type() != MessageType::Query {
                continue;
            }
            let reply = answer(&zone, &health, &query);
            if let Ok(bytes) = reply.to_vec() {
                let _ = socket.send_to(&bytes, from).await;
            }
        }
    })
}

/// The address a server bound to, for printing.
pub fn addr(socket: &UdpSocket) -> SocketAddr {
    socket
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
}
