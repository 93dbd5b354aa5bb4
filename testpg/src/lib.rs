//! Throwaway PostgreSQL clusters for Accord's tests.
//!
//! A [`Cluster`] is a real PostgreSQL server from the machine's installation
//! (Debian's `postgresql` package; `cargo xtask test` installs it when
//! `pg_ctl` is missing): `initdb` on a fresh temp dir, listening only on
//! 127.0.0.1 on a free port, no Unix socket, `fsync` and
//! `synchronous_commit` on. PostgreSQL refuses to run as root, so when the
//! tests run as root the cluster runs as the unprivileged system user
//! `accordpg` (created with `useradd` if missing).
//!
//! Tests share one cluster per test process ([`Cluster::shared`]) and take a
//! database each ([`Cluster::create_database`]); a test that stops or crashes
//! PostgreSQL starts its own with [`Cluster::start`], stopped by PID on drop.
//! The shared cluster is a `static`, which is never dropped, so a small
//! watchdog process stops it by PID once the test process has exited.

use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The unprivileged user clusters run as when the tests run as root.
pub const CLUSTER_USER: &str = "accordpg";

/// The superuser role `initdb` creates (trusted on 127.0.0.1 only).
pub const ROLE: &str = "accord";

/// Why a cluster could not be started or used.
#[derive(Debug)]
pub enum ClusterError {
    /// No PostgreSQL installation was found.
    NotInstalled,
    /// A command failed; its name and what it printed.
    Command(String, String),
    /// A filesystem operation failed.
    Io(std::io::Error),
}

impl std::fmt::Display for ClusterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotInstalled => f.write_str(
                "PostgreSQL is not installed (no pg_ctl under /usr/lib/postgresql/*/bin, \
                 ACCORD_PG_BIN or PATH): run `cargo xtask test`, which installs Debian's \
                 postgresql package, or `apt-get install postgresql`",
            ),
            Self::Command(what, output) => write!(f, "{what} failed: {output}"),
            Self::Io(error) => write!(f, "io: {error}"),
        }
    }
}

impl std::error::Error for ClusterError {}

impl From<std::io::Error> for ClusterError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

/// A running PostgreSQL server on 127.0.0.1.
#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    user: Option<String>,
    port: u16,
    pid: AtomicU64,
    databases: AtomicU64,
    stop_on_drop: bool,
}

impl Cluster {
    /// The cluster shared by every test of this process, started on first use.
    ///
    /// # Panics
    /// When PostgreSQL cannot be started (the message says why).
    pub fn shared() -> &'static Cluster {
        static SHARED: OnceLock<Cluster> = OnceLock::new();
        SHARED.get_or_init(|| {
            let mut cluster = Cluster::start().unwrap_or_else(|e| panic!("{e}"));
            cluster.stop_on_drop = false;
            cluster.watch_test_process();
            cluster
        })
    }

    /// Starts a cluster of its own, stopped (and its directory removed) on drop.
    pub fn start() -> Result<Cluster, ClusterError> {
        let bin = bin_dir().ok_or(ClusterError::NotInstalled)?;
        let user = cluster_user()?;
        static CLUSTERS: AtomicU64 = AtomicU64::new(0);
        let n = CLUSTERS.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("accord-pg-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        if let Some(user) = &user {
            chown(&dir, user)?;
        }
        let mut cluster = Cluster {
            bin,
            dir,
            user,
            port: 0,
            pid: AtomicU64::new(0),
            databases: AtomicU64::new(0),
            stop_on_drop: true,
        };
        cluster.run_as_owner(
            "initdb",
            &[
                "-D",
                cluster.data_dir().to_str().expect("UTF-8 temp dir"),
                "-U",
                ROLE,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
        )?;
        // The free port is found by binding and releasing it; another
        // process may take it in between, so a failed start is retried.
        let mut last = None;
        for _ in 0..5 {
            cluster.port = free_port()?;
            match cluster.start_server() {
                Ok(()) => return Ok(cluster),
                Err(error) => last = Some(error),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The postmaster's process id.
    pub fn pid(&self) -> u32 {
        u32::try_from(self.pid.load(Ordering::SeqCst)).unwrap_or(0)
    }

    /// The connection URL of `database`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{ROLE}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a fresh, empty database and returns its URL.
    pub fn create_database(&self) -> Result<String, ClusterError> {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("test_{n}");
        self.psql("postgres", &format!("CREATE DATABASE {name}"))?;
        Ok(self.url(&name))
    }

    /// Runs one SQL command with `psql` and returns what it printed
    /// (unaligned, tuples only).
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, ClusterError> {
        let output = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", ROLE])
            .args(["-d", database, "-c", sql])
            .stdin(Stdio::null())
            .output()?;
        if !output.status.success() {
            return Err(ClusterError::Command(
                format!("psql -c {sql:?}"),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// Crashes the server (`pg_ctl stop -m immediate`: no shutdown
    /// checkpoint, recovery replays the WAL on the next start).
    pub fn crash(&self) -> Result<(), ClusterError> {
        let data = self.data_dir();
        self.run_as_owner(
            "pg_ctl",
            &[
                "stop",
                "-D",
                data.to_str().expect("UTF-8"),
                "-m",
                "immediate",
                "-w",
            ],
        )?;
        Ok(())
    }

    /// Starts the server again on the same port after [`Cluster::crash`].
    pub fn restart(&self) -> Result<(), ClusterError> {
        self.start_server()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn start_server(&self) -> Result<(), ClusterError> {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories='' \
             -c max_connections=300 -c fsync=on -c synchronous_commit=on \
             -c recovery_init_sync_method=syncfs",
            self.port
        );
        let data = self.data_dir();
        let log = self.dir.join("server.log");
        let result = self.run_as_owner(
            "pg_ctl",
            &[
                "start",
                "-D",
                data.to_str().expect("UTF-8"),
                "-w",
                "-t",
                "60",
                "-s",
                "-l",
                log.to_str().expect("UTF-8"),
                "-o",
                &options,
            ],
        );
        if let Err(error) = result {
            let mut tail = String::new();
            if let Ok(mut file) = std::fs::File::open(&log) {
                let _ = file.read_to_string(&mut tail);
            }
            let tail: String = tail.lines().rev().take(10).collect::<Vec<_>>().join("\n");
            return Err(ClusterError::Command(
                "starting PostgreSQL".into(),
                format!("{error}; server log (last lines, newest first):\n{tail}"),
            ));
        }
        let pid_file = std::fs::read_to_string(data.join("postmaster.pid"))?;
        let pid = pid_file
            .lines()
            .next()
            .and_then(|line| line.trim().parse::<u64>().ok())
            .ok_or_else(|| ClusterError::Command("reading postmaster.pid".into(), pid_file))?;
        self.pid.store(pid, Ordering::SeqCst);
        Ok(())
    }

    /// Runs a PostgreSQL program as the cluster's owner.
    fn run_as_owner(&self, program: &str, args: &[&str]) -> Result<(), ClusterError> {
        let path = self.bin.join(program);
        let mut command = match &self.user {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(&path);
                command
            }
            None => Command::new(&path),
        };
        // Output goes to a file, not a pipe: the server started by pg_ctl
        // must not hold a pipe of ours open.
        let out_path = self.dir.join(format!("{program}.out"));
        let out = std::fs::File::create(&out_path)?;
        if let Some(user) = &self.user {
            chown(&out_path, user)?;
        }
        let status = command
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(ClusterError::Command(
                format!("{program} {}", args.join(" ")),
                std::fs::read_to_string(&out_path).unwrap_or_default(),
            ))
        }
    }

    /// Starts a detached watchdog that stops the server by PID and removes
    /// its directory once this test process has exited.
    fn watch_test_process(&self) {
        let script = format!(
            "while kill -0 {test} 2>/dev/null; do sleep 1; done; \
             kill -INT {pg} 2>/dev/null; \
             for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 {pg} 2>/dev/null || break; sleep 1; done; \
             rm -rf '{dir}'",
            test = std::process::id(),
            pg = self.pid(),
            dir = self.dir.display(),
        );
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    fn stop(&self) {
        let pid = self.pid().to_string();
        if pid == "0" {
            return;
        }
        // SIGINT is PostgreSQL's fast shutdown.
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && process_alive(&pid) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.stop_on_drop {
            self.stop();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn process_alive(pid: &str) -> bool {
    Command::new("kill")
        .args(["-0", pid])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Where PostgreSQL's programs are: `ACCORD_PG_BIN`, Debian's
/// `/usr/lib/postgresql/<newest>/bin`, or the directory of `pg_ctl` on `PATH`.
pub fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("ACCORD_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version);
    if let Some((_, bin)) = newest {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("pg_ctl"))
            .find(|pg_ctl| pg_ctl.exists())
            .and_then(|pg_ctl| std::fs::canonicalize(pg_ctl).ok())
            .and_then(|pg_ctl| pg_ctl.parent().map(Path::to_owned))
    })
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// `None` when not root (the cluster runs as the current user); otherwise
/// the unprivileged user, created if missing.
fn cluster_user() -> Result<Option<String>, ClusterError> {
    if command_output("id", &["-u"]).as_deref() != Some("0") {
        return Ok(None);
    }
    static CREATED: OnceLock<Result<(), String>> = OnceLock::new();
    CREATED
        .get_or_init(|| {
            if command_output("id", &["-u", CLUSTER_USER]).is_some() {
                return Ok(());
            }
            let output = Command::new("useradd")
                .args([
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                ])
                .arg(CLUSTER_USER)
                .output()
                .map_err(|e| e.to_string())?;
            // Another test process may have created it meanwhile.
            if output.status.success() || command_output("id", &["-u", CLUSTER_USER]).is_some() {
                Ok(())
            } else {
                Err(String::from_utf8_lossy(&output.stderr).into_owned())
            }
        })
        .clone()
        .map_err(|e| ClusterError::Command(format!("useradd {CLUSTER_USER}"), e))?;
    Ok(Some(CLUSTER_USER.to_owned()))
}

fn chown(path: &Path, user: &str) -> Result<(), ClusterError> {
    let id = |flag: &str| {
        command_output("id", &[flag, user])
            .and_then(|text| text.parse::<u32>().ok())
            .ok_or_else(|| ClusterError::Command(format!("id {flag} {user}"), String::new()))
    };
    std::os::unix::fs::chown(path, Some(id("-u")?), Some(id("-g")?))?;
    Ok(())
}

fn free_port() -> Result<u16, ClusterError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_per_caller_on_a_shared_cluster() {
        let cluster = Cluster::shared();
        let first = cluster.create_database().unwrap();
        let second = cluster.create_database().unwrap();
        assert_ne!(first, second);
        let name = first.rsplit('/').next().unwrap();
        cluster
            .psql(name, "CREATE TABLE t (x int); INSERT INTO t VALUES (7)")
            .unwrap();
        assert_eq!(cluster.psql(name, "SELECT x FROM t").unwrap(), "7");
        assert_eq!(
            cluster.psql("postgres", "SHOW listen_addresses").unwrap(),
            "127.0.0.1"
        );
        assert_eq!(cluster.psql("postgres", "SHOW fsync").unwrap(), "on");
    }

    #[test]
    fn an_own_cluster_stops_on_drop_and_survives_a_crash() {
        let cluster = Cluster::start().unwrap();
        let url = cluster.create_database().unwrap();
        let name = url.rsplit('/').next().unwrap().to_owned();
        cluster
            .psql(&name, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
            .unwrap();
        cluster.crash().unwrap();
        assert!(cluster.psql(&name, "SELECT 1").is_err());
        cluster.restart().unwrap();
        assert_eq!(cluster.psql(&name, "SELECT x FROM t").unwrap(), "1");
        let pid = cluster.pid().to_string();
        let dir = cluster.dir.clone();
        drop(cluster);
        assert!(!process_alive(&pid), "postgres still runs after drop");
        assert!(!dir.exists());
    }
}
