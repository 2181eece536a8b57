//! Configuration in two stages: the raw TOML file with flag and `DCGW_*`
//! overrides applied (`config/raw.rs`, `config/keys.rs`), then validation into
//! [`GatewayConfig`] with real types, files read and keys parsed
//! (`config/validate.rs`). Anything wrong stops start-up with a message that
//! names the key; `serve --check-config` stops right after this stage.

mod clients;
pub mod components;
mod credentials;
pub mod keys;
pub mod raw;
pub mod secret;
pub mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use secret::Secret;
pub use validate::{validate, Secrets};

use crate::auth::assertion::SigningKey;
use crate::policy::Clients;

/// A validated configuration: what `Gateway::start` takes.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub server: ServerSettings,
    pub upstream: UpstreamSettings,
    pub credentials: CredentialSettings,
    pub facade: FacadeSettings,
    pub log: LogSettings,
    pub clients: Clients,
    /// The pipeline components' settings (`config/components.rs`).
    pub components: Components,
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    pub tls: ListenerTls,
    pub public_host: Option<String>,
    pub handshake_timeout: Duration,
    pub header_read_timeout: Duration,
    pub shutdown_grace: Duration,
    pub max_connections: usize,
    pub max_buffered_body: usize,
}

/// The listener's certificate.
#[derive(Debug, Clone)]
pub enum ListenerTls {
    /// Generate a self-signed certificate at start and write its PEM to `dir`
    /// (default: the temp dir).
    Generate { dir: Option<PathBuf> },
    /// PEM files, checked at validation (readable, parse, key matches).
    Files { cert: PathBuf, key: PathBuf },
}

#[derive(Debug, Clone)]
pub struct UpstreamSettings {
    /// `https://login.salesforce.com`, without a trailing slash.
    pub login_url: String,
    /// Extra trusted CA certificates (PEM).
    pub ca_pem: Option<String>,
    pub insecure_skip_verify: bool,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    pub pool_idle_timeout: Duration,
    pub pool_max_idle_per_host: usize,
}

/// How the core token is obtained.
#[derive(Debug, Clone)]
pub enum Flow {
    JwtBearer {
        client_id: String,
        username: String,
        key: Arc<SigningKey>,
    },
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
    RefreshToken {
        client_id: String,
        client_secret: Option<Secret>,
        refresh_token: Secret,
    },
}

impl Flow {
    /// The step name reported when this grant fails.
    pub fn step(&self) -> &'static str {
        match self {
            Flow::JwtBearer { .. } => "jwt_bearer",
            Flow::ClientCredentials { .. } => "client_credentials",
            Flow::RefreshToken { .. } => "refresh_token",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CredentialSettings {
    pub flow: Flow,
    pub dataspace: String,
    pub assertion_ttl: Duration,
    pub core_token_ttl: Duration,
    pub refresh: RefreshPolicy,
}

/// When background refresh happens: `lifetime × fraction`, less up to
/// `jitter` of that, clamped to `[min, max]` (and never past the lifetime).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefreshPolicy {
    pub fraction: f64,
    pub jitter: f64,
    pub min: Duration,
    pub max: Duration,
}

impl RefreshPolicy {
    /// The delay before refreshing a token living `lifetime`, with `random`
    /// in `[0, 1)` choosing the jitter.
    pub fn delay(&self, lifetime: Duration, random: f64) -> Duration {
        let base = lifetime.as_secs_f64() * self.fraction;
        let jittered = base * (1.0 - self.jitter * random.clamp(0.0, 1.0));
        let clamped = jittered.clamp(self.min.as_secs_f64(), self.max.as_secs_f64());
        // A token shorter than `min` is refreshed at 90 % of its life rather
        // than after it expired.
        Duration::from_secs_f64(clamped.min(lifetime.as_secs_f64() * 0.9).max(0.05))
    }
}

#[derive(Debug, Clone)]
pub struct FacadeSettings {
    pub token_ttl: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    pub level: String,
    pub format: LogFormat,
}

/// Settings of the pipeline components.
#[derive(Debug, Clone)]
pub struct Components {
    pub cache: crate::cache::CacheConfig,
    pub ingest: crate::ingest::IngestLimits,
    pub retry: crate::retry::RetryPolicy,
    /// `None`: no upstream rate limit.
    pub ratelimit: Option<crate::ratelimit::RateLimitConfig>,
}

/// Errors that stop start-up, each naming the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("{origin} sets {key} to {value:?}: {message}")]
    Override {
        key: &'static str,
        origin: String,
        value: String,
        message: String,
    },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
    #[error(
        "refusing to start open on {listen}: no [[clients]] are configured, so anyone who can reach the address could use the org's credentials; listen on a loopback address (127.0.0.1, ::1) or configure clients"
    )]
    OpenOnNonLoopback { listen: SocketAddr },
}

impl ConfigError {
    pub(crate) fn invalid(key: &str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

/// Where an override came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Flag,
    Env,
}

/// One flag or environment value for a key.
#[derive(Debug, Clone)]
pub struct Override {
    pub key: &'static keys::Key,
    pub value: String,
    pub origin: Origin,
}

/// Reads the file (if any) and applies overrides: stage one. Relative paths
/// in the file are resolved against the file's directory.
pub fn read_raw(
    file: Option<&Path>,
    overrides: &[Override],
) -> Result<(raw::RawConfig, PathBuf), ConfigError> {
    let (text, name, base) = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
                path: path.to_owned(),
                source,
            })?;
            let base = path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."));
            (text, path.display().to_string(), base)
        }
        None => (String::new(), "(none)".to_owned(), PathBuf::from(".")),
    };
    let raw = validate::parse_raw(&text, &name, overrides)?;
    Ok((raw, base))
}

impl GatewayConfig {
    /// Parses and validates a TOML text (tests and embedding): relative paths
    /// resolve against `base_dir`, secrets come from `secrets`.
    pub fn from_toml_str(
        text: &str,
        base_dir: &Path,
        secrets: &Secrets,
    ) -> Result<GatewayConfig, ConfigError> {
        let raw = validate::parse_raw(text, "(inline)", &[])?;
        validate(raw, base_dir, secrets)
    }

    /// Whether the gateway runs open (no clients configured).
    pub fn is_open(&self) -> bool {
        self.clients.is_empty()
    }
}

/// The open-mode rule: no clients → loopback only.
pub fn check_open_mode(listen: SocketAddr, clients: &Clients) -> Result<(), ConfigError> {
    if clients.is_empty() && !listen.ip().is_loopback() {
        return Err(ConfigError::OpenOnNonLoopback { listen });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_delay_is_a_jittered_clamped_fraction() {
        let p = RefreshPolicy {
            fraction: 0.8,
            jitter: 0.1,
            min: Duration::from_secs(1),
            max: Duration::from_secs(3600),
        };
        let two_hours = Duration::from_secs(7200);
        assert_eq!(p.delay(two_hours, 0.0), Duration::from_secs(3600));
        let lifetime = Duration::from_secs(1000);
        assert_eq!(p.delay(lifetime, 0.0), Duration::from_secs(800));
        assert_eq!(p.delay(lifetime, 1.0), Duration::from_secs(720));
        // Very short lifetimes are refreshed before they end.
        assert!(p.delay(Duration::from_millis(500), 0.0) < Duration::from_millis(500));
    }
}
