//! Tenant-host Query APIs: `POST /api/v1/query`, `POST /api/v2/query`,
//! `GET /api/v2/query/{nextBatchId}` and `GET /api/v1/query-config`.
//!
//! Every call needs a Data Cloud token holding `cdp_query_api`. V2 pages a
//! result in batches of `--query-batch-rows` through a cursor that only the
//! same user and data space can read; V1 answers one slice chosen by `limit`,
//! `offset` and `orderby`. The shared machinery (bodies, running SQL, paging,
//! host-shaped errors) lives in `query/run.rs`, V1's parameters in `query/v1.rs`, value encoding
//! in `query/encode.rs`.
//!
//! With `enable-arrow-stream: true`, V2 responses also carry the batch as a
//! base64 Arrow IPC stream in `arrowStream` (`query/arrow.rs`), beside `data`.

pub mod arrow;
pub mod encode;
pub mod run;
pub mod v1;

use serde_json::json;

use crate::auth::{self, DcSession};
use crate::cursor::{Api, Owner};
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{ok_json, Req, Resp};

use run::Host;

/// The scope every query/metadata call on the tenant host needs.
pub const QUERY_SCOPE: &str = "cdp_query_api";

/// Cursor owner for a tenant V2 query.
fn owner(session: &DcSession) -> Owner {
    Owner {
        api: Api::TenantV2,
        user_id: session.user_id.clone(),
        dataspace: session.dataspace.clone(),
    }
}

/// `POST /api/v1/query?limit=&offset=&orderby=`.
pub async fn v1(state: &AppState, req: &Req) -> Result<Resp, ApiError> {
    auth::require_dc(state, req, QUERY_SCOPE)?;
    let host = Host::Tenant;
    let body = run::parse_object(host, &req.body, "QueryInput", &["sql"])?;
    let sql = run::required_sql(host, &body)?;
    let options = v1::parse_options(&req.query_params()).map_err(|m| host.bad_request("", m))?;
    let ran = run_v1(state, host, sql, &options).await?;
    Ok(ok_json(&run::v1_body(
        &ran,
        options.range(ran.result.rows.len()),
    )))
}

/// Runs a V1 statement with its `orderby` applied (shared with Connect `ssot/query`).
pub async fn run_v1(
    state: &AppState,
    host: Host,
    sql: String,
    options: &v1::V1Options,
) -> Result<run::Ran, ApiError> {
    let Some(items) = &options.order_by else {
        return run::run_sql(state, host, sql, Vec::new()).await;
    };
    match v1::wrap_order_by(&sql, items) {
        Some(wrapped) => run::run_sql(state, host, wrapped, Vec::new()).await,
        None => {
            // Not a single query by our parser: let the SQL layer name the
            // problem; if it runs anyway, orderby cannot be honoured.
            run::run_sql(state, host, sql, Vec::new()).await?;
            Err(host.bad_request(
                "INVALID_INPUT",
                "orderby can only be applied to a single SELECT statement",
            ))
        }
    }
}

/// `POST /api/v2/query`: the first batch.
pub async fn v2_submit(state: &AppState, req: &Req) -> Result<Resp, ApiError> {
    let session = auth::require_dc(state, req, QUERY_SCOPE)?;
    let host = Host::Tenant;
    let body = run::parse_object(host, &req.body, "QueryInput", &["sql"])?;
    let sql = run::required_sql(host, &body)?;
    let ran = run::run_sql(state, host, sql, Vec::new()).await?;
    let arrow = run::wants_arrow(req);
    Ok(ok_json(&run::v2_first(
        state,
        host,
        owner(&session),
        ran,
        arrow,
    )?))
}

/// `GET /api/v2/query/{nextBatchId}`: a later batch.
pub async fn v2_next(state: &AppState, req: &Req, batch_id: &str) -> Result<Resp, ApiError> {
    let session = auth::require_dc(state, req, QUERY_SCOPE)?;
    let arrow = run::wants_arrow(req);
    let body = run::v2_next(state, Host::Tenant, &owner(&session), batch_id, arrow)?;
    Ok(ok_json(&body))
}

/// `GET /api/v1/query-config`: the engine behind the query APIs.
pub fn config(state: &AppState, req: &Req) -> Result<Resp, ApiError> {
    auth::require_dc(state, req, QUERY_SCOPE)?;
    Ok(ok_json(&json!({"queryengine": "hyper"})))
}
