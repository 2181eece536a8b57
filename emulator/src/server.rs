//! The accept loop: TCP → (TLS) → hyper-util auto (HTTP/1.1 + HTTP/2) → `routes::handle`.
//!
//! Every wait is bounded: the TLS handshake (`handshake_timeout`), the request
//! head (`header_read_timeout`), the body (capped at `max_body_bytes`, read
//! fully before routing), and the shutdown drain (`shutdown_grace`). On
//! shutdown the listener stops accepting, in-flight requests finish, and
//! connections are closed once idle or when the grace period ends.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::first_byte::FirstByte;
use crate::state::AppState;
use crate::wire::{Req, Resp};

/// Runs the accept loop until `shutdown` resolves, then drains.
pub async fn run(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(state.config.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);

    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let builder = builder.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        let handshake_timeout = state.config.handshake_timeout;
        let header_read_timeout = state.config.header_read_timeout;
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let state = state.clone();
                async move {
                    let resp = serve_one(state, req).await;
                    // A fault rule's dropped connection: failing the service
                    // makes hyper close the connection without a response.
                    if crate::faults::is_dropped(&resp) {
                        Err(crate::faults::DropConnection)
                    } else {
                        Ok(resp)
                    }
                }
            });
            match tls {
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(handshake_timeout, acceptor.accept(stream));
                    let tls_stream = match handshake.await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                    // hyper bounds a head once begun; FirstByte bounds the wait
                    // for it to begin (the HTTP/2 preface sniffing included).
                    let io = FirstByte::new(tls_stream, header_read_timeout);
                    let conn = builder.serve_connection(TokioIo::new(io), service);
                    let _ = watcher.watch(conn.into_owned()).await;
                }
                None => {
                    let io = FirstByte::new(stream, header_read_timeout);
                    let conn = builder.serve_connection(TokioIo::new(io), service);
                    let _ = watcher.watch(conn.into_owned()).await;
                }
            }
        });
    }

    drop(listener);
    let grace = state.config.shutdown_grace;
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(grace) => tracing::warn!("shutdown grace period ended with connections open"),
    }
}

/// Reads the body under the cap, routes, gzips the answer if the client
/// accepts it.
async fn serve_one(state: Arc<AppState>, req: Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    let limit = state.config.max_body_bytes;
    let body: Bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let too_large = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            let status = if too_large {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            let message = if too_large {
                format!("Request body exceeds {limit} bytes")
            } else {
                "Request body could not be read".to_owned()
            };
            return crate::routes::error_for_path(parts.uri.path(), status, message)
                .into_response(state.clock.now());
        }
    };
    let gzip = crate::compress::accepts_gzip(&parts.headers);
    let req = Req {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
        body,
    };
    let resp = crate::routes::handle(&state, req).await;
    if gzip {
        crate::compress::gzip(resp).await
    } else {
        resp
    }
}
