//! `accord-load`: a load generator and relay comparison for automerge-repo relays.
//!
//! Without a subcommand it runs one live-typing workload against `--url` and
//! reports change-to-peer latency, throughput and (with `--relay-pid`) the
//! relay's CPU and memory. `accord-load compare` starts the Accord relay and the
//! JavaScript automerge-repo sync server side by side and runs the same
//! workloads against both. Every workload is bounded in count and time.

mod compare;
mod docs;
mod error;
mod http;
mod kill_loop;
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
    /// SIGKILL our relay mid-stream, restart it, and check nothing acknowledged was lost.
    KillLoop {
        /// Our relay binary.
        #[arg(long, default_value = "target/release/accord")]
        accord_bin: std::path::PathBuf,
        /// Kill/restart cycles.
        #[arg(long, default_value_t = 200)]
        cycles: u32,
    },
}

/// Flags of the live-typing run.
#[derive(Args)]
struct RunArgs {
    /// The relay's automerge-repo WebSocket URL (e.g. `ws://127.0.0.1:3030`).
    #[arg(long)]
    url: Option<String>,
    /// An Accord relay's HTTP base (`http://127.0.0.1:8080`): register a device
    /// there and connect to its `/sync?token=…` (overrides `--url`).
    #[arg(long)]
    accord_http: Option<String>,
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

/// Flags of `compare`.
#[derive(Args)]
struct CompareArgs {
    /// The release `accord` binary.
    #[arg(long, default_value = "target/release/accord")]
    accord_bin: PathBuf,
    /// Directory holding the JS server wrapper with its `node_modules` installed.
    #[arg(long, default_value = "tests/bench/js")]
    js_dir: PathBuf,
    /// The Node.js executable.
    #[arg(long, default_value = "node")]
    node: String,
    /// A ~1-minute smoke run with small sizes.
    #[arg(long)]
    quick: bool,
    /// Print JSON (all measurements) instead of the table.
    #[arg(long)]
    json: bool,
    /// Measure only one relay.
    #[arg(long, value_enum)]
    only: Option<relay::Kind>,
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
        report.p50_ms, report.p95_ms, report.p99_ms, report.max_ms
    );
    println!(
        "changes: {} written, {} delivered ({:.1}/s), {} undelivered",
        report.written, report.delivered, report.throughput_per_sec, report.undelivered
    );
    if let Some(relay) = &report.relay {
        println!(
            "relay: cpu {:.1}%  rss start {} KiB, peak {} KiB, end {} KiB",
            relay.cpu_percent, relay.rss_start_kib, relay.rss_peak_kib, relay.rss_end_kib
        );
    }
    if let Some(me) = &report.load_generator {
        println!(
            "load generator: cpu {:.1}%  rss peak {} KiB",
            me.cpu_percent, me.rss_peak_kib
        );
    }
    println!(
        "machine: {:.0}% of all CPUs busy, load average {:.1}",
        report.machine_busy_percent, report.load_average
    );
}

async fn run_once(args: RunArgs) -> anyhow::Result<()> {
    let url = match (&args.accord_http, &args.url) {
        (Some(http), _) => {
            let token = http::register_device(http, "accord-load")
                .await
                .context("registering a load device")?;
            http::accord_sync_url(http, &token)
        }
        (None, Some(url)) => url.clone(),
        (None, None) => bail!("give --url or --accord-http (or a subcommand; see --help)"),
    };
    let config = TypingConfig {
        url,
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        None => run_once(cli.run).await,
        Some(Command::KillLoop { accord_bin, cycles }) => {
            let report = kill_loop::run(accord_bin, cycles)
                .await
                .context("kill -9 loop")?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if report.acknowledged_lost > 0 {
                bail!("{} acknowledged change(s) lost", report.acknowledged_lost);
            }
            Ok(())
        }
        Some(Command::Compare(args)) => {
            let options = compare::Options {
                accord_bin: args.accord_bin,
                js_dir: args.js_dir,
                node: args.node,
                quick: args.quick,
                only: args.only,
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
