//! Verification of JWT bearer assertions, as Salesforce does it.
//!
//! Order of checks, each with Salesforce's own error string:
//! 1. structure and header: three base64url parts, JSON, `alg` exactly
//!    `RS256` (so `none`, HS256 keyed with the public certificate, RS512 …
//!    all fail) → `invalid_grant` / `invalid assertion`;
//! 2. `iss` names a connected app → else `invalid_client_id` /
//!    `client identifier invalid`; a deactivated app → `invalid_client` /
//!    `app is blocked by admin`;
//! 3. the signature verifies with the public key of the app's certificate →
//!    else `invalid assertion` (or `kid not found` when the header names a
//!    `kid` that is not this certificate's thumbprint, the guide's "Key ID
//!    mismatch" row; an app without a certificate → `certificate not found`);
//! 4. `aud` is a Salesforce login host or this emulator → else `audience is invalid`;
//! 5. `exp` (number or numeric string, required) is not in the past beyond a
//!    30 s skew → else `expired authorization code`;
//! 6. `prn` (wins) or `sub` is an existing active user → else `invalid assertion`,
//!    pre-authorized for the app → else `user hasn't approved this consumer`.
//!
//! "Active" means the runtime overlay's view (`state.controls`: the fixture
//! flag unless `/__emulator/apps|users/…/deactivate` switched it).
//!
//! Time is the emulator clock, never the system's: jsonwebtoken's own `exp`/
//! `nbf` checks are not used (only its RS256 signature primitive).
//!
//! Strict mode (`config.strict_jwt`) also enforces the documented "within 3
//! minutes" ceiling: `exp > now + 180 s` is refused with the same
//! `invalid_grant` / `expired authorization code` Salesforce uses for every
//! unacceptable `exp` (the guide's "JWT expiration claim invalid" row), so a
//! client sees the error class it already handles for clock problems.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use super::cert::{AppKey, CertError};
use super::grants::is_approved;
use crate::error::ApiError;
use crate::org::{ConnectedApp, User};
use crate::state::AppState;

/// Allowed clock skew for `exp`, seconds.
pub const EXP_SKEW_SECS: i64 = 30;
/// Strict-mode ceiling on how far in the future `exp` may be, seconds.
pub const STRICT_EXP_CEILING_SECS: i64 = 180;

/// Audiences accepted besides the emulator's own URL.
const SALESFORCE_AUDIENCES: [&str; 4] = [
    "https://login.salesforce.com",
    "https://test.salesforce.com",
    "login.salesforce.com",
    "test.salesforce.com",
];

/// A verified assertion: who logs in, through which app.
#[derive(Debug, Clone, Copy)]
pub struct Assertion<'o> {
    pub app: &'o ConnectedApp,
    pub user: &'o User,
}

fn invalid_assertion() -> ApiError {
    ApiError::oauth("invalid_grant", "invalid assertion")
}

/// Verifies a JWT bearer assertion against the org.
pub fn verify_assertion<'s>(
    state: &'s AppState,
    assertion: &str,
) -> Result<Assertion<'s>, ApiError> {
    let parts: Vec<&str> = assertion.trim().split('.').collect();
    let [header_b64, payload_b64, signature] = parts.as_slice() else {
        return Err(invalid_assertion());
    };
    let header = decode_json_part(header_b64).ok_or_else(invalid_assertion)?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(invalid_assertion());
    }
    let claims = decode_json_part(payload_b64).ok_or_else(invalid_assertion)?;

    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    let app = state
        .org
        .app(iss)
        .ok_or_else(|| ApiError::oauth("invalid_client_id", "client identifier invalid"))?;
    if !state.controls.app_active(app) {
        return Err(app_blocked());
    }

    let key = AppKey::from_certificate_pem(&app.certificate_pem).map_err(|e| {
        if !matches!(e, CertError::Missing) {
            tracing::warn!(app = %app.name, error = %e, "connected app certificate unusable");
        }
        ApiError::oauth("invalid_grant", "certificate not found")
    })?;
    let signed = &assertion.trim()[..header_b64.len() + 1 + payload_b64.len()];
    let verified = jsonwebtoken::crypto::verify(
        signature.trim_end_matches('='),
        signed.as_bytes(),
        &key.key,
        Algorithm::RS256,
    )
    .unwrap_or(false);
    if !verified {
        let kid = header.get("kid").and_then(Value::as_str);
        return Err(match kid {
            Some(kid) if !key.matches_kid(kid) => ApiError::oauth("invalid_grant", "kid not found"),
            _ => invalid_assertion(),
        });
    }

    if !claims.get("aud").is_some_and(|aud| audience_ok(state, aud)) {
        return Err(ApiError::oauth("invalid_grant", "audience is invalid"));
    }

    let exp = claims
        .get("exp")
        .and_then(numeric)
        .ok_or_else(invalid_assertion)?;
    let now = state.clock.now_secs();
    let too_late = exp < now - EXP_SKEW_SECS;
    let too_far = state.config.strict_jwt && exp > now + STRICT_EXP_CEILING_SECS;
    if too_late || too_far {
        return Err(ApiError::oauth(
            "invalid_grant",
            "expired authorization code",
        ));
    }

    // `prn` is the older name of `sub`; when both are present it wins.
    let subject = claims
        .get("prn")
        .and_then(Value::as_str)
        .or_else(|| claims.get("sub").and_then(Value::as_str))
        .ok_or_else(invalid_assertion)?;
    let user = state
        .org
        .user(subject)
        .filter(|u| state.controls.user_active(u))
        .ok_or_else(invalid_assertion)?;
    if !is_approved(app, user) {
        return Err(ApiError::oauth(
            "invalid_grant",
            "user hasn't approved this consumer",
        ));
    }
    Ok(Assertion { app, user })
}

/// The error for a deactivated (blocked) connected app, for every grant.
pub fn app_blocked() -> ApiError {
    ApiError::oauth("invalid_client", "app is blocked by admin")
}

/// One base64url JSON object part of a JWT (padding tolerated).
fn decode_json_part(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A claim as whole seconds: a JSON number or a numeric string (Salesforce's
/// own samples send `"exp": "1333685628"`).
fn numeric(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.floor() as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f.floor() as i64)
            })
        }
        _ => None,
    }
}

/// Whether `aud` (a string, or an array holding one acceptable string) is a
/// Salesforce login host or this emulator's URL, with or without scheme and
/// trailing slash. A loopback name (`localhost`, `127.0.0.1`, `[::1]`) with
/// the emulator's port counts as the emulator.
fn audience_ok(state: &AppState, aud: &Value) -> bool {
    match aud {
        Value::String(s) => one_audience_ok(state, s),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .any(|s| one_audience_ok(state, s)),
        _ => false,
    }
}

fn one_audience_ok(state: &AppState, aud: &str) -> bool {
    let aud = aud.trim().trim_end_matches('/').to_ascii_lowercase();
    if SALESFORCE_AUDIENCES.contains(&aud.as_str()) {
        return true;
    }
    let bare = aud
        .strip_prefix("https://")
        .or_else(|| aud.strip_prefix("http://"))
        .unwrap_or(&aud);
    let own = state.host.to_ascii_lowercase();
    bare == own || (is_loopback_host(bare) && is_loopback_host(&own) && port(bare) == port(&own))
}

fn is_loopback_host(host_port: &str) -> bool {
    let host = host_port
        .rsplit_once(':')
        .map_or(host_port, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']');
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

fn port(host_port: &str) -> Option<&str> {
    host_port.rsplit_once(':').map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exp_as_number_or_string() {
        assert_eq!(numeric(&json!(1700000000)), Some(1700000000));
        assert_eq!(numeric(&json!("1700000000")), Some(1700000000));
        assert_eq!(numeric(&json!(1700000000.9)), Some(1700000000));
        assert_eq!(numeric(&json!("soon")), None);
        assert_eq!(numeric(&json!(null)), None);
    }

    #[test]
    fn loopback_names() {
        assert!(is_loopback_host("localhost:9443"));
        assert!(is_loopback_host("127.0.0.1:9443"));
        assert!(is_loopback_host("[::1]:9443"));
        assert!(!is_loopback_host("example.com:9443"));
        assert_eq!(port("localhost:9443"), Some("9443"));
    }
}
