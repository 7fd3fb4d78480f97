//! One measured child process: wall time, CPU and peak RSS from wait4(2), and
//! where the memory was (anonymous: heap and stacks; file: the binary's and
//! libraries' pages) from /proc while it runs.
//!
//! Linux keeps a process's `ru_maxrss` across execve: a child forked (or
//! posix_spawned) from this benchmark reports at least the benchmark's own
//! peak, which grows as it parses reports (24.5 MB here, more than a release
//! `gameday validate` uses). So every child is started through a launcher:
//! this example re-executed with `--launch`, which forks the command first
//! thing, while it is small, waits for it with wait4 and prints its rusage.
//! The launcher's own size at that fork is the floor of every figure, and is
//! measured (`launcher_floor`).

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

/// What the launcher prints about its child.
#[derive(serde::Serialize, serde::Deserialize)]
struct Launched {
    code: i32,
    wall_s: f64,
    cpu_s: f64,
    max_rss_kb: i64,
    peak_anon_mb: f64,
    peak_file_mb: f64,
}

/// Runs `cmd` to its end, through the launcher, with stdout and stderr
/// into `output_to` and a cleared environment (PATH and HOME only), and
/// returns its exit code and cost.
pub fn run(cmd: Command, output_to: &Path) -> anyhow::Result<(i32, Cost)> {
    let out = std::fs::File::create(output_to)
        .with_context(|| format!("creating {}", output_to.display()))?;
    let report = output_to.with_extension("rusage");
    let mut launcher = Command::new(std::env::current_exe()?);
    launcher
        .arg("--launch")
        .arg(&report)
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::var_os("HOME").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    if let Some(dir) = cmd.get_current_dir() {
        launcher.current_dir(dir);
    }
    let status = launcher.status().context("starting the launcher")?;
    let text = std::fs::read_to_string(&report)
        .with_context(|| format!("the launcher ({status}) wrote no {}", report.display()))?;
    let l: Launched = serde_json::from_str(&text)?;
    let cost = Cost {
        wall_s: l.wall_s,
        cpu_s: l.cpu_s,
        max_rss_mb: l.max_rss_kb as f64 / 1024.0,
        peak_anon_mb: l.peak_anon_mb,
        peak_file_mb: l.peak_file_mb,
    };
    Ok((l.code, cost))
}

/// The launcher (`--launch REPORT PROGRAM ARGS...`): forks and executes the
/// program, waits for it, and writes its rusage to REPORT as JSON. Called
/// first thing in `main`, so the fork copies as little as possible.
pub fn launch(args: &[String]) -> anyhow::Result<()> {
    let [report, program, rest @ ..] = args else {
        return Err(anyhow!("--launch REPORT PROGRAM [ARGS...]"));
    };
    let started = Instant::now();
    let child = Command::new(program).args(rest).spawn()?;
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
            let l = Launched {
                code: if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else {
                    -1
                },
                wall_s: started.elapsed().as_secs_f64(),
                cpu_s: tv(usage.ru_utime) + tv(usage.ru_stime),
                max_rss_kb: usage.ru_maxrss,
                peak_anon_mb: anon,
                peak_file_mb: file,
            };
            std::fs::write(report, serde_json::to_string(&l)?)?;
            return Ok(());
        }
        if let Some((a, f)) = rss_split(pid) {
            anon = anon.max(a);
            file = file.max(f);
        }
        std::thread::sleep(SAMPLE_EVERY);
    }
}

/// The peak RSS a trivial program (`true`) reports through the launcher:
/// the floor under every peak RSS figure, MB.
pub fn launcher_floor(work: &Path) -> anyhow::Result<f64> {
    Ok(run(Command::new("true"), &work.join("floor.out"))?
        .1
        .max_rss_mb)
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
