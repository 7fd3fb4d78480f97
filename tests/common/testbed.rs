//! A staging-like network of real parts, in two network namespaces the test
//! creates and removes:
//!
//! ```text
//!  runner namespace                      service namespace
//!  gameday, moto (its loopback)          unbound         10.77.0.2:53  (recursive, stub zone ->)
//!  10.77.0.1/16 ---------- veth ------   lab DNS         10.77.0.53:53 (authoritative)
//!                                        primary region  10.77.1.10  (HTTPS :443, PostgreSQL)
//!                                        secondary       10.77.2.10  (HTTPS :443, PostgreSQL)
//! ```
//!
//! The lab (`gameday lab --public-addresses`) serves each region's endpoint
//! and database on its address; a TLS front with a private CA stands where
//! an ALB's HTTPS listener would; unbound (Debian) is the customers'
//! resolver; moto is the control plane. Nothing of it exists outside the two
//! namespaces, and dropping the bed removes all of it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The runner's address.
pub const RUNNER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// unbound, the customers' recursive resolver.
pub const RESOLVER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
/// The lab's authoritative DNS server.
pub const AUTHORITATIVE: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 53);
/// The regions' public addresses (primary, secondary).
pub const REGIONS: [Ipv4Addr; 2] = [Ipv4Addr::new(10, 77, 1, 10), Ipv4Addr::new(10, 77, 2, 10)];
/// A name unbound answers itself with the primary's address: a regional
/// endpoint that the failover never moves.
pub const DIRECT: &str = "direct.gameday.test";
/// The HTTPS port of the TLS front.
pub const HTTPS_PORT: u16 = 443;
/// Prefix of every namespace a bed creates: `gameday-tb-<pid>-<hex>-runner`.
const PREFIX: &str = "gameday-tb-";

/// Makes `cmd`'s process die with the thread that spawns it.
pub fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

fn must(cmd: &mut Command) {
    let out = cmd.output().expect("run a command");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace (`ip netns add`), deleted when dropped.
pub struct Netns {
    /// Its name under /run/netns.
    pub name: String,
    file: std::fs::File,
}

impl Netns {
    fn create(name: &str) -> Netns {
        must(Command::new("ip").args(["netns", "add", name]));
        let file = std::fs::File::open(format!("/run/netns/{name}")).expect("open the namespace");
        let ns = Netns {
            name: name.to_string(),
            file,
        };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NAME ARGS`, which must succeed.
    pub fn ip(&self, args: &[&str]) {
        must(Command::new("ip").arg("-n").arg(&self.name).args(args));
    }

    /// Makes `cmd` run inside this namespace, and die with the thread that spawns it.
    pub fn enter(&self, cmd: &mut Command) {
        use std::os::unix::process::CommandExt;
        let fd = self.file.as_raw_fd();
        // SAFETY: setns and prctl are plain syscalls, safe between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }

    /// Runs `f` on a thread inside this namespace: every socket it opens is
    /// the namespace's.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let fd = self.file.as_raw_fd();
        std::thread::scope(|s| {
            s.spawn(move || {
                // SAFETY: setns on this thread only; a network namespace may
                // differ per thread.
                let rc = unsafe { libc::setns(fd, libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .expect("thread in the namespace")
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Whether this machine can build a bed (root, `ip`, `unbound`). Under CI it
/// must: a missing part fails the test instead of skipping it.
pub fn available() -> bool {
    let root = unsafe { libc::geteuid() } == 0;
    let unbound = Path::new("/usr/sbin/unbound").exists();
    let ip = Command::new("ip")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if root && unbound && ip {
        return true;
    }
    super::skip(
        &super::test_name(),
        &format!(
            "the network test bed needs root, iproute2 and unbound (root {root}, ip {ip}, unbound {unbound}); scripts/test installs unbound"
        ),
    );
    false
}

/// Deletes the namespaces of beds whose test process is gone (a test killed
/// before it could drop its bed).
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
    }
}

/// What a bed started, for a test to check that all of it is gone.
#[derive(Debug, Clone)]
pub struct Footprint {
    /// The namespaces' names.
    pub namespaces: Vec<String>,
    /// The veth ends' names.
    pub links: Vec<String>,
    /// The processes started (lab, unbound, moto).
    pub pids: Vec<u32>,
}

/// The network of real parts. Fields drop in order: processes first, then
/// the namespaces.
pub struct TestBed {
    /// The lab, in the service namespace.
    pub lab: super::StandingLab,
    /// moto, in the runner namespace (when the bed has a control plane).
    moto: Option<super::moto::Moto>,
    unbound: Child,
    front: Option<TlsFront>,
    /// Where gameday runs.
    pub runner: Netns,
    /// Where the resolver and the lab run.
    pub service: Netns,
    /// The bed's private folder (configuration, CA).
    pub dir: PathBuf,
    links: Vec<String>,
}

impl TestBed {
    /// Builds a bed with moto, whose lab takes its [lab] parameters from `params`.
    pub fn start(params: &Path) -> TestBed {
        TestBed::build(params, true)
    }

    /// Builds the network alone: resolver, lab, TLS front; no moto.
    pub fn network(params: &Path) -> TestBed {
        TestBed::build(params, false)
    }

    fn build(params: &Path, with_moto: bool) -> TestBed {
        sweep_stale();
        let hex = format!("{:06x}", rand_u32() & 0xff_ffff);
        let stem = format!("{PREFIX}{}-{hex}", std::process::id());
        let runner = Netns::create(&format!("{stem}-runner"));
        let service = Netns::create(&format!("{stem}-service"));
        let (r_link, s_link) = (format!("gdr{hex}"), format!("gds{hex}"));
        must(Command::new("ip").args([
            "link",
            "add",
            &r_link,
            "netns",
            &runner.name,
            "type",
            "veth",
            "peer",
            "name",
            &s_link,
            "netns",
            &service.name,
        ]));
        runner.ip(&["addr", "add", &format!("{RUNNER}/16"), "dev", &r_link]);
        runner.ip(&["link", "set", &r_link, "up"]);
        service.ip(&["addr", "add", &format!("{RESOLVER}/16"), "dev", &s_link]);
        for extra in [AUTHORITATIVE, REGIONS[0], REGIONS[1]] {
            service.ip(&["addr", "add", &format!("{extra}/32"), "dev", &s_link]);
        }
        service.ip(&["link", "set", &s_link, "up"]);
        let dir = super::scratch(&format!("testbed-{hex}"));
        // Started together: the lab's PostgreSQL and moto take seconds each.
        let moto = with_moto.then(|| super::moto::Moto::start_in(&runner));
        let unbound = start_unbound(&service, &dir);
        let lab = start_lab(&service, params);
        if let Some(moto) = &moto {
            moto.wait_listening(Some(&runner));
        }
        wait_for(&runner, SocketAddr::new(RESOLVER.into(), 53), "unbound");
        let endpoint = service.run(|| {
            super::rt()
                .block_on(lab.client.describe())
                .expect("describe the lab")
                .regions[0]
                .endpoint
                .port()
        });
        let front = TlsFront::start(&service, &dir, endpoint);
        TestBed {
            lab,
            moto,
            unbound,
            front: Some(front),
            runner,
            service,
            dir,
            links: vec![r_link, s_link],
        }
    }

    /// The namespaces, links, processes and folder of this bed.
    pub fn footprint(&self) -> Footprint {
        Footprint {
            namespaces: vec![self.runner.name.clone(), self.service.name.clone()],
            links: self.links.clone(),
            pids: [self.lab.child.id(), self.unbound.id()]
                .into_iter()
                .chain(self.moto.as_ref().map(|m| m.pid()))
                .collect(),
        }
    }

    /// The bed's moto.
    pub fn moto(&self) -> &super::moto::Moto {
        self.moto
            .as_ref()
            .expect("a bed built with TestBed::start has moto")
    }

    /// The PEM of the CA that signed the HTTPS endpoints' certificate.
    pub fn https_ca(&self) -> PathBuf {
        self.dir.join("https-ca.pem")
    }

    /// A gameday command that runs in the runner namespace, pointed at the bed's moto.
    pub fn gameday(&self) -> Command {
        let mut cmd = super::gameday();
        cmd.current_dir(super::root()).env_remove("AWS_PROFILE");
        for (k, v) in self.moto().env() {
            cmd.env(k, v);
        }
        self.runner.enter(&mut cmd);
        cmd
    }

    /// Runs async `f` with SDK clients for the bed's moto (from the runner namespace).
    pub fn with_aws<T: Send, F: std::future::Future<Output = T>>(
        &self,
        f: impl FnOnce(gameday::aws::AwsClients) -> F + Send,
    ) -> T {
        let url = self.moto().url.clone();
        self.runner.run(move || {
            super::rt().block_on(async move {
                let aws = super::fake_aws_clients(&url).await;
                f(aws).await
            })
        })
    }

    /// The lab's description (asked from the service namespace).
    pub fn describe(&self) -> gameday::lab::LabDescription {
        self.service
            .run(|| super::rt().block_on(self.lab.client.describe()))
            .expect("describe the lab")
    }

    /// The password of the lab's PostgreSQL.
    pub fn database_password(&self) -> String {
        self.service.run(|| self.lab.database_password())
    }
}

impl Drop for TestBed {
    fn drop(&mut self) {
        self.front.take();
        let _ = self.unbound.kill();
        let _ = self.unbound.wait();
        // The lab, moto and the namespaces drop after this, in field order.
    }
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).expect("random bytes");
    u32::from_ne_bytes(b)
}

/// Waits until something accepts TCP connections at `addr`, seen from `ns`.
fn wait_for(ns: &Netns, addr: SocketAddr, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ns
        .run(|| std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok())
    {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on {addr} within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// unbound as a recursive resolver for the runner's network, with a stub
/// zone for the lab's zone pointing at the lab's authoritative server.
/// Recursion only: a question with RD=0 is refused, as by most resolvers.
fn start_unbound(ns: &Netns, dir: &Path) -> Child {
    let zone = gameday::lab::ZONE;
    let conf = dir.join("unbound.conf");
    std::fs::write(
        &conf,
        format!(
            r#"server:
    interface: {RESOLVER}
    port: 53
    do-ip6: no
    do-daemonize: no
    use-syslog: no
    logfile: ""
    verbosity: 0
    username: ""
    chroot: ""
    directory: "{dir}"
    pidfile: ""
    num-threads: 1
    module-config: "iterator"
    access-control: 10.77.0.0/16 allow
    local-zone: "test." nodefault
    local-data: "{DIRECT}. 30 IN A {primary}"
stub-zone:
    name: "{zone}"
    stub-addr: {AUTHORITATIVE}@53
remote-control:
    control-enable: no
"#,
            dir = dir.display(),
            primary = REGIONS[0],
        ),
    )
    .unwrap();
    let mut cmd = Command::new("/usr/sbin/unbound");
    cmd.arg("-d")
        .arg("-c")
        .arg(&conf)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    ns.enter(&mut cmd);
    cmd.spawn().expect("start unbound")
}

/// `gameday lab` in the service namespace, its regions on their public
/// addresses and its DNS server on the authoritative address.
fn start_lab(ns: &Netns, params: &Path) -> super::StandingLab {
    let mut cmd = super::gameday();
    cmd.current_dir(super::root())
        .arg("lab")
        .arg("--params")
        .arg(params)
        .args([
            "--public-addresses",
            &format!("{},{}", REGIONS[0], REGIONS[1]),
            "--dns-address",
            &AUTHORITATIVE.to_string(),
            "--dns-port",
            "53",
        ]);
    ns.enter(&mut cmd);
    super::StandingLab::spawn(cmd)
}

/// A TLS front with a private CA on each region's address, port 443,
/// forwarding to the lab's endpoint on the same address: what an ALB's
/// HTTPS listener is to its targets. Runs on its own thread in the service
/// namespace until dropped.
struct TlsFront {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsFront {
    fn start(ns: &Netns, dir: &Path, endpoint_port: u16) -> TlsFront {
        let acceptor = tls_acceptor(dir);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, is_ready) = std::sync::mpsc::channel();
        let fd = ns.file.as_raw_fd();
        let thread = std::thread::spawn(move || {
            // SAFETY: setns on this thread only.
            assert_eq!(unsafe { libc::setns(fd, libc::CLONE_NEWNET) }, 0);
            let rt = super::rt();
            rt.block_on(async move {
                for ip in REGIONS {
                    let listener = tokio::net::TcpListener::bind((ip, HTTPS_PORT))
                        .await
                        .expect("bind the TLS front");
                    let upstream = SocketAddr::new(IpAddr::V4(ip), endpoint_port);
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        while let Ok((stream, _)) = listener.accept().await {
                            let acceptor = acceptor.clone();
                            tokio::spawn(async move {
                                let Ok(mut tls) = acceptor.accept(stream).await else {
                                    return;
                                };
                                let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await
                                else {
                                    return;
                                };
                                let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                            });
                        }
                    });
                }
                let _ = ready.send(());
                let _ = stopped.await;
            });
        });
        is_ready
            .recv_timeout(Duration::from_secs(10))
            .expect("the TLS front listens");
        TlsFront {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A private CA (written to `dir/https-ca.pem`) and a certificate it signed
/// for the lab's record and alias.
fn tls_acceptor(dir: &Path) -> tokio_rustls::TlsAcceptor {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "gameday test bed CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    std::fs::write(dir.join("https-ca.pem"), ca_cert.pem()).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let names: Vec<String> = [gameday::lab::RECORD, gameday::lab::ALIAS, DIRECT]
        .iter()
        .map(|n| n.trim_end_matches('.').to_string())
        .collect();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(names).unwrap();
    let leaf = leaf.signed_by(&key, &issuer).unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config))
}
