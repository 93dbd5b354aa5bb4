//! `cargo xtask <task>`: the README's two commands and their helpers.
//!
//! - `run`: set up the web toolchain, build the web app and the relay, and
//!   serve both on <http://127.0.0.1:8080> with SQLite in `./accord-data`.
//! - `test`: set up everything the tests need (wasm toolchain, Chromium and
//!   chromedriver, PostgreSQL, npm packages for the interop peers), build the web app,
//!   and run every test: native, wasm-in-Chromium, and end-to-end.
//! - `lint`: `cargo fmt --check` and clippy with warnings denied (native and wasm).
//! - `web`: only build the web app into `dist/`.
//! - `release`: build the web app if it changed and the release `accord`
//!   with it embedded (`--features embed-web`): the one file to deploy.
//! - `fuzz [seconds]`: run each fuzz target (default 300 s each).

mod icon;
mod web;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let root = workspace_root()?;
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match task.as_str() {
        "run" => run(&root, &rest),
        "test" => test(&root, &rest),
        "lint" => lint(&root),
        "fuzz" => fuzz_briefly(
            &root,
            rest.first().and_then(|s| s.parse().ok()).unwrap_or(300),
        ),
        "release" => {
            let relay = release(&root)?;
            let size = std::fs::metadata(&relay).map(|m| m.len()).unwrap_or(0);
            println!("{} ({size} bytes, web app included)", relay.display());
            Ok(())
        }
        "bench-web" => bench_web(&root),
        "web" => {
            web::ensure_web_tools()?;
            let dist = web::build_web(&root, true)?;
            println!("web app built into {}", dist.display());
            Ok(())
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <run|test|lint|web|bench-web|release> [args]\n\n  run      build and serve the app on http://127.0.0.1:8080\n  test     set up and run every test\n  lint     rustfmt and clippy checks\n  web      build the web app into dist/\n  bench-web  web app sizes and Chromium load times (docs/benchmarks.md)\n  release  build the one-file relay with the web app inside"
            );
            if task.is_empty() {
                Ok(())
            } else {
                bail!("unknown task {task:?}")
            }
        }
    }
}

fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    Ok(manifest
        .parent()
        .context("xtask lives inside the workspace")?
        .to_owned())
}

/// Runs a command in `dir`, failing with its name if it fails.
fn step(dir: &Path, program: &str, args: &[&str]) -> anyhow::Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .with_context(|| format!("starting {program}"))?;
    if !status.success() {
        bail!("{program} {} failed with {status}", args.join(" "));
    }
    Ok(())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The release relay's build command: the web app in `dist/` embedded.
const RELEASE_BUILD: &[&str] = &[
    "build",
    "--release",
    "-p",
    "accord-server",
    "--bin",
    "accord",
    "--features",
    "embed-web",
];

/// Builds the web app (when its sources changed) and the release relay
/// that embeds it; returns the relay's path.
fn release(root: &Path) -> anyhow::Result<PathBuf> {
    web::ensure_web_tools()?;
    web::build_web_if_changed(root)?;
    step(root, &cargo(), RELEASE_BUILD)?;
    Ok(target_dir(root).join("release").join("accord"))
}

/// `$CARGO_TARGET_DIR` (relative to the workspace) or `target/`.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |d| root.join(d))
}

fn run(root: &Path, extra: &[String]) -> anyhow::Result<()> {
    // The same binary `release` ships (so switching between the two does
    // not rebuild it); `--web-dir dist` still serves the files on disk.
    let relay = release(root)?;
    let dist = root.join("dist");
    let dist = dist.to_str().context("dist path is not UTF-8")?;
    let serve = ServeArgs::new(dist, extra);
    eprintln!("{}", serve.banner());
    let args = serve.args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    step(
        root,
        relay.to_str().context("relay path is not UTF-8")?,
        &args,
    )
}

/// `accord serve`'s arguments for `cargo xtask run`: the defaults (listen
/// on 127.0.0.1:8080, data in `accord-data`, the web app from `dist/`), each
/// replaced by the same flag among the extra arguments, which pass through
/// (a leading `--` is dropped, as cargo users type it out of habit).
#[derive(Debug, PartialEq, Eq)]
struct ServeArgs {
    listen: String,
    data_dir: String,
    web_dir: String,
    rest: Vec<String>,
}

impl ServeArgs {
    fn new(dist: &str, extra: &[String]) -> Self {
        let mut serve = Self {
            listen: "127.0.0.1:8080".to_owned(),
            data_dir: "accord-data".to_owned(),
            web_dir: dist.to_owned(),
            rest: Vec::new(),
        };
        let extra = match extra.first() {
            Some(first) if first == "--" => &extra[1..],
            _ => extra,
        };
        let mut args = extra.iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
                _ => (arg.as_str(), None),
            };
            let slot = match flag {
                "--listen" => &mut serve.listen,
                "--data-dir" => &mut serve.data_dir,
                "--web-dir" => &mut serve.web_dir,
                _ => {
                    serve.rest.push(arg.clone());
                    continue;
                }
            };
            match inline.or_else(|| args.next().cloned()) {
                Some(value) => *slot = value,
                // A flag without its value: let the relay say so.
                None => serve.rest.push(arg.clone()),
            }
        }
        serve
    }

    /// The relay's command line.
    fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--data-dir".to_owned(),
            self.data_dir.clone(),
            "serve".to_owned(),
            "--listen".to_owned(),
            self.listen.clone(),
            "--web-dir".to_owned(),
            self.web_dir.clone(),
        ];
        args.extend(self.rest.iter().cloned());
        args
    }

    /// What to tell the person who ran it.
    fn banner(&self) -> String {
        if self.listen.ends_with(":0") {
            format!(
                "starting the relay on a free port of {} (its log says which); data in {}",
                self.listen.trim_end_matches(":0"),
                self.data_dir
            )
        } else {
            format!(
                "open http://{} (data in {}; Ctrl-C stops the relay after committing everything)",
                self.listen, self.data_dir
            )
        }
    }
}

/// Installs Chromium and chromedriver from Debian when they are missing.
fn ensure_browser() -> anyhow::Result<()> {
    let present = |name: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if present("chromium") && present("chromedriver") {
        return Ok(());
    }
    let sudo = if running_as_root() { "" } else { "sudo " };
    let script = format!(
        "{sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive {sudo}apt-get install -y -qq chromium chromium-driver"
    );
    step(Path::new("."), "sh", &["-c", &script])
}

/// Installs Debian's PostgreSQL when `pg_ctl` is missing: the storage and
/// cluster tests start throwaway PostgreSQL servers of their own
/// (`accord-testpg`), from the binaries under `/usr/lib/postgresql/*/bin`.
fn ensure_postgres() -> anyhow::Result<()> {
    let installed = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .any(|version| version.path().join("bin/pg_ctl").exists());
    let on_path = Command::new("sh")
        .args(["-c", "command -v pg_ctl"])
        .output()
        .is_ok_and(|o| o.status.success());
    if installed || on_path {
        return Ok(());
    }
    let sudo = if running_as_root() { "" } else { "sudo " };
    let script = format!(
        "{sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive {sudo}apt-get install -y -qq postgresql"
    );
    step(Path::new("."), "sh", &["-c", &script])
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs the JavaScript peers used by the interop tests.
fn ensure_interop_packages(root: &Path) -> anyhow::Result<()> {
    // Each package directory with the file whose absence means "install".
    for (dir, marker) in [
        ("tests/interop/js", "node_modules"),
        ("tests/browser/js", "node_modules/axe-core/axe.min.js"),
    ] {
        let js = root.join(dir);
        if js.join("package-lock.json").exists() && !js.join(marker).exists() {
            step(&js, "npm", &["ci", "--no-audit", "--no-fund"])?;
        }
    }
    Ok(())
}

/// The web client's benchmark: the release build's bytes per file (raw,
/// gzip, brotli, and what a first visit downloads), then load times in
/// Chromium, unthrottled and Fast-3G-like with a 4× slower CPU (the ignored
/// test `bench_web_load`), then the big-partnership figures (the ignored
/// test `bench_web_big_partnership`).
fn bench_web(root: &Path) -> anyhow::Result<()> {
    web::ensure_web_tools()?;
    ensure_browser()?;
    let dist = web::build_web_if_changed(root)?;
    println!("{}", web::size_table(&dist)?);
    step(
        root,
        &cargo(),
        &["build", "-p", "accord-server", "--bin", "accord"],
    )?;
    let status = Command::new(cargo())
        .args([
            "test",
            "-p",
            "accord-tests",
            "--test",
            "it",
            // Both benchmarks: load times, and the big partnership.
            "bench_web",
        ])
        .args(["--", "--ignored", "--nocapture", "--test-threads=1"])
        .current_dir(root)
        .env("ACCORD_WEB_DIST", &dist)
        .env("ACCORD_BIN", target_dir(root).join("debug").join("accord"))
        .status()
        .context("running the load benchmark")?;
    if !status.success() {
        bail!("the load benchmark failed");
    }
    Ok(())
}

fn test(root: &Path, extra: &[String]) -> anyhow::Result<()> {
    web::ensure_web_tools()?;
    ensure_browser()?;
    ensure_postgres()?;
    ensure_interop_packages(root)?;
    let dist = web::build_web_if_changed(root)?;
    step(
        root,
        &cargo(),
        &["build", "-p", "accord-server", "--bin", "accord"],
    )?;
    // The shipped binary, for the test that serves the embedded app.
    step(root, &cargo(), RELEASE_BUILD)?;
    let mut args = vec!["test", "--workspace", "--exclude", "accord-app"];
    args.extend(extra.iter().map(String::as_str));
    let status = Command::new(cargo())
        .args(&args)
        .current_dir(root)
        .env("ACCORD_WEB_DIST", &dist)
        .env("ACCORD_BIN", target_dir(root).join("debug").join("accord"))
        .env(
            "ACCORD_RELEASE_BIN",
            target_dir(root).join("release").join("accord"),
        )
        .status()
        .context("running cargo test")?;
    if !status.success() {
        bail!("native and end-to-end tests failed");
    }
    step(root, &cargo(), &["test", "-p", "accord-app", "--lib"])?;
    eprintln!(
        "$ cargo test -p accord-app --target wasm32-unknown-unknown (IndexedDB tests in headless Chromium)"
    );
    let status = Command::new(cargo())
        .args([
            "test",
            "-p",
            "accord-app",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .current_dir(root)
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .status()
        .context("running the wasm tests")?;
    if !status.success() {
        bail!("browser (wasm-bindgen-test) tests failed");
    }
    fuzz_briefly(root, 20)
}

/// Runs each cargo-fuzz target for `seconds` (longer runs: see README).
/// cargo-fuzz needs unstable compiler flags; `RUSTC_BOOTSTRAP=1` lets the
/// stable toolchain accept them.
fn fuzz_briefly(root: &Path, seconds: u32) -> anyhow::Result<()> {
    let installed = Command::new(cargo())
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        step(root, &cargo(), &["install", "cargo-fuzz", "--locked"])?;
    }
    // The wire decoder and engine live in `shared/fuzz`; the HTTP API's
    // target needs the server crate, so it lives in `server/fuzz`.
    let targets = [
        ("shared", "wire_decoder"),
        ("shared", "engine_messages"),
        ("server", "api_requests"),
    ];
    for (crate_dir, target) in targets {
        let budget = format!("-max_total_time={seconds}");
        eprintln!("$ (cd {crate_dir} && cargo fuzz run -O {target} -- {budget})");
        let status = Command::new(cargo())
            .args(["fuzz", "run", "-O", target, "--", &budget])
            .current_dir(root.join(crate_dir))
            .env("RUSTC_BOOTSTRAP", "1")
            .status()
            .context("running cargo fuzz")?;
        if !status.success() {
            bail!("fuzz target {target} found a failure (see {crate_dir}/fuzz/artifacts/{target})");
        }
    }
    Ok(())
}

fn lint(root: &Path) -> anyhow::Result<()> {
    web::ensure_wasm_target()?;
    step(root, &cargo(), &["fmt", "--all", "--", "--check"])?;
    step(
        root,
        &cargo(),
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    step(
        root,
        &cargo(),
        &[
            "clippy",
            "-p",
            "accord-app",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(extra: &[&str]) -> Vec<String> {
        let extra: Vec<String> = extra.iter().map(|a| (*a).to_owned()).collect();
        ServeArgs::new("dist", &extra).args()
    }

    #[test]
    fn run_uses_the_defaults_without_arguments() {
        assert_eq!(
            serve(&[]),
            [
                "--data-dir",
                "accord-data",
                "serve",
                "--listen",
                "127.0.0.1:8080",
                "--web-dir",
                "dist"
            ]
        );
    }

    #[test]
    fn extra_arguments_replace_the_defaults_with_or_without_a_double_dash() {
        let expected = [
            "--data-dir",
            "/tmp/d",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--web-dir",
            "dist",
        ];
        assert_eq!(
            serve(&["--", "--listen", "127.0.0.1:0", "--data-dir", "/tmp/d"]),
            expected
        );
        assert_eq!(
            serve(&["--listen", "127.0.0.1:0", "--data-dir", "/tmp/d"]),
            expected
        );
        assert_eq!(
            serve(&["--listen=127.0.0.1:0", "--data-dir=/tmp/d"]),
            expected
        );
    }

    #[test]
    fn other_arguments_pass_through_to_the_relay() {
        let args = serve(&["--registration", "invite", "--web-dir", "other"]);
        assert_eq!(
            &args[5..],
            ["--web-dir", "other", "--registration", "invite"]
        );
        // A flag missing its value reaches the relay, which explains.
        assert_eq!(
            serve(&["--listen"]).last().map(String::as_str),
            Some("--listen")
        );
    }
}
