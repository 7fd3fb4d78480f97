//! The `gameday` binary as users run it: its builds, a standing lab, and one
//! game day (embedded lab or attached), measured from outside.

use crate::process::{self, Cost};
use anyhow::{anyhow, Context};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// One build of the binary.
pub struct Build {
    /// `debug` or `release`, as the binary's `--version` says.
    pub label: String,
    /// The binary.
    pub path: PathBuf,
}

/// The builds to measure: `explicit`, or the debug and release binaries
/// beside this example's own build, those that exist. Each is labelled by
/// what its `--version` says, never by where it was found.
pub fn builds(explicit: &[PathBuf]) -> anyhow::Result<Vec<Build>> {
    let candidates: Vec<PathBuf> = if explicit.is_empty() {
        // <target>/<profile>/examples/bench
        let exe = std::env::current_exe()?;
        let target = exe
            .ancestors()
            .nth(3)
            .ok_or_else(|| anyhow!("cannot find the target folder from {}", exe.display()))?
            .to_path_buf();
        ["debug", "release"]
            .iter()
            .map(|p| target.join(p).join("gameday"))
            .filter(|p| p.is_file())
            .collect()
    } else {
        explicit.to_vec()
    };
    candidates.into_iter().map(label).collect()
}

fn label(path: PathBuf) -> anyhow::Result<Build> {
    let out = Command::new(&path)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", path.display()))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let label = if version.contains("(release build)") {
        "release"
    } else if version.contains("(debug build)") {
        "debug"
    } else {
        return Err(anyhow!(
            "{} says {version:?}: not a gameday that names its build; rebuild it",
            path.display()
        ));
    };
    Ok(Build {
        label: label.into(),
        path,
    })
}

/// How much of the build's function order (link/<build>.order, written by
/// scripts/order-functions) the linker could apply: names listed, and those
/// the binary defines. Few found means the file is stale (a Rust upgrade or
/// a dependency update renames functions) and the hot code is scattered.
/// Most found is not enough: a changed signature on the probe path renames
/// just the functions every observation runs (on 2026-12-02, 3,517 of 4,090
/// names were found, none of them a probe's `observe`, and the release
/// runner's peak RSS was 13.0-13.3 MB instead of 8.9-9.2).
#[derive(Clone, Copy, Default)]
pub struct Layout {
    /// Function names in the order file.
    pub listed: usize,
    /// Of those, the names the binary defines.
    pub found: usize,
    /// The binary's functions of the probes' `observe` (and the code inside
    /// them): those of the AWS-only probes are never in the order.
    pub observe: usize,
    /// Of those, the ones the order file lists.
    pub observe_ordered: usize,
}

impl Layout {
    /// Whether the probe path is missing from the order: fewer than half of
    /// the probes' `observe` functions are listed.
    pub fn probe_path_stale(&self) -> bool {
        self.observe_ordered * 2 < self.observe
    }
}

/// A probe's `observe` in a legacy-mangled name (`<X as gameday::probe::Probe>::observe`).
const OBSERVE: &str = "$u20$as$u20$gameday..probe..Probe$GT$7observe";

/// Reads `link/<label>.order` (relative to the repository, where the
/// benchmark runs) and the binary's symbols (`nm`).
pub fn layout(build: &Build) -> anyhow::Result<Layout> {
    let file = Path::new("link").join(format!("{}.order", build.label));
    let Ok(listed) = std::fs::read_to_string(&file) else {
        return Ok(Layout::default());
    };
    let out = Command::new("nm")
        .arg("--defined-only")
        .arg(&build.path)
        .output()
        .with_context(|| format!("running nm on {}", build.path.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let defined: std::collections::HashSet<&str> =
        text.lines().filter_map(|l| l.rsplit(' ').next()).collect();
    let names: std::collections::HashSet<&str> = listed.lines().filter(|l| !l.is_empty()).collect();
    let observe: Vec<&&str> = defined.iter().filter(|n| n.contains(OBSERVE)).collect();
    Ok(Layout {
        listed: names.len(),
        found: names.iter().filter(|n| defined.contains(*n)).count(),
        observe: observe.len(),
        observe_ordered: observe.iter().filter(|n| names.contains(**n)).count(),
    })
}

/// A `gameday lab` in its own process, stopped when dropped.
pub struct StandingLab {
    child: Child,
    /// Control address.
    pub addr: String,
    /// Control token.
    pub token: String,
    /// The primary region's customer endpoint (`ip:port`).
    pub endpoint: String,
}

impl StandingLab {
    /// Starts `gameday lab` with the scenario's lab parameters and reads its
    /// addresses.
    pub fn start(build: &Build, scenario: &Path) -> anyhow::Result<StandingLab> {
        let mut child = Command::new(&build.path)
            .arg("lab")
            .arg("--params")
            .arg(scenario)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped");
        let (mut addr, mut token, mut endpoint) = (None, None, None);
        for line in std::io::BufReader::new(stdout).lines().take(40) {
            let line = line?;
            let words: Vec<&str> = line.split_whitespace().collect();
            if line.starts_with("gameday lab control") && words.len() >= 6 {
                addr = Some(words[3].to_string());
                token = Some(words[5].to_string());
            }
            if endpoint.is_none() {
                endpoint = line.split("endpoint ").nth(1).map(|e| e.trim().to_string());
            }
            if line.starts_with("running;") {
                break;
            }
        }
        match (addr, token, endpoint) {
            (Some(addr), Some(token), Some(endpoint)) => Ok(StandingLab {
                child,
                addr,
                token,
                endpoint,
            }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err(anyhow!("gameday lab did not print its addresses"))
            }
        }
    }
}

impl Drop for StandingLab {
    fn drop(&mut self) {
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let _ = self.child.wait();
    }
}

/// One measured game day.
pub struct GameDay {
    /// The process's exit code.
    pub exit: i32,
    /// What the `gameday run` process cost.
    pub cost: Cost,
    /// Probe observations on its timeline.
    pub observations: usize,
    /// Its report.
    pub report: gameday::report::Report,
    /// Its run folder (report.json, report.html, the journal).
    pub dir: PathBuf,
}

/// Runs `gameday run scenario` (attached to `lab` when given) in `work`.
pub fn game_day(
    build: &Build,
    scenario: &Path,
    lab: Option<&StandingLab>,
    work: &Path,
) -> anyhow::Result<GameDay> {
    let reports = work.join("reports");
    let _ = std::fs::remove_dir_all(&reports);
    let mut cmd = Command::new(&build.path);
    cmd.arg("run")
        .arg(scenario)
        .arg("--no-progress")
        .arg("--reports")
        .arg(&reports);
    if let Some(lab) = lab {
        cmd.args(["--attach", &lab.addr, "--lab-token", &lab.token]);
    }
    let (exit, cost) = process::run(cmd, &work.join("run.out"))?;
    let dir = run_dir(&reports).map_err(|_| {
        let said = std::fs::read_to_string(work.join("run.out")).unwrap_or_default();
        anyhow!(
            "{} on {} wrote no report (exit {exit}): {}",
            build.path.display(),
            scenario.display(),
            said.trim()
        )
    })?;
    let report = gameday::report::read(&dir.join("report.json")).map_err(|e| anyhow!("{e}"))?;
    let mut observations = 0;
    for entry in report.entries().map_err(|e| anyhow!("{e}"))? {
        let entry = entry.map_err(|e| anyhow!("{e}"))?;
        observations += matches!(entry.what, gameday::timeline::What::Observation(_)) as usize;
    }
    let g = GameDay {
        exit,
        cost,
        observations,
        report,
        dir,
    };
    keep_a_miss(&g)?;
    Ok(g)
}

/// A run that placed a phase (or a population's class) further from the
/// lab's truth than its resolution is copied to
/// `$TMPDIR/gameday-bench-misses/` (the benchmark's scratch folder is
/// removed) and named: its timeline beside the truth is the only way to
/// tell a measurement bug from a truth that asks too much.
fn keep_a_miss(g: &GameDay) -> anyhow::Result<()> {
    let missed: Vec<String> = g
        .report
        .accuracy
        .iter()
        .filter(|a| !a.within_resolution)
        .map(|a| format!("{} {:+.1} ms", a.phase, a.error_ms))
        .collect();
    if missed.is_empty() {
        return Ok(());
    }
    let to = std::env::temp_dir()
        .join("gameday-bench-misses")
        .join(g.dir.file_name().unwrap_or_default());
    std::fs::create_dir_all(&to)?;
    for entry in std::fs::read_dir(&g.dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    println!(
        "  outside one interval ({}): kept in {}",
        missed.join("; "),
        to.display()
    );
    Ok(())
}

fn run_dir(reports: &Path) -> anyhow::Result<PathBuf> {
    std::fs::read_dir(reports)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .ok_or_else(|| anyhow!("no run folder in {}", reports.display()))
}

/// What `gameday validate scenario` costs: starting the binary and reading
/// a scenario, the start-up taken off "after start-up" figures.
pub fn start_up(build: &Build, scenario: &Path, work: &Path) -> anyhow::Result<Cost> {
    let mut cmd = Command::new(&build.path);
    cmd.arg("validate").arg(scenario);
    Ok(process::run(cmd, &work.join("validate.out"))?.1)
}
