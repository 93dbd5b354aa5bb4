//! With the `embed-web` feature, lists the built web app (`dist/` beside the
//! workspace manifest, or `$ACCORD_WEB_DIST`) as `include_bytes!` entries in
//! `$OUT_DIR/web_app.rs`, so the release binary carries it. Without the
//! feature the list is empty and the relay serves only `--web-dir`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=ACCORD_WEB_DIST");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut code = String::from(
        "/// The web app built into this binary, sorted by path.\n\
         pub(crate) static EMBEDDED: &[EmbeddedFile] = &[\n",
    );
    if std::env::var_os("CARGO_FEATURE_EMBED_WEB").is_some() {
        let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
        let dist = std::env::var_os("ACCORD_WEB_DIST")
            .map_or_else(|| manifest.join("..").join("dist"), PathBuf::from);
        assert!(
            dist.join("index.html").is_file(),
            "the embed-web feature embeds the built web app, but {} holds no index.html: \
             run `cargo xtask web` first (or set ACCORD_WEB_DIST)",
            dist.display()
        );
        println!("cargo:rerun-if-changed={}", dist.display());
        let mut files = Vec::new();
        collect(&dist, "", &mut files);
        files.sort();
        for (relative, absolute) in files {
            println!("cargo:rerun-if-changed={}", absolute.display());
            writeln!(
                code,
                "    EmbeddedFile {{ path: {relative:?}, bytes: include_bytes!({absolute:?}) }},"
            )
            .expect("writing to a String");
        }
    }
    code.push_str("];\n");
    std::fs::write(out.join("web_app.rs"), code).expect("writing web_app.rs");
}

/// Every file under `dir` except hidden ones (the build fingerprint), with
/// its `/`-separated path relative to the top.
fn collect(dir: &Path, prefix: &str, files: &mut Vec<(String, PathBuf)>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.expect("reading a directory entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let relative = format!("{prefix}{name}");
        if path.is_dir() {
            collect(&path, &format!("{relative}/"), files);
        } else {
            let absolute = path.canonicalize().unwrap_or(path);
            files.push((relative, absolute));
        }
    }
}
