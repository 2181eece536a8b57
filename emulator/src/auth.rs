//! Who is calling: sessions behind core tokens and Data Cloud tokens.
//!
//! `require_core` and `require_dc` are what routes call to authenticate; they
//! answer the host's own 401/403 shapes: the core host's
//! `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`,
//! and the tenant host's Spring-style 401 ("Authorization header verification
//! failed") or 403 naming the missing scope.

pub mod cert;
pub mod dc;
pub mod grants;
pub mod jwt;
pub mod scopes;
pub mod tokens;

use http::StatusCode;

use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::Req;

/// The principal behind a core access token.
#[derive(Debug, Clone)]
pub struct CoreSession {
    pub user_id: String,
    pub username: String,
    pub client_id: String,
    pub scopes: Vec<String>,
}

/// The principal behind a Data Cloud token.
#[derive(Debug, Clone)]
pub struct DcSession {
    pub user_id: String,
    pub client_id: String,
    /// The data space the token was exchanged for (`default` unless asked).
    pub dataspace: String,
    pub scopes: Vec<String>,
}

/// Authenticates a core-host request (`Authorization: Bearer 00D…`): the
/// token must be known, unexpired per the emulator clock and not revoked, and
/// its user and app still active (per `state.controls`).
pub fn require_core(state: &AppState, req: &Req) -> Result<CoreSession, ApiError> {
    let token = req.bearer().ok_or_else(ApiError::invalid_session)?;
    let core = state
        .tokens
        .core(token)
        .ok_or_else(ApiError::invalid_session)?;
    if !state.controls.user_id_active(&state.org, &core.user_id)
        || !state.controls.client_active(&state.org, &core.client_id)
    {
        return Err(ApiError::invalid_session());
    }
    Ok(CoreSession {
        user_id: core.user_id,
        username: core.username,
        client_id: core.client_id,
        scopes: core.scopes,
    })
}

/// Authenticates a tenant-host request and checks it holds `scope`
/// (`cdp_api` counts for every Data Cloud scope). The token's user and app
/// must still be active (per `state.controls`): deactivating either voids
/// Data Cloud tokens already issued.
pub fn require_dc(state: &AppState, req: &Req, scope: &str) -> Result<DcSession, ApiError> {
    let token = req
        .bearer()
        .ok_or_else(|| ApiError::tenant_unauthorized("Missing Authorization bearer token"))?;
    let claims = dc::verify(state, token).map_err(|e| match e {
        dc::DcTokenError::Expired => {
            ApiError::tenant_unauthorized("Invalid JWT (not before or expired)")
        }
        dc::DcTokenError::Invalid => {
            ApiError::tenant_unauthorized("Invalid JWT (signature verification failed)")
        }
    })?;
    if !state.controls.user_id_active(&state.org, &claims.sub) {
        return Err(ApiError::tenant_unauthorized(
            "Invalid JWT (user is inactive)",
        ));
    }
    if !state.controls.client_active(&state.org, &claims.client_id) {
        return Err(ApiError::tenant_unauthorized(
            "Invalid JWT (connected app is blocked)",
        ));
    }
    if !scopes::grants(&claims.scp, scope) {
        return Err(ApiError::tenant(
            StatusCode::FORBIDDEN,
            format!("Access denied: token lacks the \"{scope}\" scope"),
        ));
    }
    Ok(DcSession {
        user_id: claims.sub,
        client_id: claims.client_id,
        dataspace: claims.dataspace,
        scopes: claims.scp,
    })
}
