//! The gateway's own routes: `GET /healthz` (the process is up) and
//! `GET /readyz` (a usable Data Cloud token for the default data space is
//! held, so proxied requests will not wait for a login). Neither needs a
//! client credential.

use http::StatusCode;
use serde_json::json;

use crate::auth::Tokens;
use crate::body::Body;
use crate::proxy::error::json_response;

/// `GET /healthz`: always 200 while serving.
pub fn healthz() -> http::Response<Body> {
    json_response(StatusCode::OK, &json!({"status": "UP"}))
}

/// `GET /readyz`: 200 with a valid Data Cloud token, else 503.
pub fn readyz(tokens: &Tokens) -> http::Response<Body> {
    if tokens.ready() {
        json_response(StatusCode::OK, &json!({"status": "READY"}))
    } else {
        json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "NOT_READY", "reason": "no valid Data Cloud token held yet"}),
        )
    }
}
