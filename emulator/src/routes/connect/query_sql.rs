//! Connect `ssot/query-sql` (reference §4.6), the API `salesforce-datacloud-connector`
//! is built on: create (`POST`), status (`GET {id}`), rows (`GET {id}/rows`) and
//! cancel (`DELETE {id}`).
//!
//! Queries run synchronously, so a created query is always `Finished` with
//! `progress` 1.0 and `status.rowCount` the total. The first response carries up
//! to `rowLimit` rows, never more than `--query-batch-rows`, so clients exercise
//! their `…/rows?offset=` paging; the whole result stays in a cursor for 24
//! hours (the documented cache life), readable only by the same user and data
//! space.

use std::sync::Arc;

use http::StatusCode;
use serde_json::{json, Map, Value};

use crate::clock::format_iso_millis;
use crate::cursor::{self, CursorView, Lifetime, Owner, QUERY_SQL_MAX_AGE_MS};
use crate::error::{self, ApiError};
use crate::routes::query::{encode, run, run::Host};
use crate::sql::SqlParam;
use crate::state::AppState;
use crate::wire::{ok_json, Req, Resp};

/// Fields of Connect's `QuerySqlInput`.
const INPUT_FIELDS: &[&str] = &[
    "sql",
    "rowLimit",
    "sqlParameters",
    "adaptiveTimeout",
    "querySettings",
];

/// `POST ssot/query-sql`.
pub async fn create(state: &AppState, req: &Req, owner: Owner) -> Result<Resp, ApiError> {
    let host = Host::Core;
    let body = run::parse_object(host, &req.body, "QuerySqlInputRepresentation", INPUT_FIELDS)?;
    let sql = run::required_sql(host, &body)?;
    let row_limit = body_count(&body, "rowLimit")?;
    let adaptive_timeout = body_count(&body, "adaptiveTimeout")?;
    let params = sql_parameters(&body)?;
    if let Some(settings) = body.get("querySettings") {
        if !settings.is_object() && !settings.is_null() {
            return Err(parser_error("querySettings must be an object of strings"));
        }
    }

    let ran = run::run_sql(state, host, sql, params).await?;
    let now_ms = state.clock.now_ms();
    let query_id = cursor::new_query_id(ran.start);
    let result = Arc::new(ran.result);
    let view = CursorView {
        query_id: query_id.clone(),
        result,
        created_ms: now_ms,
        batch_rows: run::batch_rows(state),
    };
    // adaptiveTimeout 0 asks for the query id, status and schema only.
    let first = if adaptive_timeout == Some(0) {
        0
    } else {
        row_limit.unwrap_or(usize::MAX).min(view.batch_rows)
    };
    let data = encode::connect_rows(&view.result, 0..first);
    let body = json!({
        "data": data,
        "metadata": encode::connect_metadata(&view.result.columns),
        "returnedRows": data.len(),
        "status": status_json(&view),
    });
    state
        .cursors
        .open(now_ms, query_id, owner, view, Lifetime::QUERY_SQL);
    Ok(ok_json(&body))
}

/// `GET ssot/query-sql/{id}?waitTimeMs=`: `{"status": {…}}`.
pub fn status(state: &AppState, req: &Req, owner: &Owner, id: &str) -> Result<Resp, ApiError> {
    if let Some(wait) = req.query_param("waitTimeMs") {
        // Results are complete before create returns, so there is nothing to
        // wait for; the value is still checked like the real parameter.
        if wait.trim().parse::<u64>().is_err() {
            return Err(illegal_param("waitTimeMs", &wait));
        }
    }
    let view = lookup(state, owner, id)?;
    Ok(ok_json(&json!({"status": status_json(&view)})))
}

/// `GET ssot/query-sql/{id}/rows?offset=&rowLimit=&omitSchema=`.
pub fn rows(state: &AppState, req: &Req, owner: &Owner, id: &str) -> Result<Resp, ApiError> {
    let params = req.query_params();
    let number = |name: &str| -> Result<Option<usize>, ApiError> {
        match params.get(name).map(|s| s.trim()) {
            None | Some("") => Ok(None),
            Some(s) => s
                .parse::<u64>()
                .map(|n| Some(usize::try_from(n).unwrap_or(usize::MAX)))
                .map_err(|_| illegal_param(name, s)),
        }
    };
    let offset = number("offset")?.unwrap_or(0);
    let row_limit = number("rowLimit")?;
    let omit_schema = match params
        .get("omitSchema")
        .map(|s| s.trim().to_ascii_lowercase())
    {
        None => false,
        Some(s) if s.is_empty() || s == "false" => false,
        Some(s) if s == "true" => true,
        Some(s) => return Err(illegal_param("omitSchema", &s)),
    };
    let view = lookup(state, owner, id)?;
    let total = view.result.rows.len();
    if offset > total {
        // dc2 reads any error mentioning "out of range" as the end of the data.
        return Err(ApiError::core(
            StatusCode::BAD_REQUEST,
            "INVALID_INPUT",
            "Request out of range",
        ));
    }
    let count = row_limit.unwrap_or(usize::MAX).min(view.batch_rows);
    let data = encode::connect_rows(&view.result, offset..offset.saturating_add(count));
    let mut body = json!({"data": data, "returnedRows": data.len()});
    if !omit_schema {
        body["metadata"] = encode::connect_metadata(&view.result.columns);
    }
    Ok(ok_json(&body))
}

/// `DELETE ssot/query-sql/{id}`: 204.
pub fn cancel(state: &AppState, owner: &Owner, id: &str) -> Result<Resp, ApiError> {
    if state.cursors.remove(state.clock.now_ms(), id, owner) {
        Ok(error::empty(StatusCode::NO_CONTENT))
    } else {
        Err(unknown_query(id))
    }
}

fn lookup(state: &AppState, owner: &Owner, id: &str) -> Result<CursorView, ApiError> {
    state
        .cursors
        .get(state.clock.now_ms(), id, owner)
        .ok_or_else(|| unknown_query(id))
}

/// `status` of a finished query.
fn status_json(view: &CursorView) -> Value {
    let total = view.result.rows.len();
    let chunks = total.div_ceil(view.batch_rows.max(1)).max(1);
    let expires = view.created_ms + QUERY_SQL_MAX_AGE_MS;
    let expires = time::OffsetDateTime::from_unix_timestamp_nanos(expires as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    json!({
        "queryId": view.query_id,
        "completionStatus": "Finished",
        "progress": 1.0,
        "rowCount": total,
        "chunkCount": chunks,
        "expirationTime": format_iso_millis(expires),
    })
}

/// A non-negative integer member, when present.
fn body_count(body: &Map<String, Value>, name: &str) -> Result<Option<usize>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) => Ok(Some(usize::try_from(v).unwrap_or(usize::MAX))),
            None => Err(ApiError::core(
                StatusCode::BAD_REQUEST,
                "INVALID_INPUT",
                format!("{name} must be a non-negative integer, got {n}"),
            )),
        },
        Some(other) => Err(parser_error(&format!(
            "Cannot deserialize value of type `long` for {name} from {other}"
        ))),
    }
}

/// `sqlParameters`: `[{"name", "value", "type"}]`.
fn sql_parameters(body: &Map<String, Value>) -> Result<Vec<SqlParam>, ApiError> {
    let items = match body.get("sqlParameters") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(parser_error("sqlParameters must be an array")),
    };
    items
        .iter()
        .map(|item| {
            let Value::Object(p) = item else {
                return Err(parser_error(
                    "each sqlParameters item must be an object with name, value and type",
                ));
            };
            if let Some(key) = p.keys().find(|k| !["name", "value", "type"].contains(&k.as_str())) {
                return Err(parser_error(&format!(
                    "Unrecognized field \"{key}\" (class QuerySqlParameterInputRepresentation), not marked as ignorable"
                )));
            }
            let name = match p.get("name") {
                Some(Value::String(s)) if !s.trim().is_empty() => s.trim().trim_start_matches(':').to_string(),
                _ => {
                    return Err(ApiError::core(
                        StatusCode::BAD_REQUEST,
                        "INVALID_INPUT",
                        "Each sqlParameters item needs a non-empty name",
                    ))
                }
            };
            let ty = match p.get("type") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(parser_error("sqlParameters type must be a string")),
            };
            Ok(SqlParam {
                name,
                value: p.get("value").cloned().unwrap_or(Value::Null),
                ty,
            })
        })
        .collect()
}

fn parser_error(message: &str) -> ApiError {
    ApiError::core(
        StatusCode::BAD_REQUEST,
        "JSON_PARSER_ERROR",
        message.to_string(),
    )
}

fn illegal_param(name: &str, value: &str) -> ApiError {
    ApiError::core(
        StatusCode::BAD_REQUEST,
        "ILLEGAL_QUERY_PARAMETER_VALUE",
        format!("Invalid value '{value}' for query parameter {name}"),
    )
}

fn unknown_query(id: &str) -> ApiError {
    ApiError::core(
        StatusCode::NOT_FOUND,
        "ITEM_NOT_FOUND",
        format!("Query {id} was not found or its results have expired"),
    )
}
