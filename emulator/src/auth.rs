//! Who is calling: sessions behind core tokens and Data Cloud tokens.
//!
//! `require_core` and `require_dc` are what routes call to authenticate; they
//! answer the host's own 401/403 shapes.

pub mod jwt;
pub mod tokens;

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
    pub dataspace: String,
    pub scopes: Vec<String>,
}

/// Authenticates a core-host request (`Authorization: Bearer 00D…`).
pub fn require_core(_state: &AppState, _req: &Req) -> Result<CoreSession, ApiError> {
    Err(ApiError::invalid_session())
}

/// Authenticates a tenant-host request and checks it holds `scope`.
pub fn require_dc(_state: &AppState, _req: &Req, _scope: &str) -> Result<DcSession, ApiError> {
    Err(ApiError::tenant_unauthorized("Invalid JWT"))
}
