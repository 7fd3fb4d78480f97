//! One measured child process: wall time, CPU and peak RSS from wait4(2), and
//! where the memory was (anonymous: heap and stacks; file: the binary's and
//! libraries' pages) from /proc while it runs.

use anyhow::{anyhow, Context};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How often /proc is sampled for the anonymous / file split.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// What one process cost.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Cost {
    /// Seconds from spawn to reaped.
    pub wall_s: f64,
    /// User + system CPU seconds (wait4; its waited-for children included).
    pub cpu_s: f64,
    /// Peak resident set, MB (wait4's ru_maxrss).
    pub max_rss_mb: f64,
    /// Largest anonymous resident memory seen (heap, stacks, relocated
    /// data), MB, sampled every 20 ms.
    pub peak_anon_mb: f64,
    /// Largest file-backed resident memory seen (code and read-only data of
    /// the binary and libraries: clean pages the kernel can drop), MB.
    pub peak_file_mb: f64,
}

fn tv(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

/// Runs `cmd` to its end with stdout into `stdout_to` and a cleared
/// environment (PATH and HOME only), and returns its exit code and cost.
pub fn run(mut cmd: Command, stdout_to: &Path) -> anyhow::Result<(i32, Cost)> {
    let out = std::fs::File::create(stdout_to)
        .with_context(|| format!("creating {}", stdout_to.display()))?;
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::var_os("HOME").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null());
    let started = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {:?}", cmd.get_program()))?;
    let pid = child.id() as i32;
    let (mut anon, mut file) = (0.0f64, 0.0f64);
    loop {
        let mut status = 0;
        // SAFETY: wait4 on our own child, with buffers we own.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped < 0 {
            return Err(anyhow!("wait4 failed: {}", std::io::Error::last_os_error()));
        }
        if reaped == pid {
            let code = if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                -1
            };
            let cost = Cost {
                wall_s: started.elapsed().as_secs_f64(),
                cpu_s: tv(usage.ru_utime) + tv(usage.ru_stime),
                max_rss_mb: usage.ru_maxrss as f64 / 1024.0,
                peak_anon_mb: anon,
                peak_file_mb: file,
            };
            return Ok((code, cost));
        }
        if let Some((a, f)) = rss_split(pid) {
            anon = anon.max(a);
            file = file.max(f);
        }
        std::thread::sleep(SAMPLE_EVERY);
    }
}

/// RssAnon and RssFile of `pid`, MB.
fn rss_split(pid: i32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
    };
    Some((field("RssAnon:")?, field("RssFile:")?))
}
