//! Builds the browser app into `dist/`: `cargo build` for wasm32,
//! `wasm-split-cli` (cuts the page groups marked `#[wasm_split]` in the app
//! into chunks loaded on first use), `wasm-bindgen`, `wasm-opt` on every
//! module (release only, binaryen from npm), static files, content-hashed
//! asset names (see [`fingerprint_assets`]) and `.gz`/`.br` precompressed
//! copies for the relay to serve.

use std::ffi::OsString;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use sha2::{Digest as _, Sha256};

/// The `wasm-bindgen` CLI version; must equal the `wasm-bindgen` crate pin in `app/Cargo.toml`.
pub const WASM_BINDGEN_VERSION: &str = "0.2.130";
/// The `wasm_split_cli_support` version whose `wasm-split-cli` splits the
/// module; it must read what the `wasm_split_helpers` that Leptos pins (see
/// `Cargo.lock`) writes.
pub const WASM_SPLIT_VERSION: &str = "0.2.4";
/// The npm `binaryen` version whose `wasm-opt` we use (Debian's is too old).
pub const BINARYEN_VERSION: &str = "132.0.0";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Static files copied from `app/` into `dist/`.
const STATIC_FILES: &[&str] = &["index.html", "style.css", "sw.js", "manifest.webmanifest"];
/// PNG sizes of the app icon (the manifest lists each; Chromium's install
/// criteria want 192 and 512).
const ICON_SIZES: &[u32] = &[192, 512];
/// Files that keep their name because browsers ask for it by that name (or
/// must revalidate it): the references to hashed assets inside them are
/// rewritten. Each is served with `Cache-Control: no-cache` and an ETag.
const ENTRY_FILES: &[&str] = &["index.html", "sw.js", "manifest.webmanifest"];
/// Files renamed to `<stem>.<hash>.<ext>` (served as immutable), by their
/// path under `dist/`. The page-group chunks, the split loader and the
/// module that imports it are named by [`fingerprint_split`].
const HASHED_FILES: &[&str] = &[
    "style.css",
    "pkg/accord_app_bg.wasm",
    "icon.svg",
    "icon-192.png",
    "icon-512.png",
];
/// Replaced in `sw.js` by a hash of the whole build, so a deploy always
/// changes the worker's bytes and its cache name.
const VERSION_PLACEHOLDER: &str = "__ACCORD_BUILD__";
/// Replaced in `sw.js` (with its quotes) by the quoted paths of the split
/// loader and every chunk, so the worker keeps them all for offline use.
const CHUNKS_PLACEHOLDER: &str = "\"__ACCORD_CHUNKS__\"";
/// Replaced in `index.html` by a JavaScript object naming, for each split
/// module, the files the split loader fetches for it (see
/// [`split_module_files`]), so a deep link can ask for them all at once.
const SPLIT_FILES_PLACEHOLDER: &str = "__ACCORD_SPLIT_FILES__";
/// The JavaScript module `wasm-split-cli` writes: it fetches and
/// instantiates the chunks. The main module imports it and it imports the
/// main module back.
const SPLIT_LOADER: &str = "__wasm_split.js";
/// The `wasm-bindgen` module's name (`<name>.js`, `<name>_bg.wasm`).
const MODULE_NAME: &str = "accord_app";
/// WebAssembly features rustc enables by default for wasm32; wasm-opt must accept them.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Installs what [`build_web`] needs, doing nothing that is already in place:
/// the `wasm32-unknown-unknown` target, `wasm-bindgen-cli` at
/// [`WASM_BINDGEN_VERSION`] and `wasm-split-cli` at [`WASM_SPLIT_VERSION`].
pub fn ensure_web_tools() -> anyhow::Result<()> {
    ensure_wasm_target()?;
    let version = Command::new("wasm-bindgen").arg("--version").output();
    let current = version
        .as_ref()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(WASM_BINDGEN_VERSION));
    if !current {
        run(Command::new(cargo()).args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            WASM_BINDGEN_VERSION,
        ]))?;
    }
    let installed = Command::new(cargo())
        .args(["install", "--list"])
        .output()
        .context("listing installed cargo tools")?;
    let split_line = format!("wasm_split_cli_support v{WASM_SPLIT_VERSION}:");
    if !String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == split_line)
    {
        run(Command::new(cargo()).args([
            "install",
            "--locked",
            "wasm_split_cli_support",
            "--features",
            "build-binary",
            "--version",
            WASM_SPLIT_VERSION,
        ]))?;
    }
    Ok(())
}

/// Where [`build_web_if_changed`] keeps the fingerprint of the sources it built.
const FINGERPRINT_FILE: &str = ".source-fingerprint";

/// The release web app in `dist/`, rebuilt only when a source it is built
/// from (the app, `shared`, the manifests, the lockfile) changed since the
/// last build recorded there.
pub fn build_web_if_changed(workspace_root: &Path) -> anyhow::Result<PathBuf> {
    let dist = workspace_root.join("dist");
    let fingerprint = source_fingerprint(workspace_root)?;
    let recorded = fs::read_to_string(dist.join(FINGERPRINT_FILE)).unwrap_or_default();
    if recorded.trim() == fingerprint && built_wasm(&dist).is_ok() {
        eprintln!("xtask: the web app in dist/ is up to date");
        return Ok(dist);
    }
    let dist = build_web(workspace_root, true)?;
    fs::write(dist.join(FINGERPRINT_FILE), &fingerprint)
        .with_context(|| format!("writing {}", dist.display()))?;
    Ok(dist)
}

/// A hash of the path, size and modification time of every file the web app
/// is built from.
fn source_fingerprint(workspace_root: &Path) -> anyhow::Result<String> {
    use std::hash::{Hash, Hasher};
    let mut files = Vec::new();
    for dir in ["app/src", "shared/src"] {
        collect_files(&workspace_root.join(dir), &mut files)?;
    }
    for file in STATIC_FILES.iter().map(|n| format!("app/{n}")).chain(
        [
            "Cargo.toml",
            "Cargo.lock",
            "app/Cargo.toml",
            "shared/Cargo.toml",
            "xtask/src/web.rs",
            "xtask/src/icon.rs",
        ]
        .map(String::from),
    ) {
        files.push(workspace_root.join(file));
    }
    files.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for file in &files {
        let meta = fs::metadata(file).with_context(|| format!("reading {}", file.display()))?;
        file.hash(&mut hasher);
        meta.len().hash(&mut hasher);
        meta.modified().ok().hash(&mut hasher);
    }
    Ok(format!("{:016x}", hasher.finish()))
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// Builds the app and returns the `dist/` directory (under `workspace_root`).
/// `release` selects the `wasm-release` profile, runs `wasm-opt -Oz` and uses
/// the strongest compression.
pub fn build_web(workspace_root: &Path, release: bool) -> anyhow::Result<PathBuf> {
    let mut build = Command::new(cargo());
    build.current_dir(workspace_root).args([
        "build",
        "-p",
        "accord-app",
        "--lib",
        "--features",
        "split",
        "--target",
        WASM_TARGET,
    ]);
    // wasm-split-cli follows the linker's relocations to decide which
    // code each split point reaches.
    let mut rustflags = String::from("-C link-arg=--emit-relocs");
    if release {
        build.args(["--profile", "wasm-release"]);
        // Leptos then erases the types of component views: one copy of the
        // rendering code instead of one per view type (a smaller module).
        rustflags.push_str(" --cfg erase_components");
    }
    build.env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", rustflags);
    run(&mut build)?;

    let profile_dir = if release { "wasm-release" } else { "debug" };
    let wasm = target_dir(workspace_root)
        .join(WASM_TARGET)
        .join(profile_dir)
        .join("accord_app.wasm");
    if !wasm.is_file() {
        bail!("cargo build finished but {} is missing", wasm.display());
    }

    let dist = workspace_root.join("dist");
    if dist.exists() {
        fs::remove_dir_all(&dist).with_context(|| format!("clearing {}", dist.display()))?;
    }
    let pkg = dist.join("pkg");
    fs::create_dir_all(&pkg).with_context(|| format!("creating {}", pkg.display()))?;

    // The main module goes on to wasm-bindgen; the chunks and the loader
    // are already what the browser gets.
    let split = dist.join("split");
    let mut splitter = Command::new("wasm-split-cli");
    splitter
        .arg(&wasm)
        .arg(&split)
        .args(["--target", "web", "--out-name", MODULE_NAME]);
    run(&mut splitter)
        .context("wasm-split-cli failed (run `cargo xtask web` to install the matching CLI)")?;
    let main_wasm = split.join(format!("{MODULE_NAME}.wasm"));
    let mut chunks = Vec::new();
    for entry in fs::read_dir(&split).with_context(|| format!("listing {}", split.display()))? {
        let path = entry?.path();
        if path == main_wasm {
            continue;
        }
        let name = path.file_name().context("a split output without a name")?;
        let to = pkg.join(name);
        fs::rename(&path, &to).with_context(|| format!("moving {}", path.display()))?;
        if to.extension().is_some_and(|e| e == "wasm") {
            chunks.push(to);
        }
    }
    if !pkg.join(SPLIT_LOADER).is_file() {
        bail!("wasm-split-cli wrote no {SPLIT_LOADER}");
    }

    let mut bindgen = Command::new("wasm-bindgen");
    // The chunks import the main module's function table and linker
    // symbols: keep the exports wasm-bindgen would otherwise drop.
    bindgen
        .args(["--target", "web", "--no-typescript", "--keep-lld-exports"])
        .arg("--out-dir")
        .arg(&pkg)
        .arg(&main_wasm);
    run(&mut bindgen)
        .context("wasm-bindgen failed (run `cargo xtask` setup to install the matching CLI)")?;
    fs::remove_dir_all(&split).with_context(|| format!("removing {}", split.display()))?;

    let bg = pkg.join(format!("{MODULE_NAME}_bg.wasm"));
    if release {
        let wasm_opt = ensure_wasm_opt(workspace_root)?;
        for module in std::iter::once(&bg).chain(&chunks) {
            let optimized = module.with_extension("opt.wasm");
            let mut opt = Command::new(&wasm_opt);
            opt.arg("-Oz")
                .args(WASM_FEATURES)
                .arg(module)
                .arg("-o")
                .arg(&optimized);
            run(&mut opt)?;
            fs::rename(&optimized, module)
                .with_context(|| format!("replacing {}", module.display()))?;
        }
    }

    for name in STATIC_FILES {
        let from = workspace_root.join("app").join(name);
        fs::copy(&from, dist.join(name)).with_context(|| format!("copying {}", from.display()))?;
    }

    write_icons(&dist)?;
    let split_renames = fingerprint_split(&dist)?;
    fingerprint_assets(&dist, split_renames)?;

    let level = if release { Level::Best } else { Level::Fast };
    for dir in [&dist, &pkg] {
        for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
            let path = entry?.path();
            let compressible = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                matches!(e, "wasm" | "js" | "html" | "css" | "svg" | "webmanifest")
            });
            if path.is_file() && compressible {
                precompress(&path, level)?;
            }
        }
    }
    let (raw, gz, br) = wasm_sizes(&dist)?;
    eprintln!(
        "xtask: web app in {}; main wasm {raw} bytes, gzip {gz}, brotli {br}",
        dist.display()
    );
    eprint!("{}", size_table(&dist)?);
    Ok(dist)
}

/// The app icon as `icon.svg` and `icon-<size>.png` for each of [`ICON_SIZES`].
fn write_icons(dist: &Path) -> anyhow::Result<()> {
    fs::write(dist.join("icon.svg"), crate::icon::svg())?;
    for size in ICON_SIZES {
        fs::write(
            dist.join(format!("icon-{size}.png")),
            crate::icon::png(*size)?,
        )?;
    }
    Ok(())
}

/// Gives every file in [`HASHED_FILES`] a name carrying the first 16 hex
/// digits of its SHA-256 and rewrites the references to it in the
/// [`ENTRY_FILES`], so a deploy never mixes an old page with new code and
/// the relay may tell browsers to keep hashed files forever. `sw.js` also
/// gets the build's version. Fails when a hashed file is referenced nowhere
/// (a renamed reference would otherwise load a stale or missing file).
/// `split` are the renames [`fingerprint_split`] made: the entry files'
/// references to them are rewritten too, and the chunks replace
/// [`CHUNKS_PLACEHOLDER`] in `sw.js`.
pub fn fingerprint_assets(dist: &Path, split: SplitRenames) -> anyhow::Result<()> {
    let mut renames = split.renamed;
    for name in HASHED_FILES {
        let from = dist.join(name);
        let bytes = fs::read(&from).with_context(|| format!("reading {}", from.display()))?;
        let hashed = hashed_name(name, &bytes);
        fs::rename(&from, dist.join(&hashed))
            .with_context(|| format!("renaming {}", from.display()))?;
        renames.push((format!("/{name}"), format!("/{hashed}")));
    }
    let mut entries = Vec::new();
    for name in ENTRY_FILES {
        let path = dist.join(name);
        let mut text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        for (from, to) in &renames {
            text = text.replace(&format!("\"{from}\""), &format!("\"{to}\""));
        }
        let chunks: Vec<String> = split.precached.iter().map(|p| format!("\"{p}\"")).collect();
        text = text.replace(CHUNKS_PLACEHOLDER, &chunks.join(", "));
        text = text.replace(SPLIT_FILES_PLACEHOLDER, &split.module_files);
        entries.push((path, text));
    }
    let precached = split.precached.iter().map(|p| (p, p));
    for (from, to) in renames.iter().map(|(f, t)| (f, t)).chain(precached) {
        if !entries.iter().any(|(_, text)| text.contains(to.as_str())) {
            bail!("{from} is referenced (in double quotes) by none of {ENTRY_FILES:?}");
        }
    }
    let version = {
        let mut hasher = Sha256::new();
        for (_, text) in &entries {
            hasher.update(text.as_bytes());
        }
        hex_prefix(&hasher.finalize())
    };
    for (path, text) in entries {
        let text = text.replace(VERSION_PLACEHOLDER, &version);
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// What [`fingerprint_split`] renamed.
#[derive(Debug, Default)]
pub struct SplitRenames {
    /// `(old path, new path)` of files the entry files refer to (the
    /// main JavaScript module and the split loader).
    pub renamed: Vec<(String, String)>,
    /// Paths of the split loader and the chunks, for the service worker.
    pub precached: Vec<String>,
    /// `{"<module>": ["<file>", …], …}`: the files the split loader fetches
    /// for each split module, by their hashed names.
    pub module_files: String,
}

/// Names the page-group chunks `<stem>.<hash>.wasm` (rewriting the split
/// loader's references to them), then the split loader and the main
/// JavaScript module, which import each other: both get one hash of their
/// two contents, so neither name can stay while the other's content
/// changes.
pub fn fingerprint_split(dist: &Path) -> anyhow::Result<SplitRenames> {
    let pkg = dist.join("pkg");
    let loader_path = pkg.join(SPLIT_LOADER);
    let module_file = format!("{MODULE_NAME}.js");
    let module_path = pkg.join(&module_file);
    let mut loader = fs::read_to_string(&loader_path)
        .with_context(|| format!("reading {}", loader_path.display()))?;
    let mut module = fs::read_to_string(&module_path)
        .with_context(|| format!("reading {}", module_path.display()))?;
    let bg = format!("{MODULE_NAME}_bg.wasm");
    let mut precached = Vec::new();
    let mut chunks: Vec<PathBuf> = fs::read_dir(&pkg)
        .with_context(|| format!("listing {}", pkg.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    chunks.retain(|p| p.extension().is_some_and(|e| e == "wasm") && !p.ends_with(&bg));
    chunks.sort();
    for chunk in chunks {
        let name = chunk
            .file_name()
            .and_then(|n| n.to_str())
            .context("a chunk name that is not UTF-8")?
            .to_owned();
        let bytes = fs::read(&chunk).with_context(|| format!("reading {}", chunk.display()))?;
        let hashed = hashed_name(&name, &bytes);
        let reference = format!("\"./{name}\"");
        if !loader.contains(&reference) {
            bail!("{SPLIT_LOADER} does not load {name}");
        }
        loader = loader.replace(&reference, &format!("\"./{hashed}\""));
        fs::rename(&chunk, pkg.join(&hashed))
            .with_context(|| format!("renaming {}", chunk.display()))?;
        precached.push(format!("/pkg/{hashed}"));
    }
    let pair_hash = {
        let mut hasher = Sha256::new();
        hasher.update(loader.as_bytes());
        hasher.update(module.as_bytes());
        hex_prefix(&hasher.finalize())
    };
    let hashed_loader = SPLIT_LOADER.replace(".js", &format!(".{pair_hash}.js"));
    let hashed_module = format!("{MODULE_NAME}.{pair_hash}.js");
    // Only the `import … from` statements: in the main module the loader's
    // name is also the key the wasm imports it under, which stays.
    let import_of = |name: &str| [format!("from \"./{name}\""), format!("from './{name}'")];
    let rename_imports = |text: &str, from: &str, to: &str| -> anyhow::Result<String> {
        let [double, single] = import_of(from);
        if !text.contains(&double) && !text.contains(&single) {
            bail!("no import of {from} to rename");
        }
        let [to_double, to_single] = import_of(to);
        Ok(text
            .replace(&double, &to_double)
            .replace(&single, &to_single))
    };
    module = rename_imports(&module, SPLIT_LOADER, &hashed_loader)
        .with_context(|| format!("in {module_file}"))?;
    loader = rename_imports(&loader, &module_file, &hashed_module)
        .with_context(|| format!("in {SPLIT_LOADER}"))?;
    fs::write(pkg.join(&hashed_loader), &loader)?;
    fs::write(pkg.join(&hashed_module), module)?;
    fs::remove_file(&loader_path)?;
    fs::remove_file(&module_path)?;
    precached.insert(0, format!("/pkg/{hashed_loader}"));
    let module_files = split_module_files(&loader);
    Ok(SplitRenames {
        renamed: vec![
            (
                format!("/pkg/{module_file}"),
                format!("/pkg/{hashed_module}"),
            ),
            (
                format!("/pkg/{SPLIT_LOADER}"),
                format!("/pkg/{hashed_loader}"),
            ),
        ],
        precached,
        module_files,
    })
}

/// `dir/stem.ext` → `dir/stem.<16 hex digits of SHA-256>.ext`.
fn hashed_name(name: &str, bytes: &[u8]) -> String {
    let hash = hex_prefix(&Sha256::digest(bytes));
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{name}.{hash}"),
    }
}

fn hex_prefix(digest: &[u8]) -> String {
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The hashed wasm module in `dist/pkg`.
pub fn built_wasm(dist: &Path) -> anyhow::Result<PathBuf> {
    let pkg = dist.join("pkg");
    for entry in fs::read_dir(&pkg).with_context(|| format!("listing {}", pkg.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("accord_app_bg.") && name.ends_with(".wasm") {
            return Ok(path);
        }
    }
    bail!("{} holds no accord_app_bg.<hash>.wasm", pkg.display())
}

/// The raw, gzip and brotli sizes of the built wasm, for reports.
pub fn wasm_sizes(dist: &Path) -> anyhow::Result<(u64, u64, u64)> {
    let base = built_wasm(dist)?;
    let size = |p: PathBuf| {
        fs::metadata(&p)
            .map(|m| m.len())
            .with_context(|| format!("reading {}", p.display()))
    };
    Ok((
        size(base.clone())?,
        size(with_suffix(&base, ".gz"))?,
        size(with_suffix(&base, ".br"))?,
    ))
}

/// The split module the app fetches right after the home list: the sync
/// client (`app/src/client_chunk.rs`).
const CLIENT_MODULE: &str = "client";

/// The wasm files the split loader fetches for `module`: its own chunk
/// (`split_<module>.<hash>.wasm`) and every shared chunk whose comment in
/// the loader (`/* <module>, <module>, … */` above its `makeLoad`) names it.
fn module_files(loader: &str, module: &str) -> Vec<String> {
    let own = format!("./split_{module}.");
    let mut files = Vec::new();
    let mut users: Vec<&str> = Vec::new();
    for line in loader.lines() {
        let line = line.trim();
        if let Some(list) = line.strip_prefix("/*").and_then(|l| l.strip_suffix("*/")) {
            users = list.split(',').map(str::trim).collect();
            continue;
        }
        let Some(start) = line.find("new URL(\"./") else {
            continue;
        };
        let url = &line[start + "new URL(\"".len()..];
        let Some(end) = url.find('"') else { continue };
        let url = &url[..end];
        if url.starts_with(&own) || (url.starts_with("./chunk_") && users.contains(&module)) {
            files.push(url.trim_start_matches("./").to_owned());
        }
        users.clear();
    }
    files
}

/// For every split module in the loader (each `split_<module>.<hash>.wasm`
/// it fetches), the files it fetches for that module ([`module_files`]), as
/// a JavaScript (and JSON) object literal.
fn split_module_files(loader: &str) -> String {
    let mut modules: Vec<&str> = loader
        .split("new URL(\"./split_")
        .skip(1)
        .filter_map(|rest| rest.split_once('.').map(|(name, _)| name))
        .collect();
    modules.sort_unstable();
    modules.dedup();
    let entries: Vec<String> = modules
        .iter()
        .map(|module| {
            let files: Vec<String> = module_files(loader, module)
                .iter()
                .map(|f| format!("\"{f}\""))
                .collect();
            format!("\"{module}\": [{}]", files.join(", "))
        })
        .collect();
    format!("{{{}}}", entries.join(", "))
}

/// Raw, gzip and brotli bytes of every file in `dist/` and `dist/pkg`, of a
/// first visit until the home list is usable (every file except the split
/// chunks, the service worker and the icons, which the worker fetches after
/// the app started), and of the whole first visit: that and the sync
/// client's chunk with the shared chunks it needs, fetched right after the
/// list is on screen.
pub fn size_table(dist: &Path) -> anyhow::Result<String> {
    use std::fmt::Write as _;
    let size = |p: &Path| fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let loader = fs::read_dir(dist.join("pkg"))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("__wasm_split.") && n.ends_with(".js"))
        .map(|n| fs::read_to_string(dist.join("pkg").join(n)))
        .transpose()?
        .unwrap_or_default();
    let client_files = module_files(&loader, CLIENT_MODULE);
    let mut client = (0, 0, 0);
    let mut rows = Vec::new();
    for dir in [dist.to_path_buf(), dist.join("pkg")] {
        for entry in fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let path = entry?.path();
            let name = path
                .strip_prefix(dist)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            if !path.is_file()
                || name.ends_with(".gz")
                || name.ends_with(".br")
                || name.starts_with('.')
            {
                continue;
            }
            let first_visit = !(name == "sw.js"
                || name.starts_with("icon")
                || (name.ends_with(".wasm") && !name.starts_with("pkg/accord_app_bg.")));
            if client_files
                .iter()
                .any(|f| name.strip_prefix("pkg/") == Some(f.as_str()))
            {
                client = (
                    client.0 + size(&path),
                    client.1 + size(&with_suffix(&path, ".gz")),
                    client.2 + size(&with_suffix(&path, ".br")),
                );
            }
            rows.push((
                name,
                size(&path),
                size(&with_suffix(&path, ".gz")),
                size(&with_suffix(&path, ".br")),
                first_visit,
            ));
        }
    }
    rows.sort();
    let mut out =
        String::from("| file | raw | gzip | brotli | first visit |\n|---|---:|---:|---:|---|\n");
    let mut total = (0, 0, 0);
    for (name, raw, gz, br, first) in &rows {
        writeln!(
            out,
            "| {name} | {raw} | {gz} | {br} | {} |",
            if *first { "yes" } else { "" }
        )?;
        if *first {
            total = (total.0 + raw, total.1 + gz, total.2 + br);
        }
    }
    writeln!(
        out,
        "| **first visit, until the home list** | {} | {} | {} | |",
        total.0, total.1, total.2
    )?;
    writeln!(
        out,
        "| sync client chunk and its {} shared chunks, right after | {} | {} | {} | |",
        client_files.len().saturating_sub(1),
        client.0,
        client.1,
        client.2
    )?;
    writeln!(
        out,
        "| **first visit, all** | {} | {} | {} | |",
        total.0 + client.0,
        total.1 + client.1,
        total.2 + client.2
    )?;
    Ok(out)
}

#[derive(Clone, Copy)]
enum Level {
    Fast,
    Best,
}

fn precompress(path: &Path, level: Level) -> anyhow::Result<()> {
    let data = fs::read(path).with_context(|| format!("reading {}", path.display()))?;

    let gz_level = match level {
        Level::Fast => flate2::Compression::fast(),
        Level::Best => flate2::Compression::best(),
    };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), gz_level);
    gz.write_all(&data)?;
    fs::write(with_suffix(path, ".gz"), gz.finish()?)?;

    let (quality, window) = match level {
        Level::Fast => (4, 22),
        Level::Best => (11, 22),
    };
    let mut br = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut br, 64 * 1024, quality, window);
        writer.write_all(&data)?;
        writer.flush()?;
    }
    fs::write(with_suffix(path, ".br"), br)?;
    Ok(())
}

/// `wasm-opt` from the npm package `binaryen`, installed into `xtask/node_modules` on first use.
fn ensure_wasm_opt(workspace_root: &Path) -> anyhow::Result<PathBuf> {
    let xtask = workspace_root.join("xtask");
    let bin = xtask.join("node_modules").join(".bin").join("wasm-opt");
    let wanted = BINARYEN_VERSION
        .split('.')
        .next()
        .unwrap_or(BINARYEN_VERSION);
    let current = Command::new(&bin).arg("--version").output();
    if current
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("version {wanted}")))
    {
        return Ok(bin);
    }
    let mut npm = Command::new("npm");
    npm.current_dir(&xtask)
        .args([
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--no-package-lock",
        ])
        .arg(format!("binaryen@{BINARYEN_VERSION}"));
    run(&mut npm).context("installing binaryen with npm (is Node.js installed?)")?;
    if !bin.exists() {
        bail!("npm installed binaryen but {} is missing", bin.display());
    }
    Ok(bin)
}

fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn target_dir(workspace_root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root.join(dir),
        None => workspace_root.join("target"),
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{command:?}");
    eprintln!("xtask: {shown}");
    let status = command
        .status()
        .with_context(|| format!("starting {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

/// Adds the `wasm32-unknown-unknown` target with rustup when it is missing
/// (the wasm build and the wasm clippy pass both need it).
pub fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup (is rustup installed?)")?;
    if !String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == WASM_TARGET)
    {
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_module_fetches_its_chunk_and_the_shared_ones_naming_it() {
        let loader = r#"
/* agreement_page, client */
const __chunk_7 = makeLoad(() => {
    const src = fetch(new URL("./chunk_7.75b3bcb9bb61d143.wasm", import.meta.url));
}, []);
/* agreement_page, join_pages */
const __chunk_8 = makeLoad(() => {
    const src = fetch(new URL("./chunk_8.e7ef2234a2d58578.wasm", import.meta.url));
}, []);
/* client_extra */
const __chunk_9 = makeLoad(() => {
    const src = fetch(new URL("./chunk_9.0000000000000000.wasm", import.meta.url));
}, []);
const __client = makeLoad(() => {
    const src = fetch(new URL("./split_client.8f6c094cb76b1659.wasm", import.meta.url));
}, [__chunk_7]);
const __client_extra = makeLoad(() => {
    const src = fetch(new URL("./split_client_extra.1111111111111111.wasm", import.meta.url));
}, [__chunk_9]);
"#;
        assert_eq!(
            module_files(loader, "client"),
            [
                "chunk_7.75b3bcb9bb61d143.wasm",
                "split_client.8f6c094cb76b1659.wasm"
            ]
        );
        assert_eq!(
            split_module_files(loader),
            concat!(
                r#"{"client": ["chunk_7.75b3bcb9bb61d143.wasm", "split_client.8f6c094cb76b1659.wasm"], "#,
                r#""client_extra": ["chunk_9.0000000000000000.wasm", "split_client_extra.1111111111111111.wasm"]}"#
            )
        );
    }

    /// `stem.<16 lowercase hex digits>.ext`.
    fn is_hashed_name(name: &str) -> bool {
        let mut parts = name.rsplit('.');
        let (_, hash) = (parts.next(), parts.next().unwrap_or(""));
        hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())
    }

    #[test]
    fn assets_get_hashed_names_and_entry_files_follow() {
        let dist = std::env::temp_dir().join(format!("xtask-fingerprint-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dist);
        fs::create_dir_all(dist.join("pkg")).unwrap();
        fs::write(
            dist.join("index.html"),
            r#"<link href="/style.css"><link href="/pkg/__wasm_split.js"><script>import("/pkg/accord_app.js"); init("/pkg/accord_app_bg.wasm")</script><script>const files = __ACCORD_SPLIT_FILES__;</script>"#,
        )
        .unwrap();
        fs::write(
            dist.join("sw.js"),
            r#"const VERSION = "__ACCORD_BUILD__"; const SHELL = ["/", "/style.css", "__ACCORD_CHUNKS__"];"#,
        )
        .unwrap();
        fs::write(dist.join("style.css"), "body{}").unwrap();
        fs::write(
            dist.join("manifest.webmanifest"),
            r#"{"icons": [{"src": "/icon.svg"}, {"src": "/icon-192.png"}, {"src": "/icon-512.png"}]}"#,
        )
        .unwrap();
        write_icons(&dist).unwrap();
        fs::write(
            dist.join("pkg/accord_app.js"),
            r#"import * as split from "./__wasm_split.js"; const imports = { "./__wasm_split.js": split };"#,
        )
        .unwrap();
        fs::write(dist.join("pkg/accord_app_bg.wasm"), "wasm").unwrap();
        fs::write(
            dist.join("pkg/__wasm_split.js"),
            r#"import { initSync } from "./accord_app.js"; fetch(new URL("./split_plan.wasm", import.meta.url));"#,
        )
        .unwrap();
        fs::write(dist.join("pkg/split_plan.wasm"), "chunk").unwrap();

        let split = fingerprint_split(&dist).unwrap();
        fingerprint_assets(&dist, split).unwrap();

        let css = hashed_name("style.css", b"body{}");
        assert!(dist.join(&css).is_file() && !dist.join("style.css").exists());
        let index = fs::read_to_string(dist.join("index.html")).unwrap();
        assert!(index.contains(&format!("\"/{css}\"")), "{index}");
        assert!(!index.contains("\"/pkg/accord_app.js\""), "{index}");
        assert!(built_wasm(&dist).is_ok());
        let worker = fs::read_to_string(dist.join("sw.js")).unwrap();
        assert!(worker.contains(&format!("\"/{css}\"")), "{worker}");
        assert!(!worker.contains(VERSION_PLACEHOLDER), "{worker}");
        // The chunk is hashed, the loader fetches it by that name, the two
        // modules import each other by their new names, and the worker
        // keeps the loader and the chunk.
        let chunk = hashed_name("split_plan.wasm", b"chunk");
        assert!(dist.join("pkg").join(&chunk).is_file());
        let mut pkg: Vec<String> = fs::read_dir(dist.join("pkg"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        pkg.sort();
        let module = pkg.iter().find(|n| n.starts_with("accord_app.")).unwrap();
        let loader = pkg.iter().find(|n| n.starts_with("__wasm_split.")).unwrap();
        assert!(is_hashed_name(module) && is_hashed_name(loader), "{pkg:?}");
        let loader_text = fs::read_to_string(dist.join("pkg").join(loader)).unwrap();
        assert!(
            loader_text.contains(&format!("\"./{chunk}\"")),
            "{loader_text}"
        );
        assert!(
            loader_text.contains(&format!("\"./{module}\"")),
            "{loader_text}"
        );
        let module_text = fs::read_to_string(dist.join("pkg").join(module)).unwrap();
        assert!(
            module_text.contains(&format!("from \"./{loader}\"")),
            "{module_text}"
        );
        // The wasm imports the loader under its original name.
        assert!(
            module_text.contains(r#"{ "./__wasm_split.js": split }"#),
            "{module_text}"
        );
        assert!(index.contains(&format!("\"/pkg/{module}\"")), "{index}");
        assert!(index.contains(&format!("\"/pkg/{loader}\"")), "{index}");
        assert!(worker.contains(&format!("\"/pkg/{chunk}\"")), "{worker}");
        assert!(worker.contains(&format!("\"/pkg/{loader}\"")), "{worker}");
        assert!(!worker.contains("__ACCORD_CHUNKS__"), "{worker}");
        // The page knows which files a deep link to the module needs.
        assert!(
            index.contains(&format!(r#"const files = {{"plan": ["{chunk}"]}};"#)),
            "{index}"
        );
        let manifest = fs::read_to_string(dist.join("manifest.webmanifest")).unwrap();
        assert!(!manifest.contains("\"/icon-512.png\""), "{manifest}");
        fs::remove_dir_all(&dist).unwrap();
    }
}
