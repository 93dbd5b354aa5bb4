//! Shipping the relay: how the web app is served and cached (from a
//! directory and built into the binary).

use std::path::Path;

use crate::helpers::{Relay, TempDir, get};

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
