//! A minimal W3C WebDriver client for the browser end-to-end modules: finding
//! Chromium and chromedriver, starting chromedriver on a free port, and one
//! JSON request at a time (chromedriver keeps connections open, so bodies are
//! read by `Content-Length`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::WAIT;

/// What a browser test needs from the machine.
pub struct Setup {
    /// The built web app.
    pub dist: PathBuf,
    /// The Chromium binary.
    pub chromium: PathBuf,
    /// The chromedriver binary.
    pub chromedriver: PathBuf,
}

/// The built app (`ACCORD_WEB_DIST`), Chromium and chromedriver; `None` when
/// `ACCORD_SKIP_BROWSER=1` (printing that `what` was skipped). Anything
/// missing otherwise fails the test with a message saying how to fix it.
pub fn setup(what: &str) -> Option<Setup> {
    if std::env::var("ACCORD_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        println!("SKIPPED {what}: ACCORD_SKIP_BROWSER=1");
        return None;
    }
    let dist = std::env::var_os("ACCORD_WEB_DIST")
        .map(PathBuf::from)
        .expect("ACCORD_WEB_DIST is not set: run `cargo xtask web` and point it at dist/, or set ACCORD_SKIP_BROWSER=1");
    let has_wasm = std::fs::read_dir(dist.join("pkg")).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("accord_app_bg.") && name.ends_with(".wasm")
        })
    });
    assert!(
        dist.join("index.html").is_file() && has_wasm,
        "ACCORD_WEB_DIST={} holds no built web app",
        dist.display()
    );
    Some(Setup {
        dist,
        chromium: program("CHROME", &["chromium", "chromium-browser", "google-chrome"]),
        chromedriver: program("CHROMEDRIVER", &["chromedriver"]),
    })
}

/// `$env` if set, else the first of `names` on `PATH`.
fn program(env: &str, names: &[&str]) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{names:?} not found (or set {env}, or ACCORD_SKIP_BROWSER=1)"))
}

/// One request to chromedriver; the body is read by `Content-Length`.
pub fn request(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(addr).expect("connecting to chromedriver");
    stream
        .set_read_timeout(Some(WAIT * 2))
        .expect("setting a timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("writing to chromedriver");
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).expect("status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut length = None;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).expect("header");
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut bytes = vec![0; length.unwrap_or(0)];
    if length.is_some() {
        reader.read_exact(&mut bytes).expect("body");
    } else {
        reader.read_to_end(&mut bytes).expect("body");
    }
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// chromedriver on a free port, killed on drop.
pub struct Driver {
    child: Child,
    /// Where chromedriver listens.
    pub addr: SocketAddr,
}

impl Driver {
    /// Starts chromedriver and waits until it is ready.
    pub fn start(program: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let driver = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect(driver.addr).is_err()
            || request(driver.addr, "GET", "/status", None).1["value"]["ready"] != true
        {
            assert!(Instant::now() < deadline, "chromedriver never became ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
