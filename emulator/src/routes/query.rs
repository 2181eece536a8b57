//! Tenant-host Query APIs: `/api/v1/query`, `/api/v2/query[/{nextBatchId}]`,
//! `/api/v1/query-config`.

use http::StatusCode;

use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{Req, Resp};

fn todo_err() -> ApiError {
    ApiError::tenant(StatusCode::NOT_IMPLEMENTED, "not implemented yet")
}

pub async fn v1(_state: &AppState, _req: &Req) -> Result<Resp, ApiError> {
    Err(todo_err())
}

pub async fn v2_submit(_state: &AppState, _req: &Req) -> Result<Resp, ApiError> {
    Err(todo_err())
}

pub async fn v2_next(_state: &AppState, _req: &Req, _batch_id: &str) -> Result<Resp, ApiError> {
    Err(todo_err())
}

pub fn config(_state: &AppState, _req: &Req) -> Result<Resp, ApiError> {
    Err(todo_err())
}
