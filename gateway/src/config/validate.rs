//! Stage two: raw values → validated settings. Files are read and keys parsed
//! here, so `--check-config` catches a missing key file, a key that does not
//! parse or does not match its certificate, a non-https login URL, … and
//! every message names the key at fault.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::keys::{self, Kind};
use super::raw::RawConfig;
use super::{
    check_open_mode, ConfigError, FacadeSettings, GatewayConfig, ListenerTls, LogFormat,
    LogSettings, Origin, Override, Secret, ServerSettings, UpstreamSettings,
};
use crate::policy::{Client, Clients};

/// Secrets given as values rather than files (environment, or code such as
/// `serve --emulator`). Never printed.
#[derive(Default, Clone)]
pub struct Secrets {
    pub private_key_pem: Option<Secret>,
    pub client_secret: Option<Secret>,
    pub refresh_token: Option<Secret>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(<redacted>)")
    }
}

impl Secrets {
    /// From `DCGW_CREDENTIALS_PRIVATE_KEY`, `…_CLIENT_SECRET`, `…_REFRESH_TOKEN`.
    pub fn from_env() -> Self {
        let get = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .map(Secret::new)
        };
        Secrets {
            private_key_pem: get(keys::SECRET_ENV[0].0),
            client_secret: get(keys::SECRET_ENV[1].0),
            refresh_token: get(keys::SECRET_ENV[2].0),
        }
    }
}

/// Parses the TOML text, applies the overrides and deserializes.
pub fn parse_raw(text: &str, name: &str, overrides: &[Override]) -> Result<RawConfig, ConfigError> {
    let parse_err = |e: toml::de::Error| ConfigError::Parse {
        path: name.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    };
    // First the file alone, so its errors carry line numbers.
    let _: RawConfig = toml::from_str(text).map_err(parse_err)?;
    if overrides.is_empty() {
        return toml::from_str(text).map_err(parse_err);
    }
    let mut table: toml::Table = toml::from_str(text).map_err(parse_err)?;
    for o in overrides {
        let value = typed(o)?;
        set_path(&mut table, o.key.name, value);
    }
    table
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Parse {
            path: "(overrides)".to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })
}

fn typed(o: &Override) -> Result<toml::Value, ConfigError> {
    let bad = |message: &str| ConfigError::Override {
        key: o.key.name,
        origin: match o.origin {
            Origin::Flag => format!("--{}", o.key.flag),
            Origin::Env => o.key.env.to_owned(),
        },
        value: o.value.clone(),
        message: message.to_owned(),
    };
    let v = o.value.trim();
    Ok(match o.key.kind {
        Kind::Str | Kind::Path => toml::Value::String(o.value.clone()),
        Kind::Int => toml::Value::Integer(
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| bad("expected a non-negative integer"))?,
        ),
        Kind::Float => toml::Value::Float(v.parse::<f64>().map_err(|_| bad("expected a number"))?),
        Kind::Bool => toml::Value::Boolean(match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => return Err(bad("expected true or false")),
        }),
    })
}

fn set_path(table: &mut toml::Table, dotted: &str, value: toml::Value) {
    let mut parts = dotted.split('.').peekable();
    let mut current = table;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            current.insert(part.to_owned(), value);
            return;
        }
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else {
            return;
        };
        current = next;
    }
}

pub(super) fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

pub(super) fn read_file(key: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path)
        .map_err(|e| ConfigError::invalid(key, format!("cannot read {}: {e}", path.display())))
}

pub(super) fn secs(key: &str, v: Option<u64>, default: u64) -> Result<Duration, ConfigError> {
    let v = v.unwrap_or(default);
    if v == 0 {
        return Err(ConfigError::invalid(key, "must be at least 1 second"));
    }
    Ok(Duration::from_secs(v))
}

/// Raw → validated.
pub fn validate(
    raw: RawConfig,
    base: &Path,
    secrets: &Secrets,
) -> Result<GatewayConfig, ConfigError> {
    let server = server(&raw, base)?;
    let upstream = upstream(&raw, base)?;
    let credentials = super::credentials::credentials(&raw, base, secrets)?;
    let facade = FacadeSettings {
        token_ttl: secs("facade.token_ttl_secs", raw.facade.token_ttl_secs, 7200)?,
    };
    let log = LogSettings {
        level: raw.log.level.clone().unwrap_or_else(|| "info".to_owned()),
        format: match raw.log.format.as_deref().unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(ConfigError::invalid(
                    "log.format",
                    format!("expected \"text\" or \"json\", got {other:?}"),
                ))
            }
        },
    };
    let mut list = Vec::new();
    for (i, c) in raw.clients.iter().enumerate() {
        let client = super::clients::client(i, c)?;
        if list.iter().any(|o: &Client| o.name == client.name) {
            return Err(ConfigError::invalid(
                &format!("clients[{i}].name"),
                format!("duplicate client name {:?}", client.name),
            ));
        }
        if client.client_id.is_some()
            && list
                .iter()
                .any(|o: &Client| o.client_id == client.client_id)
        {
            return Err(ConfigError::invalid(
                &format!("clients[{}].client_id", client.name),
                "duplicate client_id",
            ));
        }
        list.push(client);
    }
    let clients = Clients::new(list);
    check_open_mode(server.listen, &clients)?;
    Ok(GatewayConfig {
        server,
        upstream,
        credentials,
        facade,
        log,
        clients,
        components: super::components::validate(&raw)?,
    })
}

fn server(raw: &RawConfig, base: &Path) -> Result<ServerSettings, ConfigError> {
    let s = &raw.server;
    let listen_text = s.listen.as_deref().unwrap_or("127.0.0.1:8443");
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        ConfigError::invalid(
            "server.listen",
            format!("expected IP:port such as 127.0.0.1:8443, got {listen_text:?}"),
        )
    })?;
    let tls = match (&s.tls_cert, &s.tls_key) {
        (None, None) => ListenerTls::Generate {
            dir: s.cert_dir.as_ref().map(|d| resolve(base, d)),
        },
        (Some(cert), Some(key)) => {
            let (cert, key) = (resolve(base, cert), resolve(base, key));
            let ck = dc_emulator::tls::CertifiedKey::from_files(&cert, &key).map_err(|e| {
                let which = match e {
                    dc_emulator::tls::TlsError::NoKey(_) => "server.tls_key",
                    dc_emulator::tls::TlsError::Read { ref path, .. } if *path == key => {
                        "server.tls_key"
                    }
                    _ => "server.tls_cert",
                };
                ConfigError::invalid(which, e.to_string())
            })?;
            ck.server_config().map_err(|e| {
                ConfigError::invalid(
                    "server.tls_key",
                    format!(
                        "{} does not match the certificate {} ({e})",
                        key.display(),
                        cert.display()
                    ),
                )
            })?;
            ListenerTls::Files { cert, key }
        }
        (Some(_), None) => {
            return Err(ConfigError::invalid(
                "server.tls_key",
                "required when server.tls_cert is set",
            ))
        }
        (None, Some(_)) => {
            return Err(ConfigError::invalid(
                "server.tls_cert",
                "required when server.tls_key is set",
            ))
        }
    };
    if let Some(h) = &s.public_host {
        if h.contains("://") || h.contains('/') || h.is_empty() {
            return Err(ConfigError::invalid(
                "server.public_host",
                format!("expected host:port without scheme or path, got {h:?}"),
            ));
        }
    }
    let max_connections = s.max_connections.unwrap_or(1024);
    if max_connections == 0 {
        return Err(ConfigError::invalid(
            "server.max_connections",
            "must be at least 1",
        ));
    }
    Ok(ServerSettings {
        listen,
        tls,
        public_host: s.public_host.clone(),
        handshake_timeout: secs(
            "server.handshake_timeout_secs",
            s.handshake_timeout_secs,
            10,
        )?,
        header_read_timeout: secs(
            "server.header_read_timeout_secs",
            s.header_read_timeout_secs,
            10,
        )?,
        shutdown_grace: secs("server.shutdown_grace_secs", s.shutdown_grace_secs, 10)?,
        max_connections: max_connections as usize,
        max_buffered_body: s.max_buffered_body_bytes.unwrap_or(1 << 20) as usize,
    })
}

/// `https://host[:port]` without a trailing slash, or an error naming the key.
pub fn normalize_login_url(text: &str) -> Result<String, ConfigError> {
    let key = "upstream.login_url";
    let uri: http::Uri = text
        .parse()
        .map_err(|_| ConfigError::invalid(key, format!("not a URL: {text:?}")))?;
    if uri.scheme_str() != Some("https") {
        return Err(ConfigError::invalid(
            key,
            format!(
                "must be an https:// URL (Salesforce serves OAuth only over TLS), got {text:?}"
            ),
        ));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| ConfigError::invalid(key, format!("no host in {text:?}")))?;
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(ConfigError::invalid(
            key,
            format!(
                "expected just scheme and host (e.g. https://login.salesforce.com), got {text:?}"
            ),
        ));
    }
    Ok(format!("https://{authority}"))
}

fn upstream(raw: &RawConfig, base: &Path) -> Result<UpstreamSettings, ConfigError> {
    let u = &raw.upstream;
    let login_url = normalize_login_url(
        u.login_url
            .as_deref()
            .unwrap_or("https://login.salesforce.com"),
    )?;
    let ca_pem = match &u.ca_cert {
        None => None,
        Some(p) => {
            let path = resolve(base, p);
            let bytes = read_file("upstream.ca_cert", &path)?;
            let text = String::from_utf8(bytes).map_err(|_| {
                ConfigError::invalid(
                    "upstream.ca_cert",
                    format!("{} is not PEM text", path.display()),
                )
            })?;
            if dc_emulator::tls::client_config_trusting(&text).is_err()
                || !text.contains("-----BEGIN CERTIFICATE-----")
            {
                return Err(ConfigError::invalid(
                    "upstream.ca_cert",
                    format!("no usable PEM certificate in {}", path.display()),
                ));
            }
            Some(text)
        }
    };
    Ok(UpstreamSettings {
        login_url,
        ca_pem,
        insecure_skip_verify: u.insecure_skip_verify.unwrap_or(false),
        connect_timeout: secs("upstream.connect_timeout_secs", u.connect_timeout_secs, 10)?,
        response_timeout: secs(
            "upstream.response_timeout_secs",
            u.response_timeout_secs,
            120,
        )?,
        pool_idle_timeout: secs(
            "upstream.pool_idle_timeout_secs",
            u.pool_idle_timeout_secs,
            90,
        )?,
        pool_max_idle_per_host: u.pool_max_idle_per_host.unwrap_or(32) as usize,
    })
}
