//! Validated emulator settings. `cli.rs` turns flags into this; tests and the
//! gateway build it directly (`EmulatorConfig::default()` is the built-in org,
//! HTTPS with a generated certificate, an in-memory database).

use std::path::PathBuf;
use std::time::Duration;

use crate::ingest::IngestSettings;
use crate::org::FixtureSource;

/// How the listener speaks.
#[derive(Debug, Clone)]
pub enum TlsMode {
    /// Generate a self-signed certificate at start; write its PEM into `dir`
    /// (default: the system temp dir) so clients can trust it.
    Generate { dir: Option<PathBuf> },
    /// Use these PEM files.
    Files { cert: PathBuf, key: PathBuf },
    /// Plain HTTP (`--plain-http`).
    Plain,
}

/// Everything the emulator needs to start.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub tls: TlsMode,
    pub fixtures: FixtureSource,
    /// SQLite file; `None` keeps the data in memory.
    pub db: Option<PathBuf>,
    /// Rows per V2 batch (`--query-batch-rows`).
    pub query_batch_rows: usize,
    /// Enforce Salesforce's documented 3-minute ceiling on JWT `exp`.
    pub strict_jwt: bool,
    /// Lifetime of core access tokens.
    pub core_token_ttl: Duration,
    /// Lifetime of Data Cloud tokens (`expires_in`).
    pub dc_token_ttl: Duration,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Bound on the TLS handshake.
    pub handshake_timeout: Duration,
    /// Bound on reading a request head.
    pub header_read_timeout: Duration,
    /// Bound on the shutdown drain.
    pub shutdown_grace: Duration,
    /// Host (and port) to advertise in `instance_url`s instead of the bound address,
    /// e.g. `localhost:9443`.
    pub public_host: Option<String>,
    /// Streaming ingestion limits and the processing-delay override.
    pub ingest: IngestSettings,
    /// Requests the journal keeps (`--journal-size`; 0 turns it off).
    pub journal_size: usize,
    /// Whether the journal also records `/__emulator/*` requests.
    pub journal_control: bool,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            tls: TlsMode::Generate { dir: None },
            fixtures: FixtureSource::Builtin,
            db: None,
            query_batch_rows: 2000,
            strict_jwt: false,
            core_token_ttl: Duration::from_secs(2 * 3600),
            dc_token_ttl: Duration::from_secs(7200),
            max_body_bytes: 32 * 1024 * 1024,
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            public_host: None,
            ingest: IngestSettings::default(),
            journal_size: 10_000,
            journal_control: false,
        }
    }
}
