//! `dc-emulator`: a local Salesforce Data Cloud that real client SDKs can log
//! into and query, unchanged except for their login URL.
//!
//! One host plays all three Salesforce roles — login host, core instance and
//! Data Cloud tenant endpoint — so every `instance_url` it hands out points back
//! to itself. Start it in-process with [`Emulator::start`] on a bound listener;
//! the handle gives its address and a shutdown. See `ARCHITECTURE.md`.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod compress;
pub mod config;
pub mod controls;
pub mod cursor;
pub mod error;
pub mod faults;
pub mod first_byte;
pub mod identity;
pub mod ingest;
pub mod journal;
pub mod model;
pub mod org;
pub mod ratelimit;
pub mod routes;
pub mod server;
pub mod sql;
pub mod state;
pub mod store;
pub mod testing;
pub mod tls;
pub mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{EmulatorConfig, TlsMode};
pub use org::FixtureSource;

use state::AppState;

/// Errors that stop the emulator from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Org(#[from] org::OrgError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}

/// A running emulator.
pub struct Emulator {
    addr: SocketAddr,
    base_url: String,
    cert_pem: Option<String>,
    cert_path: Option<PathBuf>,
    state: Arc<AppState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// Stops the ingestion processor.
    ingest_stop: Option<oneshot::Sender<()>>,
    ingest_task: Option<JoinHandle<()>>,
    /// Stops identity resolution's real-time task.
    identity_stop: Option<oneshot::Sender<()>>,
    identity_task: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Loads the org, seeds the database, prepares TLS and starts serving on
    /// `listener`. Returns once the listener is accepting.
    pub async fn start(
        config: EmulatorConfig,
        listener: TcpListener,
    ) -> Result<Emulator, StartError> {
        let addr = listener.local_addr()?;
        let org = Arc::new(org::Org::load(&config.fixtures)?);
        let store = store::Store::open(config.db.as_deref(), &org)?;
        // One clock for tokens, JWT checks, cursors and SQL's NOW()/CURRENT_DATE.
        let clock = clock::Clock::default();
        let catalog = Arc::new(sql::Catalog::new(&org.model).with_clock(clock.clone()));

        let (tls, cert_pem, cert_path) = match &config.tls {
            TlsMode::Plain => (None, None, None),
            TlsMode::Files { cert, key } => {
                let ck = tls::CertifiedKey::from_files(cert, key)?;
                (
                    Some(ck.server_config()?),
                    Some(ck.cert_pem.clone()),
                    Some(cert.clone()),
                )
            }
            TlsMode::Generate { dir } => {
                let ck = tls::CertifiedKey::self_signed(&[])?;
                let dir = dir.clone().unwrap_or_else(std::env::temp_dir);
                let path = ck.write_cert_pem(&dir, &format!("dc-emulator-{}.pem", addr.port()))?;
                (
                    Some(ck.server_config()?),
                    Some(ck.cert_pem.clone()),
                    Some(path),
                )
            }
        };

        let host = match &config.public_host {
            Some(h) => h.clone(),
            None => advertised_host(addr),
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url = format!("{scheme}://{host}");
        let ingest = Arc::new(ingest::Runtime::new(&config.ingest));
        let state = Arc::new(AppState {
            tokens: auth::tokens::TokenStore::new(clock.clone()),
            cursors: cursor::Cursors::default(),
            identity: identity::Identity::new(&org),
            journal: journal::Journal::new(config.journal_size, config.journal_control),
            controls: Default::default(),
            faults: Default::default(),
            ratelimits: Default::default(),
            config,
            base_url: base_url.clone(),
            host,
            org,
            catalog,
            clock,
            store,
            ingest,
            stats: Default::default(),
        });

        // The ingestion processor: applies queued work (also work left
        // queued by an earlier run on the same --db) when it is due.
        let (ingest_stop, ingest_rx) = oneshot::channel::<()>();
        let ingest_task = tokio::spawn(ingest::queue::run(state.clone(), ingest_rx));
        // Identity resolution for real-time streams, woken by the processor.
        let (identity_stop, identity_rx) = oneshot::channel::<()>();
        let identity_task = tokio::spawn(identity::run_task(state.clone(), identity_rx));

        let (tx, rx) = oneshot::channel::<()>();
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let task = tokio::spawn(server::run(listener, acceptor, state.clone(), async move {
            let _ = rx.await;
        }));
        Ok(Emulator {
            addr,
            base_url,
            cert_pem,
            cert_path,
            state,
            shutdown: Some(tx),
            task: Some(task),
            ingest_stop: Some(ingest_stop),
            ingest_task: Some(ingest_task),
            identity_stop: Some(identity_stop),
            identity_task: Some(identity_task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT`: use it as the login URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// PEM of the serving certificate (to trust it), unless plain HTTP.
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    /// File holding the serving certificate PEM, unless plain HTTP.
    pub fn cert_path(&self) -> Option<&std::path::Path> {
        self.cert_path.as_deref()
    }

    /// Shared state (for in-process tests and the gateway's embedded mode).
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// The emulator's virtual clock (shared with the running server).
    pub fn clock(&self) -> &clock::Clock {
        &self.state.clock
    }

    /// Stops accepting, drains in-flight requests (bounded) and returns.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        // After the server: a request accepted during the drain is queued,
        // and queued work is kept for the next start on the same --db.
        if let Some(tx) = self.ingest_stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.ingest_task.take() {
            let _ = task.await;
        }
        if let Some(tx) = self.identity_stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.identity_task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(tx) = self.ingest_stop.take() {
            let _ = tx.send(());
        }
        if let Some(tx) = self.identity_stop.take() {
            let _ = tx.send(());
        }
    }
}

/// The host:port clients should use: the bound IP, or `127.0.0.1` when bound to
/// every interface (clients such as `cdp` force IPv4).
fn advertised_host(addr: SocketAddr) -> String {
    let ip = addr.ip();
    if ip.is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    }
}
