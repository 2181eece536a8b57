//! `GET|PUT|DELETE /__emulator/journal`: list (filtered), configure and
//! clear the recorded requests.
//!
//! Filters (query string, all optional): `method`; `path` (a glob with `*`/`?`
//! matched against the whole path, else a prefix); `status` (`429` or a class
//! such as `4xx`); `since` (emulator-clock Unix milliseconds or an RFC 3339
//! time); `limit` (the newest N matches).

use http::Method;
use serde::Deserialize;
use serde_json::json;

use super::{bad_request, json_body};
use crate::clock::parse_rfc3339;
use crate::error::ApiError;
use crate::journal::{Filter, StatusFilter};
use crate::state::AppState;
use crate::wire::{ok_json, Req, Resp};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    capacity: Option<usize>,
    include_control: Option<bool>,
}

/// Dispatches on the method (already checked by the route table).
pub fn handle(state: &AppState, req: &Req) -> Result<Resp, ApiError> {
    match req.method {
        Method::DELETE => {
            let n = state.journal.list(&Filter::default()).total;
            state.journal.clear();
            Ok(ok_json(&json!({"deleted": n})))
        }
        Method::PUT => {
            let s: Settings = json_body(req, false)?;
            state.journal.configure(s.capacity, s.include_control);
            let mut listing = state.journal.list(&Filter::default());
            listing.entries.clear();
            Ok(ok_json(&listing))
        }
        _ => Ok(ok_json(&state.journal.list(&filter(req)?))),
    }
}

fn filter(req: &Req) -> Result<Filter, ApiError> {
    let params = req.query_params();
    let get = |k: &str| params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut f = Filter::default();
    if let Some(m) = get("method") {
        f.method = Some(
            Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                .map_err(|_| bad_request(format!("method '{m}' is not an HTTP method")))?,
        );
    }
    f.path = get("path").map(str::to_owned);
    if let Some(s) = get("status") {
        f.status = Some(StatusFilter::parse(s).ok_or_else(|| {
            bad_request(format!(
                "status '{s}' is neither a status code nor a class like 4xx"
            ))
        })?);
    }
    if let Some(s) = get("since") {
        f.since_ms = Some(match s.parse::<i64>() {
            Ok(ms) => ms,
            Err(_) => parse_rfc3339(s)
                .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
                .ok_or_else(|| {
                    bad_request(format!(
                        "since '{s}' is neither Unix milliseconds nor an RFC 3339 time"
                    ))
                })?,
        });
    }
    if let Some(l) = get("limit") {
        f.limit = Some(
            l.parse()
                .map_err(|_| bad_request(format!("limit '{l}' is not a count")))?,
        );
    }
    Ok(f)
}
