//! `POST /services/a360/token`: core token → Data Cloud token.
//!
//! Parameters (query string and/or form body): `grant_type`
//! (`urn:salesforce:grant-type:external:cdp`, or the RFC 8693
//! `urn:ietf:params:oauth:grant-type:token-exchange` that `pydc` suggests),
//! `subject_token`, `subject_token_type`, optional `dataspace`. The
//! integration guide also shows the bare form — only
//! `Authorization: Bearer <core token>` — so a bearer header stands in for a
//! missing `subject_token` (and then `grant_type` may be omitted too).
//!
//! Refusals, all in the OAuth shape with HTTP 400:
//! bad/expired/revoked subject token → `invalid_grant` / `invalid subject token`;
//! a token without `api` or without any Data Cloud scope → `invalid_scope`
//! naming what is missing; a user without a Data Cloud permission set →
//! `invalid_grant` saying so (the guide's "Token exchange fails / Missing
//! Data Cloud license" row); an unknown data space → `invalid_request` naming it.

use serde_json::json;

use crate::auth::dc::{self, DcClaims};
use crate::auth::scopes;
use crate::auth::tokens::random_token;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{ok_json, Req, Resp};

/// Salesforce's grant type for the exchange.
pub const CDP_GRANT: &str = "urn:salesforce:grant-type:external:cdp";
/// RFC 8693 token exchange, accepted as an alias.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The only subject token type: a core access token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// `issued_token_type` of the answer.
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// Data Cloud scopes a subject token may carry, for the error message.
const DC_SCOPES_HINT: &str = "cdp_query_api, cdp_profile_api, cdp_ingest_api or cdp_api";

/// Token exchange.
pub fn exchange(state: &AppState, req: &Req) -> Result<Resp, ApiError> {
    let params = req.oauth_params();
    let param = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let (subject, from_header) = match param("subject_token") {
        Some(t) => (Some(t), false),
        None => (req.bearer(), true),
    };

    match param("grant_type") {
        Some(CDP_GRANT | TOKEN_EXCHANGE_GRANT) => {}
        Some(_) => {
            return Err(ApiError::oauth(
                "unsupported_grant_type",
                "grant type not supported",
            ))
        }
        None if from_header && subject.is_some() => {}
        None => return Err(ApiError::oauth("invalid_request", "grant type is missing")),
    }
    if let Some(t) = param("subject_token_type") {
        if t != ACCESS_TOKEN_TYPE {
            return Err(ApiError::oauth(
                "invalid_request",
                format!("subject token type not supported: use {ACCESS_TOKEN_TYPE}"),
            ));
        }
    }

    let invalid_subject = || ApiError::oauth("invalid_grant", "invalid subject token");
    let subject = subject.ok_or_else(invalid_subject)?;
    let core = state.tokens.core(subject).ok_or_else(invalid_subject)?;
    let user = state
        .org
        .user_by_id(&core.user_id)
        .filter(|u| state.controls.user_active(u))
        .ok_or_else(invalid_subject)?;
    if !state.controls.client_active(&state.org, &core.client_id) {
        return Err(invalid_subject());
    }

    if !scopes::grants(&core.scopes, "api") {
        return Err(ApiError::oauth(
            "invalid_scope",
            "the subject token lacks the \"api\" scope required for the Data Cloud token exchange",
        ));
    }
    if !core.scopes.iter().any(|s| scopes::is_data_cloud(s)) {
        return Err(ApiError::oauth(
            "invalid_scope",
            format!(
                "the subject token has no Data Cloud scope: add {DC_SCOPES_HINT} to the connected app"
            ),
        ));
    }
    if !user.has_data_cloud() {
        return Err(ApiError::oauth(
            "invalid_grant",
            format!(
                "user does not have Data Cloud permission: assign a Data Cloud permission set \
                 (e.g. Data Cloud Admin) to {}",
                user.username
            ),
        ));
    }
    let dataspace = resolve_dataspace(state, param("dataspace").unwrap_or("default"))?;

    let now = state.clock.now_secs();
    let ttl = i64::try_from(state.config.dc_token_ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let claims = DcClaims {
        iss: state.base_url.clone(),
        sub: user.user_id.clone(),
        aud: state.host.clone(),
        iat: now,
        exp: now.saturating_add(ttl),
        jti: random_token(32),
        audience_tenant_id: state.org.tenant_id.clone(),
        org_id: state.org.org_id18.clone(),
        dataspace,
        scp: core
            .scopes
            .iter()
            .map(|s| scopes::canonical(s).to_owned())
            .collect(),
        client_id: core.client_id.clone(),
        username: user.username.clone(),
    };
    let token = dc::mint(state, &claims).map_err(|e| {
        tracing::error!(error = %e, "signing a Data Cloud token failed");
        ApiError::OAuth {
            status: http::StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "internal server error".into(),
        }
    })?;
    let mut resp = ok_json(&json!({
        "access_token": token,
        "instance_url": state.host,
        "token_type": "Bearer",
        "issued_token_type": JWT_TOKEN_TYPE,
        "expires_in": ttl,
    }));
    resp.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}

/// The org's spelling of a requested data space (names compare
/// case-insensitively; an org listing none has just `default`).
fn resolve_dataspace(state: &AppState, requested: &str) -> Result<String, ApiError> {
    let found = if state.org.dataspaces.is_empty() {
        requested
            .eq_ignore_ascii_case("default")
            .then(|| "default".to_owned())
    } else {
        state
            .org
            .dataspaces
            .iter()
            .find(|d| d.eq_ignore_ascii_case(requested))
            .cloned()
    };
    found.ok_or_else(|| {
        ApiError::oauth(
            "invalid_request",
            format!("data space '{requested}' does not exist or is not accessible"),
        )
    })
}
