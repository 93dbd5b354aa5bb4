//! Where the web app's files come from — a directory (`--web-dir`) or the
//! copy built into the binary (the `embed-web` feature) — and the rules for
//! serving them, kept free of I/O: which file a request path means, which
//! precompressed variant an `Accept-Encoding` allows, how long a file may be
//! cached, and its media type.

use std::path::PathBuf;

use axum::body::Bytes;

/// One file of the web app built into the binary.
#[derive(Debug)]
pub struct EmbeddedFile {
    /// Path under `dist/`, `/`-separated, e.g. `pkg/accord_app.0123456789abcdef.js`.
    pub path: &'static str,
    /// Its content.
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/web_app.rs"));

/// The web app's files.
#[derive(Debug, Clone)]
pub enum WebApp {
    /// Read from this directory on each request (`--web-dir`).
    Directory(PathBuf),
    /// Built into the binary.
    Embedded(&'static [EmbeddedFile]),
}

impl WebApp {
    /// The copy built into this binary, if it was built with `embed-web`.
    pub fn embedded() -> Option<Self> {
        (!EMBEDDED.is_empty()).then_some(Self::Embedded(EMBEDDED))
    }

    /// `--web-dir` when given, else the built-in copy, else nothing.
    pub fn choose(web_dir: Option<PathBuf>) -> Option<Self> {
        web_dir.map(Self::Directory).or_else(Self::embedded)
    }

    /// Whether a file exists at a checked relative path (see [`resolve`]).
    pub(crate) async fn contains(&self, relative: &str) -> bool {
        match self {
            Self::Directory(dir) => tokio::fs::metadata(dir.join(relative))
                .await
                .is_ok_and(|m| m.is_file()),
            Self::Embedded(files) => files
                .binary_search_by(|file| file.path.cmp(relative))
                .is_ok(),
        }
    }

    /// A file's content by its checked relative path (see [`resolve`]);
    /// `None` when there is no such file.
    pub(crate) async fn read(&self, relative: &str) -> Option<Bytes> {
        match self {
            Self::Directory(dir) => {
                let path = dir.join(relative);
                if !tokio::fs::metadata(&path).await.ok()?.is_file() {
                    return None;
                }
                tokio::fs::read(&path).await.ok().map(Bytes::from)
            }
            Self::Embedded(files) => files
                .binary_search_by(|file| file.path.cmp(relative))
                .ok()
                .map(|i| Bytes::from_static(files[i].bytes)),
        }
    }
}

/// What a request path asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    /// A file, by its relative path; when it does not exist,
    /// [`is_app_route`] decides between the app page and 404.
    File(&'a str),
    /// A path no file can have (`..`, hidden names, backslashes): 404.
    Invalid,
}

/// The relative path a request path names: `/` is `index.html`; empty
/// segments, `.`/`..` and hidden names are [`Target::Invalid`].
pub(crate) fn resolve(path: &str) -> Target<'_> {
    let relative = path.trim_start_matches('/');
    if relative.is_empty() {
        return Target::File("index.html");
    }
    let valid = relative
        .split('/')
        .all(|segment| !segment.is_empty() && !segment.starts_with('.') && !segment.contains('\\'));
    if valid {
        Target::File(relative)
    } else {
        Target::Invalid
    }
}

/// Whether a missing file at `relative` is an app route (answered with
/// `index.html`) rather than a missing asset (404): app routes have no file
/// extension in their last segment. The app routes by URL fragment, so
/// this only keeps old or hand-typed links working.
pub(crate) fn is_app_route(relative: &str) -> bool {
    let last = relative.rsplit('/').next().unwrap_or(relative);
    !last.contains('.')
}

/// A content encoding the relay has precompressed files for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `.br` beside the file.
    Brotli,
    /// `.gz` beside the file.
    Gzip,
}

impl Encoding {
    /// The suffix of the precompressed file.
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Self::Brotli => ".br",
            Self::Gzip => ".gz",
        }
    }

    /// The `Content-Encoding` value.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Brotli => "br",
            Self::Gzip => "gzip",
        }
    }
}

/// The encodings an `Accept-Encoding` header allows, best first (brotli,
/// then gzip; `q=0` refuses one, `*` allows both).
pub(crate) fn accepted_encodings(header: &str) -> Vec<Encoding> {
    let mut brotli = None;
    let mut gzip = None;
    let mut any = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let allowed = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .filter_map(|q| q.trim().parse::<f32>().ok())
            .next_back()
            .is_none_or(|q| q > 0.0);
        match name.as_str() {
            "br" => brotli = Some(allowed),
            "gzip" | "x-gzip" => gzip = Some(allowed),
            "*" => any = Some(allowed),
            _ => {}
        }
    }
    let mut encodings = Vec::new();
    if brotli.or(any).unwrap_or(false) {
        encodings.push(Encoding::Brotli);
    }
    if gzip.or(any).unwrap_or(false) {
        encodings.push(Encoding::Gzip);
    }
    encodings
}

/// Whether `relative` names a content-hashed file (`name.<16 hex digits>.ext`,
/// as `xtask web` writes them), which never changes under its name.
pub(crate) fn is_hashed(relative: &str) -> bool {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    let mut parts = name.rsplit('.');
    let (Some(_ext), Some(hash), Some(stem)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !stem.is_empty()
        && hash.len() == 16
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `Cache-Control` for a file: hashed files are kept for a year without
/// asking again; everything else (`index.html`, `sw.js`, the manifest,
/// icons) is revalidated with its ETag on every use.
pub(crate) fn cache_control(relative: &str) -> &'static str {
    if is_hashed(relative) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// The media type for a file name.
pub(crate) fn content_type(relative: &str) -> &'static str {
    let extension = relative.rsplit_once('.').map_or("", |(_, e)| e);
    match extension {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "webmanifest" => "application/manifest+json",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether an `If-None-Match` header matches `etag` (weak comparison, as
/// RFC 9110 asks for `If-None-Match`).
pub(crate) fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    if_none_match
        .split(',')
        .any(|tag| tag.trim() == "*" || bare(tag) == bare(etag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_to_files_or_are_refused() {
        assert_eq!(resolve("/"), Target::File("index.html"));
        assert_eq!(resolve("/pkg/a.js"), Target::File("pkg/a.js"));
        assert_eq!(resolve("/../etc/passwd"), Target::Invalid);
        assert_eq!(resolve("/.source-fingerprint"), Target::Invalid);
        assert_eq!(resolve("/pkg//a.js"), Target::Invalid);
        assert_eq!(resolve("/a\\b"), Target::Invalid);
        assert!(is_app_route("join/abc"));
        assert!(is_app_route("some/client/route"));
        assert!(!is_app_route("pkg/missing.js"));
        assert!(!is_app_route("favicon.ico"));
    }

    #[test]
    fn encodings_follow_accept_encoding() {
        use Encoding::{Brotli, Gzip};
        assert_eq!(
            accepted_encodings("gzip, deflate, br, zstd"),
            [Brotli, Gzip]
        );
        assert_eq!(accepted_encodings("gzip"), [Gzip]);
        assert_eq!(accepted_encodings("br;q=0, gzip;q=0.5"), [Gzip]);
        assert_eq!(accepted_encodings("*"), [Brotli, Gzip]);
        assert_eq!(accepted_encodings("*, br;q=0"), [Gzip]);
        assert!(accepted_encodings("identity").is_empty());
        assert!(accepted_encodings("").is_empty());
    }

    #[test]
    fn only_hashed_names_are_immutable() {
        assert!(is_hashed("pkg/accord_app_bg.0123456789abcdef.wasm"));
        assert!(is_hashed("style.0123456789abcdef.css"));
        assert!(!is_hashed("style.css"));
        assert!(!is_hashed("index.html"));
        assert!(!is_hashed("sw.js"));
        assert!(!is_hashed(".0123456789abcdef.css"));
        assert!(!is_hashed("style.0123456789ABCDEF.css"));
        assert_eq!(cache_control("sw.js"), "no-cache");
        assert!(cache_control("style.0123456789abcdef.css").contains("immutable"));
    }

    #[test]
    fn if_none_match_compares_weakly() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("W/\"abc\", \"x\"", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abd\"", "\"abc\""));
    }
}
