//! The floor of Chaos Toolkit's observation: the least CPU one HTTP GET on a
//! new connection can cost on this machine, against the same standing lab.
//!
//! Chaos Toolkit's probe opens a connection, sends one GET, reads the whole
//! answer and closes. This client does exactly that and nothing else: std's
//! blocking sockets, no runtime, no parser beyond the status line, one
//! request at a time, EVERY_MS apart. What it costs per request is what any
//! tool must at least pay for that observation here, so Chaos Toolkit's
//! cost divided by it is the largest ratio any tool can reach against
//! Chaos Toolkit: the ceiling the ratio goal is judged against.
//!
//! It is this example re-executed with `--floor-client ENDPOINT EVERY_MS
//! HOLD_MS`, measured through the same launcher as every other process
//! (`process::run`); a run with HOLD_MS 0 measures its start-up, which is
//! taken off as it is for the other tools.

use crate::process::{self, Cost};
use anyhow::{anyhow, Context};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Chaos Toolkit's request, as `requests` sends it on a new session.
const REQUEST: &[u8] = b"GET /orders/latest HTTP/1.1\r\nHost: app.lab.gameday.test\r\n\
User-Agent: python-requests/2.32.3\r\nAccept-Encoding: gzip, deflate\r\nAccept: */*\r\n\
Connection: close\r\n\r\n";

/// The most an answer may hold before the client gives up on it.
const MAX_ANSWER: usize = 64 * 1024;

/// The most requests one run makes, whatever the pace and hold.
const MAX_REQUESTS: u64 = 100_000;

/// One run of the floor client: its cost and its requests.
pub struct FloorRun {
    /// What the client process cost.
    pub cost: Cost,
    /// Requests made (each one observation).
    pub observations: usize,
    /// Of them, answered 2xx.
    pub served: usize,
}

/// One GET on a new connection; whether it was answered 2xx.
fn one_request(endpoint: &str, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut s = TcpStream::connect(endpoint)?;
    s.set_read_timeout(Some(Duration::from_secs(1)))?;
    s.set_nodelay(true)?;
    s.write_all(REQUEST)?;
    buf.clear();
    Read::take(&mut s, MAX_ANSWER as u64).read_to_end(buf)?;
    Ok(buf.starts_with(b"HTTP/1.1 2") || buf.starts_with(b"HTTP/1.0 2"))
}

/// The client itself (`--floor-client ENDPOINT EVERY_MS HOLD_MS`): requests
/// EVERY_MS apart for HOLD_MS, then prints "REQUESTS SERVED".
pub fn client(args: &[String]) -> anyhow::Result<()> {
    let [endpoint, every, hold] = args else {
        return Err(anyhow!("--floor-client ENDPOINT EVERY_MS HOLD_MS"));
    };
    let every = Duration::from_millis(every.parse().context("EVERY_MS")?);
    let hold = Duration::from_millis(hold.parse().context("HOLD_MS")?);
    let started = Instant::now();
    let mut buf = Vec::with_capacity(MAX_ANSWER);
    let (mut made, mut served) = (0u64, 0u64);
    while started.elapsed() < hold && made < MAX_REQUESTS {
        made += 1;
        served += one_request(endpoint, &mut buf).unwrap_or(false) as u64;
        std::thread::sleep(every);
    }
    println!("{made} {served}");
    Ok(())
}

/// Runs the client against `endpoint` every `every_s` for `hold_s`.
pub fn run(endpoint: &str, every_s: f64, hold_s: f64, work: &Path) -> anyhow::Result<FloorRun> {
    let out = work.join(format!("floor-{}ms-{}ms.out", every_s * 1e3, hold_s * 1e3));
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("--floor-client")
        .arg(endpoint)
        .arg(format!("{:.0}", every_s * 1e3))
        .arg(format!("{:.0}", hold_s * 1e3));
    let (code, cost) = process::run(cmd, &out)?;
    let said = std::fs::read_to_string(&out)?;
    let counts: Vec<usize> = said
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    match (code, counts.as_slice()) {
        (0, [made, served]) => Ok(FloorRun {
            cost,
            observations: *made,
            served: *served,
        }),
        _ => Err(anyhow!(
            "the floor client failed (exit {code}): {}",
            said.trim()
        )),
    }
}

/// The client's start-up: a run that makes no request.
pub fn start_up(endpoint: &str, work: &Path) -> anyhow::Result<Cost> {
    Ok(run(endpoint, 0.0, 0.0, work)?.cost)
}
