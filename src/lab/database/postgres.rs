//! The PostgreSQL engine: a real primary and a streaming replica on loopback,
//! in a temporary directory (tmpfs when it can), run as the `postgres` user when
//! gameday runs as root (pg_ctl refuses root), and removed when the lab stops,
//! or by the next lab if this process died first.
//!
//! gameday often runs as root, so the lab gives nothing away: its folder has
//! a random name and is root's (0711), holding `owner.pid` and the TLS
//! material; the data lives in `pg/`, handed to `postgres` (0700) only once
//! root has written what it needs there (the password file, the passfile,
//! the socket folder), and everything later written there is written *as*
//! postgres. Every connection needs a random SCRAM password; the socket is in
//! a 0700 folder; child processes get a cleared environment (no AWS keys, no
//! DSNs); leftovers are cleaned only when they are provably a dead lab's.
//!
//! Apps reach each instance through its region's database gate. The replica
//! streams from the primary through a replication gate, so cutting replication
//! is a gate hold: what the primary commits afterwards never reaches the
//! replica, and a promotion really loses it.

use super::{Database, DbRole, Discarded, Fencing, InstanceView, Isolation};
use crate::clock::{mono_now, MonoNs};
use crate::lab::truth::Truth;
use crate::net::gate::Gate;
use crate::words::Role;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_postgres::{Client, NoTls};

/// Prefix of every directory this engine creates; leftovers are recognised by it.
const DIR_PREFIX: &str = "gameday-pg-";
/// The only environment PostgreSQL's processes get (plus PGUSER and PGPASSFILE).
const CHILD_ENV: [(&str, &str); 2] = [("PATH", "/usr/bin:/bin"), ("LC_ALL", "C")];
/// The role apps and the replica connect as.
const DB_USER: &str = "gameday";

/// What the engine needs to know.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Writer unreachable this long: the standby is promoted.
    pub promotion_delay: Duration,
    /// Whether lab automation promotes at all.
    pub auto_promote: bool,
    /// Synchronous replication (`synchronous_standby_names = '*'`).
    pub synchronous: bool,
    /// `recovery_min_apply_delay` on the replica.
    pub replay_delay: Duration,
    /// Serve TLS with a certificate from a CA made for the lab.
    pub tls: bool,
}

/// Where the PostgreSQL server binaries are, or one line saying what to install.
pub fn find_binaries() -> Result<PathBuf, String> {
    let needed = ["initdb", "pg_ctl", "pg_basebackup", "postgres"];
    let install =
        "install them: apt-get install postgresql (Debian/Ubuntu), brew install postgresql (macOS)";
    let has_all = |dir: &Path| needed.iter().all(|b| dir.join(b).is_file());
    if let Some(dir) = std::env::var_os("GAMEDAY_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if has_all(&dir) {
            Ok(dir)
        } else {
            Err(format!(
                "database = \"postgres\" needs the PostgreSQL server binaries ({}), and GAMEDAY_PG_BIN={} lacks them; {install}, or point GAMEDAY_PG_BIN at their folder",
                needed.join(", "),
                dir.display()
            ))
        };
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    // Newest major version first.
    candidates.sort_by_key(|p| {
        std::cmp::Reverse(
            p.parent()
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0),
        )
    });
    candidates.extend(
        [
            "/usr/local/pgsql/bin",
            "/opt/homebrew/bin",
            "/usr/local/bin",
            "/usr/bin",
        ]
        .map(PathBuf::from),
    );
    candidates.into_iter().find(|d| has_all(d)).ok_or_else(|| {
        format!("database = \"postgres\" needs the PostgreSQL server binaries ({}); {install}, or set GAMEDAY_PG_BIN", needed.join(", "))
    })
}

/// The uid and gid to run PostgreSQL as: `postgres` when we are root, else ourselves.
fn run_as() -> Result<Option<(u32, u32)>, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = std::ffi::CString::new("postgres").expect("static name");
    // SAFETY: getpwnam returns a pointer into static storage or null; read at once.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err("gameday runs as root and PostgreSQL refuses root, but there is no `postgres` user to run it as; install postgresql (it creates the user) or run gameday as another user".into());
    }
    // SAFETY: pw is non-null and points to a valid passwd record.
    Ok(Some(unsafe { ((*pw).pw_uid, (*pw).pw_gid) }))
}

fn chown(path: &Path, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    }
    Ok(())
}

fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe {
        libc::kill(pid, 0) == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The app's connection to one instance.
enum AppConnection {
    /// None yet, or the last one broke.
    None,
    /// An attempt in flight (it outlives the request that started it).
    Connecting(tokio::task::JoinHandle<Result<Client, String>>),
    /// Established.
    Ready(Arc<Client>),
}

struct State {
    writer: Role,
    roles: [DbRole; 2],
    crashed: [bool; 2],
    writer_lost_since: Option<MonoNs>,
    isolation: Option<Isolation>,
    /// When the standby was last promoted (until the failback).
    promoted_at: Option<MonoNs>,
}

/// A primary and a streaming replica.
pub struct PgCluster {
    base: PathBuf,
    bin: PathBuf,
    owner: Option<(u32, u32)>,
    /// The `gameday` role's SCRAM password (also in the 0600 passfile).
    password: String,
    ports: [u16; 2],
    gates: [Gate; 2],
    replication_gate: Gate,
    state: Mutex<State>,
    /// Serialises pg_ctl work (crash, promote, failback).
    ops: tokio::sync::Mutex<()>,
    clients: [tokio::sync::Mutex<AppConnection>; 2],
    truth: Arc<Truth>,
    names: [String; 2],
    settings: Settings,
}

impl PgCluster {
    /// Creates, configures and starts both instances; returns the cluster and the
    /// gate tasks. `gate_ip` gives each region's database gate address.
    pub async fn start(
        settings: Settings,
        truth: Arc<Truth>,
        names: [String; 2],
        gate_ip: impl Fn(Role) -> IpAddr,
    ) -> anyhow::Result<(Arc<PgCluster>, Vec<tokio::task::JoinHandle<()>>)> {
        use anyhow::{anyhow, Context};
        let bin = find_binaries().map_err(|e| anyhow!(e))?;
        let owner = run_as().map_err(|e| anyhow!(e))?;
        let base = make_base().context("creating the lab's PostgreSQL folder")?;
        let password = crate::files::random_hex(16);
        prepare_data_folder(&base, owner, &password)
            .with_context(|| format!("preparing {}", base.display()))?;
        let ports = [free_port()?, free_port()?];
        let mut tasks = Vec::new();
        let mut gates = Vec::new();
        for role in Role::both() {
            let (gate, task) = Gate::start(
                SocketAddr::new(gate_ip(role), 0),
                SocketAddr::from(([127, 0, 0, 1], ports[role.index()])),
            )
            .await?;
            gates.push(gate);
            tasks.push(task);
        }
        let (replication_gate, task) = Gate::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            SocketAddr::from(([127, 0, 0, 1], ports[0])),
        )
        .await?;
        tasks.push(task);
        let cluster = Arc::new(PgCluster {
            base,
            bin,
            owner,
            password,
            ports,
            gates: [gates[0].clone(), gates[1].clone()],
            replication_gate,
            state: Mutex::new(State {
                writer: Role::Primary,
                roles: [DbRole::Writer, DbRole::Replica],
                crashed: [false; 2],
                writer_lost_since: None,
                isolation: None,
                promoted_at: None,
            }),
            ops: tokio::sync::Mutex::new(()),
            clients: [
                tokio::sync::Mutex::new(AppConnection::None),
                tokio::sync::Mutex::new(AppConnection::None),
            ],
            truth,
            names,
            settings,
        });
        if let Err(e) = cluster.bootstrap().await {
            cluster.shutdown();
            return Err(anyhow!(
                "starting PostgreSQL in {}: {e}",
                cluster.base.display()
            ));
        }
        Ok((cluster, tasks))
    }

    fn dir(&self, role: Role) -> PathBuf {
        self.base.join("pg").join(match role {
            Role::Primary => "primary",
            Role::Secondary => "replica",
        })
    }

    /// Runs a PostgreSQL tool as the right user, with a cleared environment;
    /// Err carries its output.
    async fn tool(&self, name: &str, args: &[String]) -> Result<(), String> {
        let mut cmd = std::process::Command::new(self.bin.join(name));
        cmd.args(args)
            .current_dir(self.base.join("pg"))
            .env_clear()
            .envs(CHILD_ENV)
            .env("PGUSER", DB_USER)
            .env("PGPASSFILE", self.base.join("pg").join("pgpass"))
            .stdin(std::process::Stdio::null());
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
        }
        let out = tokio::process::Command::from(cmd)
            .output()
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            let text = String::from_utf8_lossy(&out.stderr)
                .trim()
                .replace('\n', " | ");
            Err(format!("{name} {} failed: {text}", args.join(" ")))
        }
    }

    async fn pg_ctl(&self, role: Role, action: &[&str]) -> Result<(), String> {
        let dir = self.dir(role);
        let mut args = vec![
            "-D".to_string(),
            dir.display().to_string(),
            "-l".to_string(),
            format!("{}.log", dir.display()),
            "-w".to_string(),
            "-t".to_string(),
            "30".to_string(),
        ];
        if action[0] == "start" {
            args.push("-o".into());
            args.push(format!(
                "-p {} -c unix_socket_directories={}",
                self.ports[role.index()],
                self.base.join("pg").join("socket").display()
            ));
        }
        args.extend(action.iter().map(|s| s.to_string()));
        self.tool("pg_ctl", &args).await
    }

    fn direct(&self, role: Role) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ports[role.index()]))
    }

    /// Whether an instance's postmaster runs.
    async fn running(&self, role: Role) -> bool {
        self.tool(
            "pg_ctl",
            &[
                "-D".to_string(),
                self.dir(role).display().to_string(),
                "status".to_string(),
            ],
        )
        .await
        .is_ok()
    }

    /// Copies the instance at `from` into `role`'s directory as a replica that
    /// streams from `stream_from`. The copy never crosses the replication gate, so
    /// it works while replication is cut; the stream does.
    async fn basebackup(
        &self,
        role: Role,
        from: SocketAddr,
        stream_from: SocketAddr,
    ) -> Result<(), String> {
        let dir = self.dir(role);
        self.as_owner("rm -rf -- \"$1\"", &dir, "").await?;
        self.tool(
            "pg_basebackup",
            &[
                "-h",
                &from.ip().to_string(),
                "-p",
                &from.port().to_string(),
                "-U",
                DB_USER,
                "-D",
                &dir.display().to_string(),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ]
            .map(String::from),
        )
        .await?;
        // The last setting in a file wins: point the stream where it must go, and
        // do not inherit the writer's synchronous standby requirement.
        let passfile = self.base.join("pg").join("pgpass");
        self.append(
            &dir.join("postgresql.auto.conf"),
            &format!("primary_conninfo = 'host={} port={} user={DB_USER} passfile={} application_name=walreceiver'\nsynchronous_standby_names = ''\n", stream_from.ip(), stream_from.port(), passfile.display()),
        )
        .await?;
        let mut conf = String::from(
            "\n# gameday replica\nwal_retrieve_retry_interval = '100ms'\nhot_standby = on\n",
        );
        if !self.settings.replay_delay.is_zero() {
            conf.push_str(&format!(
                "recovery_min_apply_delay = '{}ms'\n",
                self.settings.replay_delay.as_millis()
            ));
        }
        self.append(&dir.join("postgresql.conf"), &conf).await
    }

    /// Appends to a file in the data folder *as its owner* (postgres when
    /// gameday is root): root never writes where postgres could plant a link.
    async fn append(&self, path: &Path, text: &str) -> Result<(), String> {
        self.as_owner("cat >> \"$1\"", path, text).await
    }

    /// Runs `sh -c script sh path` as the data folder's owner, with a cleared
    /// environment and `stdin` as its input.
    async fn as_owner(&self, script: &str, path: &Path, stdin: &str) -> Result<(), String> {
        use tokio::io::AsyncWriteExt;
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.args(["-c", script, "sh"])
            .arg(path)
            .env_clear()
            .envs(CHILD_ENV)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
        }
        let mut child = tokio::process::Command::from(cmd)
            .spawn()
            .map_err(|e| format!("{script} {}: {e}", path.display()))?;
        if let Some(mut input) = child.stdin.take() {
            input
                .write_all(stdin.as_bytes())
                .await
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| format!("{script} {}: {e}", path.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{script} {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// The lab's CA (for clients to trust), when TLS is on. The TLS folder
    /// is root's, outside the tree postgres owns.
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.settings
            .tls
            .then(|| self.base.join("tls").join("ca.pem"))
    }

    /// A CA, and a server certificate it signed for every address clients
    /// use (loopback and both gates), into the root-owned TLS folder: the
    /// key is root's and readable by postgres's group (0640), as PostgreSQL
    /// accepts, and both instances read the files from there.
    async fn make_certificates(&self) -> Result<(), String> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let tls = self.base.join("tls");
        std::fs::DirBuilder::new()
            .mode(0o711)
            .create(&tls)
            .map_err(|e| format!("creating {}: {e}", tls.display()))?;
        let mut ips = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
        ips.extend(self.gates.iter().map(|g| g.listen.ip()));
        let made = certificates::make(&ips)?;
        let files = [
            ("ca.pem", &made.ca_pem, 0o644),
            ("server.crt", &made.server_pem, 0o644),
            ("server.key", &made.server_key_pem, 0o640),
        ];
        for (name, text, mode) in files {
            let path = tls.join(name);
            crate::files::write_new(&path, text.as_bytes())
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
            if let Some((_, gid)) = self.owner {
                std::os::unix::fs::chown(&path, None, Some(gid))
                    .map_err(|e| format!("giving {name} to postgres's group: {e}"))?;
            }
            let mode = if self.owner.is_some() { mode } else { 0o600 };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(())
    }

    async fn bootstrap(&self) -> Result<(), String> {
        let primary = self.dir(Role::Primary);
        self.tool(
            "initdb",
            &[
                "-D",
                &primary.display().to_string(),
                "-U",
                DB_USER,
                "--auth=scram-sha-256",
                "--pwfile",
                &self.base.join("pg").join("pwfile").display().to_string(),
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
            .map(String::from),
        )
        .await?;
        let conf = "\n# gameday primary\nlisten_addresses = '127.0.0.1'\nwal_level = replica\nmax_wal_senders = 8\nwal_keep_size = '64MB'\nwal_sender_timeout = '5s'\nwal_receiver_timeout = '5s'\nmax_connections = 60\nshared_buffers = '16MB'\n";
        self.append(&primary.join("postgresql.conf"), conf).await?;
        if self.settings.tls {
            self.make_certificates().await?;
            let tls = self.base.join("tls");
            self.append(
                &primary.join("postgresql.conf"),
                &format!(
                    "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
                    tls.join("server.crt").display(),
                    tls.join("server.key").display()
                ),
            )
            .await?;
        }
        self.pg_ctl(Role::Primary, &["start"]).await?;
        let admin = connect(
            self.direct(Role::Primary),
            &self.password,
            Duration::from_secs(5),
        )
        .await?;
        admin
            .batch_execute("CREATE TABLE orders (seq bigint NOT NULL, canary text NOT NULL, committed_at bigint NOT NULL)")
            .await
            .map_err(|e| format!("creating the orders table: {}", pg_error(&e)))?;
        self.basebackup(
            Role::Secondary,
            self.direct(Role::Primary),
            self.replication_gate.listen,
        )
        .await?;
        self.pg_ctl(Role::Secondary, &["start"]).await?;
        wait_streaming(&admin, Duration::from_secs(15)).await?;
        self.require_sync_standby(&admin).await?;
        // The app's connections are made before the lab says it is up, so a
        // baseline never waits on a SCRAM handshake.
        for role in Role::both() {
            self.client(role).await?;
        }
        Ok(())
    }

    /// With synchronous replication, makes the writer ack only once the standby
    /// has flushed. Turned on only when a standby streams: before that (and on a
    /// promoted standby, which has none) every commit would wait forever.
    async fn require_sync_standby(&self, writer: &Client) -> Result<(), String> {
        if !self.settings.synchronous {
            return Ok(());
        }
        // ALTER SYSTEM refuses to run inside the implicit transaction of a multi-statement query.
        for sql in [
            "ALTER SYSTEM SET synchronous_standby_names = '*'",
            "SELECT pg_reload_conf()",
        ] {
            writer
                .batch_execute(sql)
                .await
                .map_err(|e| format!("enabling synchronous replication: {}", pg_error(&e)))?;
        }
        Ok(())
    }

    /// Fails back: the primary region's instance is re-seeded from the promoted
    /// standby, takes the writer role back by a clean switchover, and the
    /// secondary becomes a replica again. Nothing acked on the promoted standby is lost.
    async fn failback(&self) -> Result<(), String> {
        let (p, s) = (Role::Primary, Role::Secondary);
        // Every attempt starts from what is there: a previous attempt may have
        // stopped the promoted standby before it failed.
        if !self.running(s).await {
            self.pg_ctl(s, &["start"]).await?;
        }
        let _ = self.pg_ctl(p, &["stop", "-m", "immediate"]).await;
        self.basebackup(p, self.direct(s), self.direct(s)).await?;
        self.pg_ctl(p, &["start"]).await?;
        let promoted = connect(self.direct(s), &self.password, Duration::from_secs(5)).await?;
        wait_streaming(&promoted, Duration::from_secs(15)).await?;
        drop(promoted);
        // A clean shutdown sends every WAL record to the connected standby first.
        self.pg_ctl(s, &["stop", "-m", "fast"]).await?;
        self.pg_ctl(p, &["promote"]).await?;
        self.basebackup(s, self.direct(p), self.replication_gate.listen)
            .await?;
        self.pg_ctl(s, &["start"]).await?;
        if self.replication_gate.is_open() {
            let primary = connect(self.direct(p), &self.password, Duration::from_secs(5)).await?;
            wait_streaming(&primary, Duration::from_secs(15)).await?;
            self.require_sync_standby(&primary).await?;
        }
        Ok(())
    }

    /// The app's connection to an instance. A connection attempt runs as
    /// its own task and outlives a request that gave up waiting for it (the
    /// SCRAM handshake can take longer than one request's timeout), so the
    /// next request finds it instead of starting over, as a pool would.
    async fn client(&self, role: Role) -> Result<Arc<Client>, String> {
        let mut slot = self.clients[role.index()].lock().await;
        if let AppConnection::Ready(c) = &*slot {
            if !c.is_closed() {
                return Ok(c.clone());
            }
            *slot = AppConnection::None;
        }
        if matches!(*slot, AppConnection::None) {
            let (addr, password) = (self.gates[role.index()].listen, self.password.clone());
            *slot = AppConnection::Connecting(tokio::spawn(async move {
                connect(addr, &password, Duration::from_secs(2)).await
            }));
        }
        let AppConnection::Connecting(pending) = &mut *slot else {
            unreachable!("set above")
        };
        let connected = pending
            .await
            .map_err(|e| format!("connecting: {e}"))
            .and_then(|r| r);
        match connected {
            Ok(c) => {
                let c = Arc::new(c);
                *slot = AppConnection::Ready(c.clone());
                Ok(c)
            }
            Err(e) => {
                *slot = AppConnection::None;
                Err(e)
            }
        }
    }

    /// Runs one app query with a timeout; a failed or hung connection is dropped
    /// so the next query reconnects.
    async fn query(
        &self,
        role: Role,
        timeout: Duration,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, String> {
        // The server refusing a statement (read-only, a constraint) leaves the
        // connection good; a broken or hung one is dropped.
        let attempt = async {
            let c = self.client(role).await.map_err(|e| (e, true))?;
            c.query(sql, params).await.map_err(|e| {
                (
                    format!("database error: {}", pg_error(&e)),
                    e.as_db_error().is_none(),
                )
            })
        };
        let result = match tokio::time::timeout(timeout, attempt).await {
            Ok(r) => r,
            Err(_) => Err((
                format!("database unreachable: timed out after {timeout:?}"),
                true,
            )),
        };
        result.map_err(|(e, broken)| {
            if broken {
                // An attempt still connecting is kept for the next request.
                if let Ok(mut slot) = self.clients[role.index()].try_lock() {
                    if matches!(*slot, AppConnection::Ready(_)) {
                        *slot = AppConnection::None;
                    }
                }
            }
            e
        })
    }

    fn reachable(&self, s: &State, role: Role) -> bool {
        !s.crashed[role.index()] && self.gates[role.index()].is_open()
    }

    /// As seen from the other region: reachable and not cut off.
    fn reachable_across(&self, s: &State, role: Role) -> bool {
        self.reachable(s, role) && !Isolation::cuts(s.isolation.as_ref(), role)
    }

    /// The standby to promote now, if the writer has been gone long enough.
    fn promotion_due(&self) -> Option<Role> {
        let mut s = self.state.lock().expect("pg lock");
        let writer = s.writer;
        if self.reachable_across(&s, writer) {
            s.writer_lost_since = None;
            return None;
        }
        let since = *s.writer_lost_since.get_or_insert(mono_now());
        let standby = writer.other();
        let ready = self.settings.auto_promote
            && self.reachable_across(&s, standby)
            && s.roles[standby.index()] == DbRole::Replica;
        (ready
            && mono_now().saturating_sub(since) >= self.settings.promotion_delay.as_nanos() as u64)
            .then_some(standby)
    }

    /// Promotes the standby (fencing an isolated old writer first when its
    /// isolation says so) and records when it really began taking writes.
    async fn promote(&self, standby: Role) -> Result<(), String> {
        let old = standby.other();
        let fencing = self.isolation().map(|i| i.fencing);
        if fencing == Some(Fencing::BeforePromotion) {
            self.fence(old).await?;
        }
        let (at, how) = self.promote_and_time(standby).await?;
        {
            let mut s = self.state.lock().expect("pg lock");
            s.roles[standby.index()] = DbRole::Writer;
            if fencing.is_none() {
                s.roles[old.index()] = DbRole::Fenced;
            }
            s.writer = standby;
            s.writer_lost_since = None;
            if let Some(i) = s.isolation.as_mut() {
                i.promoted_at = Some(at);
            }
            s.promoted_at = Some(at);
        }
        self.truth.record_at(
            at,
            "database-promoted",
            &self.names[standby.index()],
            format!("standby promoted to writer (pg_ctl promote; {how})"),
        );
        Ok(())
    }

    /// Runs `pg_ctl promote` while asking the standby every 2 ms whether it is
    /// still in recovery: the instant it is not is when it took writes
    /// (pg_ctl itself notices up to 100 ms later).
    async fn promote_and_time(&self, standby: Role) -> Result<(MonoNs, String), String> {
        let probe = connect(self.direct(standby), &self.password, Duration::from_secs(2)).await?;
        let promote = self.pg_ctl(standby, &["promote"]);
        tokio::pin!(promote);
        let (mut seen, mut polls, mut error) = (None, 0u32, None);
        loop {
            let done = tokio::select! {
                r = &mut promote => { r?; true }
                _ = tokio::time::sleep(Duration::from_millis(2)) => false,
            };
            if seen.is_none() {
                polls += 1;
                // Stamped when asked: the answer can come late under load.
                let asked = mono_now();
                match in_recovery(&probe).await {
                    Ok(false) => seen = Some(asked),
                    Ok(true) => {}
                    Err(e) => error = Some(e),
                }
            }
            if done {
                let how = match (seen, error) {
                    (Some(_), _) => format!("seen out of recovery by poll {polls}"),
                    (None, Some(e)) => format!("pg_ctl returned first; polling failed: {e}"),
                    (None, None) => format!("pg_ctl returned first after {polls} polls"),
                };
                return Ok((seen.unwrap_or_else(mono_now), how));
            }
        }
    }

    /// Fences an old writer the way a promotion script does: new transactions
    /// are read-only and every open session is ended, so no write it has not
    /// already committed gets in. Recorded as truth when the reload is asked,
    /// from when the canary's single-statement writes can be refused; ending
    /// the sessions afterwards only closes transactions already open.
    async fn fence(&self, old: Role) -> Result<(), String> {
        let admin = connect(self.direct(old), &self.password, Duration::from_secs(2)).await?;
        let run = |sql: &'static str| {
            let admin = &admin;
            async move {
                admin
                    .batch_execute(sql)
                    .await
                    .map_err(|e| format!("fencing the old writer: {}", pg_error(&e)))
            }
        };
        // ALTER SYSTEM refuses to run inside the implicit transaction of a multi-statement query.
        run("ALTER SYSTEM SET default_transaction_read_only = on").await?;
        // Sessions may pick the setting up before the reload's answer comes
        // back (later under load): the truth is when the reload was asked.
        let effective = mono_now();
        run("SELECT pg_reload_conf()").await?;
        run("SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")
        .await?;
        let ended_ms = mono_now().saturating_sub(effective) as f64 / 1e6;
        self.state.lock().expect("pg lock").roles[old.index()] = DbRole::Fenced;
        self.truth.record_at(
            effective,
            "old-writer-fenced",
            &self.names[old.index()],
            format!(
                "old writer read-only (default_transaction_read_only, reloaded); \
                 its sessions ended {ended_ms:.1} ms later"
            ),
        );
        Ok(())
    }

    /// Fences the isolated old writer once its delay after the promotion is up.
    async fn fence_if_due(&self) {
        let due = {
            let s = self.state.lock().expect("pg lock");
            s.isolation
                .filter(|i| i.fence_due(mono_now()) && s.roles[i.region.index()] == DbRole::Writer)
                .map(|i| i.region)
        };
        if let Some(old) = due {
            let _guard = self.ops.lock().await;
            if let Err(e) = self.fence(old).await {
                self.truth
                    .record("fencing-failed", &self.names[old.index()], e);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }

    /// Canary records the old primary holds and the promoted standby does
    /// not, read from both (empty when either cannot be read).
    async fn discarded(&self) -> Vec<Discarded> {
        let read = |role: Role| async move {
            let c = connect(self.direct(role), &self.password, Duration::from_secs(2)).await?;
            c.query(
                "SELECT canary, seq, committed_at FROM orders WHERE canary <> '' ORDER BY committed_at",
                &[],
            )
            .await
            .map_err(|e| pg_error(&e))
        };
        let (Ok(old), Ok(new)) = (read(Role::Primary).await, read(Role::Secondary).await) else {
            return Vec::new();
        };
        let promoted_at = self
            .state
            .lock()
            .expect("pg lock")
            .promoted_at
            .take()
            .unwrap_or(0);
        let records = |rows: Vec<tokio_postgres::Row>| -> Vec<_> {
            rows.iter()
                .map(|r| {
                    let (seq, at): (i64, i64) = (r.get(1), r.get(2));
                    (r.get::<_, String>(0), seq as u64, at as u64)
                })
                .collect()
        };
        super::discarded(records(old), records(new), promoted_at)
    }
}

async fn in_recovery(client: &Client) -> Result<bool, String> {
    let row = client
        .query_one("SELECT pg_is_in_recovery()", &[])
        .await
        .map_err(|e| pg_error(&e))?;
    Ok(row.get(0))
}

/// A PostgreSQL error with the server's own message (tokio-postgres prints only "db error").
fn pg_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}

impl Drop for PgCluster {
    /// Whatever happens to the lab (a failed start, a panic), its PostgreSQL
    /// does not outlive it. Idempotent after [`Database::shutdown`].
    fn drop(&mut self) {
        stop_and_remove(&self.base, &self.bin);
    }
}

/// The lab's folder: made under a random name leftovers cleaning ignores
/// (mkdtemp-style, 0700), `owner.pid` written into it, then opened to
/// traversal (0711) and renamed into place without replacing anything, so
/// another lab never sees it without its owner. On tmpfs when it can be.
fn make_base() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let shm = Path::new("/dev/shm");
    let (parent, staging) = match crate::files::temp_dir(shm, ".gameday-pg-") {
        Ok(dir) => (shm.to_path_buf(), dir),
        Err(_) => {
            let tmp = std::env::temp_dir();
            let dir = crate::files::temp_dir(&tmp, ".gameday-pg-")?;
            (tmp, dir)
        }
    };
    clean_leftovers(&parent);
    crate::files::write_new(
        &staging.join("owner.pid"),
        std::process::id().to_string().as_bytes(),
    )?;
    std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o711))?;
    let name = staging
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix('.'))
        .expect("made with a dot prefix")
        .to_string();
    let base = parent.join(name);
    rename_noreplace(&staging, &base)?;
    Ok(base)
}

fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    };
    let (from, to) = (c(from)?, c(to)?);
    // SAFETY: both are valid NUL-terminated paths; AT_FDCWD resolves them.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `base/pg`, the folder PostgreSQL owns: root makes it (0700) with the
/// initdb password file, the passfile and the socket folder in it, all new
/// files, then hands each to postgres, the folder last.
fn prepare_data_folder(
    base: &Path,
    owner: Option<(u32, u32)>,
    password: &str,
) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let pg = base.join("pg");
    let private = |p: &Path| std::fs::DirBuilder::new().mode(0o700).create(p);
    private(&pg)?;
    private(&pg.join("socket"))?;
    crate::files::write_new(&pg.join("pwfile"), format!("{password}\n").as_bytes())?;
    // The invoking user's own copy, outside the tree postgres owns.
    crate::files::write_new(
        &base.join("passfile"),
        format!("*:*:*:{DB_USER}:{password}\n").as_bytes(),
    )?;
    crate::files::write_new(
        &pg.join("pgpass"),
        format!("*:*:*:{DB_USER}:{password}\n").as_bytes(),
    )?;
    for name in ["pwfile", "pgpass", "socket", ""] {
        chown(&pg.join(name), owner)?;
    }
    Ok(())
}

async fn connect(addr: SocketAddr, password: &str, timeout: Duration) -> Result<Client, String> {
    let conninfo = format!(
        "host={} port={} user={DB_USER} password={password} dbname=postgres",
        addr.ip(),
        addr.port()
    );
    let (client, connection) =
        tokio::time::timeout(timeout, tokio_postgres::connect(&conninfo, NoTls))
            .await
            .map_err(|_| format!("database unreachable: no connection within {timeout:?}"))?
            .map_err(|e| format!("database unreachable: {e}"))?;
    tokio::spawn(connection);
    Ok(client)
}

/// Waits until the instance behind `client` has a streaming standby.
async fn wait_streaming(client: &Client, limit: Duration) -> Result<(), String> {
    let deadline = mono_now() + limit.as_nanos() as u64;
    loop {
        let rows = client
            .query(
                "SELECT 1 FROM pg_stat_replication WHERE state = 'streaming'",
                &[],
            )
            .await
            .map_err(|e| pg_error(&e))?;
        if !rows.is_empty() {
            return Ok(());
        }
        if mono_now() > deadline {
            return Err(format!(
                "the replica did not start streaming within {limit:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stops and removes what a dead gameday process left behind in `parent`:
/// only folders named like a lab, not symlinks, the invoking user's and
/// closed to others, with an `owner.pid` of the invoking user's naming a
/// process that is gone. Anything else under /dev/shm is someone else's.
fn clean_leftovers(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let path = e.path();
        if dead_lab(&path) {
            stop_leftover(&path);
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// Whether `path` is a lab folder this user made whose owner is gone.
fn dead_lab(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let named = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(DIR_PREFIX));
    let mine = |p: &Path, dir: bool| {
        std::fs::symlink_metadata(p).is_ok_and(|m| {
            let kind = if dir { m.is_dir() } else { m.is_file() };
            kind && m.uid() == crate::files::euid() && m.mode() & 0o066 == 0
        })
    };
    if !named || !mine(path, true) || !mine(&path.join("owner.pid"), false) {
        return false;
    }
    let pid = std::fs::read_to_string(path.join("owner.pid"))
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok());
    pid.is_some_and(|p| p > 0 && !process_alive(p))
}

/// SIGQUITs (PostgreSQL's immediate shutdown) the postmaster of each data
/// folder of a dead lab, but only a process whose working directory *is*
/// that folder: a planted `postmaster.pid` cannot aim it at anything else.
fn stop_leftover(base: &Path) {
    for sub in ["primary", "replica"] {
        let dir = base.join("pg").join(sub);
        let Some(pid) = postmaster_of(&dir) else {
            continue;
        };
        // SAFETY: sending a signal to a pid we just checked has no memory effects.
        unsafe { libc::kill(pid, libc::SIGQUIT) };
        for _ in 0..50 {
            if !process_alive(pid) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The pid in `dir/postmaster.pid` when that process runs in `dir`.
fn postmaster_of(dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(dir.join("postmaster.pid")).ok()?;
    let mut lines = text.lines();
    let pid: i32 = lines.next()?.trim().parse().ok().filter(|p| *p > 0)?;
    let named = Path::new(lines.next()?.trim());
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
    let real = std::fs::canonicalize(dir).ok()?;
    (named == real || named == dir).then_some(())?;
    (cwd == real).then_some(pid)
}

/// Stops this lab's own instances and removes its folder.
fn stop_and_remove(base: &Path, bin: &Path) {
    for sub in ["primary", "replica"] {
        let dir = base.join("pg").join(sub);
        if dir.join("postmaster.pid").exists() {
            let mut cmd = std::process::Command::new(bin.join("pg_ctl"));
            cmd.args([
                "-D",
                &dir.display().to_string(),
                "stop",
                "-m",
                "immediate",
                "-w",
            ])
            .env_clear()
            .envs(CHILD_ENV)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
            if let Ok(Some((uid, gid))) = run_as() {
                cmd.uid(uid).gid(gid);
            }
            let _ = cmd.status();
        }
    }
    let _ = std::fs::remove_dir_all(base);
}

#[async_trait::async_trait]
impl Database for PgCluster {
    fn passfile(&self) -> Option<PathBuf> {
        Some(self.base.join("passfile"))
    }

    fn ca_file(&self) -> Option<PathBuf> {
        PgCluster::ca_file(self)
    }

    fn writer(&self) -> Role {
        self.state.lock().expect("pg lock").writer
    }

    fn view(&self, role: Role) -> InstanceView {
        let s = self.state.lock().expect("pg lock");
        InstanceView {
            role: s.roles[role.index()],
            crashed: s.crashed[role.index()],
            records: None,
        }
    }

    fn gate(&self, role: Role) -> &Gate {
        &self.gates[role.index()]
    }

    fn replication_gate(&self) -> Option<&Gate> {
        Some(&self.replication_gate)
    }

    fn replication_holds(&self) -> Vec<String> {
        self.replication_gate.holds()
    }

    async fn crash(&self, role: Role) -> Result<bool, String> {
        let _guard = self.ops.lock().await;
        if self.state.lock().expect("pg lock").crashed[role.index()] {
            return Ok(false);
        }
        self.pg_ctl(role, &["stop", "-m", "immediate"]).await?;
        self.state.lock().expect("pg lock").crashed[role.index()] = true;
        Ok(true)
    }

    async fn recover(&self, role: Role) -> Result<bool, String> {
        let was_down = {
            let _guard = self.ops.lock().await;
            let (down, fenced) = {
                let s = self.state.lock().expect("pg lock");
                (
                    s.crashed[role.index()],
                    s.roles[role.index()] == DbRole::Fenced,
                )
            };
            // A fenced former writer is not restarted as it was: failback re-seeds it.
            if down && !fenced {
                self.pg_ctl(role, &["start"]).await?;
            }
            if down {
                self.state.lock().expect("pg lock").crashed[role.index()] = false;
            }
            down
        };
        self.reconcile().await?;
        Ok(was_down)
    }

    async fn reconcile(&self) -> Result<(), String> {
        let _guard = self.ops.lock().await;
        {
            let s = self.state.lock().expect("pg lock");
            if s.writer == Role::Primary
                || !self.gates[0].is_open()
                || s.crashed[1]
                || s.isolation.is_some()
            {
                return Ok(());
            }
        }
        let discarded = self.discarded().await;
        if !discarded.is_empty() {
            self.truth.record(
                "database-diverged",
                &self.names[0],
                super::discarded_detail(&discarded),
            );
        }
        self.failback().await?;
        {
            let mut s = self.state.lock().expect("pg lock");
            s.writer = Role::Primary;
            s.roles = [DbRole::Writer, DbRole::Replica];
            s.crashed = [false, false];
            s.writer_lost_since = None;
        }
        for c in &self.clients {
            *c.lock().await = AppConnection::None;
        }
        self.truth.record("database-failed-back", &self.names[0], "primary re-seeded from the promoted standby (pg_basebackup), switched over, writer again");
        Ok(())
    }

    async fn set_isolation(&self, isolation: Option<Isolation>) -> Result<bool, String> {
        let changed = {
            let mut s = self.state.lock().expect("pg lock");
            let changed = Isolation::differs(s.isolation, isolation);
            if changed {
                s.isolation = isolation;
            }
            changed
        };
        // Replication crosses the cut link.
        match isolation {
            Some(_) => self.replication_gate.hold("isolate-region"),
            None => self.replication_gate.lift("isolate-region"),
        };
        Ok(changed)
    }

    fn isolation(&self) -> Option<Isolation> {
        self.state.lock().expect("pg lock").isolation
    }

    async fn set_replication_cut(&self, cut: bool) -> Result<bool, String> {
        if cut {
            return Ok(self.replication_gate.hold("cut-replication"));
        }
        let changed = self.replication_gate.lift("cut-replication");
        // A failback made while the link was cut could not ask for a synchronous
        // standby yet; now it can.
        if changed
            && self.settings.synchronous
            && self.replication_gate.is_open()
            && self.writer() == Role::Primary
        {
            let _guard = self.ops.lock().await;
            let primary = connect(
                self.direct(Role::Primary),
                &self.password,
                Duration::from_secs(5),
            )
            .await?;
            wait_streaming(&primary, Duration::from_secs(15)).await?;
            self.require_sync_standby(&primary).await?;
        }
        Ok(changed)
    }

    fn spawn_automation(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            loop {
                tick.tick().await;
                self.fence_if_due().await;
                let Some(standby) = self.promotion_due() else {
                    continue;
                };
                let _guard = self.ops.lock().await;
                if let Err(e) = self.promote(standby).await {
                    self.truth
                        .record("database-promotion-failed", &self.names[standby.index()], e);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        })
    }

    fn shutdown(&self) {
        stop_and_remove(&self.base, &self.bin);
    }

    async fn ping(&self, role: Role, timeout: Duration) -> Result<(), String> {
        self.query(role, timeout, "SELECT 1", &[]).await.map(|_| ())
    }

    async fn write(
        &self,
        role: Role,
        seq: u64,
        canary: &str,
        timeout: Duration,
    ) -> Result<(), String> {
        let (seq, at) = (seq as i64, mono_now() as i64);
        self.query(
            role,
            timeout,
            "INSERT INTO orders (seq, canary, committed_at) VALUES ($1, $2, $3)",
            &[&seq, &canary, &at],
        )
        .await
        .map(|_| ())
    }

    async fn latest(&self, role: Role, timeout: Duration) -> Result<Vec<u64>, String> {
        let rows = self
            .query(
                role,
                timeout,
                "SELECT seq FROM orders ORDER BY committed_at DESC LIMIT 1",
                &[],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get::<_, i64>(0) as u64).collect())
    }

    async fn canary(
        &self,
        role: Role,
        canary: &str,
        timeout: Duration,
    ) -> Result<Vec<u64>, String> {
        let rows = self
            .query(
                role,
                timeout,
                "SELECT seq FROM orders WHERE canary = $1 ORDER BY seq",
                &[&canary],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get::<_, i64>(0) as u64).collect())
    }
}

/// The lab database's TLS material, made in-process.
mod certificates {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose, SanType,
    };
    use std::net::IpAddr;

    /// A CA and a server certificate it signed, in PEM.
    pub struct Made {
        pub ca_pem: String,
        pub server_pem: String,
        pub server_key_pem: String,
    }

    fn err(e: rcgen::Error) -> String {
        format!("making the lab database's TLS certificates: {e}")
    }

    /// A CA ("gameday lab CA") and a server certificate for `ips`, both valid
    /// from yesterday for three days: the lab makes new ones each start.
    pub fn make(ips: &[IpAddr]) -> Result<Made, String> {
        let ca_key = KeyPair::generate().map_err(err)?;
        let mut ca = CertificateParams::default();
        ca.distinguished_name
            .push(DnType::CommonName, "gameday lab CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        validity(&mut ca);
        let ca_pem = ca.self_signed(&ca_key).map_err(err)?.pem();
        let issuer = Issuer::new(ca, ca_key);

        let server_key = KeyPair::generate().map_err(err)?;
        let mut server = CertificateParams::default();
        server
            .distinguished_name
            .push(DnType::CommonName, "gameday lab database");
        server.subject_alt_names = ips.iter().map(|ip| SanType::IpAddress(*ip)).collect();
        server.is_ca = IsCa::ExplicitNoCa;
        server.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        validity(&mut server);
        let server_pem = server.signed_by(&server_key, &issuer).map_err(err)?.pem();
        Ok(Made {
            ca_pem,
            server_pem,
            server_key_pem: server_key.serialize_pem(),
        })
    }

    fn validity(p: &mut CertificateParams) {
        use chrono::Datelike;
        let day = |d: chrono::DateTime<chrono::Utc>| {
            rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8)
        };
        let now = chrono::Utc::now();
        p.not_before = day(now - chrono::Duration::days(1));
        p.not_after = day(now + chrono::Duration::days(2));
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_server_certificate_names_every_address_and_is_signed_by_the_ca() {
            let ips: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "127.1.0.5".parse().unwrap()];
            let made = make(&ips).unwrap();
            assert!(made.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
            assert!(made.server_key_pem.contains("PRIVATE KEY"));
            // rustls verifies the chain and the address the way the canary does.
            let mut roots = tokio_rustls::rustls::RootCertStore::empty();
            for c in rustls_pemfile_certs(&made.ca_pem) {
                roots.add(c).unwrap();
            }
            let server = rustls_pemfile_certs(&made.server_pem).remove(0);
            let verifier = tokio_rustls::rustls::client::WebPkiServerVerifier::builder(
                std::sync::Arc::new(roots),
            )
            .build()
            .unwrap();
            for ip in ["127.1.0.5", "127.0.0.1"] {
                let name = tokio_rustls::rustls::pki_types::ServerName::try_from(ip).unwrap();
                verifier
                    .verify_server_cert(
                        &server,
                        &[],
                        &name,
                        &[],
                        tokio_rustls::rustls::pki_types::UnixTime::now(),
                    )
                    .unwrap_or_else(|e| panic!("{ip}: {e}"));
            }
            let other = tokio_rustls::rustls::pki_types::ServerName::try_from("127.9.9.9").unwrap();
            assert!(verifier
                .verify_server_cert(
                    &server,
                    &[],
                    &other,
                    &[],
                    tokio_rustls::rustls::pki_types::UnixTime::now()
                )
                .is_err());
        }

        use tokio_rustls::rustls::client::danger::ServerCertVerifier;

        fn rustls_pemfile_certs(
            pem: &str,
        ) -> Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>> {
            use tokio_rustls::rustls::pki_types::pem::PemObject;
            tokio_rustls::rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
                .map(|c| c.unwrap())
                .collect()
        }
    }
}
