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

/// A hold whose name ends so resets connections instead of going silent:
/// each established connection gets a TCP RST, and each new one is reset
/// right after the kernel accepts it (what a client sees when the far
/// end's process is gone).
pub const RESET: &str = ":reset";

fn resets(holds: &BTreeSet<String>) -> bool {
    holds.iter().any(|h| h.ends_with(RESET))
}

/// Closes `stream` with a TCP RST rather than a FIN.
fn reset(stream: TcpStream) {
    // SO_LINGER of zero makes close send a RST at once; it is deprecated for
    // non-zero values, which block the thread on drop. Zero never blocks.
    #[allow(deprecated)]
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

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
    share: Arc<std::sync::Mutex<Option<Share>>>,
}

/// A partial hold: only this share of new connections gets through, spread
/// evenly over them (connection n passes when floor((n+1)s) > floor(ns)), so
/// a run is reproducible. Established connections are left alone.
#[derive(Debug, Clone, PartialEq)]
struct Share {
    name: String,
    share: f64,
    seen: u64,
}

impl Share {
    fn admit_next(&mut self) -> bool {
        let n = self.seen as f64;
        self.seen += 1;
        ((n + 1.0) * self.share).floor() > (n * self.share).floor()
    }
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
            share: Arc::new(std::sync::Mutex::new(None)),
        };
        let g = gate.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { continue };
                        let _ = client.set_nodelay(true);
                        if g.admits() {
                            connections.spawn(forward(client, g.upstream, g.holds.subscribe()));
                        } else {
                            connections.spawn(ignore(client));
                        }
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

    /// Lets only `share` (0 to 1) of new connections through, under a name;
    /// the rest are left unanswered. Returns whether it changed.
    pub fn admit_share(&self, name: &str, share: f64) -> bool {
        let mut s = self.share.lock().expect("gate share lock");
        let same = s
            .as_ref()
            .is_some_and(|s| s.name == name && s.share == share);
        if !same {
            *s = Some(Share {
                name: name.to_string(),
                share,
                seen: 0,
            });
        }
        !same
    }

    /// Lifts the partial hold of that name (idempotent). Returns whether it changed.
    pub fn lift_share(&self, name: &str) -> bool {
        let mut s = self.share.lock().expect("gate share lock");
        let ours = s.as_ref().is_some_and(|s| s.name == name);
        if ours {
            *s = None;
        }
        ours
    }

    /// The partial hold in force, as `name=share`.
    pub fn share(&self) -> Option<String> {
        let s = self.share.lock().expect("gate share lock");
        s.as_ref().map(|s| format!("{}={}", s.name, s.share))
    }

    fn admits(&self) -> bool {
        let mut s = self.share.lock().expect("gate share lock");
        s.as_mut().is_none_or(Share::admit_next)
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

/// A connection outside the admitted share: read and dropped until the
/// client gives up (a dropped-packet path, without holding the socket longer).
async fn ignore(mut client: TcpStream) {
    use tokio::io::AsyncReadExt;
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(HOLD_LIMIT, async {
        while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

async fn forward(
    mut client: TcpStream,
    upstream: SocketAddr,
    mut holds: watch::Receiver<BTreeSet<String>>,
) {
    if resets(&holds.borrow()) {
        reset(client);
        return;
    }
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
    if cut && resets(&holds.borrow()) {
        drop(server);
        reset(client);
        return;
    }
    if cut {
        // Cut mid-connection: stop forwarding, drop the far side, stay silent.
        drop(server);
        let _ = tokio::time::timeout(HOLD_LIMIT, holds.wait_for(|h| h.is_empty())).await;
    }
}
