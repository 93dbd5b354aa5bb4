//! Shared test helpers: a real relay process on 127.0.0.1, a tiny HTTP client
//! for its JSON API, and waiting for clients to converge.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use accord_server::client::Client;
use accord_server::first_line::first_line;
use accord_server::plain_http;
use accord_shared::automerge::ROOT;
use accord_shared::automerge::transaction::{Transactable, Transaction};
use accord_shared::automerge::{AutoSerde, AutomergeError, ChangeHash};
use accord_shared::ids::{DocumentId, PeerId};
use serde_json::{Value, json};

/// How long any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// The `accord` binary: `ACCORD_BIN`, or built once with cargo.
pub fn relay_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        built_binary(
            "ACCORD_BIN",
            &["build", "--quiet", "-p", "accord-server", "--bin", "accord"],
            None,
            "debug",
        )
    })
}

/// The shippable `accord`: `ACCORD_RELEASE_BIN`, or built once with
/// `cargo build --release --features embed-web` around the web app in
/// `dist` (the build embeds it).
pub fn release_binary(dist: &Path) -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        built_binary(
            "ACCORD_RELEASE_BIN",
            &[
                "build",
                "--quiet",
                "--release",
                "-p",
                "accord-server",
                "--features",
                "embed-web",
                "--bin",
                "accord",
            ],
            Some(dist),
            "release",
        )
    })
}

/// The binary named by `$env`, or `accord` built by `cargo <args>` (with
/// `ACCORD_WEB_DIST=web_dist` when given) in the target's `profile` folder.
fn built_binary(env: &str, args: &[&str], web_dist: Option<&Path>, profile: &str) -> PathBuf {
    if let Ok(path) = std::env::var(env) {
        return PathBuf::from(path);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(args).current_dir(workspace_root());
    if let Some(dist) = web_dist {
        build.env("ACCORD_WEB_DIST", dist);
    }
    let status = build
        .status()
        .unwrap_or_else(|e| panic!("running cargo {args:?}: {e}"));
    assert!(status.success(), "cargo {args:?} failed");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map_or_else(|_| workspace_root().join("target"), PathBuf::from);
    target.join(profile).join("accord")
}

/// A fresh, uniquely named directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates one.
    pub fn new(label: &str) -> Self {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("accord-test-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("creating a temp dir");
        Self(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A registered device.
#[derive(Debug, Clone)]
pub struct Device {
    /// Relay-assigned id.
    pub id: String,
    /// Bearer token.
    pub token: String,
}

/// A relay process listening on 127.0.0.1 with its own data directory.
pub struct Relay {
    /// Where it listens.
    pub addr: SocketAddr,
    child: Child,
    data: std::sync::Arc<TempDir>,
    args: Vec<String>,
    program: PathBuf,
    cwd: Option<PathBuf>,
    store: Option<String>,
}

impl Relay {
    /// A relay with default settings.
    pub fn start() -> Self {
        Self::start_with_args(&[])
    }

    /// A relay with a registered device for each of `names`.
    pub fn with_devices<const N: usize>(names: [&str; N]) -> (Self, [Device; N]) {
        let relay = Self::start();
        let devices = relay.register_all(names);
        (relay, devices)
    }

    /// A fresh relay with a device per name, the first of which has a
    /// connected client with a new document (written by `init`) that the
    /// relay stores: where most tests of sync and access start.
    pub async fn with_document<const N: usize>(
        names: [&str; N],
        init: impl FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
    ) -> (Self, [Device; N], Client, DocumentId) {
        Self::start().with_devices_and_document(names, init).await
    }

    /// [`Self::with_document`] on this relay (started with the arguments
    /// a test needs).
    pub async fn with_devices_and_document<const N: usize>(
        self,
        names: [&str; N],
        init: impl FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
    ) -> (Self, [Device; N], Client, DocumentId) {
        let devices = self.register_all(names);
        let (client, id) = self.client_with_new(&devices[0], init).await;
        (self, devices, client, id)
    }

    /// A relay that also serves the built web app in `dist`.
    pub fn start_with_web(dist: &Path) -> Self {
        Self::start_with_args(&["--web-dir", dist.to_str().expect("UTF-8 path")])
    }

    /// A relay with extra `accord serve` arguments.
    pub fn start_with_args(args: &[&str]) -> Self {
        Self::start_program(relay_binary(), None, args)
    }

    /// A relay from a given `accord` binary, started in `cwd` (default: the
    /// test's), with extra `accord serve` arguments.
    pub fn start_program(program: &Path, cwd: Option<&Path>, args: &[&str]) -> Self {
        let data = std::sync::Arc::new(TempDir::new("relay"));
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let (child, addr) = spawn_program(program, cwd, data.path(), &args);
        Self {
            addr,
            child,
            data,
            args,
            program: program.to_owned(),
            cwd: cwd.map(Path::to_owned),
            store: None,
        }
    }

    /// A relay keeping its data in the PostgreSQL database at `url`
    /// (`--store`), with extra `accord serve` arguments.
    pub fn start_on_postgres(url: &str, args: &[&str]) -> Self {
        let mut all = vec!["--store", url];
        all.extend_from_slice(args);
        let mut relay = Self::start_with_args(&all);
        relay.store = Some(url.to_owned());
        relay
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The web app's home page, `http://127.0.0.1:PORT/`.
    pub fn home_url(&self) -> String {
        format!("{}/", self.http_url())
    }

    /// The sync endpoint of a newly registered device called `name`.
    pub fn registered_ws_url(&self, name: &str) -> String {
        self.ws_url(&self.register(name).token)
    }

    /// The sync endpoint for a token.
    pub fn ws_url(&self, token: &str) -> String {
        format!("ws://{}/sync?token={token}", self.addr)
    }

    /// The relay process's resident memory in KiB (from `/proc`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// Sends the process a signal by name (`HUP`, `TERM`, `STOP`, `CONT`, …) with `kill`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Kills the process with SIGKILL: no shutdown, no flush.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the relay again on the same data directory (new port).
    pub fn restart(&mut self) {
        self.kill9();
        let (child, addr) = spawn_program(
            &self.program,
            self.cwd.as_deref(),
            self.data.path(),
            &self.args,
        );
        self.child = child;
        self.addr = addr;
    }

    /// Runs an operator subcommand against this relay's data directory
    /// (or its PostgreSQL database).
    pub fn operator(&self, args: &[&str]) -> std::process::Output {
        let mut command = Command::new(relay_binary());
        command.arg("--data-dir").arg(self.data_dir());
        if let Some(url) = &self.store {
            command.args(["--store", url]);
        }
        command
            .args(args)
            .output()
            .expect("running an accord subcommand")
    }

    /// Waits for the process to exit on its own; `None` if it still runs
    /// after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("polling the relay") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The value of a counter or gauge on `/metrics`.
    pub fn metric(&self, name: &str) -> u64 {
        let (status, text) = http(self.addr, "GET", "/metrics", None, None);
        assert_eq!(status, 200, "{text}");
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no metric {name}"))
    }

    /// A JSON API call; returns the status and the parsed body (`Null` if empty).
    pub fn api(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let (status, text) = http(
            self.addr,
            method,
            path,
            token,
            body.map(Value::to_string).as_deref(),
        );
        (status, plain_http::json_body(text))
    }

    /// Registers a device with a valid (fixed) public key.
    pub fn register(&self, name: &str) -> Device {
        let (status, body) = self.api(
            "POST",
            "/api/devices",
            None,
            Some(&json!({ "public_key": TEST_PUBLIC_KEY, "name": name })),
        );
        assert_eq!(status, 201, "registering {name}: {body}");
        Device {
            id: body["device_id"].as_str().unwrap().to_owned(),
            token: body["token"].as_str().unwrap().to_owned(),
        }
    }

    /// Registers one device per name (see [`Self::register`]).
    pub fn register_all<const N: usize>(&self, names: [&str; N]) -> [Device; N] {
        names.map(|name| self.register(name))
    }

    /// Creates an invite as `owner` and redeems it as `guest`.
    pub fn share(
        &self,
        owner: &Device,
        document: DocumentId,
        guest: &Device,
        role: &str,
        party: &str,
    ) {
        let code = self.invite(owner, document, role, party, 3600, 1);
        let (status, body) = self.redeem(guest, &code);
        assert_eq!(status, 200, "redeeming: {body}");
    }

    /// Claims `document` for `owner` as `party` through the JSON API (as
    /// the app does before anyone else holds it); fails unless the relay
    /// accepts.
    pub fn claim(&self, owner: &Device, document: DocumentId, party: &str) {
        let (status, body) = self.api(
            "PUT",
            &format!("/api/documents/{document}"),
            Some(&owner.token),
            Some(&json!({ "party": party })),
        );
        assert!((200..300).contains(&status), "claiming: {status} {body}");
    }

    /// Redeems the invite `code` as `device`; returns the status and body.
    pub fn redeem(&self, device: &Device, code: &str) -> (u16, Value) {
        self.api(
            "POST",
            "/api/invites/redeem",
            Some(&device.token),
            Some(&json!({ "code": code })),
        )
    }

    /// A JSON API call without a body, authenticated as `device`.
    pub fn api_as(&self, device: &Device, method: &str, path: &str) -> (u16, Value) {
        self.api(method, path, Some(&device.token), None)
    }

    /// A client of `device` that has fetched `document` from the relay.
    pub async fn client_holding(&self, device: &Device, document: DocumentId) -> Client {
        let client = self.client(device).await;
        client.find(document, WAIT).await.unwrap();
        client
    }

    /// Shares `document` of `owner` with `member` as `role` of `party`;
    /// returns a client of `member` that has fetched it.
    pub async fn member_holding(
        &self,
        owner: &Device,
        document: DocumentId,
        member: &Device,
        role: &str,
        party: &str,
    ) -> Client {
        self.share(owner, document, member, role, party);
        self.client_holding(member, document).await
    }

    /// A client of `device` with a new document written by `init` and
    /// stored on the relay.
    pub async fn client_with_new(
        &self,
        device: &Device,
        init: impl FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
    ) -> (Client, DocumentId) {
        let client = self.client(device).await;
        let id = client.create(init).unwrap();
        client.wait_synced(id, WAIT).await.unwrap();
        (client, id)
    }

    /// Creates an invite; returns its code.
    pub fn invite(
        &self,
        owner: &Device,
        document: DocumentId,
        role: &str,
        party: &str,
        expires_in_seconds: u64,
        uses: u32,
    ) -> String {
        let (status, body) = self.api(
            "POST",
            &format!("/api/documents/{document}/invites"),
            Some(&owner.token),
            Some(&json!({ "role": role, "party": party, "expires_in_seconds": expires_in_seconds, "uses": uses })),
        );
        assert_eq!(status, 201, "creating an invite: {body}");
        body["code"].as_str().unwrap().to_owned()
    }

    /// Connects a native client as `device`.
    pub async fn client(&self, device: &Device) -> Client {
        Client::connect(&self.ws_url(&device.token))
            .await
            .expect("connecting a client")
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// An Ed25519 public key (RFC 8032 test vector 1) for registering test devices.
pub const TEST_PUBLIC_KEY: &str =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

fn spawn_program(
    program: &Path,
    cwd: Option<&Path>,
    data_dir: &Path,
    args: &[String],
) -> (Child, SocketAddr) {
    let mut command = Command::new(program);
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let mut child = command
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting the relay");
    let stdout = child.stdout.take().expect("piped stdout");
    let line = first_line(stdout, WAIT).expect("the relay printed its address");
    let addr = line
        .rsplit("://")
        .next()
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (child, addr)
}

/// A minimal HTTP/1.1 request with `Connection: close`.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connecting to the relay");
    stream
        .set_read_timeout(Some(WAIT))
        .expect("setting a timeout");
    let body = body.unwrap_or("");
    let head = plain_http::request_head(method, path, &addr.to_string(), token, body.len());
    stream
        .write_all(format!("{head}{body}").as_bytes())
        .expect("sending the request");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .expect("reading the response");
    plain_http::response_parts(&String::from_utf8_lossy(&response))
}

/// Whether a URL path's file name carries a content hash
/// (`name.<16 hex digits>.ext`, as `xtask web` writes them).
pub fn is_hashed_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 3
        && parts[parts.len() - 2].len() == 16
        && parts[parts.len() - 2]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A whole HTTP response: status, headers (names lowercased) and body.
#[derive(Debug)]
pub struct Fetched {
    /// The status code.
    pub status: u16,
    /// Header names (lowercased) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body as sent (not decompressed).
    pub body: Vec<u8>,
}

impl Fetched {
    /// The first value of a header (`name` lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `GET path` with extra request headers over a plain TCP connection.
pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Fetched {
    let mut stream = TcpStream::connect(addr).expect("connecting to the relay");
    stream
        .set_read_timeout(Some(WAIT))
        .expect("setting a timeout");
    get_over(&mut stream, &addr.to_string(), path, headers)
}

/// `GET path` over any connected stream (plain or TLS); `host` is the
/// `Host` header.
pub fn get_over(
    stream: &mut (impl Read + Write),
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Fetched {
    request_over(stream, host, "GET", path, headers, "")
}

/// One request with `Connection: close` over any connected stream; the
/// response is read until the connection ends.
pub fn request_over(
    stream: &mut (impl Read + Write),
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Fetched {
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("sending the request");
    stream.flush().expect("sending the request");
    let mut response = Vec::new();
    let mut buf = [0; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            // A TLS peer that closes without close_notify after the body.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => panic!("reading the response: {e}"),
        }
    }
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = response[split + 4..].to_vec();
    Fetched {
        status,
        headers,
        body,
    }
}

/// The document's content as JSON, for comparing replicas.
pub fn content(client: &Client, id: DocumentId) -> Value {
    client
        .read(id, |doc| {
            serde_json::to_value(AutoSerde::from(doc)).expect("serializable")
        })
        .unwrap_or(Value::Null)
}

/// A stream of edits to `id`: `edit(n)` for each `n` of `values`, pausing
/// 2 ms at every multiple of 40 so the relay commits along the way.
/// Returns the last heads `relay` acknowledged (`acknowledged` if none).
pub async fn edit_stream(
    writer: &Client,
    id: DocumentId,
    relay: &PeerId,
    values: RangeInclusive<i64>,
    mut acknowledged: Vec<ChangeHash>,
    edit: impl Fn(&mut Transaction<'_>, i64) -> Result<(), AutomergeError>,
) -> Vec<ChangeHash> {
    for n in values {
        writer.change(id, |tx| edit(tx, n)).unwrap();
        if let Some(heads) = writer.acknowledged_heads(id, relay) {
            acknowledged = heads;
        }
        if n % 40 == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    acknowledged
}

/// Waits until every client holds the same, non-empty heads for `id`.
pub async fn converge(clients: &[&Client], id: DocumentId) {
    let deadline = Instant::now() + WAIT;
    loop {
        let first = clients[0].heads(id);
        if !first.is_empty() && clients.iter().all(|c| c.heads(id) == first) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "clients did not converge within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the relay has acknowledged `writer`'s changes to `id` and
/// `reader` holds the same heads.
pub async fn relayed(writer: &Client, reader: &Client, id: DocumentId) {
    writer.wait_synced(id, WAIT).await.unwrap();
    caught_up(reader, writer, id).await;
}

/// Waits until `reader` holds the heads `writer` holds for `id` now.
pub async fn caught_up(reader: &Client, writer: &Client, id: DocumentId) {
    reader
        .wait_heads(id, &writer.heads(id), WAIT)
        .await
        .unwrap();
}

/// Fails unless `text` (named `what` in the message) holds every one of
/// `parts`, naming the first one missing.
pub fn assert_holds_all(what: &str, text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{part} missing in the {what}:\n{text}");
    }
}

/// Writes `key = n` for each `n` of `values` as separate changes, waits
/// until the relay has them, and returns the heads it acknowledged.
pub async fn write_acknowledged(
    writer: &Client,
    id: DocumentId,
    key: &str,
    values: std::ops::Range<i64>,
) -> Vec<ChangeHash> {
    for n in values {
        writer.change(id, |tx| tx.put(ROOT, key, n)).unwrap();
    }
    writer.wait_synced(id, WAIT).await.unwrap();
    let relay = writer.relay_peer().unwrap();
    writer.acknowledged_heads(id, &relay).unwrap()
}

/// Whether the measurement `what` is asked for (`$var=1`); says it was
/// skipped when it is not. Measurements report numbers and check nothing.
pub fn measuring(var: &str, what: &str) -> bool {
    let asked = std::env::var(var).is_ok_and(|v| v == "1");
    if !asked {
        println!("SKIPPED {what}: set {var}=1");
    }
    asked
}
