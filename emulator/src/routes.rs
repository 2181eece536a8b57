//! The route table: one `match` over the path's segments that sends each
//! request to its handler, plus the per-request access log line. The test
//! controls wrap it: every request but `/__emulator/*` first meets the fault
//! rules and rate limits (`intercept.rs`), and the journal records it.
//!
//! Handlers return `Result<Resp, ApiError>`; the error becomes a response here,
//! in the shape of the host role the path belongs to (OAuth, core, tenant).

pub mod admin;
pub mod connect;
pub mod exchange;
pub mod identity;
pub mod ingest;
pub mod intercept;
pub mod metadata;
pub mod oauth;
pub mod query;

use std::sync::atomic::Ordering;
use std::time::Instant;

use http::{Method, StatusCode};

use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{Req, Resp};

/// Handles one request; never panics on client input.
pub async fn handle(state: &AppState, req: Req) -> Resp {
    let started = Instant::now();
    state.stats.requests.fetch_add(1, Ordering::Relaxed);
    let method = req.method.clone();
    let path = req.path.clone();
    let control = admin::is_control_path(&req.path);
    let pending = crate::journal::Pending::begin(state, &req, control);
    let (resp, fault) = if control {
        (respond(state, &req).await, None)
    } else {
        intercept::run(state, &req, || respond(state, &req)).await
    };
    if let Some(pending) = pending {
        pending.finish(state, &req, &resp, fault);
    }
    tracing::info!(
        target: "dc_emulator::access",
        %method,
        path = %path,
        status = resp.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    resp
}

/// Routes and turns an error into its response.
async fn respond(state: &AppState, req: &Req) -> Resp {
    match dispatch(state, req).await {
        Ok(resp) => resp,
        Err(err) => err.into_response(state.clock.now()),
    }
}

async fn dispatch(state: &AppState, req: &Req) -> Result<Resp, ApiError> {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["__emulator", "health"] => admin::health(state, req),
        ["__emulator", "stats"] => admin::stats(state, req),
        ["__emulator", rest @ ..] => admin::dispatch(state, req, rest).await,
        ["services", "oauth2", "token"] => {
            allow(req, &[Method::POST], &req.path)?;
            state.stats.token_requests.fetch_add(1, Ordering::Relaxed);
            oauth::token(state, req).await
        }
        ["services", "oauth2", "revoke"] => {
            allow(req, &[Method::POST, Method::GET], &req.path)?;
            oauth::revoke(state, req)
        }
        ["services", "a360", "token"] => {
            allow(req, &[Method::POST], &req.path)?;
            state
                .stats
                .exchange_requests
                .fetch_add(1, Ordering::Relaxed);
            exchange::exchange(state, req)
        }
        ["services", "data", version, rest @ ..] => {
            connect::dispatch(state, req, version, rest).await
        }
        ["api", "v1", "query"] => {
            allow(req, &[Method::POST], &req.path)?;
            state.stats.query_requests.fetch_add(1, Ordering::Relaxed);
            query::v1(state, req).await
        }
        ["api", "v2", "query"] => {
            allow(req, &[Method::POST], &req.path)?;
            state.stats.query_requests.fetch_add(1, Ordering::Relaxed);
            query::v2_submit(state, req).await
        }
        ["api", "v2", "query", batch_id] => {
            allow(req, &[Method::GET], &req.path)?;
            query::v2_next(state, req, batch_id).await
        }
        ["api", "v1", "query-config"] => {
            allow(req, &[Method::GET], &req.path)?;
            query::config(state, req)
        }
        ["api", "v1", "ingest", rest @ ..] => ingest::dispatch(state, req, rest).await,
        ["api", "v1", "metadata"] => {
            allow(req, &[Method::GET], &req.path)?;
            metadata::tenant(state, req)
        }
        _ => Err(error_for_path(
            &req.path,
            StatusCode::NOT_FOUND,
            "Not Found",
        )),
    }
}

/// Refuses a method not in `allowed` with 405 in the path's error shape.
pub fn allow(req: &Req, allowed: &[Method], path: &str) -> Result<(), ApiError> {
    if allowed.contains(&req.method) {
        return Ok(());
    }
    let allowed_list = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    Err(if path.starts_with("/services/data") {
        ApiError::core(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!(
                "HTTP Method '{}' not allowed. Allowed are {allowed_list}",
                req.method
            ),
        )
    } else if is_oauth_path(path) {
        ApiError::OAuth {
            status: StatusCode::METHOD_NOT_ALLOWED,
            error: "invalid_request",
            description: format!(
                "HTTP Method '{}' not allowed. Allowed are {allowed_list}",
                req.method
            ),
        }
    } else {
        ApiError::tenant(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Request method '{}' not supported", req.method),
        )
    })
}

fn is_oauth_path(path: &str) -> bool {
    path.starts_with("/services/oauth2") || path.starts_with("/services/a360")
}

/// An error in the shape of the host role `path` belongs to.
pub fn error_for_path(path: &str, status: StatusCode, message: impl Into<String>) -> ApiError {
    let message = message.into();
    if path.starts_with("/services/data") {
        let code = match status.as_u16() {
            404 => "NOT_FOUND",
            413 => "REQUEST_TOO_LARGE",
            _ => "INVALID_INPUT",
        };
        ApiError::core(status, code, message)
    } else if is_oauth_path(path) {
        ApiError::OAuth {
            status,
            error: "invalid_request",
            description: message,
        }
    } else {
        ApiError::tenant(status, message)
    }
}
