//! What every query API shares, whichever host serves it: reading the JSON
//! body, running the statement on the store, paging a V2 result through a
//! cursor, and errors in the serving host's shape.
//!
//! The tenant host (`/api/v1|v2/query`) and the core host's Connect resources
//! (`ssot/query`, `ssot/queryv2`) return the same V1/V2 bodies; only the error
//! shape and the token differ, so handlers pass a [`Host`] and an [`Owner`].

use std::sync::Arc;

use http::StatusCode;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::{arrow, encode};
use crate::clock::format_iso_micros;
use crate::cursor::{self, CursorView, Lifetime, Owner};
use crate::error::ApiError;
use crate::sql::{self, QueryResult, SqlError, SqlErrorKind, SqlParam};
use crate::state::AppState;
use crate::wire::Req;

/// Most rows one V1 call or V2 batch returns (reference §4.2/§4.3).
pub const MAX_ROWS_PER_CALL: usize = 49_999;

/// The host serving a request: decides the error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// `/api/...`: Spring-style object.
    Tenant,
    /// `/services/data/...`: `[{"errorCode", "message"}]`.
    Core,
}

impl Host {
    /// 400 for bad input; `core_code` is the core host's `errorCode`.
    pub fn bad_request(self, core_code: &'static str, message: impl Into<String>) -> ApiError {
        match self {
            Host::Tenant => ApiError::tenant(StatusCode::BAD_REQUEST, message),
            Host::Core => ApiError::core(StatusCode::BAD_REQUEST, core_code, message),
        }
    }

    /// 400 carrying the SQL layer's message.
    pub fn sql_error(self, err: SqlError) -> ApiError {
        let code = match err.kind {
            SqlErrorKind::Syntax => "MALFORMED_QUERY",
            _ => "INVALID_INPUT",
        };
        self.bad_request(code, err.message)
    }

    /// 404 for an unknown or expired batch/query id.
    pub fn not_found(self, core_code: &'static str, message: impl Into<String>) -> ApiError {
        match self {
            Host::Tenant => ApiError::tenant(StatusCode::NOT_FOUND, message),
            Host::Core => ApiError::core(StatusCode::NOT_FOUND, core_code, message),
        }
    }

    /// 500 with a generic message; the cause goes to the log only.
    pub fn internal(self) -> ApiError {
        match self {
            Host::Tenant => {
                ApiError::tenant(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
            Host::Core => ApiError::core(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "An unexpected error occurred. Please include this ErrorId if you contact support.",
            ),
        }
    }
}

/// Parses the request body as a JSON object.
///
/// On the core host, Connect deserializes into a fixed input class and refuses
/// any other key (`Unrecognized field "query" …`, reference §4.2); `class` names
/// that input in the message and `allowed` lists its fields. The tenant host
/// ignores keys it does not know.
pub fn parse_object(
    host: Host,
    body: &[u8],
    class: &str,
    allowed: &[&str],
) -> Result<Map<String, Value>, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| {
        host.bad_request(
            "JSON_PARSER_ERROR",
            "JSON parse error: body is not valid UTF-8",
        )
    })?;
    if text.trim().is_empty() {
        return Err(match host {
            Host::Tenant => host.bad_request("", "Required request body is missing"),
            Host::Core => {
                host.bad_request("JSON_PARSER_ERROR", "No content to map due to end-of-input")
            }
        });
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| host.bad_request("JSON_PARSER_ERROR", format!("JSON parse error: {e}")))?;
    let Value::Object(map) = value else {
        return Err(host.bad_request(
            "JSON_PARSER_ERROR",
            "JSON parse error: the request body must be a JSON object",
        ));
    };
    if host == Host::Core {
        if let Some(key) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            let known = allowed
                .iter()
                .map(|k| format!("\"{k}\""))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(host.bad_request(
                "JSON_PARSER_ERROR",
                format!(
                    "Unrecognized field \"{key}\" (class {class}), not marked as ignorable \
                     ({} known properties: {known})",
                    allowed.len()
                ),
            ));
        }
    }
    Ok(map)
}

/// The `sql` member: present, a string, not blank.
pub fn required_sql(host: Host, body: &Map<String, Value>) -> Result<String, ApiError> {
    match body.get("sql") {
        None | Some(Value::Null) => Err(host.bad_request(
            "INVALID_INPUT",
            "Missing required field \"sql\" in the request body",
        )),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(host.bad_request("INVALID_INPUT", "Field \"sql\" must not be empty"))
        }
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(host.bad_request("JSON_PARSER_ERROR", "Field \"sql\" must be a string")),
    }
}

/// A finished statement and when it ran.
pub struct Ran {
    pub result: QueryResult,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
}

/// Runs one statement on a read-only connection, off the async threads.
pub async fn run_sql(
    state: &AppState,
    host: Host,
    sql: String,
    params: Vec<SqlParam>,
) -> Result<Ran, ApiError> {
    let start = state.clock.now();
    let catalog = Arc::clone(&state.catalog);
    let outcome = state
        .store
        .read(move |conn| sql::execute(conn, &catalog, &sql, &params))
        .await;
    let end = state.clock.now();
    match outcome {
        Ok(Ok(result)) => Ok(Ran { result, start, end }),
        Ok(Err(sql_err)) => Err(host.sql_error(sql_err)),
        Err(store_err) => {
            tracing::error!(error = %store_err, "query: store worker failed");
            Err(host.internal())
        }
    }
}

/// Rows per V2 batch: the configured size within Salesforce's ceiling.
pub fn batch_rows(state: &AppState) -> usize {
    state.config.query_batch_rows.clamp(1, MAX_ROWS_PER_CALL)
}

/// Whether the client asked for `arrowStream` (`enable-arrow-stream: true`).
pub fn wants_arrow(req: &Req) -> bool {
    req.header("enable-arrow-stream")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The first V2 response; opens a cursor when rows remain after it.
pub fn v2_first(
    state: &AppState,
    host: Host,
    owner: Owner,
    ran: Ran,
    arrow: bool,
) -> Result<Value, ApiError> {
    let now_ms = state.clock.now_ms();
    let query_id = cursor::new_query_id(ran.start);
    let batch = batch_rows(state);
    let total = ran.result.rows.len();
    let result = Arc::new(ran.result);
    let next_batch_id = if total > batch {
        let cursor_id = cursor::new_uuid();
        state.cursors.open(
            now_ms,
            cursor_id.clone(),
            owner,
            CursorView {
                query_id: query_id.clone(),
                result: Arc::clone(&result),
                created_ms: now_ms,
                batch_rows: batch,
            },
            Lifetime::V2,
        );
        Some(format!("{cursor_id}_1"))
    } else {
        None
    };
    let page = Page {
        query_id: &query_id,
        start: ran.start,
        end: ran.end,
        next_batch_id,
        arrow,
    };
    v2_body(host, &result, 0..batch.min(total), page)
}

/// A later V2 batch by `nextBatchId`.
pub fn v2_next(
    state: &AppState,
    host: Host,
    owner: &Owner,
    batch_id: &str,
    arrow: bool,
) -> Result<Value, ApiError> {
    let start = state.clock.now();
    let now_ms = state.clock.now_ms();
    let not_found = || {
        host.not_found(
            "NOT_FOUND",
            format!("Not Found: batch {batch_id} does not exist or has expired"),
        )
    };
    let (cursor_id, n) = batch_id
        .rsplit_once('_')
        .and_then(|(c, n)| Some((c, n.parse::<usize>().ok()?)))
        .filter(|(_, n)| *n >= 1)
        .ok_or_else(not_found)?;
    let view = state
        .cursors
        .get(now_ms, cursor_id, owner)
        .ok_or_else(not_found)?;
    let total = view.result.rows.len();
    let from = n
        .checked_mul(view.batch_rows)
        .filter(|f| *f < total)
        .ok_or_else(not_found)?;
    let to = from.saturating_add(view.batch_rows).min(total);
    let next = if to < total {
        Some(format!("{cursor_id}_{}", n + 1))
    } else {
        // The last batch: nothing more to read, free the rows now.
        state.cursors.remove(now_ms, cursor_id, owner);
        None
    };
    let page = Page {
        query_id: &view.query_id,
        start,
        end: state.clock.now(),
        next_batch_id: next,
        arrow,
    };
    v2_body(host, &view.result, from..to, page)
}

/// What a V2 body says besides its rows.
struct Page<'a> {
    query_id: &'a str,
    start: OffsetDateTime,
    end: OffsetDateTime,
    /// `None` on the last batch.
    next_batch_id: Option<String>,
    /// Add `arrowStream`.
    arrow: bool,
}

/// The V2 body for `range` of `result`.
fn v2_body(
    host: Host,
    result: &QueryResult,
    range: std::ops::Range<usize>,
    page: Page<'_>,
) -> Result<Value, ApiError> {
    let labels = encode::labels(&result.columns);
    let end = range.end.min(result.rows.len());
    let start = range.start.min(end);
    let data = encode::v2_rows(result, start..end);
    let mut body = json!({
        "data": data,
        "startTime": format_iso_micros(page.start),
        "endTime": format_iso_micros(page.end),
        "rowCount": data.len(),
        "queryId": page.query_id,
        "nextBatchId": page.next_batch_id.as_deref().unwrap_or(""),
        "done": page.next_batch_id.is_none(),
        "metadata": encode::v2_metadata(&result.columns, &labels),
    });
    if page.arrow {
        let encoded =
            arrow::stream_base64(&result.columns, &result.rows[start..end]).map_err(|err| {
                tracing::error!(error = %err, "query: arrowStream encoding failed");
                host.internal()
            })?;
        body["arrowStream"] = Value::String(encoded);
    }
    Ok(body)
}

/// The V1 body: `range` of the rows as objects; `done` when nothing follows.
pub fn v1_body(ran: &Ran, range: std::ops::Range<usize>) -> Value {
    let labels = encode::labels(&ran.result.columns);
    let done = range.end >= ran.result.rows.len();
    let data = encode::v1_rows(&ran.result, &labels, range);
    json!({
        "data": data,
        "startTime": format_iso_micros(ran.start),
        "endTime": format_iso_micros(ran.end),
        "rowCount": data.len(),
        "queryId": cursor::new_query_id(ran.start),
        "done": done,
        "metadata": encode::v2_metadata(&ran.result.columns, &labels),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_refuses_unknown_fields() {
        let err = parse_object(Host::Core, br#"{"query":"select 1"}"#, "X", &["sql"])
            .expect_err("unknown field");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert!(err.message().starts_with("Unrecognized field \"query\""));
        let ok = parse_object(
            Host::Tenant,
            br#"{"query":"x","sql":"select 1"}"#,
            "X",
            &["sql"],
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn body_errors_are_precise() {
        let e = parse_object(Host::Tenant, b"", "X", &[]).expect_err("empty");
        assert_eq!(e.message(), "Required request body is missing");
        let e = parse_object(Host::Tenant, b"{nope", "X", &[]).expect_err("bad json");
        assert!(e.message().starts_with("JSON parse error"));
        let e = parse_object(Host::Tenant, b"[1]", "X", &[]).expect_err("array");
        assert!(e.message().contains("JSON object"));
        let map = parse_object(Host::Tenant, br#"{"sql":"  "}"#, "X", &[]).expect("object");
        let e = required_sql(Host::Tenant, &map).expect_err("blank");
        assert!(e.message().contains("must not be empty"));
        let map = parse_object(Host::Tenant, br#"{"sql":5}"#, "X", &[]).expect("object");
        assert!(required_sql(Host::Tenant, &map).is_err());
        let map = parse_object(Host::Tenant, br#"{}"#, "X", &[]).expect("object");
        let e = required_sql(Host::Tenant, &map).expect_err("missing");
        assert!(e.message().contains("\"sql\""));
    }
}
