//! A TCP link that can be cut the way a deny-all network ACL cuts it.
//!
//! Every byte between two lab components crosses a gate. While any hold is on the
//! gate, new connections are accepted by the kernel but never answered and
//! established ones stop forwarding: the client sees its request hang until its own
//! timeout, exactly what a dropped-packet network does to it. Holds are named
//! (`sever-az:me-central-1a`, `region-outage:me-central-1`), so overlapping faults
//! compose and each undo lifts only its own hold; adding or lifting one twice is harmless.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The longest a held connection is kept silent before it is dropped.
const HOLD_LIMIT: Duration = Duration::from_secs(120);

/// A cuttable TCP link in front of one upstream address.
#[derive(Clone)]
pub struct Gate {
    /// Where clients connect.
    pub listen: SocketAddr,
    /// Where traffic goes when the gate is open.
    pub upstream: SocketAddr,
    holds: Arc<watch::Sender<BTreeSet<String>>>,
}

impl Gate {
    /// Binds `listen` and starts forwarding to `upstream`. The returned task owns
    /// every connection; aborting it tears them all down.
    pub async fn start(
        listen: SocketAddr,
        upstream: SocketAddr,
    ) -> std::io::Result<(Gate, tokio::task::JoinHandle<()>)> {
        let listener = TcpListener::bind(listen).await?;
        let listen = listener.local_addr()?;
        let (tx, _) = watch::channel(BTreeSet::new());
        let gate = Gate {
            listen,
            upstream,
            holds: Arc::new(tx),
        };
        let g = gate.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { continue };
                        let _ = client.set_nodelay(true);
                        connections.spawn(forward(client, g.upstream, g.holds.subscribe()));
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok((gate, task))
    }

    /// Puts a named hold on the gate (idempotent). Returns true if the gate was open before.
    pub fn hold(&self, name: &str) -> bool {
        let mut was_open = false;
        self.holds.send_modify(|h| {
            was_open = h.is_empty();
            h.insert(name.to_string());
        });
        was_open
    }

    /// Lifts a named hold (idempotent). Returns true if the gate is open afterwards
    /// and was not before.
    pub fn lift(&self, name: &str) -> bool {
        let mut opened = false;
        self.holds.send_modify(|h| {
            let was_closed = !h.is_empty();
            h.remove(name);
            opened = was_closed && h.is_empty();
        });
        opened
    }

    /// Whether traffic passes.
    pub fn is_open(&self) -> bool {
        self.holds.borrow().is_empty()
    }

    /// The holds currently on the gate.
    pub fn holds(&self) -> Vec<String> {
        self.holds.borrow().iter().cloned().collect()
    }
}

async fn forward(
    mut client: TcpStream,
    upstream: SocketAddr,
    mut holds: watch::Receiver<BTreeSet<String>>,
) {
    if !holds.borrow().is_empty() {
        // Blackholed: keep the socket, say nothing.
        let _ = tokio::time::timeout(HOLD_LIMIT, holds.wait_for(|h| h.is_empty())).await;
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        let _ = client.shutdown().await;
        return;
    };
    let _ = server.set_nodelay(true);
    let cut = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => false,
        _ = holds.wait_for(|h| !h.is_empty()) => true,
    };
    if cut {
        // Cut mid-connection: stop forwarding, drop the far side, stay silent.
        drop(server);
        let _ = tokio::time::timeout(HOLD_LIMIT, holds.wait_for(|h| h.is_empty())).await;
    }
}
