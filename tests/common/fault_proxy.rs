//! A TCP proxy in front of moto that can stop answering, as an AWS API
//! outage does: refusing (every connection closed at once) or hanging
//! (connections accepted and never answered). Changing the mode cuts every
//! connection open through it, so a pooled keep-alive connection cannot
//! slip past an outage.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the proxy does with a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Passes it to the upstream.
    #[default]
    Forward,
    /// Closes it at once.
    Refuse,
    /// Holds it open and never answers.
    Hang,
}

#[derive(Default)]
struct Shared {
    mode: Mutex<Mode>,
    open: Mutex<Vec<TcpStream>>,
}

/// A running proxy; it lives as long as the test process.
pub struct FaultProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Starts forwarding to `upstream`, listening on loopback. Call it on a
    /// thread inside the network namespace the clients and upstream are in
    /// (`Netns::run`): its sockets are made there.
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                accepting.take(conn, upstream);
            }
        });
        FaultProxy { addr, shared }
    }

    /// The endpoint URL, as `AWS_ENDPOINT_URL` takes it.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Switches mode, cutting every connection open through the proxy.
    pub fn set(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
        for s in self.shared.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Shared {
    fn take(&self, conn: TcpStream, upstream: SocketAddr) {
        let mode = *self.mode.lock().unwrap();
        match mode {
            Mode::Refuse => drop(conn),
            Mode::Hang => self.open.lock().unwrap().push(conn),
            Mode::Forward => {
                let Ok(up) = TcpStream::connect(upstream) else {
                    return;
                };
                let mut open = self.open.lock().unwrap();
                open.push(conn.try_clone().unwrap());
                open.push(up.try_clone().unwrap());
                drop(open);
                pipe(conn.try_clone().unwrap(), up.try_clone().unwrap());
                pipe(up, conn);
            }
        }
    }
}

/// Copies `from` to `to` on a thread of its own until either side closes.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 << 10];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
