//! `accord`: the relay and its operator commands.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use accord_server::access::{AccessControl, InviteSpec, Registration, Role};
use accord_server::storage::{AnyStore, Storage, StoreLocation};
use accord_server::tls::Tls;
use accord_server::{AppState, Config, Limits};
use accord_shared::automerge::{AutoSerde, Automerge};
use accord_shared::ids::DocumentId;
use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "accord",
    version,
    about = "Accord relay: syncs and stores partnership documents"
)]
struct Cli {
    /// Directory holding the SQLite database (unused with `--store postgres://…`).
    #[arg(
        long,
        global = true,
        env = "ACCORD_DATA_DIR",
        default_value = "accord-data"
    )]
    data_dir: PathBuf,
    /// Keep data in PostgreSQL instead: `postgres://user:password@host:port/database`.
    /// The relay creates and migrates its tables itself.
    #[arg(long, global = true, env = "ACCORD_STORE", hide_env_values = true)]
    store: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the relay.
    Serve(ServeArgs),
    /// Inspect stored documents.
    #[command(subcommand)]
    Documents(DocumentsCommand),
    /// Manage invites.
    #[command(subcommand)]
    Invite(InviteCommand),
    /// Write a consistent copy of the database to a new SQLite file
    /// (from PostgreSQL too: one snapshot, servable with `--data-dir`).
    Backup {
        /// Target file (must not exist).
        target: PathBuf,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ACCORD_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Serve the web app from this directory instead of the copy built into
    /// the binary (for development).
    #[arg(long, env = "ACCORD_WEB_DIR")]
    web_dir: Option<PathBuf>,
    /// Who may register devices.
    #[arg(long, value_enum, env = "ACCORD_REGISTRATION", default_value = "open")]
    registration: Registration,
    /// PEM certificate chain: serve HTTPS and WSS (with --tls-key). SIGHUP
    /// reloads both files.
    #[arg(long, env = "ACCORD_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "ACCORD_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Also listen here for plain HTTP and redirect every request to HTTPS
    /// on the same host and the --listen port (e.g. 0.0.0.0:80).
    #[arg(long, env = "ACCORD_REDIRECT_HTTP_LISTEN", requires = "tls_cert")]
    redirect_http_listen: Option<SocketAddr>,
    /// Largest accepted WebSocket message in bytes.
    #[arg(long, env = "ACCORD_MAX_FRAME_BYTES", default_value_t = Limits::default().max_frame_bytes)]
    max_frame_bytes: usize,
    /// Most documents one connection may touch.
    #[arg(long, env = "ACCORD_MAX_DOCUMENTS_PER_CONNECTION", default_value_t = Limits::default().max_documents_per_connection)]
    max_documents_per_connection: usize,
    /// Sustained messages per second per connection.
    #[arg(long, env = "ACCORD_MAX_MESSAGES_PER_SECOND", default_value_t = Limits::default().max_messages_per_second)]
    max_messages_per_second: u32,
    /// Bytes queued for one client before it is dropped as not reading.
    #[arg(long, env = "ACCORD_MAX_OUTBOX_BYTES", default_value_t = Limits::default().outbox_bytes)]
    max_outbox_bytes: u64,
    /// Bytes queued for all clients together.
    #[arg(long, env = "ACCORD_MAX_OUTBOUND_BYTES", default_value_t = Limits::default().outbound_bytes_total)]
    max_outbound_bytes: u64,
    /// Bytes of received messages waiting for the sync hub.
    #[arg(long, env = "ACCORD_MAX_HUB_INPUT_BYTES", default_value_t = Limits::default().hub_input_bytes)]
    max_hub_input_bytes: u32,
    /// Open connections before new ones are refused (raise `ulimit -n` to match).
    #[arg(long, env = "ACCORD_MAX_CONNECTIONS", default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Require `Authorization: Bearer <token>` on `/metrics`.
    #[arg(long, env = "ACCORD_METRICS_TOKEN")]
    metrics_token: Option<String>,
    /// Serve `/metrics` (and `/healthz`) on this address instead of the main one.
    #[arg(long, env = "ACCORD_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// With `--store postgres://…`: this relay node's id, under which it
    /// owns documents (default: kept in `--data-dir`/node-id, so a restarted
    /// node takes its documents back at once). Give every node its own.
    #[arg(long, env = "ACCORD_NODE_ID")]
    node_id: Option<String>,
    /// With `--store postgres://…`: how long a node's ownership of a
    /// document lasts without renewal (renewed every quarter of it). After a
    /// node dies, its documents wait this long for another node.
    #[arg(long, env = "ACCORD_LEASE_TTL_MS", default_value_t = accord_server::storage::DEFAULT_LEASE_TTL_MS)]
    lease_ttl_ms: u64,
    /// With `--store postgres://…`: the secret every node of the cluster
    /// shares (at least 16 characters). With it, a node forwards a client's
    /// frames for documents another node owns to that node, and accepts
    /// such links from the others; without it, clients must reach the
    /// owner themselves.
    #[arg(long, env = "ACCORD_CLUSTER_SECRET", hide_env_values = true)]
    cluster_secret: Option<String>,
    /// With `--cluster-secret`: the `ws://host:port` other nodes reach this
    /// node at (default: `ws://` and the address it listens on, which must
    /// then not be a wildcard such as 0.0.0.0).
    #[arg(long, env = "ACCORD_ADVERTISE_URL")]
    advertise_url: Option<String>,
    /// Milliseconds a client has to send request headers (and an idle
    /// kept-alive connection stays open; with TLS, also to finish the handshake).
    #[arg(long, env = "ACCORD_HEADER_READ_TIMEOUT_MS", default_value_t = Limits::default().header_read_timeout_ms)]
    header_read_timeout_ms: u64,
    /// Milliseconds a group commit may wait after its first write for more
    /// (fewer disk syncs under moderate load, at up to this much latency).
    #[arg(long, env = "ACCORD_COMMIT_LINGER_MS", default_value_t = Limits::default().commit_linger_ms)]
    commit_linger_ms: u64,
}

#[derive(Subcommand)]
enum DocumentsCommand {
    /// List stored documents with their sizes.
    List,
    /// Export one document.
    Export {
        /// Document id or automerge: URL.
        document: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "json")]
        format: ExportFormat,
        /// Output file (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// The document's content as JSON.
    Json,
    /// The compacted Automerge binary.
    Automerge,
}

#[derive(Subcommand)]
enum InviteCommand {
    /// Create an invite to a document (as the operator).
    Create {
        /// Document id or automerge: URL.
        #[arg(long)]
        document: String,
        /// Role of redeemers.
        #[arg(long, value_enum, default_value = "editor")]
        role: RoleArg,
        /// Party (organization) of redeemers.
        #[arg(long, default_value = "")]
        party: String,
        /// Hours until it expires.
        #[arg(long, default_value_t = 168)]
        expires_in_hours: u64,
        /// How many times it can be redeemed.
        #[arg(long, default_value_t = 1)]
        uses: u32,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Owner,
    Editor,
    Viewer,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Owner => Self::Owner,
            RoleArg::Editor => Self::Editor,
            RoleArg::Viewer => Self::Viewer,
        }
    }
}

/// The log filter when `RUST_LOG` is not set. Automerge wraps its load and
/// commit paths in INFO-level spans whose fields are formatted with `Debug`
/// whenever the span is enabled; at the relay's change rate that formatting
/// was the largest single cost in a profile, so its spans are off by default.
const DEFAULT_LOG_FILTER: &str = "info,automerge=warn";

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| DEFAULT_LOG_FILTER.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let location = StoreLocation::choose(cli.store.as_deref(), &cli.data_dir)?;
    if let StoreLocation::Sqlite(_) = location {
        std::fs::create_dir_all(&cli.data_dir)
            .with_context(|| format!("creating {}", cli.data_dir.display()))?;
    }
    let open =
        || AnyStore::open(&location).with_context(|| format!("opening {}", location.describe()));
    match cli.command {
        Command::Serve(args) => serve(&cli.data_dir, &location, args),
        Command::Documents(DocumentsCommand::List) => {
            let store = open()?.into_storage();
            let mut out = std::io::stdout().lock();
            writeln!(out, "{:<30} {:>8} {:>12}", "document", "chunks", "bytes")?;
            for doc in store.list()? {
                writeln!(
                    out,
                    "{:<30} {:>8} {:>12}",
                    doc.document, doc.chunks, doc.bytes
                )?;
            }
            Ok(())
        }
        Command::Documents(DocumentsCommand::Export {
            document,
            format,
            output,
        }) => {
            let store = open()?.into_storage();
            let id = DocumentId::parse_url_or_id(&document)?;
            let bytes = store
                .load(&id)?
                .with_context(|| format!("document {id} is not stored here"))?;
            let mut doc = Automerge::new();
            doc.load_incremental(&bytes)
                .context("stored bytes do not load")?;
            let data = match format {
                ExportFormat::Json => serde_json::to_vec_pretty(&AutoSerde::from(&doc))?,
                ExportFormat::Automerge => doc.save(),
            };
            match output {
                Some(path) => std::fs::write(&path, data)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => std::io::stdout().lock().write_all(&data)?,
            }
            Ok(())
        }
        Command::Invite(InviteCommand::Create {
            document,
            role,
            party,
            expires_in_hours,
            uses,
        }) => {
            let store: Arc<dyn Storage> = open()?.into_storage();
            let access = AccessControl::load(store, Registration::Open)?;
            let id = DocumentId::parse_url_or_id(&document)?;
            let spec = InviteSpec {
                role: role.into(),
                party,
                expires_in_ms: expires_in_hours.saturating_mul(3_600_000),
                uses,
            };
            let (code, invite) = access.create_invite(id, None, &spec, accord_server::now_ms())?;
            println!("{code}");
            eprintln!(
                "invite to {id} as {} for {:?}, {} use(s), expires at {} ms",
                invite.role, invite.party, invite.uses_left, invite.expires_at
            );
            Ok(())
        }
        Command::Backup { target } => {
            if target.exists() {
                bail!("{} already exists", target.display());
            }
            open()?.backup(&target)?;
            eprintln!("backed up to {}", target.display());
            Ok(())
        }
    }
}

/// The storage id is fixed per data directory so peers recognise the relay across restarts.
fn storage_id(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("storage-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        return Ok(id.trim().to_owned());
    }
    let id = format!("accord-{}", accord_server::access::new_storage_suffix());
    std::fs::write(&path, &id)?;
    Ok(id)
}

/// The node id is kept in the data directory, like the storage id.
fn node_id(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("node-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        return Ok(id.trim().to_owned());
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let id = format!("node-{}", accord_server::access::new_storage_suffix());
    std::fs::write(&path, &id).with_context(|| format!("writing {}", path.display()))?;
    Ok(id)
}

#[tokio::main]
async fn serve(data_dir: &Path, location: &StoreLocation, args: ServeArgs) -> anyhow::Result<()> {
    let mut store =
        AnyStore::open(location).with_context(|| format!("opening {}", location.describe()))?;
    if let AnyStore::Postgres(postgres) = store {
        let node_id = match &args.node_id {
            Some(id) => id.clone(),
            None => node_id(data_dir)?,
        };
        tracing::info!(node = %node_id, lease_ttl_ms = args.lease_ttl_ms, "relay node");
        store = AnyStore::Postgres(postgres.with_node(&node_id, args.lease_ttl_ms));
    }
    let storage_id = match &store {
        AnyStore::Sqlite(_) => storage_id(data_dir)?,
        // Every relay on one database advertises the same storage id.
        AnyStore::Postgres(store) => store.storage_id(&format!(
            "accord-{}",
            accord_server::access::new_storage_suffix()
        ))?,
    };
    let config = Config {
        listen: args.listen,
        data_dir: data_dir.to_owned(),
        web_dir: args.web_dir,
        registration: args.registration,
        limits: Limits {
            max_frame_bytes: args.max_frame_bytes,
            max_documents_per_connection: args.max_documents_per_connection,
            max_messages_per_second: args.max_messages_per_second,
            outbox_bytes: args.max_outbox_bytes,
            outbound_bytes_total: args.max_outbound_bytes,
            hub_input_bytes: args.max_hub_input_bytes,
            max_connections: args.max_connections,
            header_read_timeout_ms: args.header_read_timeout_ms,
            commit_linger_ms: args.commit_linger_ms,
            ..Limits::default()
        },
        storage_id,
        metrics: accord_server::config::MetricsAccess {
            token: args.metrics_token.filter(|t| !t.is_empty()),
            separate_listener: args.metrics_listen.is_some(),
        },
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(Tls::load(cert, key)?),
        _ => None,
    };
    let shared = matches!(store, AnyStore::Postgres(_));
    let mut state = AppState::start(&config, store.into_storage())?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let address = listener.local_addr()?;
    match (&args.cluster_secret, shared) {
        (Some(secret), true) => {
            let link_url = match &args.advertise_url {
                Some(url) => url.clone(),
                None if address.ip().is_unspecified() => anyhow::bail!(
                    "--cluster-secret needs --advertise-url when listening on {address}: \
                     other nodes must know which address reaches this one"
                ),
                None => format!("ws://{address}"),
            };
            state
                .join_cluster(secret, &link_url)
                .context("joining the cluster")?;
            tracing::info!(%link_url, "forwarding to and from other relay nodes");
        }
        (Some(_), false) => {
            anyhow::bail!("--cluster-secret needs a shared store (--store postgres://…)")
        }
        (None, _) => {}
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%address, store = %location.describe(), "relay listening");
    println!("accord relay listening on {scheme}://{address}");
    if let Some(tls) = &tls {
        reload_on_hangup(tls.clone())?;
    }
    if let Some(redirect_address) = args.redirect_http_listen {
        let (redirect_listener, bound) = bind(redirect_address).await?;
        tracing::info!(address = %bound, "redirecting HTTP to HTTPS");
        println!("accord redirects http://{bound} to https");
        let limits = config.limits.clone();
        let https_port = address.port();
        tokio::spawn(async move {
            let forever = std::future::pending::<()>();
            if let Err(error) =
                accord_server::serve_https_redirect(redirect_listener, https_port, &limits, forever)
                    .await
            {
                tracing::error!(%error, "redirect listener failed");
            }
        });
    }
    if let Some(metrics_address) = args.metrics_listen {
        let (metrics_listener, bound) = bind(metrics_address).await?;
        tracing::info!(address = %bound, "metrics listening");
        println!("accord metrics on http://{bound}/metrics");
        let app = accord_server::metrics_app(state.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(metrics_listener, app).await {
                tracing::error!(%error, "metrics listener failed");
            }
        });
    }
    match tls {
        Some(tls) => accord_server::serve_tls(listener, state, tls, stop_requested()).await?,
        None => accord_server::serve(listener, state, stop_requested()).await?,
    }
    Ok(())
}

/// Reloads the certificate and key whenever the process gets SIGHUP (after
/// a renewal); a failed reload is logged and the previous pair stays.
/// Binds a further listener (redirect, metrics); returns it and the
/// address it got.
async fn bind(address: SocketAddr) -> anyhow::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("binding {address}"))?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
}

fn reload_on_hangup(tls: Tls) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match tls.reload() {
                Ok(()) => tracing::info!("reloaded the TLS certificate and key"),
                Err(error) => {
                    tracing::error!(%error, "TLS reload failed; still serving the previous certificate");
                }
            }
        }
    });
    Ok(())
}

/// Ctrl-C (SIGINT) or SIGTERM (what service managers and orchestrators
/// send): stop accepting, commit what is queued, hand documents back.
async fn stop_requested() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot watch SIGTERM; only Ctrl-C stops the relay gracefully");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: committing queued writes, releasing documents");
}
