//! `/__emulator/*`: the test-control API. JSON in, JSON out, usable from any
//! language (README, "Test-control API").
//!
//! * `health`, `stats`: liveness and request counters;
//! * `reset`, `rows`: back to the fixture state, extra rows (`admin/data.rs`);
//! * `journal`: recorded requests (`admin/journal.rs`);
//! * `faults`, `ratelimits`: injected failures and budgets (`admin/faults.rs`);
//! * `clock`, `apps/{clientId}/…`, `users/{username}/…`: virtual time and
//!   runtime deactivation (`admin/switches.rs`).
//!
//! These routes are never subject to faults or rate limits, and the journal
//! leaves them out unless told otherwise. Errors use the tenant shape.

mod data;
mod faults;
mod journal;
mod switches;

use std::sync::atomic::Ordering;

use http::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::ApiError;
use crate::routes::allow;
use crate::state::AppState;
use crate::wire::{ok_json, Req, Resp};

/// Path prefix of the test-control API.
pub const PREFIX: &str = "/__emulator/";

/// Whether `path` belongs to the test-control API (exempt from faults and
/// rate limits, and from the journal by default).
pub fn is_control_path(path: &str) -> bool {
    path.starts_with(PREFIX) || path == "/__emulator"
}

/// Routes `/__emulator/{rest…}` (health and stats are matched before).
pub async fn dispatch(state: &AppState, req: &Req, rest: &[&str]) -> Result<Resp, ApiError> {
    let path = req.path.as_str();
    let post = &[Method::POST][..];
    match rest {
        ["reset"] => {
            allow(req, post, path)?;
            data::reset(state, req).await
        }
        ["rows"] => {
            allow(req, post, path)?;
            data::rows(state, req).await
        }
        ["journal"] => {
            allow(req, &[Method::GET, Method::PUT, Method::DELETE], path)?;
            journal::handle(state, req)
        }
        ["faults"] => {
            allow(req, &[Method::GET, Method::POST, Method::DELETE], path)?;
            faults::rules(state, req)
        }
        ["faults", id] => {
            allow(req, &[Method::GET, Method::DELETE], path)?;
            faults::rule(state, req, id)
        }
        ["faults", id, "reset"] => {
            allow(req, post, path)?;
            faults::rewind(state, id)
        }
        ["ratelimits"] => {
            allow(req, &[Method::GET, Method::PUT, Method::DELETE], path)?;
            faults::limits(state, req)
        }
        ["ratelimits", class] => {
            allow(req, &[Method::DELETE], path)?;
            faults::clear_limit(state, &decode_segment(class))
        }
        ["clock"] => {
            allow(req, &[Method::GET, Method::POST], path)?;
            switches::clock(state, req)
        }
        ["apps"] => {
            allow(req, &[Method::GET], path)?;
            Ok(switches::apps(state))
        }
        ["apps", client_id, action @ ("activate" | "deactivate")] => {
            allow(req, post, path)?;
            switches::app(state, &decode_segment(client_id), *action == "activate")
        }
        ["users"] => {
            allow(req, &[Method::GET], path)?;
            Ok(switches::users(state))
        }
        ["users", username, action @ ("activate" | "deactivate")] => {
            allow(req, post, path)?;
            switches::user(state, &decode_segment(username), *action == "activate")
        }
        _ => Err(ApiError::tenant(StatusCode::NOT_FOUND, "Not Found")),
    }
}

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

/// A 400 in the tenant shape.
fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::tenant(StatusCode::BAD_REQUEST, message)
}

/// The JSON body as `T`; an empty body reads as `{}` when `empty_ok`.
fn json_body<T: DeserializeOwned>(req: &Req, empty_ok: bool) -> Result<T, ApiError> {
    let body: &[u8] = if req.body.iter().all(u8::is_ascii_whitespace) {
        if !empty_ok {
            return Err(bad_request("A JSON request body is required"));
        }
        b"{}"
    } else {
        &req.body
    };
    serde_json::from_slice(body).map_err(|e| bad_request(format!("Invalid request body: {e}")))
}

/// A path segment with `%XX` escapes decoded (`user%40example.com`); `+`
/// stays a plus, as in any URL path. Invalid escapes are kept as written.
fn decode_segment(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_decode() {
        assert_eq!(decode_segment("a%40b.com"), "a@b.com");
        assert_eq!(decode_segment("a+b%2"), "a+b%2");
        assert_eq!(decode_segment("%4"), "%4");
        assert_eq!(decode_segment("x%41"), "xA");
    }
}
