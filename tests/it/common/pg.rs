//! Throw-away PostgreSQL clusters for the integration tests: one shared by every test of the
//! process, and private ones for the tests that stop their server.
//!
//! [`cluster`] starts the shared one on first use: `initdb` into a fresh folder named `mailmfa-pg-<pid>-…` under the
//! system temporary folder, then the `postgres` server itself as a child process, listening only on a Unix
//! socket in that folder. Durability is switched off for speed (not in [`durable_cluster`], for
//! benchmarks). When run as root, `initdb` and the server
//! run as the user `nobody`, since PostgreSQL refuses to run as root.
//!
//! Statics are never dropped, so the cluster is stopped by a small watchdog shell instead: it waits for
//! end-of-file on a pipe whose only writer is this test process. The kernel closes that pipe however the
//! process ends (normal exit, panic, Ctrl-C, SIGKILL); the watchdog then asks the server for a fast
//! shutdown, waits for it and removes the folder. Folders left behind by a watchdog that was itself killed
//! are removed by the next test process that starts a cluster.
//!
//! The superuser `mailmfa` logs in without a password; roles made by
//! [`Cluster::new_database_with_password`] need theirs (SCRAM), as on a real server.
//!
//! [`Cluster::stop`] and [`Cluster::restart`] break the connections of every test using that
//! cluster, so a test that calls them makes a [`private_cluster`] of its own, which is stopped and
//! removed when it is dropped.

use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Where Debian puts the PostgreSQL 15 server binaries.
const BIN_DIR: &str = "/usr/lib/postgresql/15/bin";
/// The superuser that `initdb` creates; it logs in without a password over the socket.
const USER: &str = "mailmfa";
/// The user id and group id of `nobody`, which the server runs as when the tests run as root.
const NOBODY: u32 = 65534;
/// How long the server may take to accept connections after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// What the watchdog runs once this process is gone: fast shutdown, wait up to 30 s, remove the folder.
const WATCHDOG: &str = r#"trap '' INT HUP
cat >/dev/null
pid=$(head -n 1 "$1/pg/postmaster.pid" 2>/dev/null)
[ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = postgres ] && kill -INT "$pid"
for _ in $(seq 300); do [ -e "$1/pg/postmaster.pid" ] || break; sleep 0.1; done
rm -rf "$1""#;

/// A running PostgreSQL cluster.
pub struct Cluster {
    /// The folder holding the data directory `pg`, the server log and the server's socket.
    dir: PathBuf,
    /// Whether the server and `initdb` must be switched to the user `nobody`.
    as_nobody: bool,
    /// Whether the server flushes every commit to disk (else durability is off, for speed).
    durable: bool,
    /// The port of its socket, and of 127.0.0.1 when it takes TLS connections there.
    port: u16,
    /// Whether it takes TLS connections on 127.0.0.1.
    tls: bool,
    /// The running server, or `None` while it is stopped.
    server: Mutex<Option<Child>>,
    /// The write end of the watchdog's pipe; it stays open until this process ends.
    _watchdog: ChildStdin,
}

/// The cluster shared by every test of this process, started on the first call.
///
/// Panics, on this and every later call, if the cluster could not be started, for instance because the
/// PostgreSQL server binaries are not installed.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
    match CLUSTER.get_or_init(|| Cluster::launch(false, false)) {
        Ok(cluster) => cluster,
        Err(message) => panic!("{message}"),
    }
}

/// A cluster that also listens on 127.0.0.1 ([`Cluster::tcp_port`]) for TLS connections only,
/// with a certificate for 127.0.0.1 from a certificate authority of its own ([`Cluster::ca_file`]).
pub fn tls_cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
    match CLUSTER.get_or_init(|| Cluster::launch(false, true)) {
        Ok(cluster) => cluster,
        Err(message) => panic!("{message}"),
    }
}

/// A cluster of the caller's own, for a test that stops or restarts its server while the shared
/// [`cluster`] serves every other test. Stopped, and its folder removed, when it is dropped.
///
/// Panics if the cluster could not be started.
pub fn private_cluster() -> Cluster {
    Cluster::launch(false, false).unwrap_or_else(|message| panic!("{message}"))
}

/// A cluster that keeps PostgreSQL's durability (every commit flushed to disk, as a production
/// server does), for benchmarks that compare it with SQLite's `synchronous=FULL`.
pub fn durable_cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
    match CLUSTER.get_or_init(|| Cluster::launch(true, false)) {
        Ok(cluster) => cluster,
        Err(message) => panic!("{message}"),
    }
}

impl Cluster {
    /// Creates a new empty database and returns the URL to connect to it, such as
    /// `postgres://mailmfa@/mailmfa_test_123_4?host=/tmp/mailmfa-pg-123-AbCd`.
    ///
    /// Every call gives a different database, from any thread. Panics if the server is stopped.
    pub fn new_database(&self) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let name = format!("mailmfa_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let mut client =
            self.connect().unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL: {}", describe(&e)));
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create database {name}: {}", describe(&e)));
        format!("postgres://{USER}@/{name}?host={}&port={}", url_encode(&self.dir.to_string_lossy()), self.port)
    }

    /// Creates a role that must log in with `password` and a new database it owns; returns the
    /// URL to connect to it, without the password.
    pub fn new_database_with_password(&self, password: &str) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let role = format!("mailmfa_user_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let url = self.new_database();
        let database = url.split('/').nth(3).and_then(|rest| rest.split('?').next()).expect("a database name");
        let mut client =
            self.connect().unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL: {}", describe(&e)));
        client
            .batch_execute(&format!(
                "CREATE ROLE {role} LOGIN PASSWORD '{}'; ALTER DATABASE {database} OWNER TO {role}",
                password.replace('\'', "''")
            ))
            .unwrap_or_else(|e| panic!("cannot create role {role}: {}", describe(&e)));
        url.replacen(&format!("//{USER}@"), &format!("//{role}@"), 1)
    }

    /// The port of 127.0.0.1 it takes TLS connections on ([`tls_cluster`] only).
    pub fn tcp_port(&self) -> u16 {
        assert!(self.tls, "only the TLS cluster listens on 127.0.0.1");
        self.port
    }

    /// The PEM file of the certificate authority that signed its certificate ([`tls_cluster`]).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Writes a certificate authority, and a certificate and key for 127.0.0.1 that it signed,
    /// and names them in the server's configuration.
    fn write_certificates(&self) -> Result<(), String> {
        let fail = |e: rcgen::Error| format!("cannot make the test certificates: {e}");
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name.push(rcgen::DnType::CommonName, "mailmfa test database CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate().map_err(fail)?).map_err(fail)?;
        let key = rcgen::KeyPair::generate().map_err(fail)?;
        let server = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .and_then(|params| params.signed_by(&key, &ca))
            .map_err(fail)?;
        let write = |name: &str, text: String| {
            let path = self.dir.join(name);
            fs::write(&path, text).map_err(|e| format!("cannot write {name}: {e}"))?;
            if self.as_nobody {
                std::os::unix::fs::chown(&path, Some(NOBODY), Some(NOBODY)).map_err(|e| e.to_string())?;
            }
            fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(|e| e.to_string())
        };
        write("ca.pem", ca.pem())?;
        write("server.pem", server.pem())?;
        write("server.key", key.serialize_pem())?;
        let conf = format!("ssl_cert_file = '{0}/server.pem'\nssl_key_file = '{0}/server.key'\n", self.dir.display());
        let mut file = File::options().append(true).open(self.dir.join("pg").join("postgresql.conf"));
        file.as_mut()
            .map_err(|e| e.to_string())
            .and_then(|f| std::io::Write::write_all(f, conf.as_bytes()).map_err(|e| e.to_string()))
    }

    /// Stops the server with a fast shutdown, which ends open sessions, and waits until it has exited.
    /// Does nothing if it is already stopped.
    pub fn stop(&self) {
        stop_server(&mut self.lock());
    }

    /// Starts the server again after [`Cluster::stop`] and waits until it accepts connections.
    /// Does nothing if it is already running.
    pub fn start(&self) {
        self.start_server(&mut self.lock()).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Stops the server and starts it again on the same folder and socket, waiting until it accepts
    /// connections. Databases and their data are kept; open connections are broken.
    pub fn restart(&self) {
        let mut server = self.lock();
        stop_server(&mut server);
        self.start_server(&mut server).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Makes the folder, starts its watchdog, runs `initdb` and starts the server.
    fn launch(durable: bool, tls: bool) -> Result<Cluster, String> {
        if !Path::new(BIN_DIR).join("postgres").exists() || !Path::new(BIN_DIR).join("initdb").exists() {
            return Err(format!(
                "PostgreSQL 15 server binaries not found at {BIN_DIR}: install them with \
                 `apt-get install postgresql` (scripts/test does this)"
            ));
        }
        remove_stale_folders();
        let dir = tempfile::Builder::new()
            .prefix(&format!("mailmfa-pg-{}-", std::process::id()))
            .tempdir()
            .map_err(|e| format!("cannot make a folder for the test PostgreSQL: {e}"))?
            .keep();
        let mut watchdog = Command::new("sh")
            .args(["-c", WATCHDOG, "mailmfa-pg-watchdog"])
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start the watchdog of the test PostgreSQL: {e}"))?;
        let as_nobody = fs::metadata(&dir).map_err(|e| e.to_string())?.uid() == 0;
        if as_nobody {
            std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).map_err(|e| format!("cannot chown: {e}"))?;
        }
        let cluster = Cluster {
            _watchdog: watchdog.stdin.take().ok_or("the watchdog has no stdin")?,
            port: if tls { free_port()? } else { 5432 },
            dir,
            as_nobody,
            durable,
            tls,
            server: Mutex::new(None),
        };
        let status = cluster
            .command("initdb")?
            .args(["-A", "trust", "-U", USER, "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions", "-D"])
            .arg(cluster.dir.join("pg"))
            .status()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !status.success() {
            return Err(format!("initdb failed ({status}); its output:\n{}", cluster.log_tail()));
        }
        // The superuser needs no password on the socket; every other role needs its own.
        let mut hba = format!("local all {USER} trust\nlocal all all scram-sha-256\n");
        if tls {
            cluster.write_certificates()?;
            hba.push_str("hostssl all all 127.0.0.1/32 scram-sha-256\n");
        }
        fs::write(cluster.dir.join("pg").join("pg_hba.conf"), hba)
            .map_err(|e| format!("cannot write pg_hba.conf: {e}"))?;
        cluster.start_server(&mut cluster.lock())?;
        Ok(cluster)
    }

    /// Starts the server unless it is running, and waits until it accepts connections.
    fn start_server(&self, server: &mut Option<Child>) -> Result<(), String> {
        if server.is_some() {
            return Ok(());
        }
        let child = server.insert(
            self.command("postgres")?
                .arg("-D")
                .arg(self.dir.join("pg"))
                .arg("-k")
                .arg(&self.dir)
                .args(["-c", "max_connections=200", "-c", &format!("port={}", self.port)])
                .args(if self.tls {
                    vec!["-c", "listen_addresses=127.0.0.1", "-c", "ssl=on"]
                } else {
                    vec!["-c", "listen_addresses="]
                })
                .args(if self.durable {
                    &[][..]
                } else {
                    &["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"][..]
                })
                .spawn()
                .map_err(|e| format!("cannot start the test PostgreSQL: {e}"))?,
        );
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                *server = None;
                return Err(format!("the test PostgreSQL exited ({status}); its log ends:\n{}", self.log_tail()));
            }
            if self.connect().is_ok() {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(format!("the test PostgreSQL did not start in 30 s; its log ends:\n{}", self.log_tail()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A command running one of the server binaries, as `nobody` when needed, logging to `server.log`.
    fn command(&self, program: &str) -> Result<Command, String> {
        let log = File::options().create(true).append(true).open(self.dir.join("server.log"));
        let log = log.map_err(|e| format!("cannot open the test PostgreSQL log: {e}"))?;
        let mut command = Command::new(Path::new(BIN_DIR).join(program));
        command
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .process_group(0);
        if self.as_nobody {
            command.uid(NOBODY).gid(NOBODY);
        }
        Ok(command)
    }

    /// Connects to the `postgres` database as the superuser.
    fn connect(&self) -> Result<postgres::Client, postgres::Error> {
        postgres::Config::new()
            .host_path(&self.dir)
            .port(self.port)
            .user(USER)
            .dbname("postgres")
            .connect(postgres::NoTls)
    }

    /// The last lines of the server log, for error messages.
    fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Locks the server slot, even if a test panicked while holding it.
    fn lock(&self) -> MutexGuard<'_, Option<Child>> {
        self.server.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Cluster {
    /// Stops the server; the watchdog then removes the folder, as its pipe closes with the cluster.
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port of 127.0.0.1 that nothing listens on now.
fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Asks the server for a fast shutdown and waits until it has exited.
fn stop_server(server: &mut Option<Child>) {
    if let Some(mut child) = server.take() {
        if !interrupt(&child.id().to_string()) {
            let _ = child.kill();
        }
        let _ = child.wait();
    }
}

/// Sends SIGINT, which asks PostgreSQL for a fast shutdown, to the process `pid`.
fn interrupt(pid: &str) -> bool {
    let status = Command::new("sh").args(["-c", "kill -INT \"$1\"", "sh", pid]).status();
    status.is_ok_and(|status| status.success())
}

/// Cleans up after test processes that are gone but whose watchdog did not finish: removes their
/// `mailmfa-pg-<pid>-…` folders, or, if their server still runs, stops it so that a later run removes them.
fn remove_stale_folders() {
    let running = |pid: &str, arg: &str| {
        !pid.is_empty()
            && fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(arg))
    };
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix("mailmfa-pg-") else { continue };
        let data = entry.path().join("pg");
        let pid_file = fs::read_to_string(data.join("postmaster.pid")).unwrap_or_default();
        let server = pid_file.lines().next().unwrap_or_default().trim();
        if running(rest.split('-').next().unwrap_or_default(), "") {
            continue;
        }
        if running(server, &data.to_string_lossy()) {
            interrupt(server);
        } else {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// The server's own message for a database error, which the error's `Display` leaves out.
fn describe(error: &postgres::Error) -> String {
    error.as_db_error().map_or_else(|| error.to_string(), ToString::to_string)
}

/// Percent-encodes every byte of `text` except letters, digits and `/._-`, for a URL query value.
fn url_encode(text: &str) -> String {
    let keep = |b: u8| b.is_ascii_alphanumeric() || b"/._-".contains(&b);
    text.bytes().map(|b| if keep(b) { char::from(b).to_string() } else { format!("%{b:02X}") }).collect()
}
