//! Core-host `/services/data/v{NN}.0/...`: Connect `ssot/queryv2`, `ssot/query`,
//! `ssot/query-sql`, `ssot/metadata`, `ssot/metadata-entities`,
//! `ssot/data-spaces`, SOQL `SELECT Name FROM DataSpace`, and the identity
//! resolution resources `ssot/identity-resolutions…` (`routes/identity.rs`).
//!
//! Every resource takes a core access token (`require_core`; its 401 is the
//! core `INVALID_SESSION_ID` array). The API version must look like `v61.0`
//! and be at least 52.0, the release that brought the Data Cloud Connect
//! resources; anything else is the core host's 404 `NOT_FOUND`, as is an
//! unknown sub-path. The data space comes from a `dataspace` header or query
//! parameter (`default` when absent). `query-sql` lives in `connect/query_sql.rs`,
//! the descriptive resources in `connect/catalog.rs`.

mod catalog;
mod query_sql;

use std::sync::atomic::Ordering;

use http::{Method, StatusCode};

use crate::auth::{self, CoreSession};
use crate::cursor::{Api, Owner};
use crate::error::ApiError;
use crate::routes::allow;
use crate::routes::query::{self, run, run::Host, v1};
use crate::state::AppState;
use crate::wire::{ok_json, Req, Resp};

/// Oldest API version serving the Data Cloud Connect resources.
pub const MIN_API_VERSION: u32 = 52;

/// Routes one `/services/data/{version}/{rest…}` request.
pub async fn dispatch(
    state: &AppState,
    req: &Req,
    version: &str,
    rest: &[&str],
) -> Result<Resp, ApiError> {
    let session = auth::require_core(state, req)?;
    let Some(major) = parse_version(version).filter(|v| *v >= MIN_API_VERSION) else {
        return Err(not_found());
    };
    let path = req.path.as_str();
    match rest {
        ["ssot", "queryv2"] => {
            allow(req, &[Method::POST], path)?;
            count_query(state);
            queryv2_submit(state, req, &session).await
        }
        ["ssot", "queryv2", batch_id] => {
            allow(req, &[Method::GET], path)?;
            let owner = owner(state, req, &session, Api::ConnectV2)?;
            let arrow = run::wants_arrow(req);
            Ok(ok_json(&run::v2_next(
                state,
                Host::Core,
                &owner,
                batch_id,
                arrow,
            )?))
        }
        ["ssot", "query"] => {
            allow(req, &[Method::POST], path)?;
            count_query(state);
            query_v1(state, req, &session).await
        }
        ["ssot", "query-sql"] => {
            allow(req, &[Method::POST], path)?;
            count_query(state);
            let owner = owner(state, req, &session, Api::QuerySql)?;
            query_sql::create(state, req, owner).await
        }
        ["ssot", "query-sql", id] => {
            allow(req, &[Method::GET, Method::DELETE], path)?;
            let owner = owner(state, req, &session, Api::QuerySql)?;
            if req.method == Method::DELETE {
                query_sql::cancel(state, &owner, id)
            } else {
                query_sql::status(state, req, &owner, id)
            }
        }
        ["ssot", "query-sql", id, "rows"] => {
            allow(req, &[Method::GET], path)?;
            let owner = owner(state, req, &session, Api::QuerySql)?;
            query_sql::rows(state, req, &owner, id)
        }
        ["ssot", "metadata"] => {
            allow(req, &[Method::GET], path)?;
            Ok(catalog::metadata(state, req))
        }
        ["ssot", "metadata-entities"] => {
            allow(req, &[Method::GET], path)?;
            Ok(catalog::metadata_entities(state, req))
        }
        ["ssot", "data-spaces"] => {
            allow(req, &[Method::GET], path)?;
            Ok(catalog::data_spaces(state))
        }
        ["query"] => {
            allow(req, &[Method::GET], path)?;
            catalog::soql(state, req, major)
        }
        ["ssot", "identity-resolutions", rest @ ..] => {
            crate::routes::identity::dispatch(state, req, major, rest).await
        }
        _ => Err(not_found()),
    }
}

/// `v61.0` → 61. Only `.0` minors exist.
pub fn parse_version(version: &str) -> Option<u32> {
    let (major, minor) = version.strip_prefix('v')?.split_once('.')?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(major) || minor != "0" || major.len() > 3 {
        return None;
    }
    major.parse().ok()
}

/// The core host's 404 for a resource that does not exist.
fn not_found() -> ApiError {
    ApiError::core(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
    )
}

fn count_query(state: &AppState) {
    state.stats.query_requests.fetch_add(1, Ordering::Relaxed);
}

/// The data space a request names (`dataspace` header, then query parameter),
/// checked against the org's data spaces.
fn dataspace(state: &AppState, req: &Req) -> Result<String, ApiError> {
    let requested = req
        .header("dataspace")
        .map(str::to_string)
        .or_else(|| req.query_param("dataspace"))
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "default".to_string());
    if let Some(known) = state
        .org
        .dataspaces
        .iter()
        .find(|d| d.eq_ignore_ascii_case(&requested))
    {
        return Ok(known.clone());
    }
    if state.org.dataspaces.is_empty() && requested == "default" {
        return Ok(requested);
    }
    Err(ApiError::core(
        StatusCode::BAD_REQUEST,
        "INVALID_INPUT",
        format!("Data space '{requested}' doesn't exist or you don't have access to it."),
    ))
}

/// Cursor owner: the caller and the data space it names.
fn owner(state: &AppState, req: &Req, session: &CoreSession, api: Api) -> Result<Owner, ApiError> {
    Ok(Owner {
        api,
        user_id: session.user_id.clone(),
        dataspace: dataspace(state, req)?,
    })
}

/// `POST ssot/queryv2`: V2's first batch with a core token.
async fn queryv2_submit(
    state: &AppState,
    req: &Req,
    session: &CoreSession,
) -> Result<Resp, ApiError> {
    let host = Host::Core;
    let owner = owner(state, req, session, Api::ConnectV2)?;
    let body = run::parse_object(host, &req.body, "CdpQueryInputRepresentation", &["sql"])?;
    let sql = run::required_sql(host, &body)?;
    let ran = run::run_sql(state, host, sql, Vec::new()).await?;
    Ok(ok_json(&run::v2_first(
        state,
        host,
        owner,
        ran,
        run::wants_arrow(req),
    )?))
}

/// `POST ssot/query`: V1 with a core token.
async fn query_v1(state: &AppState, req: &Req, session: &CoreSession) -> Result<Resp, ApiError> {
    let host = Host::Core;
    owner(state, req, session, Api::ConnectV2)?;
    let body = run::parse_object(host, &req.body, "CdpQueryInputRepresentation", &["sql"])?;
    let sql = run::required_sql(host, &body)?;
    let options = v1::parse_options(&req.query_params())
        .map_err(|m| host.bad_request("ILLEGAL_QUERY_PARAMETER_VALUE", m))?;
    let ran = query::run_v1(state, host, sql, &options).await?;
    Ok(ok_json(&run::v1_body(
        &ran,
        options.range(ran.result.rows.len()),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("v61.0"), Some(61));
        assert_eq!(parse_version("v52.0"), Some(52));
        for bad in [
            "61.0", "v61", "v61.1", "vx.0", "v.0", "v61.0.0", "v+61.0", "v99999.0",
        ] {
            assert_eq!(parse_version(bad), None, "{bad}");
        }
    }
}
