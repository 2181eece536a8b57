//! `POST /services/a360/token`: core token → Data Cloud token.

use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{Req, Resp};

/// Token exchange.
pub fn exchange(_state: &AppState, _req: &Req) -> Result<Resp, ApiError> {
    Err(ApiError::oauth(
        "unsupported_grant_type",
        "not implemented yet",
    ))
}
