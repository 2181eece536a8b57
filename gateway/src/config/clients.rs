//! Validation of `[[clients]]`: names, secrets (kept as SHA-256 digests,
//! from hex or from an environment variable), and the policy each client
//! gets (direction, operations consistent with it, objects).

use super::raw::RawClient;
use super::ConfigError;
use crate::policy::{self, Client, Direction, Objects, Policy};

pub(super) fn client(i: usize, c: &RawClient) -> Result<Client, ConfigError> {
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
