//! Starting and stopping relay processes on 127.0.0.1 for comparisons.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use accord_server::client::Client;
use accord_server::first_line::first_line;
use serde::Serialize;

use crate::error::LoadError;
use crate::http;

/// Which relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
pub enum Kind {
    /// Ours (`accord serve`).
    Accord,
    /// `@automerge/automerge-repo-sync-server` 0.2.8 (automerge-repo 1.2) via
    /// `tests/bench/js/server.mjs`.
    Js,
    /// Current automerge-repo 2.5 on automerge 3.5 via `tests/bench/js-2.5/server.mjs`.
    #[value(name = "js-2.5")]
    Js25,
    /// The Rust `samod` crate via `tests/bench/samod-relay`.
    Samod,
}

impl Kind {
    /// Every relay, in table order.
    pub const ALL: [Kind; 4] = [Kind::Accord, Kind::Js, Kind::Js25, Kind::Samod];

    /// Short display name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Accord => "accord",
            Self::Js => "js",
            Self::Js25 => "js-2.5",
            Self::Samod => "samod",
        }
    }

    /// Column heading: what the relay is built from.
    pub fn title(self) -> &'static str {
        match self {
            Self::Accord => "Accord",
            Self::Js => "JS sync server (repo 1.2)",
            Self::Js25 => "JS repo 2.5 / automerge 3.5",
            Self::Samod => "samod 0.16",
        }
    }

    /// Whether it stores after acknowledging (so a clean stop must wait for
    /// its writes to settle). Only Accord advertises heads after a commit.
    pub fn stores_after_ack(self) -> bool {
        self != Self::Accord
    }
}

/// How to start every relay.
#[derive(Debug, Clone)]
pub struct Launcher {
    /// The `accord` binary.
    pub accord_bin: PathBuf,
    /// The Node.js executable.
    pub node: String,
    /// Directory with the automerge-repo 1.2 `server.mjs` and its `node_modules`.
    pub js_dir: PathBuf,
    /// Directory with the automerge-repo 2.5 `server.mjs` and its `node_modules`.
    pub js25_dir: PathBuf,
    /// The samod relay's crate (`Cargo.toml` inside).
    pub samod_dir: PathBuf,
    /// Cargo target directory for the samod relay; its binary is
    /// `release/accord-bench-samod-relay` inside.
    pub samod_target_dir: PathBuf,
}

impl Launcher {
    /// A launcher that starts only `accord` relays from `accord_bin`.
    pub fn accord_only(accord_bin: PathBuf) -> Self {
        Self {
            accord_bin,
            node: String::new(),
            js_dir: PathBuf::new(),
            js25_dir: PathBuf::new(),
            samod_dir: PathBuf::new(),
            samod_target_dir: PathBuf::new(),
        }
    }

    /// Makes `kinds` startable: checks the `accord` binary, installs a missing
    /// `node_modules` with `npm ci` from the committed lockfile, builds the
    /// samod relay (a no-op when up to date), and makes paths absolute (the JS
    /// relays run with their own directory as working directory).
    pub fn prepare(&mut self, kinds: &[Kind]) -> Result<(), LoadError> {
        for &kind in kinds {
            match kind {
                Kind::Accord => {
                    if !self.accord_bin.is_file() {
                        return Err(LoadError::Setup(format!(
                            "{} not found: build it with `cargo build --release -p accord-server --bins`",
                            self.accord_bin.display()
                        )));
                    }
                    self.accord_bin = std::fs::canonicalize(&self.accord_bin)?;
                }
                Kind::Js | Kind::Js25 => {
                    let dir = if kind == Kind::Js {
                        &mut self.js_dir
                    } else {
                        &mut self.js25_dir
                    };
                    *dir = std::fs::canonicalize(&*dir)?;
                    if !dir.join("node_modules").is_dir() {
                        run_setup(
                            Command::new("npm")
                                .args(["ci", "--no-audit", "--no-fund"])
                                .current_dir(&*dir),
                            &format!("npm ci in {}", dir.display()),
                        )?;
                    }
                }
                Kind::Samod => {
                    self.samod_dir = std::fs::canonicalize(&self.samod_dir)?;
                    std::fs::create_dir_all(&self.samod_target_dir)?;
                    self.samod_target_dir = std::fs::canonicalize(&self.samod_target_dir)?;
                    run_setup(
                        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                            .args(["build", "--release", "--locked", "--manifest-path"])
                            .arg(self.samod_dir.join("Cargo.toml"))
                            .arg("--target-dir")
                            .arg(&self.samod_target_dir),
                        "building the samod relay",
                    )?;
                }
            }
        }
        Ok(())
    }

    fn samod_bin(&self) -> PathBuf {
        self.samod_target_dir
            .join("release")
            .join("accord-bench-samod-relay")
    }
}

/// Runs a setup command with its output on our stderr.
fn run_setup(command: &mut Command, what: &str) -> Result<(), LoadError> {
    eprintln!("[accord-load] {what}");
    let status = command
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| LoadError::Setup(format!("{what}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(LoadError::Setup(format!("{what} failed ({status})")))
    }
}

/// A scratch directory removed on drop.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// Creates a fresh one under the system temp dir.
    pub fn new(label: &str) -> Result<Self, LoadError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("accord-load-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // `ACCORD_LOAD_KEEP=1` keeps data and relay logs for inspection.
        if std::env::var_os("ACCORD_LOAD_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A running relay process with its own data directory.
pub struct RelayProcess {
    kind: Kind,
    child: Child,
    http: String,
    token: Option<String>,
}

impl RelayProcess {
    /// Starts `kind` on `127.0.0.1:0` with data in `data_dir` (reused across restarts).
    pub fn start(launcher: &Launcher, kind: Kind, data_dir: &Path) -> Result<Self, LoadError> {
        Self::start_with(launcher, kind, data_dir, &[])
    }

    /// [`Self::start`] with extra `accord serve` arguments (Accord only).
    pub fn start_with(
        launcher: &Launcher,
        kind: Kind,
        data_dir: &Path,
        serve_args: &[String],
    ) -> Result<Self, LoadError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data_dir.join(format!("{}-relay.log", kind.name())))?;
        let mut command = match kind {
            Kind::Accord => {
                let mut c = Command::new(&launcher.accord_bin);
                c.arg("--data-dir")
                    .arg(data_dir.join("db"))
                    .args(["serve", "--listen", "127.0.0.1:0"])
                    .args(serve_args)
                    .env("RUST_LOG", "warn");
                c
            }
            Kind::Js | Kind::Js25 => {
                let dir = if kind == Kind::Js {
                    &launcher.js_dir
                } else {
                    &launcher.js25_dir
                };
                let mut c = Command::new(&launcher.node);
                c.arg(dir.join("server.mjs"))
                    .current_dir(dir)
                    .env("DATA_DIR", data_dir.join("db"))
                    .env("PORT", "0");
                c
            }
            Kind::Samod => {
                let mut c = Command::new(launcher.samod_bin());
                c.env("DATA_DIR", data_dir.join("db"))
                    .env("PORT", "0")
                    .env("RUST_LOG", "warn");
                c
            }
        };
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| LoadError::Relay(format!("starting {}: {e}", kind.name())))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| LoadError::Relay("no stdout".into()))?;
        let Some(line) = first_line(stdout, Duration::from_secs(30)) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(LoadError::Relay(format!(
                "{} exited or printed no address within 30 s (see its log in {})",
                kind.name(),
                data_dir.display()
            )));
        };
        let Some(addr) = line
            .rsplit("http://")
            .next()
            .filter(|_| line.contains("http://"))
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(LoadError::Relay(format!("unexpected first line {line:?}")));
        };
        Ok(Self {
            kind,
            child,
            http: format!("http://{}", addr.trim()),
            token: None,
        })
    }

    /// Which relay this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The sync URL; on Accord, registers a device on first use (pass the token
    /// back in with [`Self::set_token`] after a restart).
    pub async fn sync_url(&mut self) -> Result<String, LoadError> {
        match self.kind {
            Kind::Js | Kind::Js25 | Kind::Samod => {
                let url = format!("ws://{}", self.http.trim_start_matches("http://"));
                wait_until_serving(&url).await?;
                Ok(url)
            }
            Kind::Accord => {
                let token = match &self.token {
                    Some(token) => token.clone(),
                    None => {
                        let token = http::register_device(&self.http, "accord-load").await?;
                        self.token = Some(token.clone());
                        token
                    }
                };
                Ok(http::accord_sync_url(&self.http, &token))
            }
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn http(&self) -> &str {
        &self.http
    }

    /// The device token in use (Accord only).
    pub fn token(&self) -> Option<String> {
        self.token.clone()
    }

    /// Reuses a device registered before a restart.
    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token;
    }

    /// Kills the process with SIGKILL: no shutdown, nothing flushed.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the process: SIGINT (both relays shut down cleanly on it), then SIGKILL after 10 s.
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = self.child.id().to_string();
        let _ = Command::new("kill")
            .args(["-INT", &pid])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Retries a join/peer handshake until it succeeds (at most ~10 s).
///
/// The JS servers print its address before its repo has finished starting: a
/// peer that joins in the first milliseconds has its socket closed with no
/// reply (the repo's storage id is still being read), so wait it out.
async fn wait_until_serving(url: &str) -> Result<(), LoadError> {
    let mut last = String::new();
    for _ in 0..100 {
        match Client::connect(url).await {
            Ok(client) => {
                client.disconnect();
                return Ok(());
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(LoadError::Relay(format!(
        "never completed a handshake: {last}"
    )))
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.terminate();
    }
}
