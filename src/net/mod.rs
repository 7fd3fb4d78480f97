//! Wire-level helpers shared by the lab and the probes: HTTP over hyper, one DNS
//! question to one server (hickory-proto), a customer's resolution
//! (hickory-resolver), TLS client roots, and the gate that drops a link the way
//! a deny-all network ACL does.

pub mod dns;
pub mod gate;
pub mod http;
pub mod resolve;
pub mod tls;
