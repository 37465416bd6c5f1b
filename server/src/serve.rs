//! The accept loop: HTTP/1.1 connections served by hyper with a header-read timeout, at most
//! `max_connections` of them at once, and a graceful shutdown.
//!
//! `axum::serve` sets no header-read timeout: a client sending one header byte every few seconds
//! kept its connection (and its file descriptor) for as long as it liked. This loop follows
//! axum's own "serve-with-hyper" and "graceful-shutdown" examples
//! (<https://github.com/tokio-rs/axum/tree/main/examples>): the router becomes a per-connection
//! service carrying `ConnectInfo<SocketAddr>` (the webhooks' sender check reads it), served by
//! `hyper::server::conn::http1` with hyper-util's Tokio timer, each connection watched by
//! hyper-util's `GracefulShutdown`.
//!
//! **Connection cap.** A semaphore of `max_connections` permits: a permit is taken before each
//! `accept` and released when its connection ends, so at the cap the loop stops accepting (new
//! connections wait in the kernel's backlog) until one closes. Reaching the cap is logged once
//! per episode, not once per connection.
//!
//! HTTP/2 is not offered: browsers speak it only over TLS, which the merchant's edge terminates.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::Router;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::Service;

/// How long a shutdown waits for open connections (SSE streams included) before it drops them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What the loop enforces on connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// A request head must arrive whole within this time.
    pub header_read_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open connections finish
/// their current request for up to [`SHUTDOWN_GRACE`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut at_cap = false;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => {
                if at_cap {
                    tracing::info!("open connections are under the cap again");
                    at_cap = false;
                }
                permit
            }
            Err(_) => {
                if !at_cap {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection cap reached: new connections wait until one closes"
                    );
                    at_cap = true;
                }
                tokio::select! {
                    permit = Arc::clone(&permits).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        // Never closed; if it were, nothing more could be served.
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = match make_service.call(remote).await {
            Ok(service) => service,
            Err(never) => match never {},
        };
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that hangs up or breaks the protocol ends its own connection only.
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "a connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("connections still open after the shutdown's grace period are dropped");
        }
    }
}

/// An `accept` error: a connection reset before it was accepted is the client's; anything else
/// (out of file descriptors) is logged and the loop pauses a moment rather than spin, as
/// `axum::serve` does.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "accept failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
