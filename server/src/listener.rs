//! Accepting connections: a cap on how many are open, header-read and idle
//! timeouts, and a reserve that keeps `/healthz` and `/metrics` answering
//! while the cap is reached.
//!
//! axum's own `serve` sets no timeouts, so a client that sends half a request
//! (slowloris) held its connection forever. Here hyper's header-read timeout
//! bounds the time to send a request head — which also bounds how long a
//! kept-alive connection may sit idle — and every connection, WebSockets
//! included, holds a [`Slot`] until it closes.
//!
//! With TLS the handshake happens in the connection's own task, under the
//! same header-read timeout and holding the same slot, so a client that
//! stalls mid-handshake costs what one stalling on its headers does.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::config::Limits;
use crate::tls::Tls;

/// Marks a request that arrived over TLS (for headers only HTTPS may send).
#[derive(Debug, Clone, Copy)]
pub(crate) struct OverTls;

/// One open connection's place under the cap, given back when the last
/// holder (the HTTP connection, or the WebSocket it became) lets go.
#[derive(Debug)]
pub(crate) struct Slot {
    open: Arc<AtomicUsize>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Paths still served when the connection cap is reached.
fn is_health(path: &str) -> bool {
    matches!(path, "/healthz" | "/metrics")
}

/// Serves `router` on `listener` (over TLS when `tls` is given) until
/// `shutdown` resolves, then lets open HTTP exchanges finish for up to ten
/// seconds.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let open = Arc::new(AtomicUsize::new(0));
    let (stop, stopping) = watch::channel(false);
    let header_timeout = Duration::from_millis(limits.header_read_timeout_ms);
    let max = limits.max_connections;
    let reserve = limits.health_reserve_connections;
    tokio::pin!(shutdown);
    loop {
        let (stream, address) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off, go on.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let count = open.fetch_add(1, Ordering::AcqRel) + 1;
        let slot = Arc::new(Slot { open: open.clone() });
        if count > max + reserve {
            // Beyond even the health reserve: close at once.
            drop(stream);
            continue;
        }
        let health_only = count > max;
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        let connection = Connection {
            router: router.clone(),
            address,
            slot,
            health_only,
            max,
            header_timeout,
            stopping: stopping.clone(),
            over_tls: tls.is_some(),
        };
        let tls = tls.as_ref().map(Tls::acceptor);
        tokio::spawn(async move {
            match tls {
                None => connection.serve(stream).await,
                Some(acceptor) => {
                    match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => connection.serve(stream).await,
                        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
        });
    }
    let _ = stop.send(true);
    Ok(())
}

/// One accepted connection and what serving it needs.
struct Connection {
    router: Router,
    address: SocketAddr,
    slot: Arc<Slot>,
    health_only: bool,
    max: usize,
    header_timeout: Duration,
    stopping: watch::Receiver<bool>,
    over_tls: bool,
}

impl Connection {
    /// Serves HTTP/1.1 (and upgrades) on `io` until it closes or the
    /// listener stops.
    async fn serve<I>(self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Self {
            router,
            address,
            slot,
            health_only,
            max,
            header_timeout,
            mut stopping,
            over_tls,
        } = self;
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(address));
            request.extensions_mut().insert(slot.clone());
            if over_tls {
                request.extensions_mut().insert(OverTls);
            }
            let router = router.clone();
            async move {
                if health_only && !is_health(request.uri().path()) {
                    return Ok::<_, Infallible>(at_capacity(max));
                }
                router.oneshot(request.map(Body::new)).await
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .keep_alive(!health_only);
        let connection = builder
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        tokio::pin!(connection);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
            }
            () = async { let _ = stopping.wait_for(|stop| *stop).await; } => {
                connection.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(Duration::from_secs(10), connection).await;
            }
        }
    }
}

/// The answer to a request over the connection cap.
fn at_capacity(max: usize) -> Response<Body> {
    let body = serde_json::json!({
        "error": format!("the relay is at its limit of {max} connections; try again shortly")
    });
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    response
}
