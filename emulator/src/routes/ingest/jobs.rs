//! Bulk ingestion jobs, `/api/v1/ingest/jobs…`: create (201), upload a CSV
//! file (`PUT …/{id}/batches`, 202), close or abort (`PATCH`, 200), get,
//! list (`?limit=&offset=&orderBy=&states=`), delete (204). The job logic
//! and its rules live in `ingest::bulk`; this file reads requests and
//! shapes answers.

use std::collections::HashMap;

use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::auth;
use crate::error::{empty, ApiError};
use crate::ingest::bulk::{self, JobError, ListQuery, NewJob};
use crate::ingest::streaming::Origin;
use crate::ingest::INGEST_SCOPE;
use crate::state::AppState;
use crate::wire::{json_response, ok_json, Req, Resp};

use super::{allow, internal};

/// Routes `/api/v1/ingest/jobs/{tail…}`.
pub(super) async fn dispatch(
    state: &AppState,
    req: &Req,
    tail: &[&str],
    at: &Origin<'_>,
) -> Result<Resp, ApiError> {
    match tail {
        [] => {
            allow(req, &[Method::POST, Method::GET], &req.path)?;
            let session = auth::require_dc(state, req, INGEST_SCOPE)?;
            if req.method == Method::POST {
                create(state, req, &session.user_id, at).await
            } else {
                list(state, req, at).await
            }
        }
        [id] => {
            allow(
                req,
                &[Method::GET, Method::PATCH, Method::DELETE],
                &req.path,
            )?;
            auth::require_dc(state, req, INGEST_SCOPE)?;
            let id = (*id).to_owned();
            match req.method {
                Method::GET => get(state, id, at).await,
                Method::PATCH => patch(state, req, id, at).await,
                _ => delete(state, id, at).await,
            }
        }
        [id, "batches"] => {
            allow(req, &[Method::PUT], &req.path)?;
            auth::require_dc(state, req, INGEST_SCOPE)?;
            upload(state, req, (*id).to_owned(), at).await
        }
        _ => Err(at.error(StatusCode::NOT_FOUND, "Not Found")),
    }
}

fn job_error(at: &Origin<'_>, id: &str, e: JobError) -> ApiError {
    match e {
        JobError::NotFound => at.error(StatusCode::NOT_FOUND, format!("Job not found: {id}")),
        JobError::Refused(m) => at.error(StatusCode::BAD_REQUEST, m),
        JobError::Db(e) => internal(at, e),
    }
}

/// The body as a JSON object, or 400.
fn object_body(req: &Req, at: &Origin<'_>) -> Result<serde_json::Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(at.error(
            StatusCode::BAD_REQUEST,
            "Bad Request: the body must be a JSON object",
        )),
        Err(e) => Err(at.error(
            StatusCode::BAD_REQUEST,
            format!("Bad Request: malformed JSON: {e}"),
        )),
    }
}

/// `POST /api/v1/ingest/jobs` `{"object", "sourceName", "operation"}` → 201.
async fn create(
    state: &AppState,
    req: &Req,
    user_id: &str,
    at: &Origin<'_>,
) -> Result<Resp, ApiError> {
    let body = object_body(req, at)?;
    let bad = |m: String| at.error(StatusCode::BAD_REQUEST, m);
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad(format!("Bad Request: `{key}` is required (a string)")))
    };
    let (object, source, operation) = (text("object")?, text("sourceName")?, text("operation")?);
    if operation != "upsert" && operation != "delete" {
        return Err(bad(format!(
            "Bad Request: operation `{operation}` must be `upsert` or `delete`"
        )));
    }
    if let Some(ct) = body.get("contentType") {
        if ct.as_str() != Some("CSV") {
            return Err(bad("Bad Request: contentType must be `CSV`".into()));
        }
    }
    let connector = state.org.connector(source).ok_or_else(|| {
        bad(format!(
            "Bad Request: sourceName `{source}` is not an Ingestion API source of this org"
        ))
    })?;
    if connector.stream(object).is_none() {
        return Err(bad(format!(
            "Bad Request: object `{object}` of source `{source}` has no data stream"
        )));
    }
    let new = NewJob {
        id: bulk::new_id(),
        object: object.to_owned(),
        source: source.to_owned(),
        operation: operation.to_owned(),
        created_by: user_id.to_owned(),
    };
    let now = state.clock.now_ms();
    let job = state
        .store
        .write(move |conn| bulk::create(conn, new, now))
        .await
        .map_err(|e| internal(at, e))?
        .map_err(|e| internal(at, e))?;
    Ok(json_response(StatusCode::CREATED, &job.to_json(false)))
}

/// `GET /api/v1/ingest/jobs?limit=&offset=&orderBy=&states=`.
async fn list(state: &AppState, req: &Req, at: &Origin<'_>) -> Result<Resp, ApiError> {
    let query = list_query(&req.query_params())
        .map_err(|m| at.error(StatusCode::BAD_REQUEST, format!("Bad Request: {m}")))?;
    let now = state.clock.now_ms();
    let jobs = state
        .store
        .read(move |conn| bulk::list(conn, &query, now))
        .await
        .map_err(|e| internal(at, e))?
        .map_err(|e| internal(at, e))?;
    let data: Vec<Value> = jobs.iter().map(|j| j.to_json(true)).collect();
    Ok(ok_json(&json!({ "data": data })))
}

fn list_query(params: &HashMap<String, String>) -> Result<ListQuery, String> {
    let number = |key: &str, default: i64| -> Result<i64, String> {
        match params.get(key) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| format!("{key} must be a non-negative integer")),
        }
    };
    let limit = number("limit", 20)?;
    if !(1..=100).contains(&limit) {
        return Err("limit must be between 1 and 100".into());
    }
    let offset = number("offset", 0)?;
    let (order_column, descending) = match params.get("orderBy") {
        None => ("modstamp_ms", false),
        Some(v) => {
            let mut words = v.split_whitespace();
            let field = words.next().unwrap_or_default();
            let descending = match words.next().map(str::to_ascii_lowercase).as_deref() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(other) => {
                    return Err(format!("orderBy direction `{other}` must be ASC or DESC"))
                }
            };
            let column = match field {
                "systemModstamp" => "modstamp_ms",
                "createdDate" => "created_ms",
                "id" => "id",
                "object" => "object",
                "state" => "state",
                "operation" => "operation",
                "sourceName" => "source",
                other => {
                    return Err(format!(
                        "orderBy `{other}` must be one of systemModstamp, createdDate, id, object, state, operation, sourceName"
                    ))
                }
            };
            (column, descending)
        }
    };
    let mut states = Vec::new();
    if let Some(list) = params.get("states") {
        for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !bulk::STATES.contains(&s) {
                return Err(format!(
                    "states: `{s}` is not one of {}",
                    bulk::STATES.join(", ")
                ));
            }
            states.push(s.to_owned());
        }
    }
    Ok(ListQuery {
        limit,
        offset,
        order_column,
        descending,
        states,
    })
}

/// `GET /api/v1/ingest/jobs/{id}`.
async fn get(state: &AppState, id: String, at: &Origin<'_>) -> Result<Resp, ApiError> {
    let now = state.clock.now_ms();
    let key = id.clone();
    let job = state
        .store
        .read(move |conn| bulk::get(conn, &key, now))
        .await
        .map_err(|e| internal(at, e))?
        .map_err(|e| internal(at, e))?
        .ok_or_else(|| job_error(at, &id, JobError::NotFound))?;
    Ok(ok_json(&job.to_json(true)))
}

/// `PATCH /api/v1/ingest/jobs/{id}` `{"state": "UploadComplete" | "Aborted"}`.
async fn patch(state: &AppState, req: &Req, id: String, at: &Origin<'_>) -> Result<Resp, ApiError> {
    let body = object_body(req, at)?;
    let target = match body.get("state").and_then(Value::as_str) {
        Some(s @ ("UploadComplete" | "Aborted")) => s.to_owned(),
        _ => {
            return Err(at.error(
                StatusCode::BAD_REQUEST,
                "Bad Request: `state` must be `UploadComplete` or `Aborted`",
            ))
        }
    };
    let now = state.clock.now_ms();
    let (org, runtime, key) = (state.org.clone(), state.ingest.clone(), id.clone());
    let job = state
        .store
        .write(move |conn| bulk::change_state(conn, &org, &runtime, &key, &target, now))
        .await
        .map_err(|e| internal(at, e))?
        .map_err(|e| job_error(at, &id, e))?;
    state.ingest.poke();
    Ok(ok_json(&job.to_json(false)))
}

/// `DELETE /api/v1/ingest/jobs/{id}` → 204.
async fn delete(state: &AppState, id: String, at: &Origin<'_>) -> Result<Resp, ApiError> {
    let now = state.clock.now_ms();
    let key = id.clone();
    state
        .store
        .write(move |conn| bulk::delete(conn, &key, now))
        .await
        .map_err(|e| internal(at, e))?
        .map_err(|e| job_error(at, &id, e))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `PUT /api/v1/ingest/jobs/{id}/batches` with a CSV body → 202, no body.
async fn upload(
    state: &AppState,
    req: &Req,
    id: String,
    at: &Origin<'_>,
) -> Result<Resp, ApiError> {
    if let Some(ct) = req.header("content-type") {
        if !ct.to_ascii_lowercase().starts_with("text/csv") {
            return Err(at.error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Content type '{ct}' not supported; upload text/csv"),
            ));
        }
    }
    let now = state.clock.now_ms();
    let (org, key, body) = (state.org.clone(), id.clone(), req.body.clone());
    state
        .store
        .write(move |conn| {
            let job = bulk::get(conn, &key, now)?.ok_or(JobError::NotFound)?;
            if let Some(stream) = org
                .connector(&job.source)
                .and_then(|c| c.stream(&job.object))
            {
                bulk::check_upload(&stream.object, &job.operation, &body)
                    .map_err(JobError::Refused)?;
            }
            bulk::upload(conn, &key, &body, now)
        })
        .await
        .map_err(|e| internal(at, e))?
        .map_err(|e| job_error(at, &id, e))?;
    Ok(empty(StatusCode::ACCEPTED))
}
