//! Shipping the relay: how the web app is served and cached (from a
//! directory and built into the binary).

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_shared::protocol::{self, Message};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::helpers::{Relay, TEST_PUBLIC_KEY, TempDir, WAIT, get, get_over, request_over};

const HASHED_CSS: &str = "style.0123456789abcdef.css";
const HASHED_JS: &str = "pkg/app.fedcba9876543210.js";

/// A small `dist/` shaped like `xtask web`'s: an entry page, a worker, hashed
/// assets and precompressed variants (their bytes only need to differ).
fn write_dist(dir: &Path) {
    let files: &[(&str, &[u8])] = &[
        ("index.html", b"<!doctype html><title>Accord</title>"),
        ("index.html.br", b"index-as-brotli"),
        ("index.html.gz", b"index-as-gzip"),
        ("sw.js", b"// worker"),
        (HASHED_CSS, b"body{}"),
        ("pkg/app.fedcba9876543210.js", b"export default 1;"),
        ("pkg/app.fedcba9876543210.js.gz", b"js-as-gzip"),
    ];
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

#[test]
fn hashed_assets_are_immutable_and_entry_files_revalidate() {
    let dist = TempDir::new("dist");
    write_dist(dist.path());
    let relay = Relay::start_with_web(dist.path());

    // Hashed files: kept for a year, never revalidated.
    let css = get(relay.addr, &format!("/{HASHED_CSS}"), &[]);
    assert_eq!(css.status, 200);
    assert_eq!(
        css.header("strict-transport-security"),
        None,
        "no HSTS over plain HTTP"
    );
    assert_eq!(
        css.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(css.header("vary"), Some("Accept-Encoding"));
    assert_eq!(css.body, b"body{}");

    // The precompressed variant the client accepts, with its encoding.
    let js = get(
        relay.addr,
        &format!("/{HASHED_JS}"),
        &[("Accept-Encoding", "gzip, deflate, br")],
    );
    assert_eq!(js.header("content-encoding"), Some("gzip"), "no .br: gzip");
    assert_eq!(js.body, b"js-as-gzip");
    assert!(js.header("cache-control").unwrap().contains("immutable"));
    let js = get(relay.addr, &format!("/{HASHED_JS}"), &[]);
    assert_eq!(js.header("content-encoding"), None);
    assert_eq!(js.body, b"export default 1;");

    // Entry files: revalidated by ETag, one per variant.
    let page = get(relay.addr, "/", &[("Accept-Encoding", "br, gzip")]);
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-encoding"), Some("br"));
    assert_eq!(page.body, b"index-as-brotli");
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert_eq!(page.header("vary"), Some("Accept-Encoding"));
    assert!(page.header("content-security-policy").is_some());
    let etag = page
        .header("etag")
        .expect("index.html has an ETag")
        .to_owned();
    let again = get(
        relay.addr,
        "/",
        &[("Accept-Encoding", "br, gzip"), ("If-None-Match", &etag)],
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let plain = get(relay.addr, "/index.html", &[("If-None-Match", &etag)]);
    assert_eq!(plain.status, 200, "the identity body has another ETag");
    assert_eq!(plain.body, b"<!doctype html><title>Accord</title>");

    let worker = get(relay.addr, "/sw.js", &[]);
    assert_eq!(worker.header("cache-control"), Some("no-cache"));
    assert!(worker.header("etag").is_some());
    assert_eq!(
        worker.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );

    // Missing assets are 404, app routes get the page, hidden files nothing.
    for missing in [
        "/pkg/app.js",
        "/favicon.ico",
        "/style.css",
        "/.source-fingerprint",
    ] {
        assert_eq!(get(relay.addr, missing, &[]).status, 404, "{missing}");
    }
    let route = get(relay.addr, "/join/some-route", &[]);
    assert_eq!(route.status, 200);
    assert_eq!(route.header("cache-control"), Some("no-cache"));
    assert_eq!(route.body, b"<!doctype html><title>Accord</title>");
}

/// A fresh self-signed certificate for `localhost`, written as PEM to
/// `cert.pem` and `key.pem` in `dir`; returns it for a client's roots.
fn write_certificate(dir: &Path) -> CertificateDer<'static> {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .expect("generating a test certificate");
    std::fs::write(dir.join("cert.pem"), generated.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), generated.signing_key.serialize_pem()).unwrap();
    generated.cert.der().clone()
}

/// A TLS client that trusts only `root`.
fn client_config(root: &CertificateDer<'static>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(root.clone()).expect("a valid root");
    #[allow(deprecated)] // the relay uses ring too; see server/src/tls.rs
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// A completed TLS handshake with `localhost` at `addr`, or why it failed.
fn tls_connect(
    addr: SocketAddr,
    config: &Arc<ClientConfig>,
) -> std::io::Result<StreamOwned<ClientConnection, TcpStream>> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(WAIT))?;
    let name = ServerName::try_from("localhost").unwrap();
    let connection = ClientConnection::new(config.clone(), name).map_err(std::io::Error::other)?;
    let mut stream = StreamOwned::new(connection, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_relay_serves_https_and_wss_and_reloads_its_certificate_on_sighup() {
    let certs = TempDir::new("tls");
    let dist = TempDir::new("dist");
    write_dist(dist.path());
    let first = write_certificate(certs.path());
    let cert = certs.path().join("cert.pem");
    let key = certs.path().join("key.pem");
    // A free port for the plain-HTTP redirect listener.
    let redirect = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let relay = Relay::start_with_args(&[
        "--web-dir",
        dist.path().to_str().unwrap(),
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--redirect-http-listen",
        &redirect.to_string(),
    ]);
    let host = format!("localhost:{}", relay.addr.port());
    let trusts_first = client_config(&first);

    // The app over https.
    let mut stream =
        tls_connect(relay.addr, &trusts_first).expect("TLS with the first certificate");
    let page = get_over(&mut stream, &host, "/", &[]);
    assert_eq!(page.status, 200);
    assert_eq!(page.body, b"<!doctype html><title>Accord</title>");
    assert_eq!(
        page.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    assert!(
        page.header("content-security-policy")
            .is_some_and(|csp| csp.contains(&format!("wss://{host}"))),
        "{page:?}"
    );
    // Plain HTTP on the redirect listener is sent to https on the TLS port.
    let deadline = Instant::now() + WAIT;
    while TcpStream::connect(redirect).is_err() {
        assert!(
            Instant::now() < deadline,
            "the redirect listener never opened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut plain = TcpStream::connect(redirect).unwrap();
    let moved = get_over(&mut plain, "localhost", "/join/abc?x=1", &[]);
    assert_eq!(moved.status, 308);
    assert_eq!(
        moved.header("location"),
        Some(format!("https://{host}/join/abc?x=1").as_str())
    );
    // Plain HTTP on the TLS port gets no page (at most a TLS alert).
    {
        use std::io::{Read as _, Write as _};
        let mut plain = TcpStream::connect(relay.addr).unwrap();
        plain.set_read_timeout(Some(WAIT)).unwrap();
        plain
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let mut answer = Vec::new();
        let _ = plain.read_to_end(&mut answer);
        assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");
    }

    // A device registers over https and syncs over wss.
    let mut stream = tls_connect(relay.addr, &trusts_first).unwrap();
    let body = json!({ "public_key": TEST_PUBLIC_KEY, "name": "tls" }).to_string();
    let registered = request_over(
        &mut stream,
        &host,
        "POST",
        "/api/devices",
        &[("Content-Type", "application/json")],
        &body,
    );
    assert_eq!(registered.status, 201, "{registered:?}");
    let answer: serde_json::Value = serde_json::from_slice(&registered.body).unwrap();
    let token = answer["token"].as_str().unwrap();
    let tcp = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
    let tls = TlsConnector::from(trusts_first.clone())
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS for the sync socket");
    let (mut socket, _) =
        tokio_tungstenite::client_async(format!("wss://{host}/sync?token={token}"), tls)
            .await
            .expect("the sync socket over wss");
    crate::bad_input::send_join(&mut socket, "tls-peer").await;
    match tokio::time::timeout(WAIT, socket.next()).await {
        Ok(Some(Ok(WsMessage::Binary(bytes)))) => {
            assert!(matches!(protocol::decode(&bytes), Ok(Message::Peer { .. })));
        }
        other => panic!("expected the relay's peer message, got {other:?}"),
    }

    // A renewed certificate, then SIGHUP: new connections get it.
    let second = write_certificate(certs.path());
    let trusts_second = client_config(&second);
    assert!(
        tls_connect(relay.addr, &trusts_second).is_err(),
        "the new certificate is not served before SIGHUP"
    );
    relay.signal("HUP");
    let deadline = Instant::now() + WAIT;
    while tls_connect(relay.addr, &trusts_second).is_err() {
        assert!(
            Instant::now() < deadline,
            "the reloaded certificate never came"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut stream = tls_connect(relay.addr, &trusts_second).unwrap();
    assert_eq!(get_over(&mut stream, &host, "/", &[]).status, 200);
    assert!(
        tls_connect(relay.addr, &trusts_first).is_err(),
        "the old certificate is no longer served"
    );
    // The socket opened before the reload still works.
    socket.send(WsMessage::Ping(vec![1].into())).await.unwrap();

    // A broken file on SIGHUP keeps the current certificate.
    std::fs::write(&cert, "not a certificate").unwrap();
    relay.signal("HUP");
    std::thread::sleep(Duration::from_millis(300));
    assert!(tls_connect(relay.addr, &trusts_second).is_ok());
}

/// The quoted absolute paths in `html` that end with `suffix`.
fn references<'a>(html: &'a str, suffix: &str) -> Vec<&'a str> {
    html.split('"')
        .filter(|part| part.starts_with('/') && part.ends_with(suffix))
        .collect()
}

#[test]
fn the_release_binary_serves_the_app_it_carries_with_no_dist_on_disk() {
    if std::env::var("ACCORD_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        println!("SKIPPED the embedded web app: ACCORD_SKIP_BROWSER=1");
        return;
    }
    let dist = std::env::var_os("ACCORD_WEB_DIST")
        .map(std::path::PathBuf::from)
        .expect("ACCORD_WEB_DIST is not set: run `cargo xtask web` and point it at dist/");
    let program = crate::helpers::release_binary(&dist);
    // An empty working directory and no --web-dir: only what is inside the
    // binary can answer.
    let empty = TempDir::new("no-dist");
    let relay = Relay::start_program(program, Some(empty.path()), &[]);

    let page = get(relay.addr, "/", &[("Accept-Encoding", "br, gzip")]);
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(page.header("content-encoding"), Some("br"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert!(page.header("etag").is_some());
    assert!(page.header("content-security-policy").is_some());
    let page = get(relay.addr, "/", &[]);
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains("Loading Accord…"), "{html}");

    let mut assets = Vec::new();
    for suffix in [".wasm", ".js", ".css", ".svg", ".png"] {
        // The worker keeps its name: browsers look for updates under it.
        let found: Vec<&str> = references(&html, suffix)
            .into_iter()
            .filter(|r| *r != "/sw.js")
            .collect();
        assert!(
            !found.is_empty(),
            "index.html references no {suffix}: {html}"
        );
        assets.extend(found);
    }
    for asset in assets {
        assert!(
            crate::helpers::is_hashed_name(asset),
            "{asset} carries no content hash"
        );
        let served = get(relay.addr, asset, &[("Accept-Encoding", "gzip")]);
        assert_eq!(served.status, 200, "{asset}");
        assert_eq!(
            served.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{asset}"
        );
        // PNGs are compressed already; everything else has a gzip copy.
        let expected = (!asset.ends_with(".png")).then_some("gzip");
        assert_eq!(served.header("content-encoding"), expected, "{asset}");
        let raw = get(relay.addr, asset, &[]);
        let on_disk = std::fs::read(dist.join(asset.trim_start_matches('/'))).unwrap();
        assert!(
            raw.body == on_disk,
            "{asset}: the embedded copy is the build's"
        );
    }
    assert_eq!(get(relay.addr, "/pkg/accord_app_bg.wasm", &[]).status, 404);

    // Every file of the build: the few that keep their name revalidate,
    // every other one has a hashed name and is immutable.
    const ENTRY: [&str; 3] = ["/index.html", "/sw.js", "/manifest.webmanifest"];
    let mut files = Vec::new();
    list_files(&dist, "", &mut files);
    assert!(files.len() >= 9, "{files:?}");
    // The page groups' chunks and their loader are in the binary too, each
    // with a brotli copy.
    let chunks: Vec<&String> = files
        .iter()
        .filter(|p| p.starts_with("/pkg/") && p.ends_with(".wasm"))
        .filter(|p| !p.starts_with("/pkg/accord_app_bg."))
        .collect();
    assert!(chunks.len() >= 6, "a chunk per page group: {files:?}");
    let loader = files
        .iter()
        .find(|p| p.starts_with("/pkg/__wasm_split.") && p.ends_with(".js"))
        .expect("the chunk loader");
    for path in chunks.into_iter().chain([loader]) {
        let served = get(relay.addr, path, &[("Accept-Encoding", "br")]);
        assert_eq!(served.header("content-encoding"), Some("br"), "{path}");
    }
    for path in files
        .iter()
        .filter(|p| !p.ends_with(".br") && !p.ends_with(".gz"))
    {
        let served = get(relay.addr, path, &[("Accept-Encoding", "br, gzip")]);
        assert_eq!(served.status, 200, "{path}");
        if ENTRY.contains(&path.as_str()) {
            assert_eq!(served.header("cache-control"), Some("no-cache"), "{path}");
            assert!(served.header("etag").is_some(), "{path}");
        } else {
            assert!(crate::helpers::is_hashed_name(path), "{path} has no hash");
            assert_eq!(
                served.header("cache-control"),
                Some("public, max-age=31536000, immutable"),
                "{path}"
            );
        }
        assert_eq!(served.header("vary"), Some("Accept-Encoding"), "{path}");
    }
}

/// Every file under `dir` except hidden ones, as URL paths.
fn list_files(dir: &Path, prefix: &str, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = format!("{prefix}/{name}");
        if entry.file_type().unwrap().is_dir() {
            list_files(&entry.path(), &path, files);
        } else {
            files.push(path);
        }
    }
}

#[test]
fn a_client_that_stalls_in_the_tls_handshake_is_closed_at_the_header_timeout() {
    let certs = TempDir::new("tls-stall");
    write_certificate(certs.path());
    let relay = Relay::start_with_args(&[
        "--tls-cert",
        certs.path().join("cert.pem").to_str().unwrap(),
        "--tls-key",
        certs.path().join("key.pem").to_str().unwrap(),
        "--header-read-timeout-ms",
        "300",
    ]);
    use std::io::Read as _;
    let mut stalled = TcpStream::connect(relay.addr).unwrap();
    stalled.set_read_timeout(Some(WAIT)).unwrap();
    // No ClientHello: the relay gives up on the connection by itself.
    let mut buf = [0; 16];
    let read = stalled.read(&mut buf);
    // Closed (end of stream or reset), not timed out on our side.
    assert!(
        matches!(read, Ok(0))
            || read.is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "the stalled connection was closed"
    );
}
