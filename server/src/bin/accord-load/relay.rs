//! Starting and stopping relay processes on 127.0.0.1 for comparisons.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use accord_server::client::Client;
use serde::Serialize;

use crate::error::LoadError;
use crate::http;

/// Which relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
pub enum Kind {
    /// Ours (`accord serve`).
    Accord,
    /// `@automerge/automerge-repo-sync-server` via `tests/bench/js/server.mjs`.
    Js,
}

impl Kind {
    /// Short display name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Accord => "accord",
            Self::Js => "js",
        }
    }
}

/// How to start either relay.
#[derive(Debug, Clone)]
pub struct Launcher {
    /// The `accord` binary.
    pub accord_bin: PathBuf,
    /// The Node.js executable.
    pub node: String,
    /// Directory with `server.mjs` and its `node_modules`.
    pub js_dir: PathBuf,
}

impl Launcher {
    /// Checks that both relays can be started and makes their paths absolute
    /// (the JS server runs with its own directory as working directory).
    pub fn check(&mut self) -> Result<(), LoadError> {
        if !self.accord_bin.is_file() {
            return Err(LoadError::Setup(format!(
                "{} not found: build it with `cargo build --release -p accord-server --bins`",
                self.accord_bin.display()
            )));
        }
        if !self.js_dir.join("node_modules").is_dir() {
            return Err(LoadError::Setup(format!(
                "{}/node_modules missing: run `npm ci` there",
                self.js_dir.display()
            )));
        }
        self.accord_bin = std::fs::canonicalize(&self.accord_bin)?;
        self.js_dir = std::fs::canonicalize(&self.js_dir)?;
        Ok(())
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
                    .env("RUST_LOG", "warn");
                c
            }
            Kind::Js => {
                let script = launcher.js_dir.join("server.mjs");
                let mut c = Command::new(&launcher.node);
                c.arg(script)
                    .current_dir(&launcher.js_dir)
                    .env("DATA_DIR", data_dir.join("db"))
                    .env("PORT", "0");
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
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else {
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
            Kind::Js => {
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
/// The JS server prints its address before its repo has finished starting: a
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
