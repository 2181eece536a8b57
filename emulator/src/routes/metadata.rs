//! `GET /api/v1/metadata` on the tenant host.

use http::StatusCode;

use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{Req, Resp};

pub fn tenant(_state: &AppState, _req: &Req) -> Result<Resp, ApiError> {
    Err(ApiError::tenant(
        StatusCode::NOT_IMPLEMENTED,
        "not implemented yet",
    ))
}
