//! `POST /services/oauth2/token` (JWT bearer, client credentials, refresh token,
//! password) and `/services/oauth2/revoke`.
//!
//! Parameters come from the query string and/or a form body (`cdp` sends them
//! all in the query string with an empty body); the body wins. Every grant
//! answers the same superset of keys (`access_token`, `signature`, `scope`,
//! `instance_url`, `id`, `token_type`, `issued_at`, `api_instance_url`, plus
//! `refresh_token` for password grants of apps with that scope), since `pydc`
//! requires keys Salesforce's JWT sample omits. No `expires_in`: Salesforce
//! does not send one for core tokens.

use std::collections::HashMap;

use aws_lc_rs::hmac;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::{header, HeaderValue, StatusCode};
use serde_json::{json, Value};

use crate::auth::tokens::{Grantee, Issued, Revoked};
use crate::auth::{dc, grants, jwt};
use crate::error::{empty, ApiError};
use crate::org::ConnectedApp;
use crate::state::AppState;
use crate::wire::{ok_json, Req, Resp};

/// `grant_type` of the JWT bearer flow.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Token endpoint.
pub async fn token(state: &AppState, req: &Req) -> Result<Resp, ApiError> {
    let params = req.oauth_params();
    let grant_type = params
        .get("grant_type")
        .map(|g| g.trim())
        .filter(|g| !g.is_empty())
        .ok_or_else(|| ApiError::oauth("invalid_request", "grant type is missing"))?;
    let ttl_ms = i64::try_from(state.config.core_token_ttl.as_millis()).unwrap_or(i64::MAX);
    let org15 = state.org.org_id.as_str();

    let (issued, app, user_id, scopes) = match grant_type {
        JWT_BEARER => {
            let assertion = params.get("assertion").map(String::as_str).unwrap_or("");
            let ok = jwt::verify_assertion(state, assertion)?;
            // Salesforce issues no refresh token for the JWT bearer flow.
            let scopes = ok.app.scopes.clone();
            let issued =
                state
                    .tokens
                    .issue(org15, grantee(ok.app, ok.user, &scopes), ttl_ms, false);
            (issued, ok.app, ok.user.user_id.clone(), scopes)
        }
        "password" | "client_credentials" => {
            let granted = if grant_type == "password" {
                grants::password(state, &params, req)?
            } else {
                grants::client_credentials(state, &params, req)?
            };
            let who = grantee(granted.app, granted.user, &granted.scopes);
            let issued = state.tokens.issue(org15, who, ttl_ms, granted.refresh);
            (
                issued,
                granted.app,
                granted.user.user_id.clone(),
                granted.scopes,
            )
        }
        "refresh_token" => {
            let refresh = grants::refresh_token(state, &params, req)?;
            let (issued, grant) = state
                .tokens
                .issue_from_refresh(org15, refresh, ttl_ms)
                .ok_or_else(|| ApiError::oauth("invalid_grant", "expired access/refresh token"))?;
            let app = state
                .org
                .app(&grant.client_id)
                .ok_or_else(|| ApiError::oauth("invalid_grant", "expired access/refresh token"))?;
            (issued, app, grant.user_id, grant.scopes)
        }
        _ => {
            return Err(ApiError::oauth(
                "unsupported_grant_type",
                "grant type not supported",
            ))
        }
    };
    Ok(token_response(state, app, &user_id, &issued, &scopes))
}

fn grantee<'a>(
    app: &'a ConnectedApp,
    user: &'a crate::org::User,
    scopes: &'a [String],
) -> Grantee<'a> {
    Grantee {
        user_id: &user.user_id,
        username: &user.username,
        client_id: &app.client_id,
        scopes,
    }
}

/// The success body shared by every grant.
fn token_response(
    state: &AppState,
    app: &ConnectedApp,
    user_id: &str,
    issued: &Issued,
    scopes: &[String],
) -> Resp {
    let id = format!("{}/id/{}/{}", state.base_url, state.org.org_id18, user_id);
    let issued_at = issued.issued_at_ms.to_string();
    let mut body = json!({
        "access_token": issued.access_token,
        "signature": signature(&app.client_secret, &id, &issued_at),
        "scope": scopes.join(" "),
        "instance_url": state.base_url,
        "id": id,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "api_instance_url": state.base_url,
    });
    if let Some(rt) = &issued.refresh_token {
        body["refresh_token"] = Value::String(rt.clone());
    }
    no_store(ok_json(&body))
}

/// Base64 of HMAC-SHA256 over `id + issued_at`, keyed by the client secret:
/// lets a client check the response came from the server that knows its secret.
pub fn signature(client_secret: &str, id: &str, issued_at: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, client_secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(id.as_bytes());
    ctx.update(issued_at.as_bytes());
    STANDARD.encode(ctx.sign().as_ref())
}

/// Token responses must not be cached (RFC 6749 §5.1; Salesforce sends it).
fn no_store(mut resp: Resp) -> Resp {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Revoke endpoint: `token` (access or refresh) in the query string or form
/// body. 200 with an empty body; revoking a refresh token revokes the access
/// tokens minted from it. Data Cloud tokens derived from a revoked core token
/// stay valid.
pub fn revoke(state: &AppState, req: &Req) -> Result<Resp, ApiError> {
    let params: HashMap<String, String> = req.oauth_params();
    let token = params
        .get("token")
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::oauth("invalid_request", "token is missing"))?;
    match state.tokens.revoke(token) {
        Revoked::Access | Revoked::Refresh(_) => Ok(empty(StatusCode::OK)),
        Revoked::Unknown if !matches!(dc::verify(state, token), Err(dc::DcTokenError::Invalid)) => {
            Err(ApiError::oauth(
                "unsupported_token_type",
                "token type not supported",
            ))
        }
        Revoked::Unknown => Err(ApiError::oauth("invalid_token", "invalid token")),
    }
}
