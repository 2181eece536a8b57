//! The two upstream calls behind every token: the core grant at
//! `{login_url}/services/oauth2/token` (JWT bearer, client credentials or
//! refresh token) and the a360 exchange at `{core instance}/services/a360/token`
//! that turns a core token into a Data Cloud token for one data space.
//!
//! Failures come back as a [`TokenError`] naming the step and carrying
//! Salesforce's `error` / `error_description`, which the proxy shows to the
//! client. Tokens themselves never reach a log.

use std::time::Duration;

use http::uri::Authority;
use http::Uri;
use serde_json::Value;

use super::{Token, TokenError, TokenFailure, TokenKind};
use crate::config::{CredentialSettings, Flow};
use crate::proxy::upstream::{Upstream, UpstreamError};

/// Grant type of the Data Cloud exchange.
const CDP_GRANT: &str = "urn:salesforce:grant-type:external:cdp";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Data Cloud tokens live about two hours; used when `expires_in` is absent.
const DEFAULT_DC_TTL: Duration = Duration::from_secs(7200);

/// Gets a core token with the configured flow.
pub async fn core_token(
    upstream: &Upstream,
    settings: &CredentialSettings,
    login_url: &str,
) -> Result<Token, TokenError> {
    let step = settings.flow.step();
    let form = grant_form(settings, login_url)?;
    let uri = parse_uri(step, &format!("{login_url}/services/oauth2/token"))?;
    let json = call(upstream, step, uri, form).await?;
    let access = string(step, &json, "access_token")?;
    let instance_url = string(step, &json, "instance_url")?;
    let authority = https_authority(step, &instance_url)?;
    let lifetime = expires_in(&json).unwrap_or(settings.core_token_ttl);
    Token::new(
        TokenKind::Core,
        &access,
        authority,
        lifetime,
        &settings.refresh,
        None,
    )
    .map_err(|m| TokenError::new(step, TokenFailure::BadResponse(m)))
}

/// The form of the configured grant. (Built apart from the async call: the
/// serializer is not `Send`.)
fn grant_form(settings: &CredentialSettings, login_url: &str) -> Result<String, TokenError> {
    let step = settings.flow.step();
    let mut form = form_urlencoded::Serializer::new(String::new());
    match &settings.flow {
        Flow::JwtBearer {
            client_id,
            username,
            key,
        } => {
            let assertion = key
                .sign(client_id, username, login_url, settings.assertion_ttl)
                .map_err(|e| TokenError::new(step, TokenFailure::Local(e.to_string())))?;
            form.append_pair("grant_type", JWT_GRANT)
                .append_pair("assertion", &assertion);
        }
        Flow::ClientCredentials {
            client_id,
            client_secret,
        } => {
            form.append_pair("grant_type", "client_credentials")
                .append_pair("client_id", client_id)
                .append_pair("client_secret", client_secret.expose());
        }
        Flow::RefreshToken {
            client_id,
            client_secret,
            refresh_token,
        } => {
            form.append_pair("grant_type", "refresh_token")
                .append_pair("client_id", client_id)
                .append_pair("refresh_token", refresh_token.expose());
            if let Some(s) = client_secret {
                form.append_pair("client_secret", s.expose());
            }
        }
    }
    Ok(form.finish())
}

/// Exchanges a core token for a Data Cloud token bound to `dataspace`.
pub async fn exchange(
    upstream: &Upstream,
    settings: &CredentialSettings,
    core: &Token,
    dataspace: &str,
) -> Result<Token, TokenError> {
    let step = "a360_exchange";
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", CDP_GRANT)
        .append_pair("subject_token_type", ACCESS_TOKEN_TYPE)
        .append_pair("subject_token", core.secret())
        .append_pair("dataspace", dataspace)
        .finish();
    let uri = parse_uri(
        step,
        &format!("https://{}/services/a360/token", core.authority),
    )?;
    let json = call(upstream, step, uri, form).await?;
    let access = string(step, &json, "access_token")?;
    // A bare host[:port]; tolerate a scheme in case a server adds one.
    let instance = string(step, &json, "instance_url")?;
    let authority = https_authority(step, &instance)?;
    let lifetime = expires_in(&json).unwrap_or(DEFAULT_DC_TTL);
    Token::new(
        TokenKind::DataCloud,
        &access,
        authority,
        lifetime,
        &settings.refresh,
        Some(dataspace.into()),
    )
    .map_err(|m| TokenError::new(step, TokenFailure::BadResponse(m)))
}

async fn call(
    upstream: &Upstream,
    step: &'static str,
    uri: Uri,
    form: String,
) -> Result<Value, TokenError> {
    let (status, body) = upstream.post_form(uri, form).await.map_err(|e| {
        let failure = match e {
            UpstreamError::Timeout(_) | UpstreamError::Request(_) | UpstreamError::Connect(_) => {
                TokenFailure::Unreachable(e.to_string())
            }
            UpstreamError::Body(_) => TokenFailure::BadResponse(e.to_string()),
        };
        TokenError::new(step, failure)
    })?;
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    if !status.is_success() {
        let field = |k: &str| {
            json.as_ref()
                .and_then(|j| j.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        return Err(TokenError::new(
            step,
            match field("error") {
                Some(error) => TokenFailure::Rejected {
                    status: status.as_u16(),
                    error,
                    description: field("error_description").unwrap_or_default(),
                },
                // Salesforce answers some failures (bad subject token) with an
                // HTML login redirect instead of JSON.
                None => TokenFailure::BadResponse(format!(
                    "HTTP {} without an OAuth error body",
                    status.as_u16()
                )),
            },
        ));
    }
    json.filter(Value::is_object).ok_or_else(|| {
        TokenError::new(
            step,
            TokenFailure::BadResponse("response is not a JSON object".into()),
        )
    })
}

fn string(step: &'static str, json: &Value, key: &str) -> Result<String, TokenError> {
    json.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            TokenError::new(
                step,
                TokenFailure::BadResponse(format!("response has no {key}")),
            )
        })
}

/// `expires_in` as a number or a numeric string.
fn expires_in(json: &Value) -> Option<Duration> {
    let v = json.get("expires_in")?;
    let secs = v
        .as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))?;
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// The authority of `https://host[:port]` or a bare `host[:port]`; plain
/// http is refused (the gateway only talks TLS upstream).
fn https_authority(step: &'static str, url: &str) -> Result<Authority, TokenError> {
    let bad = |m: String| TokenError::new(step, TokenFailure::BadResponse(m));
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if url.starts_with("http://") {
        return Err(bad(format!("instance_url {url:?} is not https")));
    } else {
        url
    };
    rest.trim_end_matches('/')
        .parse::<Authority>()
        .map_err(|_| bad(format!("instance_url {url:?} is not a host")))
}

fn parse_uri(step: &'static str, s: &str) -> Result<Uri, TokenError> {
    s.parse()
        .map_err(|_| TokenError::new(step, TokenFailure::Local(format!("bad URL {s:?}"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn instance_urls() {
        assert_eq!(
            https_authority("s", "https://acme.my.salesforce.com/")
                .unwrap()
                .as_str(),
            "acme.my.salesforce.com"
        );
        assert_eq!(
            https_authority("s", "127.0.0.1:9443").unwrap().as_str(),
            "127.0.0.1:9443"
        );
        assert!(https_authority("s", "http://x").is_err());
        assert!(https_authority("s", "not a host").is_err());
    }

    #[test]
    fn expires_in_as_number_or_string() {
        assert_eq!(
            expires_in(&json!({"expires_in": 7130})),
            Some(Duration::from_secs(7130))
        );
        assert_eq!(
            expires_in(&json!({"expires_in": "30"})),
            Some(Duration::from_secs(30))
        );
        assert_eq!(expires_in(&json!({})), None);
    }
}
