//! `dc-gateway`: a local HTTPS gateway in front of Salesforce Data Cloud.
//!
//! It holds the org's credentials (JWT bearer, client credentials or refresh
//! token), keeps a core token and Data Cloud tokens fresh in the background,
//! and forwards `/api/...` to the tenant endpoint and `/services/data/...` to
//! the core instance with the right token injected. Unmodified SDKs log into
//! its OAuth facade; other clients use an API key. Each client's policy
//! (direction, operations, objects) is enforced per request.
//!
//! Start it in-process with [`Gateway::start`] on a bound listener, like the
//! emulator. The request pipeline is in `proxy.rs`; see
//! `docs/request-lifecycle.md` and `docs/config.md`.

pub mod auth;
pub mod body;
pub mod cache;
pub mod check;
pub mod cli;
pub mod config;
pub mod embedded;
pub mod health;
pub mod ingest;
pub mod jwt_cmd;
pub mod keygen;
pub mod metrics;
pub mod policy;
pub mod proxy;
pub mod ratelimit;
pub mod retry;
pub mod server;
pub mod shutdown;
pub mod telemetry;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{ConfigError, GatewayConfig};

use auth::facade::Facade;
use auth::Tokens;
use cache::QueryCache;
use metrics::Metrics;
use proxy::upstream::Upstream;
use proxy::Proxy;
use ratelimit::RateLimiter;

/// Errors that stop the gateway from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("TLS: {0}")]
    Tls(#[from] dc_emulator::tls::TlsError),
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}

/// A running gateway.
pub struct Gateway {
    addr: SocketAddr,
    base_url: String,
    cert_pem: String,
    cert_path: Option<PathBuf>,
    open: bool,
    proxy: Arc<Proxy>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Gateway {
    /// Prepares TLS and the upstream client, starts the token refreshers
    /// (which log in right away) and starts serving on `listener`.
    ///
    /// Refuses to run open (no clients configured) on a non-loopback address.
    pub async fn start(
        config: GatewayConfig,
        listener: TcpListener,
    ) -> Result<Gateway, StartError> {
        let addr = listener.local_addr()?;
        config::check_open_mode(addr, &config.clients)?;
        let cert = tls::listener(&config.server.tls, addr.port())?;
        if config.upstream.insecure_skip_verify {
            tracing::error!(
                "upstream.insecure_skip_verify is ON: upstream certificates are NOT verified; never use this in production"
            );
        }
        let upstream = Upstream::new(&config.upstream)?;
        let public_host = config
            .server
            .public_host
            .clone()
            .unwrap_or_else(|| advertised_host(addr));
        let base_url = format!("https://{public_host}");
        let metrics = Arc::new(Metrics::new(&proxy::route::LABELS));
        let route_ids = proxy::route::LABELS
            .iter()
            .map(|l| metrics.route(l))
            .collect();
        let tokens = Tokens::new(
            upstream.clone(),
            config.credentials.clone(),
            config.upstream.login_url.clone(),
            metrics.clone(),
        );
        tokens.start();
        let open = config.is_open();
        let components = &config.components;
        let proxy = Arc::new(Proxy {
            tokens,
            upstream,
            facade: Facade::new(
                config.facade.token_ttl,
                public_host.clone(),
                config.clients.clone(),
            ),
            clients: config.clients.clone(),
            max_buffered_body: config.server.max_buffered_body,
            body_timeout: config.upstream.response_timeout,
            cache: QueryCache::new(components.cache.clone()),
            cache_enabled: components.cache.enabled,
            cache_max_result: components.cache.max_result_bytes,
            ingest: components.ingest.clone(),
            retry: {
                let m = metrics.clone();
                components
                    .retry
                    .clone()
                    .on_retry(move |r| m.record_retry(r))
            },
            limiter: components.ratelimit.map(RateLimiter::new),
            metrics,
            route_ids,
        });
        if open {
            tracing::warn!(
                %addr,
                "no clients configured: the gateway is OPEN to anyone who can reach this loopback address"
            );
        }
        let (tx, rx) = oneshot::channel::<()>();
        let acceptor = tokio_rustls::TlsAcceptor::from(cert.config);
        let task = tokio::spawn(server::run(
            listener,
            acceptor,
            proxy.clone(),
            config.server.clone(),
            async move {
                let _ = rx.await;
            },
        ));
        Ok(Gateway {
            addr,
            base_url,
            cert_pem: cert.cert_pem,
            cert_path: cert.cert_path,
            open,
            proxy,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT` (or `server.public_host`): the login URL and
    /// core `instance_url` SDKs use.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// PEM of the listener certificate (trust it in clients).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// File holding the listener certificate PEM.
    pub fn cert_path(&self) -> Option<&std::path::Path> {
        self.cert_path.as_deref()
    }

    /// Whether the gateway runs open (no clients configured).
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Whether a usable Data Cloud token is held (what `/readyz` reports).
    pub fn is_ready(&self) -> bool {
        self.proxy.tokens.ready()
    }

    /// Stops accepting, drains in-flight requests (bounded), stops the
    /// token refreshers.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.proxy.tokens.stop();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.proxy.tokens.stop();
    }
}

/// The host:port clients should use: the bound address, or `127.0.0.1` when
/// bound to every interface (clients such as `cdp` force IPv4).
fn advertised_host(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    }
}
