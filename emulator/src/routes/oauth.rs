//! `POST /services/oauth2/token` (JWT bearer, client credentials, refresh token,
//! password) and `/services/oauth2/revoke`.

use http::StatusCode;

use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{Req, Resp};

/// Token endpoint.
pub async fn token(_state: &AppState, _req: &Req) -> Result<Resp, ApiError> {
    Err(ApiError::OAuth {
        status: StatusCode::NOT_IMPLEMENTED,
        error: "unsupported_grant_type",
        description: "not implemented yet".into(),
    })
}

/// Revoke endpoint.
pub fn revoke(_state: &AppState, _req: &Req) -> Result<Resp, ApiError> {
    Err(ApiError::oauth("invalid_token", "not implemented yet"))
}
