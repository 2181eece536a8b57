//! Every error the emulator answers, in the three shapes Salesforce uses, mapped
//! to HTTP in exactly one place (`ApiError::into_response`).
//!
//! * OAuth endpoints (`/services/oauth2/*`, `/services/a360/token`):
//!   `{"error": …, "error_description": …}`.
//! * Core host (`/services/data/…`): an array `[{"errorCode": …, "message": …}]`.
//! * Tenant host (`/api/…`): a Spring-style object with `timestamp`, `error`,
//!   `message`, `internalErrorCode` and optional `details`/`path`.
//!
//! Handlers build the variant that matches their host; the public message goes to
//! the client, and anything internal is logged, never echoed.

use bytes::Bytes;
use http::{header, Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};

use crate::wire::{json_response, Resp};

/// An error answered to the client.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// OAuth token/exchange/revoke endpoints.
    OAuth {
        status: StatusCode,
        error: &'static str,
        description: String,
    },
    /// Core host REST/Connect (`/services/data/...`).
    Core {
        status: StatusCode,
        error_code: &'static str,
        message: String,
    },
    /// Tenant host (`/api/...`).
    Tenant {
        status: StatusCode,
        message: String,
        details: Option<Value>,
        path: Option<String>,
    },
}

impl ApiError {
    /// OAuth error, HTTP 400.
    pub fn oauth(error: &'static str, description: impl Into<String>) -> Self {
        ApiError::OAuth {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }

    /// Core-host error.
    pub fn core(status: StatusCode, error_code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Core {
            status,
            error_code,
            message: message.into(),
        }
    }

    /// Tenant-host error.
    pub fn tenant(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError::Tenant {
            status,
            message: message.into(),
            details: None,
            path: None,
        }
    }

    /// Tenant-host error with a `details` object.
    pub fn tenant_with_details(
        status: StatusCode,
        message: impl Into<String>,
        details: Value,
    ) -> Self {
        ApiError::Tenant {
            status,
            message: message.into(),
            details: Some(details),
            path: None,
        }
    }

    /// Tenant-host error of an ingestion call: the body also names the
    /// request path (`"path": "uri=/api/v1/ingest/…"`) and the tenant
    /// (`tenantId`), as Salesforce's ingestion errors do. The tenant id
    /// travels in `details` and is lifted to the top level when rendered.
    pub fn tenant_at(
        status: StatusCode,
        message: impl Into<String>,
        path: &str,
        tenant_id: &str,
        details: Option<Value>,
    ) -> Self {
        let mut details = match details {
            Some(Value::Object(map)) => map,
            Some(other) => {
                let mut map = serde_json::Map::new();
                map.insert("detail".into(), other);
                map
            }
            None => serde_json::Map::new(),
        };
        details.insert(TENANT_ID_KEY.into(), Value::String(tenant_id.to_owned()));
        ApiError::Tenant {
            status,
            message: message.into(),
            details: Some(Value::Object(details)),
            path: Some(path.to_owned()),
        }
    }

    /// The core host's 401 for a missing, unknown, expired or revoked session.
    pub fn invalid_session() -> Self {
        Self::core(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        )
    }

    /// The tenant host's 401 for a missing or bad Data Cloud token.
    pub fn tenant_unauthorized(status_detail: &str) -> Self {
        Self::tenant_with_details(
            StatusCode::UNAUTHORIZED,
            "Authorization header verification failed",
            json!({"status": format!("UNAUTHENTICATED: {status_detail}"), "statusCode": 401}),
        )
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::OAuth { status, .. }
            | ApiError::Core { status, .. }
            | ApiError::Tenant { status, .. } => *status,
        }
    }

    /// The client-facing message.
    pub fn message(&self) -> &str {
        match self {
            ApiError::OAuth { description, .. } => description,
            ApiError::Core { message, .. } | ApiError::Tenant { message, .. } => message,
        }
    }

    /// The one place errors become HTTP responses.
    pub fn into_response(self, now: time::OffsetDateTime) -> Resp {
        match self {
            ApiError::OAuth {
                status,
                error,
                description,
            } => {
                let mut resp = json_response(
                    status,
                    &json!({"error": error, "error_description": description}),
                );
                resp.headers_mut().insert(
                    header::CACHE_CONTROL,
                    http::HeaderValue::from_static("no-store"),
                );
                resp
            }
            ApiError::Core {
                status,
                error_code,
                message,
            } => json_response(
                status,
                &json!([{"errorCode": error_code, "message": message}]),
            ),
            ApiError::Tenant {
                status,
                message,
                details,
                path,
            } => {
                let mut body = json!({
                    "timestamp": crate::clock::format_spring(now),
                    "error": tenant_error_name(status),
                    "message": message,
                    "internalErrorCode": "COMMON_ERROR_GENERIC",
                });
                if let Some(mut d) = details {
                    if let Some(tenant) = d.as_object_mut().and_then(|m| m.remove(TENANT_ID_KEY)) {
                        body["tenantId"] = tenant;
                    }
                    if d.as_object().is_none_or(|m| !m.is_empty()) {
                        body["details"] = d;
                    }
                }
                if let Some(p) = path {
                    body["path"] = Value::String(format!("uri={p}"));
                }
                json_response(status, &body)
            }
        }
    }
}

/// Key under which [`ApiError::tenant_at`] carries the tenant id in `details`.
const TENANT_ID_KEY: &str = "__tenantId";

/// The `error` text of the tenant shape for a status.
fn tenant_error_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too many requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// A response with an empty body (e.g. revoke's 200).
pub fn empty(status: StatusCode) -> Resp {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}
