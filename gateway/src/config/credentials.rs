//! Validation of `[credentials]`: the flow and what it needs (client id,
//! username, private key checked against its certificate, client secret,
//! refresh token — secrets from files or the environment), the data space,
//! the assertion lifetime and the refresh policy.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::keys;
use super::raw::RawConfig;
use super::validate::{read_file, resolve, secs, Secrets};
use super::{ConfigError, CredentialSettings, Flow, RefreshPolicy, Secret};
use crate::auth::assertion::SigningKey;

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

pub(super) fn credentials(
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
