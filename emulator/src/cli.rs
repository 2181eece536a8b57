//! Command-line flags of `dc-emulator`, turned into an `EmulatorConfig`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::config::{EmulatorConfig, TlsMode};
use crate::org::FixtureSource;

/// A local Salesforce Data Cloud for tests and offline development.
#[derive(Debug, Parser)]
#[command(name = "dc-emulator", version, about)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9443", env = "DCEMU_LISTEN")]
    pub listen: SocketAddr,
    /// Fixture org directory (default: the built-in org).
    #[arg(long, env = "DCEMU_FIXTURES")]
    pub fixtures: Option<PathBuf>,
    /// SQLite database file (default: in memory).
    #[arg(long, env = "DCEMU_DB")]
    pub db: Option<PathBuf>,
    /// Rows per Query V2 batch.
    #[arg(long, default_value_t = 2000, env = "DCEMU_QUERY_BATCH_ROWS")]
    pub query_batch_rows: usize,
    /// PEM certificate chain to serve (with --tls-key).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key to serve (with --tls-cert).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Where to write a generated certificate's PEM (default: the temp dir).
    #[arg(long)]
    pub tls_dir: Option<PathBuf>,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub plain_http: bool,
    /// Also enforce Salesforce's 3-minute ceiling on JWT `exp`.
    #[arg(long)]
    pub strict_jwt: bool,
    /// Lifetime of core access tokens, in seconds.
    #[arg(long, default_value_t = 7200)]
    pub core_token_ttl: u64,
    /// Lifetime of Data Cloud tokens, in seconds.
    #[arg(long, default_value_t = 7200)]
    pub dc_token_ttl: u64,
    /// Host:port to advertise in instance URLs (default: the bound address).
    #[arg(long)]
    pub public_host: Option<String>,
    /// Processing delay of every ingestion stream, in milliseconds of the
    /// emulator clock (default: each stream's `processing_delay_ms`).
    #[arg(long, env = "DCEMU_INGEST_DELAY_MS")]
    pub ingest_delay_ms: Option<u64>,
    /// Records per streaming ingestion request.
    #[arg(long, default_value_t = 50)]
    pub ingest_max_records: usize,
    /// Requests kept in the journal (`/__emulator/journal`); 0 turns it off.
    #[arg(long, default_value_t = 10_000, env = "DCEMU_JOURNAL_SIZE")]
    pub journal_size: usize,
}

impl Cli {
    /// Validated configuration.
    pub fn into_config(self) -> EmulatorConfig {
        let tls = if self.plain_http {
            TlsMode::Plain
        } else if let (Some(cert), Some(key)) = (self.tls_cert, self.tls_key) {
            TlsMode::Files { cert, key }
        } else {
            TlsMode::Generate { dir: self.tls_dir }
        };
        EmulatorConfig {
            tls,
            fixtures: self
                .fixtures
                .map_or(FixtureSource::Builtin, FixtureSource::Dir),
            db: self.db,
            query_batch_rows: self.query_batch_rows.max(1),
            strict_jwt: self.strict_jwt,
            core_token_ttl: std::time::Duration::from_secs(self.core_token_ttl.max(1)),
            dc_token_ttl: std::time::Duration::from_secs(self.dc_token_ttl.max(1)),
            public_host: self.public_host,
            ingest: crate::ingest::IngestSettings {
                max_records: self.ingest_max_records.max(1),
                delay_override_ms: self.ingest_delay_ms,
                ..Default::default()
            },
            journal_size: self.journal_size,
            ..EmulatorConfig::default()
        }
    }
}
