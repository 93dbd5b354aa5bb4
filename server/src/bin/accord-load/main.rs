//! `accord-load`: a load generator and relay comparison for automerge-repo relays.
//!
//! Without a subcommand it runs one live-typing workload against `--url` and
//! reports change-to-peer latency, throughput and (with `--relay-pid`) the
//! relay's CPU and memory. `accord-load compare` starts the Accord relay and the
//! JavaScript automerge-repo sync server side by side and runs the same
//! workloads against both. Every workload is bounded in count and time.

mod cluster_kill_loop;
mod compare;
mod docs;
mod error;
mod http;
mod kill_loop;
mod measure;
mod pointers;
mod procstat;
mod relay;
mod scenarios;
mod typing;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::typing::{TypingConfig, TypingReport};

#[derive(Parser)]
#[command(
    name = "accord-load",
    version,
    about = "Load generator and relay comparison for automerge-repo relays",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Start our relay and the JavaScript sync server and run the same workloads on both.
    Compare(CompareArgs),
    /// Workshop pointers: participants on one board, rising, until pointer
    /// latency passes the target.
    Pointers(PointerArgs),
    /// SIGKILL our relay mid-stream, restart it, and check nothing acknowledged was lost.
    KillLoop {
        /// Our relay binary.
        #[arg(long, default_value = "target/release/accord")]
        accord_bin: std::path::PathBuf,
        /// Kill/restart cycles.
        #[arg(long, default_value_t = 200)]
        cycles: u32,
    },
    /// Three relay nodes on one PostgreSQL database: SIGKILL the owner of a
    /// document a writer on another node edits, and report the time from
    /// the kill to the writer's first acknowledgement and any acknowledged
    /// change lost.
    ClusterKillLoop {
        /// Our relay binary.
        #[arg(long, default_value = "target/release/accord")]
        accord_bin: std::path::PathBuf,
        /// The PostgreSQL database the nodes share (`postgres://…`; use a
        /// fresh one).
        #[arg(long)]
        store: String,
        /// Kills.
        #[arg(long, default_value_t = 50)]
        cycles: u32,
        /// The nodes' `--lease-ttl-ms`.
        #[arg(long, default_value_t = 1000)]
        lease_ttl_ms: u64,
    },
}

/// Flags of the live-typing run.
#[derive(Args)]
struct RunArgs {
    /// The relay's automerge-repo WebSocket URL (e.g. `ws://127.0.0.1:3030`).
    #[arg(long)]
    url: Option<String>,
    /// An Accord relay's HTTP base (`http://127.0.0.1:8080`): register a device
    /// there and connect to its `/sync?token=…` (overrides `--url`). Several,
    /// comma-separated, are nodes of one cluster: the device is registered on
    /// the first, and each document's typists and reader go round-robin over
    /// the nodes, starting at the one that owns it.
    #[arg(long, value_delimiter = ',')]
    accord_http: Vec<String>,
    /// Typists per document, each on its own connection.
    #[arg(long, default_value_t = 4)]
    typists_per_doc: usize,
    /// Documents.
    #[arg(long, default_value_t = 1)]
    docs: usize,
    /// Changes per second per typist.
    #[arg(long, default_value_t = 5.0)]
    rate: f64,
    /// Seconds of typing (setup comes before; at most 3 s of waiting after).
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// The relay's process id, to report its CPU and memory.
    #[arg(long)]
    relay_pid: Option<u32>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Flags of `pointers`.
#[derive(Args)]
struct PointerArgs {
    /// An Accord relay's HTTP base (`http://127.0.0.1:8080`).
    #[arg(long)]
    accord_http: Option<String>,
    /// Any automerge-repo relay's WebSocket URL (used without `--accord-http`).
    #[arg(long)]
    url: Option<String>,
    /// Board sizes to run, in order (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [5, 10, 20, 30, 40, 60])]
    participants: Vec<usize>,
    /// Pointer messages per second per participant.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Seconds per board size.
    #[arg(long, default_value_t = 5)]
    duration_secs: u64,
    /// The p99 pointer latency target, ms.
    #[arg(long, default_value_t = 50.0)]
    target_ms: f64,
    /// The relay's process id, to report its CPU and memory.
    #[arg(long)]
    relay_pid: Option<u32>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Flags of `compare`.
#[derive(Args)]
struct CompareArgs {
    /// The release `accord` binary.
    #[arg(long, default_value = "target/release/accord")]
    accord_bin: PathBuf,
    /// Directory of the automerge-repo 1.2 sync server wrapper (`npm ci` runs
    /// there when `node_modules` is missing).
    #[arg(long, default_value = "tests/bench/js")]
    js_dir: PathBuf,
    /// Directory of the automerge-repo 2.5 relay (`npm ci` likewise).
    #[arg(long, default_value = "tests/bench/js-2.5")]
    js25_dir: PathBuf,
    /// The samod relay's crate, built with `cargo build --release` before the run.
    #[arg(long, default_value = "tests/bench/samod-relay")]
    samod_dir: PathBuf,
    /// Cargo target directory for the samod relay (default: `bench-samod-relay`
    /// under `CARGO_TARGET_DIR`, or under `target`).
    #[arg(long)]
    samod_target_dir: Option<PathBuf>,
    /// The Node.js executable.
    #[arg(long, default_value = "node")]
    node: String,
    /// A ~1-minute smoke run with small sizes.
    #[arg(long)]
    quick: bool,
    /// Print JSON (all measurements) instead of the table.
    #[arg(long)]
    json: bool,
    /// The relays to measure, in column order (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = relay::Kind::ALL)]
    relays: Vec<relay::Kind>,
    /// Only relay CPU per delivered change at the fixed loads and memory per
    /// idle connection (a few minutes; the figures that hold on a busy machine).
    #[arg(long)]
    cost_only: bool,
    /// Only memory per idle connection (about a minute per relay).
    #[arg(long, conflicts_with = "cost_only")]
    idle_only: bool,
    /// Only the long-life scenario: upload a document with this many changes,
    /// fetch it from a new device, restart, fetch again; relay CPU and size on
    /// disk (e.g. 100000).
    #[arg(long, conflicts_with_all = ["cost_only", "idle_only"])]
    long_life: Option<usize>,
    /// Also write all measurements as JSON to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
}

fn print_typing(report: &TypingReport) {
    println!(
        "{} typists on {} documents at {}/s for {:.0} s (setup {:.1} s)",
        report.typists, report.docs, report.rate, report.duration_secs, report.setup_secs
    );
    println!(
        "latency ms: p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}",
        report.latency.p50_ms, report.latency.p95_ms, report.latency.p99_ms, report.latency.max_ms
    );
    println!(
        "changes: {} written, {} delivered ({:.1}/s), {} undelivered",
        report.written, report.delivered, report.throughput_per_sec, report.undelivered
    );
    if let Some(relay) = &report.usage.relay {
        println!(
            "relay: cpu {:.1}%  rss start {} KiB, peak {} KiB, end {} KiB",
            relay.cpu_percent, relay.rss_start_kib, relay.rss_peak_kib, relay.rss_end_kib
        );
    }
    if let (Some(secs), Some(us)) = (report.relay_cpu_secs, report.relay_us_per_change) {
        println!(
            "relay cost: {secs:.2} CPU-seconds, {us:.1} µs per delivered change (fan-out {})",
            report.fan_out
        );
    }
    if let Some(me) = &report.usage.load_generator {
        println!(
            "load generator: cpu {:.1}%  rss peak {} KiB",
            me.cpu_percent, me.rss_peak_kib
        );
    }
    println!(
        "machine: {:.0}% of all CPUs busy, load average {:.1}",
        report.usage.machine_busy_percent, report.usage.load_average
    );
}

/// The sync URL: a fresh device's on an Accord relay, or `url` as given.
async fn sync_url(accord_http: Option<&String>, url: Option<&String>) -> anyhow::Result<String> {
    Ok(match (accord_http, url) {
        (Some(http), _) => {
            let token = http::register_device(http, "accord-load")
                .await
                .context("registering a load device")?;
            http::accord_sync_url(http, &token)
        }
        (None, Some(url)) => url.clone(),
        (None, None) => bail!("give --url or --accord-http (or a subcommand; see --help)"),
    })
}

/// Waits until the node at `base` knows the device holding `token` (access
/// records reach the other nodes of a cluster within about a second).
async fn wait_known(base: &str, token: &str) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = http::request(base, "GET", "/api/me", Some(token), None).await?;
        if status == 200 {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            bail!("{base} never learned of the load device (status {status})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run_pointers(args: PointerArgs) -> anyhow::Result<()> {
    let url = sync_url(args.accord_http.as_ref(), args.url.as_ref()).await?;
    let mut reports = Vec::new();
    if !args.json {
        println!(
            "participants  sent/s  delivered   p50 ms   p95 ms   p99 ms   relay CPU %  relay µs/pointer  machine %"
        );
    }
    for participants in args.participants {
        let config = pointers::PointerConfig {
            url: url.clone(),
            participants,
            rate: args.rate,
            duration: Duration::from_secs(args.duration_secs),
            relay_pid: args.relay_pid,
        };
        let report = pointers::run(&config).await.context("pointer run")?;
        if !args.json {
            println!(
                "{:>12}  {:>6.0}  {:>8.1}%  {:>7.1}  {:>7.1}  {:>7.1}  {:>11}  {:>16}  {:>9.0}",
                report.participants,
                report.sent as f64 / report.duration_secs,
                100.0 * report.received as f64 / report.expected.max(1) as f64,
                report.latency.p50_ms,
                report.latency.p95_ms,
                report.latency.p99_ms,
                report
                    .usage
                    .relay
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |r| format!("{:.0}", r.cpu_percent)),
                report
                    .relay_us_per_delivery
                    .map_or_else(|| "-".to_owned(), |us| format!("{us:.1}")),
                report.usage.machine_busy_percent,
            );
        }
        let collapsed = report.latency.p99_ms > 20.0 * args.target_ms;
        reports.push(report);
        if collapsed {
            break;
        }
    }
    let held = reports
        .iter()
        .filter(|r| r.latency.p99_ms < args.target_ms && r.received == r.expected)
        .map(|r| r.participants)
        .max();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        match held {
            Some(n) => println!(
                "most participants on one board with p99 < {} ms and every pointer delivered: {n}",
                args.target_ms
            ),
            None => println!("no board size met p99 < {} ms", args.target_ms),
        }
    }
    Ok(())
}

async fn run_once(args: RunArgs) -> anyhow::Result<()> {
    let urls = match args.accord_http.split_first() {
        None => vec![sync_url(None, args.url.as_ref()).await?],
        Some((first, _)) => {
            let token = http::register_device(first, "accord-load")
                .await
                .context("registering a load device")?;
            for node in &args.accord_http {
                wait_known(node, &token).await?;
            }
            args.accord_http
                .iter()
                .map(|node| http::accord_sync_url(node, &token))
                .collect()
        }
    };
    let config = TypingConfig {
        urls,
        docs: args.docs,
        typists_per_doc: args.typists_per_doc,
        rate: args.rate,
        duration: Duration::from_secs(args.duration_secs),
        relay_pid: args.relay_pid,
    };
    let report = typing::run(&config).await.context("live typing")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_typing(&report);
    }
    Ok(())
}

/// Prints a kill loop's report as JSON; an error when it lost any
/// acknowledged change.
fn print_kill_loop(report: &impl serde::Serialize, acknowledged_lost: u64) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(report)?);
    if acknowledged_lost > 0 {
        bail!("{acknowledged_lost} acknowledged change(s) lost");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        None => run_once(cli.run).await,
        Some(Command::Pointers(args)) => run_pointers(args).await,
        Some(Command::KillLoop { accord_bin, cycles }) => {
            let report = kill_loop::run(accord_bin, cycles)
                .await
                .context("kill -9 loop")?;
            print_kill_loop(&report, report.acknowledged_lost)
        }
        Some(Command::ClusterKillLoop {
            accord_bin,
            store,
            cycles,
            lease_ttl_ms,
        }) => {
            let report = cluster_kill_loop::run(accord_bin, store, cycles, lease_ttl_ms)
                .await
                .context("cluster kill -9 loop")?;
            print_kill_loop(&report, report.acknowledged_lost)
        }
        Some(Command::Compare(args)) => {
            let samod_target_dir = args.samod_target_dir.unwrap_or_else(|| {
                std::env::var_os("CARGO_TARGET_DIR")
                    .map_or_else(|| PathBuf::from("target"), PathBuf::from)
                    .join("bench-samod-relay")
            });
            let options = compare::Options {
                launcher: relay::Launcher {
                    accord_bin: args.accord_bin,
                    node: args.node,
                    js_dir: args.js_dir,
                    js25_dir: args.js25_dir,
                    samod_dir: args.samod_dir,
                    samod_target_dir,
                },
                quick: args.quick,
                relays: args.relays,
                cost_only: args.cost_only,
                idle_only: args.idle_only,
                long_life: args.long_life,
            };
            let results = compare::run(&options).await.context("comparison")?;
            if let Some(path) = &args.json_out {
                std::fs::write(path, serde_json::to_string_pretty(&results)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if args.json {
                println!("{}", serde_json::to_string_pretty(&results)?);
            } else {
                println!("{}", compare::table(&results));
            }
            Ok(())
        }
    }
}
