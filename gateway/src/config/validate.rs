//! Stage two: raw values → validated settings. Files are read and keys parsed
//! here, so `--check-config` catches a missing key file, a key that does not
//! parse or does not match its certificate, a non-https login URL, … and
//! every message names the key at fault.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::keys::{self, Kind};
use super::raw::{RawClient, RawConfig};
use super::{
    check_open_mode, ConfigError, CredentialSettings, FacadeSettings, Flow, GatewayConfig,
    ListenerTls, LogFormat, LogSettings, Origin, Override, RefreshPolicy, Secret, ServerSettings,
    UpstreamSettings,
};
use crate::auth::assertion::SigningKey;
use crate::policy::{self, Client, Clients, Direction, Objects, Policy};

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

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

fn read_file(key: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path)
        .map_err(|e| ConfigError::invalid(key, format!("cannot read {}: {e}", path.display())))
}

fn secs(key: &str, v: Option<u64>, default: u64) -> Result<Duration, ConfigError> {
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
    let credentials = credentials(&raw, base, secrets)?;
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
        let client = client(i, c)?;
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

fn required(key: &str, v: &Option<String>, flow: &str) -> Result<String, ConfigError> {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s.to_owned()),
        _ => Err(ConfigError::invalid(
            key,
            format!("required for the {flow} flow"),
        )),
    }
}

/// A secret from its environment value or its `*_file` key.
fn secret_value(
    file_key: &str,
    env_name: &str,
    from_env: &Option<Secret>,
    file: &Option<PathBuf>,
    base: &Path,
) -> Result<Option<Secret>, ConfigError> {
    if let Some(s) = from_env {
        return Ok(Some(s.clone()));
    }
    let Some(p) = file else { return Ok(None) };
    let path = resolve(base, p);
    let bytes = read_file(file_key, &path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| ConfigError::invalid(file_key, format!("{} is not text", path.display())))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(ConfigError::invalid(
            file_key,
            format!("{} is empty (or set {env_name})", path.display()),
        ));
    }
    Ok(Some(Secret::new(text)))
}

fn credentials(
    raw: &RawConfig,
    base: &Path,
    secrets: &Secrets,
) -> Result<CredentialSettings, ConfigError> {
    let c = &raw.credentials;
    let flow_name = c.flow.as_deref().unwrap_or("jwt_bearer");
    let flow = match flow_name.replace('-', "_").as_str() {
        "jwt_bearer" | "jwt" => {
            let client_id = required("credentials.client_id", &c.client_id, "jwt_bearer")?;
            let username = required("credentials.username", &c.username, "jwt_bearer")?;
            let key_key = "credentials.private_key_file";
            let (pem, origin) = match (&secrets.private_key_pem, &c.private_key_file) {
                (Some(s), _) => (
                    s.expose().as_bytes().to_vec(),
                    keys::SECRET_ENV[0].0.to_owned(),
                ),
                (None, Some(p)) => {
                    let path = resolve(base, p);
                    (read_file(key_key, &path)?, path.display().to_string())
                }
                (None, None) => {
                    return Err(ConfigError::invalid(
                        key_key,
                        format!(
                            "required for the jwt_bearer flow (or set {})",
                            keys::SECRET_ENV[0].0
                        ),
                    ))
                }
            };
            let key = SigningKey::from_pem(&pem)
                .map_err(|e| ConfigError::invalid(key_key, format!("{origin}: {e}")))?;
            if let Some(cert) = &c.certificate_file {
                let path = resolve(base, cert);
                let cert_pem = read_file("credentials.certificate_file", &path)?;
                key.check_certificate(&cert_pem).map_err(|e| {
                    ConfigError::invalid(
                        "credentials.certificate_file",
                        format!("{}: {e}", path.display()),
                    )
                })?;
            }
            Flow::JwtBearer {
                client_id,
                username,
                key: Arc::new(key),
            }
        }
        "client_credentials" => {
            let client_id = required("credentials.client_id", &c.client_id, "client_credentials")?;
            let client_secret = secret_value(
                "credentials.client_secret_file",
                keys::SECRET_ENV[1].0,
                &secrets.client_secret,
                &c.client_secret_file,
                base,
            )?
            .ok_or_else(|| {
                ConfigError::invalid(
                    "credentials.client_secret_file",
                    format!(
                        "required for the client_credentials flow (or set {})",
                        keys::SECRET_ENV[1].0
                    ),
                )
            })?;
            Flow::ClientCredentials {
                client_id,
                client_secret,
            }
        }
        "refresh_token" => {
            let client_id = required("credentials.client_id", &c.client_id, "refresh_token")?;
            let refresh_token = secret_value(
                "credentials.refresh_token_file",
                keys::SECRET_ENV[2].0,
                &secrets.refresh_token,
                &c.refresh_token_file,
                base,
            )?
            .ok_or_else(|| {
                ConfigError::invalid(
                    "credentials.refresh_token_file",
                    format!(
                        "required for the refresh_token flow (or set {})",
                        keys::SECRET_ENV[2].0
                    ),
                )
            })?;
            let client_secret = secret_value(
                "credentials.client_secret_file",
                keys::SECRET_ENV[1].0,
                &secrets.client_secret,
                &c.client_secret_file,
                base,
            )?;
            Flow::RefreshToken {
                client_id,
                client_secret,
                refresh_token,
            }
        }
        other => {
            return Err(ConfigError::invalid(
                "credentials.flow",
                format!("expected jwt_bearer, client_credentials or refresh_token, got {other:?}"),
            ))
        }
    };
    let dataspace = c.dataspace.clone().unwrap_or_else(|| "default".to_owned());
    if dataspace.trim().is_empty() {
        return Err(ConfigError::invalid(
            "credentials.dataspace",
            "must not be empty",
        ));
    }
    let assertion_ttl = c.assertion_ttl_secs.unwrap_or(170);
    if !(1..=180).contains(&assertion_ttl) {
        return Err(ConfigError::invalid(
            "credentials.assertion_ttl_secs",
            format!("must be between 1 and 180 (Salesforce wants exp within 3 minutes), got {assertion_ttl}"),
        ));
    }
    let fraction = c.refresh_fraction.unwrap_or(0.8);
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(ConfigError::invalid(
            "credentials.refresh_fraction",
            format!("must be strictly between 0 and 1, got {fraction}"),
        ));
    }
    let jitter = c.refresh_jitter.unwrap_or(0.1);
    if !(0.0..1.0).contains(&jitter) {
        return Err(ConfigError::invalid(
            "credentials.refresh_jitter",
            format!("must be in [0, 1), got {jitter}"),
        ));
    }
    let min = c.refresh_min_secs.unwrap_or(1.0);
    let max = c.refresh_max_secs.unwrap_or(3600.0);
    if !(min > 0.0 && min.is_finite()) {
        return Err(ConfigError::invalid(
            "credentials.refresh_min_secs",
            "must be > 0",
        ));
    }
    if !(max >= min && max.is_finite()) {
        return Err(ConfigError::invalid(
            "credentials.refresh_max_secs",
            "must be ≥ credentials.refresh_min_secs",
        ));
    }
    Ok(CredentialSettings {
        flow,
        dataspace,
        assertion_ttl: Duration::from_secs(assertion_ttl),
        core_token_ttl: secs(
            "credentials.core_token_ttl_secs",
            c.core_token_ttl_secs,
            7200,
        )?,
        refresh: RefreshPolicy {
            fraction,
            jitter,
            min: Duration::from_secs_f64(min),
            max: Duration::from_secs_f64(max),
        },
    })
}

fn client(i: usize, c: &RawClient) -> Result<Client, ConfigError> {
    let name = c
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ConfigError::invalid(&format!("clients[{i}].name"), "required"))?;
    let key = |field: &str| format!("clients[{name}].{field}");
    let digest_of = |hex_field: &str,
                     hex: &Option<String>,
                     env_field: &str,
                     env: &Option<String>|
     -> Result<Option<policy::Digest>, ConfigError> {
        match (hex, env) {
            (Some(_), Some(_)) => Err(ConfigError::invalid(
                &key(hex_field),
                format!("set either {hex_field} or {env_field}, not both"),
            )),
            (Some(h), None) => policy::parse_hex_digest(h).map(Some).ok_or_else(|| {
                ConfigError::invalid(&key(hex_field), "expected 64 hex digits (a SHA-256)")
            }),
            (None, Some(var)) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(Some(policy::sha256(v.as_bytes()))),
                _ => Err(ConfigError::invalid(
                    &key(env_field),
                    format!("environment variable {var} is not set"),
                )),
            },
            (None, None) => Ok(None),
        }
    };
    let api_key_sha256 = digest_of(
        "api_key_sha256",
        &c.api_key_sha256,
        "api_key_env",
        &c.api_key_env,
    )?;
    let client_secret_sha256 = digest_of(
        "client_secret_sha256",
        &c.client_secret_sha256,
        "client_secret_env",
        &c.client_secret_env,
    )?;
    if c.client_id.is_some() != client_secret_sha256.is_some() {
        return Err(ConfigError::invalid(
            &key("client_id"),
            "client_id and client_secret_sha256 (or client_secret_env) go together",
        ));
    }
    if api_key_sha256.is_none() && c.client_id.is_none() {
        return Err(ConfigError::invalid(
            &key("api_key_sha256"),
            "a client needs an API key (api_key_sha256 / api_key_env) or a client_id and secret",
        ));
    }
    let direction_text = c.direction.as_deref().unwrap_or("read");
    let direction = Direction::parse(direction_text).ok_or_else(|| {
        ConfigError::invalid(
            &key("direction"),
            format!("expected read, write or read_write, got {direction_text:?}"),
        )
    })?;
    let (mut query, mut ingest) = (false, false);
    match &c.operations {
        None => {
            query = direction != Direction::Write;
            ingest = direction != Direction::Read;
        }
        Some(ops) => {
            for op in ops {
                match op.to_ascii_lowercase().as_str() {
                    "query" => query = true,
                    "ingest" => ingest = true,
                    "both" => (query, ingest) = (true, true),
                    other => {
                        return Err(ConfigError::invalid(
                            &key("operations"),
                            format!("expected query and/or ingest, got {other:?}"),
                        ))
                    }
                }
            }
        }
    }
    if query && direction == Direction::Write {
        return Err(ConfigError::invalid(
            &key("operations"),
            "query needs direction read or read_write",
        ));
    }
    if ingest && direction == Direction::Read {
        return Err(ConfigError::invalid(
            &key("operations"),
            "ingest needs direction write or read_write",
        ));
    }
    let objects = match &c.objects {
        None => {
            return Err(ConfigError::invalid(
                &key("objects"),
                "required: list the objects the client may use, or [\"*\"] for all",
            ))
        }
        Some(list) if list.iter().any(|o| o == "*") => Objects::Any,
        Some(list) => Objects::Only(list.clone()),
    };
    Ok(Client {
        name: name.as_str().into(),
        api_key_sha256,
        client_id: c.client_id.clone(),
        client_secret_sha256,
        policy: Policy {
            direction,
            query,
            ingest,
            objects,
            dataspace: c.dataspace.clone(),
        },
    })
}
