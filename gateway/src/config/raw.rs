//! Stage one of configuration: the file as written, every field optional,
//! unknown keys refused (a typo must not be silently ignored).
//!
//! Flags and `DCGW_*` variables are applied to the TOML table *before* it is
//! deserialized here, so every source goes through the same parser and the
//! same error messages. `validate.rs` turns this into a `GatewayConfig`.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub upstream: RawUpstream,
    #[serde(default)]
    pub credentials: RawCredentials,
    #[serde(default)]
    pub facade: RawFacade,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub clients: Vec<RawClient>,
    #[serde(default)]
    pub cache: RawCache,
    #[serde(default)]
    pub ingest: RawIngest,
    #[serde(default)]
    pub retry: RawRetry,
    #[serde(default)]
    pub ratelimit: RawRateLimit,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub cert_dir: Option<PathBuf>,
    pub public_host: Option<String>,
    pub handshake_timeout_secs: Option<u64>,
    pub header_read_timeout_secs: Option<u64>,
    pub shutdown_grace_secs: Option<u64>,
    pub max_connections: Option<u64>,
    pub max_buffered_body_bytes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    pub login_url: Option<String>,
    pub ca_cert: Option<PathBuf>,
    pub insecure_skip_verify: Option<bool>,
    pub connect_timeout_secs: Option<u64>,
    pub response_timeout_secs: Option<u64>,
    pub pool_idle_timeout_secs: Option<u64>,
    pub pool_max_idle_per_host: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCredentials {
    pub flow: Option<String>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub private_key_file: Option<PathBuf>,
    pub certificate_file: Option<PathBuf>,
    pub client_secret_file: Option<PathBuf>,
    pub refresh_token_file: Option<PathBuf>,
    pub dataspace: Option<String>,
    pub assertion_ttl_secs: Option<u64>,
    pub core_token_ttl_secs: Option<u64>,
    pub refresh_fraction: Option<f64>,
    pub refresh_jitter: Option<f64>,
    pub refresh_min_secs: Option<f64>,
    pub refresh_max_secs: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFacade {
    pub token_ttl_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub level: Option<String>,
    pub format: Option<String>,
}

/// One `[[clients]]` entry (file only: arrays have no flag form).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClient {
    pub name: Option<String>,
    /// Hex SHA-256 of the API key (what `dc-gateway keygen` prints).
    pub api_key_sha256: Option<String>,
    /// Name of an environment variable holding the API key in clear.
    pub api_key_env: Option<String>,
    /// OAuth client id presented to the facade.
    pub client_id: Option<String>,
    pub client_secret_sha256: Option<String>,
    pub client_secret_env: Option<String>,
    /// `read`, `write` or `read_write`.
    pub direction: Option<String>,
    /// Subset of `["query", "ingest"]`.
    pub operations: Option<Vec<String>>,
    /// Object API names, or `["*"]`.
    pub objects: Option<Vec<String>>,
    /// Data space this client's requests use (default: `credentials.dataspace`).
    pub dataspace: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCache {
    pub enabled: Option<bool>,
    pub ttl_secs: Option<u64>,
    pub max_bytes: Option<u64>,
    pub memo_max_bytes: Option<u64>,
    pub max_result_bytes: Option<u64>,
    pub cursor_idle_secs: Option<u64>,
    pub cursor_ttl_secs: Option<u64>,
    pub cursor_max_bytes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIngest {
    pub max_records: Option<u64>,
    pub max_request_bytes: Option<u64>,
    pub max_delete_ids: Option<u64>,
    pub max_body_bytes: Option<u64>,
    pub oversize: Option<String>,
    pub concurrency: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    pub max_attempts: Option<u64>,
    pub base_delay_ms: Option<u64>,
    pub max_delay_ms: Option<u64>,
    pub max_total_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    pub requests_per_second: Option<f64>,
    pub burst: Option<u64>,
    pub max_wait_ms: Option<u64>,
}
