//! `/__emulator/faults` and `/__emulator/ratelimits`: add, list, rewind and
//! remove fault rules; set, read and clear per-class budgets.

use http::{Method, StatusCode};
use serde_json::{json, Map, Value};

use super::{bad_request, json_body};
use crate::error::ApiError;
use crate::faults::RuleSpec;
use crate::ratelimit::CLASSES;
use crate::state::AppState;
use crate::wire::{ok_json, Req, Resp};

/// `GET` lists the rules in evaluation order, `POST` appends one (answering
/// it with its `id`), `DELETE` removes them all.
pub fn rules(state: &AppState, req: &Req) -> Result<Resp, ApiError> {
    match req.method {
        Method::POST => {
            let spec: RuleSpec = json_body(req, false)?;
            let rule = state
                .faults
                .add(spec)
                .map_err(|e| bad_request(format!("Invalid fault rule: {e}")))?;
            Ok(ok_json(&rule))
        }
        Method::DELETE => {
            let n = state.faults.list().len();
            state.faults.clear();
            Ok(ok_json(&json!({"deleted": n})))
        }
        _ => Ok(ok_json(&json!({"rules": state.faults.list()}))),
    }
}

/// `GET` or `DELETE /__emulator/faults/{id}`.
pub fn rule(state: &AppState, req: &Req, id: &str) -> Result<Resp, ApiError> {
    let id = parse_id(id)?;
    if req.method == Method::DELETE {
        if !state.faults.remove(id) {
            return Err(no_rule(id));
        }
        return Ok(ok_json(&json!({"deleted": 1})));
    }
    state
        .faults
        .list()
        .into_iter()
        .find(|r| r["id"] == json!(id))
        .map(|r| ok_json(&r))
        .ok_or_else(|| no_rule(id))
}

/// `POST /__emulator/faults/{id}/reset`: the rule's count and PRNG back to
/// where they started, so the same requests meet the same faults again.
pub fn rewind(state: &AppState, id: &str) -> Result<Resp, ApiError> {
    let id = parse_id(id)?;
    state
        .faults
        .rewind(id)
        .map(|r| ok_json(&r))
        .ok_or_else(|| no_rule(id))
}

fn parse_id(id: &str) -> Result<u64, ApiError> {
    id.parse()
        .map_err(|_| bad_request(format!("'{id}' is not a fault rule id")))
}

fn no_rule(id: u64) -> ApiError {
    ApiError::tenant(StatusCode::NOT_FOUND, format!("No fault rule with id {id}"))
}

/// `GET` reports every class (null when unlimited), `PUT`
/// `{"query": {"requests": 5, "windowMs": 60000}, "token": null, …}` sets or
/// removes the named classes, `DELETE` removes every budget.
pub fn limits(state: &AppState, req: &Req) -> Result<Resp, ApiError> {
    match req.method {
        Method::PUT => {
            let body: Map<String, Value> = json_body(req, false)?;
            state
                .ratelimits
                .update(&body)
                .map_err(|e| bad_request(format!("Invalid rate limits: {e}")))?;
        }
        Method::DELETE => state.ratelimits.clear(None),
        _ => {}
    }
    Ok(ok_json(&state.ratelimits.report(state.clock.now_ms())))
}

/// `DELETE /__emulator/ratelimits/{class}`.
pub fn clear_limit(state: &AppState, class: &str) -> Result<Resp, ApiError> {
    if !CLASSES.contains(&class) {
        return Err(bad_request(format!(
            "unknown endpoint class '{class}': use one of {}",
            CLASSES.join(", ")
        )));
    }
    state.ratelimits.clear(Some(class));
    Ok(ok_json(&state.ratelimits.report(state.clock.now_ms())))
}
