//! `/__emulator/*`: health and counters (the test-control API grows here).

use std::sync::atomic::Ordering;

use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{ok_json, Req, Resp};

/// `GET /__emulator/health`: 200 while serving.
pub fn health(state: &AppState, _req: &Req) -> Result<Resp, ApiError> {
    Ok(ok_json(&json!({
        "status": "UP",
        "org": state.org.name,
        "orgId": state.org.org_id18,
        "baseUrl": state.base_url,
    })))
}

/// `GET /__emulator/stats`: request counters by endpoint family.
pub fn stats(state: &AppState, _req: &Req) -> Result<Resp, ApiError> {
    let s = &state.stats;
    Ok(ok_json(&json!({
        "requests": s.requests.load(Ordering::Relaxed),
        "tokenRequests": s.token_requests.load(Ordering::Relaxed),
        "exchangeRequests": s.exchange_requests.load(Ordering::Relaxed),
        "queryRequests": s.query_requests.load(Ordering::Relaxed),
        "ingestRequests": s.ingest_requests.load(Ordering::Relaxed),
    })))
}
