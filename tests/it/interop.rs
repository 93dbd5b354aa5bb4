//! Interop with stock automerge-repo peers through our relay: the JavaScript
//! `@automerge/automerge-repo` client (the scripts in `tests/interop/js`, run
//! with `node`) and the Rust `samod` crate.
//!
//! The JavaScript dependencies must be installed first:
//! `npm ci --prefix tests/interop/js`.

use std::path::PathBuf;
use std::process::Stdio;
use std::str::FromStr;
use std::time::Duration;

use accord_server::client::Client;
use accord_shared::automerge::transaction::Transactable;
use accord_shared::automerge::{AutoSerde, Automerge, ChangeHash, ObjType, ROOT};
use accord_shared::ids::DocumentId;
use serde_json::{Value, json};

use crate::helpers::{Device, Relay, WAIT, content};

/// The deadline a script sets for itself; shorter than ours, so a stuck
/// script explains what it was waiting for before we kill it.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(25);

/// Exit code of the scripts when the relay answered `doc-unavailable`.
const EXIT_UNAVAILABLE: i32 = 3;

/// The JavaScript interop package, checked to have its dependencies installed.
fn js_dir() -> PathBuf {
    let dir = crate::helpers::workspace_root().join("tests/interop/js");
    assert!(
        dir.join("node_modules/@automerge/automerge-repo").is_dir(),
        "the JavaScript interop clients are not installed: run `npm ci --prefix tests/interop/js` \
         from the workspace root (looked in {})",
        dir.display()
    );
    dir
}

/// What a finished script printed.
#[derive(Debug)]
pub(crate) struct JsRun {
    /// The exit code (`None` if killed by a signal).
    code: Option<i32>,
    /// Every stdout line, parsed as JSON.
    lines: Vec<Value>,
    /// Everything on stderr.
    stderr: String,
}

impl JsRun {
    /// The last JSON line, asserting the script succeeded.
    pub(crate) fn ok(self, what: &str) -> Value {
        assert_eq!(
            self.code,
            Some(0),
            "{what} failed; stderr:\n{}\nstdout: {:?}",
            self.stderr,
            self.lines
        );
        self.lines
            .into_iter()
            .last()
            .unwrap_or_else(|| panic!("{what} printed no JSON line"))
    }
}

/// Runs `node <script> <args…>` in the interop package, bounded by [`WAIT`].
pub(crate) async fn node(script: &str, args: &[&str]) -> JsRun {
    let dir = js_dir();
    let mut command = tokio::process::Command::new("node");
    command
        .arg(script)
        .args(args)
        .current_dir(&dir)
        .env(
            "INTEROP_TIMEOUT_MS",
            SCRIPT_DEADLINE.as_millis().to_string(),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("starting `node {script}` (is node on PATH?): {e}"));
    let output = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("`node {script} {args:?}` did not finish within {WAIT:?}"))
        .unwrap_or_else(|e| panic!("waiting for `node {script}`: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines = stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("`node {script}` printed a non-JSON line {line:?}: {e}"))
        })
        .collect();
    JsRun {
        code: output.status.code(),
        lines,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A document created by a stock client (`create.mjs`) connected as
/// `device`; returns its result line.
async fn js_create(relay: &Relay, device: &Device) -> Value {
    node("create.mjs", &[&relay.ws_url(&device.token)])
        .await
        .ok("create.mjs")
}

/// The document id in a script's result line (`"url": "automerge:…"`).
fn url_id(result: &Value) -> DocumentId {
    let url = result["url"]
        .as_str()
        .unwrap_or_else(|| panic!("no url in {result}"));
    DocumentId::parse_url_or_id(url).unwrap_or_else(|e| panic!("parsing {url:?}: {e}"))
}

/// The Automerge change hashes in a script's result line (`"hexHeads"`), sorted.
pub(crate) fn hex_heads(result: &Value) -> Vec<ChangeHash> {
    let mut heads: Vec<ChangeHash> = result["hexHeads"]
        .as_array()
        .unwrap_or_else(|| panic!("no hexHeads in {result}"))
        .iter()
        .map(|head| {
            let hex = head.as_str().expect("a head is a string");
            ChangeHash::from_str(hex).unwrap_or_else(|e| panic!("parsing head {hex:?}: {e}"))
        })
        .collect();
    heads.sort();
    heads
}

/// Waits until `client` holds the heads a script reported in `result`.
pub(crate) async fn wait_script_heads(client: &Client, id: DocumentId, result: &Value) {
    client
        .wait_heads(id, &hex_heads(result), WAIT)
        .await
        .unwrap();
}

/// Sets `key` to the JSON `value` in the document at `url` with a stock
/// client (`edit.mjs`) connected to `ws_url`; returns its result line.
pub(crate) async fn js_edit(ws_url: &str, url: &str, key: &str, value: &str) -> Value {
    node("edit.mjs", &[ws_url, url, key, value])
        .await
        .ok(&format!("edit.mjs setting {key}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_client_creates_and_a_granted_js_client_finds() {
    let (relay, [alice, bob]) = Relay::with_devices(["alice", "bob"]);

    let created = node("create.mjs", &[&relay.ws_url(&alice.token), "from js"])
        .await
        .ok("create.mjs");
    let id = url_id(&created);
    assert_eq!(
        created["doc"],
        json!({ "title": "from js", "items": ["one", "two"] })
    );

    relay.share(&alice, id, &bob, "editor", "Beta Corp");
    let url = id.url();
    let found = node("find.mjs", &[&relay.ws_url(&bob.token), &url])
        .await
        .ok("find.mjs as the invited device");
    assert_eq!(found["doc"], created["doc"]);
    assert_eq!(hex_heads(&found), hex_heads(&created));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_find_without_a_grant_is_unavailable() {
    let (relay, [alice, mallory]) = Relay::with_devices(["alice", "mallory"]);
    let created = js_create(&relay, &alice).await;
    let url = url_id(&created).url();

    let run = node("find.mjs", &[&relay.ws_url(&mallory.token), &url]).await;
    assert_eq!(
        run.code,
        Some(EXIT_UNAVAILABLE),
        "an ungranted find must end as unavailable; stderr:\n{}",
        run.stderr
    );
    assert_eq!(run.lines, vec![json!({ "unavailable": url })]);
    assert!(run.stderr.contains("unavailable"), "stderr: {}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_creates_js_finds_and_edits_native_sees_the_edit() {
    let (relay, [alice, bob], native, id) = Relay::with_document(["alice", "bob"], |tx| {
        tx.put(ROOT, "title", "from rust")?;
        let list = tx.put_object(ROOT, "items", ObjType::List)?;
        tx.insert(&list, 0, "alpha")?;
        Ok(())
    })
    .await;
    relay.share(&alice, id, &bob, "editor", "Beta Corp");
    let url = id.url();

    let found = node("find.mjs", &[&relay.ws_url(&bob.token), &url])
        .await
        .ok("find.mjs");
    assert_eq!(found["doc"], content(&native, id));
    assert_eq!(hex_heads(&found), native.heads(id));

    let edited = js_edit(&relay.ws_url(&bob.token), &url, "reply", "\"from js\"").await;
    wait_script_heads(&native, id, &edited).await;
    let doc = content(&native, id);
    assert_eq!(doc, edited["doc"]);
    assert_eq!(
        doc,
        json!({ "title": "from rust", "items": ["alpha"], "reply": "from js" })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_creates_native_finds() {
    let (relay, [alice, bob]) = Relay::with_devices(["alice", "bob"]);
    let created = js_create(&relay, &alice).await;
    let id = url_id(&created);
    let native = relay
        .member_holding(&alice, id, &bob, "viewer", "Beta Corp")
        .await;
    wait_script_heads(&native, id, &created).await;
    assert_eq!(content(&native, id), created["doc"]);
}

/// A `samod` repo (in memory) connected to the relay as the device with
/// `token`; returns it with the id of its connection to the relay.
async fn samod_peer(relay: &Relay, token: &str) -> (samod::Repo, samod::ConnectionId) {
    let repo = samod::Repo::build_tokio().load().await;
    let url = samod::Url::parse(&relay.ws_url(token)).expect("the relay URL parses");
    let dialer = repo
        .dial_websocket(url, samod::BackoffConfig::default())
        .expect("samod is running");
    tokio::time::timeout(WAIT, dialer.established())
        .await
        .expect("samod connected to the relay in time")
        .expect("samod's handshake with the relay succeeded");
    let connection = dialer
        .connection_id()
        .expect("an established dialer has a connection");
    (repo, connection)
}

/// Converts between the two crates' document ids through their shared text form.
fn samod_id(id: DocumentId) -> samod::DocumentId {
    id.to_string()
        .parse()
        .unwrap_or_else(|e| panic!("samod rejects document id {id}: {e:?}"))
}

/// A samod document's content as JSON, in the same form as [`content`].
fn samod_content(handle: &samod::DocHandle) -> Value {
    handle.with_document(|doc| {
        serde_json::to_value(AutoSerde::from(&*doc)).expect("a document serializes to JSON")
    })
}

/// The sorted heads of a samod document.
fn samod_heads(handle: &samod::DocHandle) -> Vec<ChangeHash> {
    let mut heads = handle.with_document(|doc| doc.get_heads());
    heads.sort();
    heads
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samod_creates_native_finds() {
    let (relay, [alice, bob]) = Relay::with_devices(["alice", "bob"]);
    let (repo, connection) = samod_peer(&relay, &alice.token).await;

    let mut initial = Automerge::new();
    initial
        .transact(|tx| {
            tx.put(ROOT, "title", "from samod")?;
            tx.put(ROOT, "count", 3_i64)
        })
        .map_err(|failure| failure.error)
        .expect("building samod's initial document");
    let handle = tokio::time::timeout(WAIT, repo.create(initial))
        .await
        .expect("samod created the document in time")
        .expect("samod is running");
    // samod's view of the relay's heads comes from the relay's sync replies,
    // which the relay only sends once the changes are committed.
    tokio::time::timeout(WAIT, handle.they_have_our_changes(connection))
        .await
        .expect("the relay confirmed samod's changes in time");
    let id = DocumentId::parse_url_or_id(&handle.url().to_string())
        .expect("samod's URL is an automerge URL we parse");
    assert_eq!(id.to_string(), handle.document_id().to_string());

    let native = relay
        .member_holding(&alice, id, &bob, "editor", "Beta Corp")
        .await;
    native
        .wait_heads(id, &samod_heads(&handle), WAIT)
        .await
        .unwrap();
    let doc = content(&native, id);
    assert_eq!(doc, json!({ "title": "from samod", "count": 3 }));
    assert_eq!(doc, samod_content(&handle));
    repo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_creates_samod_finds_and_edits_native_sees_the_edit() {
    let (relay, [alice, bob], native, id) = Relay::with_document(["alice", "bob"], |tx| {
        tx.put(ROOT, "title", "from rust")?;
        Ok(())
    })
    .await;
    relay.share(&alice, id, &bob, "editor", "Beta Corp");

    let (repo, connection) = samod_peer(&relay, &bob.token).await;
    let handle = tokio::time::timeout(WAIT, repo.find(samod_id(id)))
        .await
        .expect("samod's find finished in time")
        .expect("samod is running")
        .unwrap_or_else(|| panic!("samod could not find {id} through the relay"));
    tokio::time::timeout(WAIT, handle.we_have_their_changes(connection))
        .await
        .expect("samod received the relay's changes in time");
    assert_eq!(samod_heads(&handle), native.heads(id));
    assert_eq!(samod_content(&handle), content(&native, id));

    handle.with_document(|doc| {
        doc.transact(|tx| tx.put(ROOT, "reply", "from samod"))
            .map_err(|failure| failure.error)
            .expect("editing in samod");
    });
    tokio::time::timeout(WAIT, handle.they_have_our_changes(connection))
        .await
        .expect("the relay confirmed samod's edit in time");
    native
        .wait_heads(id, &samod_heads(&handle), WAIT)
        .await
        .unwrap();
    let doc = content(&native, id);
    assert_eq!(doc, json!({ "title": "from rust", "reply": "from samod" }));
    assert_eq!(doc, samod_content(&handle));
    repo.stop().await;
}
