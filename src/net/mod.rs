//! Wire-level helpers shared by the lab and the probes: HTTP over hyper, DNS over
//! hickory-proto, TLS client roots, and the gate that drops a link the way a deny-all network ACL does.

pub mod dns;
pub mod gate;
pub mod http;
pub mod tls;
