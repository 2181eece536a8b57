//! Tenant-host Ingestion API, `/api/v1/ingest/…`, for Data Cloud tokens
//! holding `cdp_ingest_api`.
//!
//! Streaming: `POST|DELETE /api/v1/ingest/sources/{source}/{object}`,
//! `POST …/actions/test` (validate only), and the integration guide's
//! shorthand `/api/v1/ingest/{object}` (an object — or stream, or DLO —
//! name that only one connector has). Bulk jobs: `/api/v1/ingest/jobs…`
//! (`ingest/jobs.rs`). Accepted work is durably queued before the 202
//! (`ingest::queue`); errors carry the request `path` and `tenantId`.

mod jobs;

use std::sync::atomic::Ordering;

use http::{Method, StatusCode};
use serde_json::json;

use crate::auth;
use crate::error::ApiError;
use crate::ingest::queue::{self, Work};
use crate::ingest::streaming::{self, Origin};
use crate::ingest::{Stream, INGEST_SCOPE};
use crate::state::AppState;
use crate::wire::{json_response, Req, Resp};

use super::allow;

/// Routes `/api/v1/ingest/{rest…}`.
pub async fn dispatch(state: &AppState, req: &Req, rest: &[&str]) -> Result<Resp, ApiError> {
    state.stats.ingest_requests.fetch_add(1, Ordering::Relaxed);
    let at = Origin {
        path: &req.path,
        tenant_id: &state.org.tenant_id,
    };
    match rest {
        ["jobs", tail @ ..] => jobs::dispatch(state, req, tail, &at).await,
        ["sources", source, object] => {
            allow(req, &[Method::POST, Method::DELETE], &req.path)?;
            auth::require_dc(state, req, INGEST_SCOPE)?;
            let stream = by_source(state, source, object, &at)?;
            write(state, req, stream, &at).await
        }
        ["sources", source, object, "actions", "test"] => {
            allow(req, &[Method::POST], &req.path)?;
            auth::require_dc(state, req, INGEST_SCOPE)?;
            let stream = by_source(state, source, object, &at)?;
            test(state, req, stream, &at)
        }
        [name] => {
            allow(req, &[Method::POST, Method::DELETE], &req.path)?;
            auth::require_dc(state, req, INGEST_SCOPE)?;
            let stream = by_name(state, name, &at)?;
            write(state, req, stream, &at).await
        }
        [name, "actions", "test"] => {
            allow(req, &[Method::POST], &req.path)?;
            auth::require_dc(state, req, INGEST_SCOPE)?;
            let stream = by_name(state, name, &at)?;
            test(state, req, stream, &at)
        }
        _ => Err(at.error(StatusCode::NOT_FOUND, "Not Found")),
    }
}

/// 202 `{"accepted": true}`.
fn accepted() -> Resp {
    json_response(StatusCode::ACCEPTED, &json!({"accepted": true}))
}

/// A store failure: logged, answered with the generic 500.
pub(crate) fn internal(at: &Origin<'_>, cause: impl std::fmt::Display) -> ApiError {
    tracing::error!(path = at.path, error = %cause, "ingestion store failure");
    at.error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}

/// The stream of `/sources/{source}/{object}`.
fn by_source<'s>(
    state: &'s AppState,
    source: &str,
    object: &str,
    at: &Origin<'_>,
) -> Result<&'s Stream, ApiError> {
    let not_found = |m: String| at.error(StatusCode::NOT_FOUND, m);
    let connector = state
        .org
        .connector(source)
        .ok_or_else(|| not_found(format!("Ingestion API source `{source}` not found")))?;
    if connector.object(object).is_none() {
        return Err(not_found(format!(
            "Object `{object}` is not in the schema of source `{source}`"
        )));
    }
    connector.stream(object).ok_or_else(|| {
        not_found(format!(
            "Object `{object}` of source `{source}` has no data stream"
        ))
    })
}

/// The stream of the shorthand `/api/v1/ingest/{name}`: an object, stream
/// (`<source>_<object>`) or DLO name that exactly one stream answers to.
fn by_name<'s>(state: &'s AppState, name: &str, at: &Origin<'_>) -> Result<&'s Stream, ApiError> {
    let matches: Vec<&Stream> = state
        .org
        .connectors
        .iter()
        .flat_map(|c| &c.streams)
        .filter(|s| {
            s.object.name == name || s.dlo == name || s.dlo.strip_suffix("__dll") == Some(name)
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(at.error(
            StatusCode::NOT_FOUND,
            format!("No Ingestion API data stream named `{name}`"),
        )),
        several => {
            let sources: Vec<&str> = several.iter().map(|s| s.connector.as_str()).collect();
            Err(at.error(
                StatusCode::BAD_REQUEST,
                format!(
                    "`{name}` is an object of several sources ({}): use /api/v1/ingest/sources/{{source}}/{name}",
                    sources.join(", ")
                ),
            ))
        }
    }
}

/// `POST` (insert/upsert) or `DELETE` on a stream: validate, queue, 202.
async fn write(
    state: &AppState,
    req: &Req,
    stream: &Stream,
    at: &Origin<'_>,
) -> Result<Resp, ApiError> {
    let settings = &state.config.ingest;
    let work = if req.method == Method::DELETE {
        Work::Delete(streaming::delete_ids(
            settings,
            req.query_param("ids"),
            &req.body,
            at,
        )?)
    } else {
        let records = streaming::insert_records(settings, stream, &req.body, at)?;
        Work::Upsert(records.iter().map(|r| r.to_json(&stream.object)).collect())
    };
    queue::enqueue(state, stream, work)
        .await
        .map_err(|e| internal(at, e))?;
    Ok(accepted())
}

/// `POST …/actions/test`: validate exactly like an insert, write nothing.
fn test(state: &AppState, req: &Req, stream: &Stream, at: &Origin<'_>) -> Result<Resp, ApiError> {
    streaming::insert_records(&state.config.ingest, stream, &req.body, at)?;
    Ok(accepted())
}
