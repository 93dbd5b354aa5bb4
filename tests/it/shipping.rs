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
    let worker = get(relay.addr, "/sw.js", &[]);
    assert_eq!(worker.status, 200);
    assert_eq!(worker.header("cache-control"), Some("no-cache"));
    assert_eq!(get(relay.addr, "/pkg/accord_app_bg.wasm", &[]).status, 404);
}
