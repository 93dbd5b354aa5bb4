//! Browser end-to-end: the built web app (`ACCORD_WEB_DIST`) served by a real
//! relay, driven in headless Chromium through chromedriver. The W3C WebDriver
//! protocol is plain JSON over HTTP, so this speaks it directly with the
//! suite's HTTP helper instead of pulling in an async WebDriver crate.
//!
//! Set `ACCORD_SKIP_BROWSER=1` to skip; otherwise a missing Chromium,
//! chromedriver or dist fails the test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Relay, TempDir, WAIT};

/// One HTTP/1.1 request to chromedriver. Its server keeps connections open
/// regardless of `Connection: close`, so the body is read by `Content-Length`.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    _token: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connecting to chromedriver");
    stream
        .set_read_timeout(Some(WAIT * 2))
        .expect("setting a timeout");
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .expect("sending to chromedriver");
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader
        .read_line(&mut status_line)
        .expect("reading chromedriver's status line");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut length = None;
    loop {
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .expect("reading chromedriver's headers");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut bytes = Vec::new();
    match length {
        Some(n) => {
            bytes.resize(n, 0);
            reader
                .read_exact(&mut bytes)
                .expect("reading chromedriver's body");
        }
        None => {
            reader
                .read_to_end(&mut bytes)
                .expect("reading chromedriver's body");
        }
    }
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Chromium flags for CI-like, hermetic runs.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,900",
];

/// W3C WebDriver's key for element references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// What the test needs from the machine, or `None` when told to skip.
struct Setup {
    dist: PathBuf,
    chromium: PathBuf,
    chromedriver: PathBuf,
}

fn setup() -> Option<Setup> {
    if std::env::var("ACCORD_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        println!("SKIPPED browser end-to-end test: ACCORD_SKIP_BROWSER=1");
        return None;
    }
    let dist = std::env::var_os("ACCORD_WEB_DIST").map(PathBuf::from).unwrap_or_else(|| {
        panic!("ACCORD_WEB_DIST is not set: build the web app (`cargo xtask web`) and point it at dist/, or set ACCORD_SKIP_BROWSER=1")
    });
    assert!(
        dist.join("index.html").is_file() && dist.join("pkg").join("accord_app_bg.wasm").is_file(),
        "ACCORD_WEB_DIST={} holds no built web app (index.html, pkg/accord_app_bg.wasm)",
        dist.display()
    );
    let chromium = find_program("CHROME", &["chromium", "chromium-browser", "google-chrome"])
        .expect("Chromium not found (install Debian's `chromium`, or set CHROME), or set ACCORD_SKIP_BROWSER=1");
    let chromedriver = find_program("CHROMEDRIVER", &["chromedriver"])
        .expect("chromedriver not found (install Debian's `chromium-driver`, or set CHROMEDRIVER), or set ACCORD_SKIP_BROWSER=1");
    Some(Setup {
        dist,
        chromium,
        chromedriver,
    })
}

/// `$env` if set, else the first of `names` on `PATH`.
fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// A chromedriver process on a free loopback port, killed on drop.
struct Chromedriver {
    child: Child,
    addr: SocketAddr,
}

impl Chromedriver {
    fn start(program: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("finding a free port")
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
        let driver = Self { child, addr };
        let deadline = Instant::now() + WAIT;
        loop {
            if TcpStream::connect(addr).is_ok() {
                let (status, body) = http(addr, "GET", "/status", None, None);
                let ready = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| v["value"]["ready"].as_bool());
                if status == 200 && ready == Some(true) {
                    return driver;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready on {addr}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One Chromium session with its own fresh profile directory.
struct Browser {
    driver: SocketAddr,
    session: String,
    name: &'static str,
    _profile: TempDir,
}

impl Browser {
    fn open(driver: &Chromedriver, chromium: &Path, name: &'static str) -> Self {
        let profile = TempDir::new(&format!("chromium-{name}"));
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:loggingPrefs": { "browser": "ALL" },
                    "goog:chromeOptions": { "binary": chromium, "args": args },
                }
            }
        });
        let (status, body) = http(
            driver.addr,
            "POST",
            "/session",
            None,
            Some(&capabilities.to_string()),
        );
        let value: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let session = value["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver refused a session ({status}): {body}"))
            .to_owned();
        Self {
            driver: driver.addr,
            session,
            name,
            _profile: profile,
        }
    }

    /// One WebDriver command; returns `Err((error code, message))` on a WebDriver error.
    fn try_cmd(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, (String, String)> {
        let url = format!("/session/{}{path}", self.session);
        let body = body.map(|b| b.to_string());
        let (status, text) = http(self.driver, method, &url, None, body.as_deref());
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status == 200 {
            return Ok(value["value"].clone());
        }
        let error = value["value"]["error"]
            .as_str()
            .unwrap_or("unknown error")
            .to_owned();
        let message = value["value"]["message"]
            .as_str()
            .unwrap_or(&text)
            .to_owned();
        Err((error, message))
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_cmd(method, path, body)
            .unwrap_or_else(|(error, message)| {
                panic!(
                    "[{}] WebDriver {method} {path}: {error}: {message}",
                    self.name
                )
            })
    }

    /// The browser console so far (chromedriver's log extension), for failure messages.
    fn console(&self) -> String {
        let entries = self
            .try_cmd("POST", "/se/log", Some(json!({ "type": "browser" })))
            .unwrap_or(Value::Null);
        entries
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|e| {
                        format!(
                            "  {} {}",
                            e["level"].as_str().unwrap_or("?"),
                            e["message"].as_str().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    fn refresh(&self) {
        self.cmd("POST", "/refresh", Some(json!({})));
    }

    /// Elements with `data-testid`, in document order.
    fn find_all(&self, test_id: &str) -> Vec<String> {
        let selector = format!("[data-testid='{test_id}']");
        let found = self.cmd(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": selector })),
        );
        found
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Text of every element with `data-testid` (empty when there are none).
    fn texts(&self, test_id: &str) -> Vec<String> {
        self.find_all(test_id)
            .iter()
            .filter_map(|id| {
                self.try_cmd("GET", &format!("/element/{id}/text"), None)
                    .ok()
            })
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }

    fn property(&self, test_id: &str, name: &str) -> Option<Value> {
        let id = self.find_all(test_id).into_iter().next()?;
        self.try_cmd("GET", &format!("/element/{id}/property/{name}"), None)
            .ok()
    }

    fn status(&self) -> String {
        self.texts("sync-status")
            .into_iter()
            .next()
            .unwrap_or_else(|| "<no sync-status element>".into())
    }

    /// Polls `check` until it holds or [`WAIT`] runs out, then fails saying what was awaited.
    fn wait_until(&self, what: &str, check: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !check(self) {
            if Instant::now() > deadline {
                let errors = self.texts("error").join(" | ");
                panic!(
                    "[{}] timed out waiting for {what}; sync status {:?}; errors: {errors:?}; console:\n{}",
                    self.name,
                    self.status(),
                    self.console()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_status(&self, expected: &str) {
        self.wait_until(&format!("sync status {expected:?}"), |b| {
            b.status() == expected
        });
    }

    fn wait_value(&self, test_id: &str, expected: &str) {
        self.wait_until(&format!("{test_id} to read {expected:?}"), |b| {
            b.property(test_id, "value").is_some_and(|v| v == expected)
        });
    }

    fn click(&self, test_id: &str) {
        self.wait_until(&format!("{test_id} to be enabled"), |b| {
            b.property(test_id, "disabled").is_some_and(|v| v == false)
        });
        let id = self
            .find_all(test_id)
            .into_iter()
            .next()
            .expect("element present");
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Clears the field and types `text` into it, as a user would.
    fn type_into(&self, test_id: &str, text: &str) {
        self.wait_until(&format!("{test_id} to appear"), |b| {
            !b.find_all(test_id).is_empty()
        });
        let id = self
            .find_all(test_id)
            .into_iter()
            .next()
            .expect("element present");
        self.cmd("POST", &format!("/element/{id}/clear"), Some(json!({})));
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.try_cmd("DELETE", "", None);
    }
}

#[test]
fn partnership_is_saved_on_relay_and_survives_reload() {
    let Some(setup) = setup() else { return };
    let relay = Relay::start_with_web(&setup.dist);
    let driver = Chromedriver::start(&setup.chromedriver);
    let alice = Browser::open(&driver, &setup.chromium, "alice");
    let bob = Browser::open(&driver, &setup.chromium, "bob");
    let home = format!("{}/", relay.http_url());

    // The page loads, registers the device and connects.
    alice.goto(&home);
    let title = alice.cmd("GET", "/title", None);
    assert_eq!(title, "Accord");
    alice.wait_status("saved on relay");
    assert!(
        alice.texts("partnership-link").is_empty(),
        "a fresh profile holds no partnerships"
    );

    // Alice creates a partnership and edits it; the relay confirms it is stored.
    alice.click("new-partnership");
    alice.wait_value("title-input", "Untitled partnership");
    alice.type_into("title-input", "Acme + Globex pilot");
    alice.type_into("purpose-input", "Joint go-to-market in the Nordics");
    alice.wait_value("title-input", "Acme + Globex pilot");
    alice.wait_status("saved on relay");

    // After a reload everything comes back from IndexedDB.
    alice.refresh();
    alice.wait_value("title-input", "Acme + Globex pilot");
    alice.wait_value("purpose-input", "Joint go-to-market in the Nordics");
    alice.goto(&home);
    alice.wait_until("the list to show the partnership", |b| {
        b.texts("partnership-link") == ["Acme + Globex pilot"]
    });
    alice.wait_status("saved on relay");
    alice.wait_until("the list to show that partnership's sync state", |b| {
        b.texts("partnership-status") == ["saved on relay"]
    });

    // A second profile is a separate device: nothing of Alice's is stored there.
    bob.goto(&home);
    bob.wait_status("saved on relay");
    assert!(
        bob.texts("partnership-link").is_empty(),
        "bob's profile must not see alice's local data"
    );
}
