//! `/__emulator/clock` and the activation switches of apps and users.
//!
//! The clock: `GET` reads it; `POST` with exactly one of `{"advanceMs": n}`
//! (negative goes back), `{"pinMs": unixMs}`, `{"pinIso": "2030-01-01T00:00:00Z"}`
//! or `{"unpin": true}` changes it. Tokens, JWT `exp` checks, cursors, rate
//! limit windows and the journal all read this clock.
//!
//! Switches: `POST /__emulator/apps/{clientId}/deactivate` makes the app
//! "blocked by admin" for every grant and voids its tokens on both hosts;
//! `POST /__emulator/users/{username}/deactivate` makes logins fail as for an
//! inactive user and voids the user's tokens. `/activate` turns either back on.

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{bad_request, json_body};
use crate::clock::{format_iso_millis, parse_rfc3339};
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{ok_json, Req, Resp};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ClockChange {
    advance_ms: Option<i64>,
    pin_ms: Option<i64>,
    pin_iso: Option<String>,
    unpin: Option<bool>,
}

/// `GET|POST /__emulator/clock`.
pub fn clock(state: &AppState, req: &Req) -> Result<Resp, ApiError> {
    if req.method == Method::POST {
        let c: ClockChange = json_body(req, false)?;
        let given = [
            c.advance_ms.is_some(),
            c.pin_ms.is_some(),
            c.pin_iso.is_some(),
            c.unpin.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(bad_request(
                "Give exactly one of advanceMs, pinMs, pinIso, unpin",
            ));
        }
        let clock = &state.clock;
        if let Some(ms) = c.advance_ms {
            clock.advance_ms(ms);
        } else if let Some(ms) = c.pin_ms {
            clock.pin_ms(ms);
        } else if let Some(iso) = c.pin_iso {
            let t = parse_rfc3339(&iso)
                .ok_or_else(|| bad_request(format!("pinIso '{iso}' is not an RFC 3339 time")))?;
            clock.pin_ms((t.unix_timestamp_nanos() / 1_000_000) as i64);
        } else if c.unpin == Some(true) {
            clock.unpin();
        } else {
            return Err(bad_request("unpin must be true"));
        }
    }
    let clock = &state.clock;
    Ok(ok_json(&json!({
        "nowMs": clock.now_ms(),
        "now": format_iso_millis(clock.now()),
        "pinned": clock.is_pinned(),
        "offsetMs": if clock.is_pinned() { Value::Null } else { json!(clock.offset_ms()) },
    })))
}

/// `GET /__emulator/apps`: every connected app and whether it is active now.
pub fn apps(state: &AppState) -> Resp {
    let apps: Vec<Value> = state
        .org
        .apps
        .iter()
        .map(|a| json!({"clientId": a.client_id, "name": a.name, "active": state.controls.app_active(a)}))
        .collect();
    ok_json(&json!({"apps": apps}))
}

/// `GET /__emulator/users`: every user and whether it is active now.
pub fn users(state: &AppState) -> Resp {
    let users: Vec<Value> = state
        .org
        .users
        .iter()
        .map(|u| json!({"username": u.username, "userId": u.user_id, "active": state.controls.user_active(u)}))
        .collect();
    ok_json(&json!({"users": users}))
}

/// `POST /__emulator/apps/{clientId}/activate|deactivate`.
pub fn app(state: &AppState, client_id: &str, active: bool) -> Result<Resp, ApiError> {
    let app = state.org.app(client_id).ok_or_else(|| {
        ApiError::tenant(
            StatusCode::NOT_FOUND,
            format!("No connected app with client id '{client_id}'"),
        )
    })?;
    state.controls.set_app(&app.client_id, active);
    Ok(ok_json(
        &json!({"clientId": app.client_id, "name": app.name, "active": active}),
    ))
}

/// `POST /__emulator/users/{username}/activate|deactivate`.
pub fn user(state: &AppState, username: &str, active: bool) -> Result<Resp, ApiError> {
    let user = state.org.user(username).ok_or_else(|| {
        ApiError::tenant(
            StatusCode::NOT_FOUND,
            format!("No user with username '{username}'"),
        )
    })?;
    state.controls.set_user(&user.user_id, active);
    Ok(ok_json(
        &json!({"username": user.username, "userId": user.user_id, "active": active}),
    ))
}
