//! `POST /__emulator/reset` and `POST /__emulator/rows`: the org's data and
//! runtime state back to the fixture, and extra rows on top of it.

use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{bad_request, json_body};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::StoreError;
use crate::wire::{ok_json, Req, Resp};

/// What a reset may leave alone; everything is reset by default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ResetFlags {
    #[serde(default)]
    keep_rows: bool,
    #[serde(default)]
    keep_tokens: bool,
    #[serde(default)]
    keep_cursors: bool,
    #[serde(default)]
    keep_journal: bool,
    #[serde(default)]
    keep_faults: bool,
    #[serde(default)]
    keep_rate_limits: bool,
    #[serde(default)]
    keep_deactivations: bool,
    #[serde(default)]
    keep_clock: bool,
}

/// `POST /__emulator/reset` (optional body: `{"keepRows": true, …}`): the
/// tables hold exactly the fixture rows again (and identity resolution
/// forgets its runs); issued tokens (core, refresh
/// and Data Cloud), open cursors, the journal, fault rules, rate limits and
/// deactivations are gone; the clock runs on real time again.
pub async fn reset(state: &AppState, req: &Req) -> Result<Resp, ApiError> {
    let flags: ResetFlags = json_body(req, true)?;
    let mut cleared = Vec::new();
    let mut rows = Value::Null;
    if !flags.keep_rows {
        let n = state
            .store
            .reset(state.org.clone())
            .await
            .map_err(internal)?;
        rows = json!(n);
        state.identity.forget_runs();
        cleared.push("rows");
    }
    let steps: [(bool, &str, &dyn Fn()); 7] = [
        (flags.keep_tokens, "tokens", &|| state.tokens.clear()),
        (flags.keep_cursors, "cursors", &|| state.cursors.clear()),
        (flags.keep_journal, "journal", &|| state.journal.clear()),
        (flags.keep_faults, "faults", &|| state.faults.clear()),
        (flags.keep_rate_limits, "rateLimits", &|| {
            state.ratelimits.clear(None)
        }),
        (flags.keep_deactivations, "deactivations", &|| {
            state.controls.clear()
        }),
        (flags.keep_clock, "clock", &|| state.clock.reset()),
    ];
    for (keep, name, clear) in steps {
        if !keep {
            clear();
            cleared.push(name);
        }
    }
    Ok(ok_json(&json!({"reset": cleared, "rows": rows})))
}

/// The body of `POST /__emulator/rows`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRows {
    object: String,
    rows: Vec<Map<String, Value>>,
    /// Replace rows whose primary key exists instead of failing.
    #[serde(default)]
    replace: bool,
}

/// `POST /__emulator/rows` `{"object": "...", "rows": [{...}]}`: inserts
/// the rows, all or none. An unknown object, an unknown field, a value that
/// does not fit its column or a duplicate key is a 400 naming it.
pub async fn rows(state: &AppState, req: &Req) -> Result<Resp, ApiError> {
    let body: NewRows = json_body(req, false)?;
    let object = state
        .org
        .model
        .object(&body.object)
        .ok_or_else(|| bad_request(format!("Unknown object '{}'", body.object)))?;
    if object.view_sql.is_some() {
        return Err(bad_request(format!(
            "'{}' is a view over other objects: add rows to those instead",
            object.name
        )));
    }
    let name = object.name.clone();
    let n = state
        .store
        .insert_rows(object.clone(), body.rows, body.replace)
        .await
        .map_err(|e| match e {
            StoreError::Seed { object, message } => bad_request(format!("{object} {message}")),
            other => internal(other),
        })?;
    Ok(ok_json(&json!({"object": name, "inserted": n})))
}

/// A store failure that is not the client's fault: logged, answered 500.
fn internal(e: StoreError) -> ApiError {
    tracing::error!(error = %e, "test-control store operation failed");
    ApiError::tenant(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}
