//! A relay built on `samod` for `accord-load compare`: one samod repo with
//! filesystem storage, and an axum route that hands every WebSocket upgrade to
//! the repo's acceptor. Documents are served only to peers that ask for them
//! by id (announce off, like the published JavaScript sync server).
//!
//! Listens on 127.0.0.1 only (`PORT`, default 0 = any free port) and prints
//! `samod relay listening on http://127.0.0.1:PORT` as its first line; stores
//! in `DATA_DIR` (default `.samod`). SIGINT or SIGTERM stops the repo, then
//! the process.

use std::net::{Ipv4Addr, SocketAddr};

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::routing::get;
use samod::storage::TokioFilesystemStorage;
use samod::{Repo, ShareConfig};
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let data_dir = std::env::var("DATA_DIR").unwrap_or_else(|_| ".samod".into());
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|e| std::io::Error::other(format!("PORT={port}: {e}")))?,
        Err(_) => 0,
    };
    std::fs::create_dir_all(&data_dir)?;
    let repo = Repo::build_tokio()
        .with_storage(TokioFilesystemStorage::new(&data_dir))
        .with_share_policy(ShareConfig::read_write().with_announce(false))
        .load()
        .await;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    let addr = listener.local_addr()?;
    let url = format!("ws://{addr}/")
        .parse()
        .map_err(|e| std::io::Error::other(format!("listener URL: {e:?}")))?;
    let acceptor = repo
        .make_acceptor(url)
        .map_err(|_| std::io::Error::other("the samod repo stopped while starting"))?;
    let app = Router::new().route(
        "/",
        get(move |upgrade: WebSocketUpgrade| {
            let acceptor = acceptor.clone();
            async move {
                upgrade.on_upgrade(move |socket| async move {
                    // Fails only once the repo is stopping; the socket is then dropped.
                    let _ = acceptor.accept_axum(socket, None);
                })
            }
        }),
    );
    println!("samod relay listening on http://{addr}");
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let stopping = async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stopping)
        .await?;
    repo.stop().await;
    Ok(())
}
