//! How a fault answers: a status in the host's own error shape (or a given
//! body) with `Retry-After`, a marker that makes the server drop the
//! connection, or a real response with its JSON cut short. `host_error` is
//! also the throttling body of the rate limits.

use bytes::Bytes;
use http::{header, HeaderValue, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::wire::{json_response, Resp};

/// The answer of a `status` fault: the given body, or the error body of the
/// host `path` belongs to (core array, OAuth pair or tenant object).
pub fn status_response(
    path: &str,
    status: StatusCode,
    retry_after: Option<u64>,
    body: Option<&Value>,
    now: time::OffsetDateTime,
) -> Resp {
    let mut resp = match body {
        Some(b) => json_response(status, b),
        None => host_error(path, status).into_response(now),
    };
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// The error a host answers with `status` when it is throttled or failing.
pub fn host_error(path: &str, status: StatusCode) -> ApiError {
    let reason = status.canonical_reason().unwrap_or("Error");
    if path.starts_with("/services/data") {
        let (code, message) = match status.as_u16() {
            401 => ("INVALID_SESSION_ID", "Session expired or invalid"),
            403 | 429 => ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
            503 => ("SERVER_UNAVAILABLE", "Service Unavailable"),
            404 => ("NOT_FOUND", "The requested resource does not exist"),
            400..=499 => ("INVALID_INPUT", reason),
            _ => ("UNKNOWN_EXCEPTION", "An unexpected error occurred."),
        };
        ApiError::core(status, code, message)
    } else if path.starts_with("/services/oauth2") || path.starts_with("/services/a360") {
        let error = match status.as_u16() {
            429 => "rate_limit_exceeded",
            503 => "temporarily_unavailable",
            400..=499 => "invalid_request",
            _ => "server_error",
        };
        ApiError::OAuth {
            status,
            error,
            description: reason.to_owned(),
        }
    } else {
        let message = if status == StatusCode::TOO_MANY_REQUESTS {
            "Too many requests"
        } else {
            reason
        };
        ApiError::tenant(status, message)
    }
}

/// Marks a response the server must not send: it closes the connection
/// instead (`server.rs` turns the marker into a service error, on which
/// hyper aborts the connection without writing anything).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("connection dropped by a fault rule")]
pub struct DropConnection;

/// The placeholder response of a dropped connection.
pub fn dropped() -> Resp {
    let mut resp = json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({}));
    resp.extensions_mut().insert(DropConnection);
    resp
}

/// Whether `resp` stands for a dropped connection.
pub fn is_dropped(resp: &Resp) -> bool {
    resp.extensions().get::<DropConnection>().is_some()
}

/// `resp` as a 200 whose JSON body stops halfway (never valid JSON: a proper
/// prefix of an object or array does not parse).
pub async fn malformed(resp: Resp) -> Resp {
    let (mut parts, body) = resp.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let cut = if bytes.len() >= 2 {
        bytes.slice(..bytes.len() / 2)
    } else {
        Bytes::from_static(b"{\"")
    };
    parts.status = StatusCode::OK;
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Resp::from_parts(parts, Full::new(cut))
}
