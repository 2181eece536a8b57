//! Core-host `/services/data/v{NN}.0/...`: Connect `ssot/queryv2`, `ssot/query`,
//! `ssot/query-sql`, `ssot/metadata`, and SOQL `SELECT Name FROM DataSpace`.

use http::StatusCode;

use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{Req, Resp};

pub async fn dispatch(
    _state: &AppState,
    _req: &Req,
    _version: &str,
    _rest: &[&str],
) -> Result<Resp, ApiError> {
    Err(ApiError::core(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
    ))
}
