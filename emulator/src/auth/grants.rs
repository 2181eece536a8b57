//! The non-JWT grants of `/services/oauth2/token`: `password`,
//! `client_credentials` and `refresh_token`, plus the client authentication
//! and user approval rules they share with the JWT bearer grant.
//!
//! Each grant answers with Salesforce's exact error pair:
//! unknown `client_id` → `invalid_client_id` / `client identifier invalid`;
//! wrong secret → `invalid_client` / `invalid client credentials`;
//! bad username or password → `invalid_grant` / `authentication failure`;
//! bad refresh token → `invalid_grant` / `expired access/refresh token`;
//! app without a "Run As" user → `invalid_grant` / `no client credentials user enabled`.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::jwt::app_blocked;
use super::scopes;
use crate::error::ApiError;
use crate::org::{ConnectedApp, User};
use crate::state::AppState;
use crate::wire::Req;

/// Longest security token accepted after a password (Salesforce's are 24-25).
const MAX_SECURITY_TOKEN_LEN: usize = 32;

/// What a successful grant authorizes.
#[derive(Debug, Clone)]
pub struct Granted<'s> {
    pub app: &'s ConnectedApp,
    pub user: &'s User,
    pub scopes: Vec<String>,
    /// Whether to issue a refresh token alongside.
    pub refresh: bool,
}

/// Whether `user` may use `app` without approving it interactively: apps set
/// to "All users may self-authorize" count as approved by every user (the
/// emulator has no approval page); "Admin approved users are pre-authorized"
/// apps only for the pre-authorized usernames.
pub fn is_approved(app: &ConnectedApp, user: &User) -> bool {
    !app.admin_approved_only
        || app
            .preauthorized_users
            .iter()
            .any(|u| u.eq_ignore_ascii_case(&user.username))
}

/// `client_id` and `client_secret` from the parameters, or from an HTTP Basic
/// `Authorization` header (Salesforce accepts both for client credentials).
pub fn client_auth(
    params: &HashMap<String, String>,
    req: &Req,
) -> (Option<String>, Option<String>) {
    let id = params.get("client_id").filter(|s| !s.is_empty()).cloned();
    let secret = params.get("client_secret").cloned();
    if id.is_some() {
        return (id, secret);
    }
    let basic = req
        .header("authorization")
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, b64)| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    match basic.as_deref().and_then(|s| s.split_once(':')) {
        Some((id, secret)) => (Some(id.to_owned()), Some(secret.to_owned())),
        None => (None, secret),
    }
}

/// The active app named by `client_id`.
pub fn app_by_id<'s>(
    state: &'s AppState,
    client_id: Option<&str>,
) -> Result<&'s ConnectedApp, ApiError> {
    let app = client_id
        .and_then(|id| state.org.app(id))
        .ok_or_else(|| ApiError::oauth("invalid_client_id", "client identifier invalid"))?;
    if !state.controls.app_active(app) {
        return Err(app_blocked());
    }
    Ok(app)
}

/// Checks a presented client secret (constant time).
pub fn check_secret(app: &ConnectedApp, secret: Option<&str>) -> Result<(), ApiError> {
    let ok = secret.is_some_and(|s| {
        aws_lc_rs::constant_time::verify_slices_are_equal(
            s.as_bytes(),
            app.client_secret.as_bytes(),
        )
        .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::oauth(
            "invalid_client",
            "invalid client credentials",
        ))
    }
}

/// `grant_type=password`.
pub fn password<'s>(
    state: &'s AppState,
    params: &HashMap<String, String>,
    req: &Req,
) -> Result<Granted<'s>, ApiError> {
    let (client_id, secret) = client_auth(params, req);
    let app = app_by_id(state, client_id.as_deref())?;
    check_secret(app, secret.as_deref())?;
    let auth_failure = || ApiError::oauth("invalid_grant", "authentication failure");
    let username = params.get("username").ok_or_else(auth_failure)?;
    let given = params.get("password").ok_or_else(auth_failure)?;
    let user = state
        .org
        .user(username)
        .filter(|u| state.controls.user_active(u) && password_matches(&u.password, given))
        .ok_or_else(auth_failure)?;
    if !is_approved(app, user) {
        return Err(ApiError::oauth(
            "invalid_grant",
            "user hasn't approved this consumer",
        ));
    }
    Ok(Granted {
        app,
        user,
        scopes: app.scopes.clone(),
        refresh: scopes::allows_refresh(&app.scopes),
    })
}

/// The password exactly, or followed by a security token (1 to 32 letters
/// and digits: the emulator has no per-user token to compare with).
fn password_matches(expected: &str, given: &str) -> bool {
    if expected.is_empty() {
        return false;
    }
    match given.strip_prefix(expected) {
        Some("") => true,
        Some(token) => {
            token.len() <= MAX_SECURITY_TOKEN_LEN
                && token.bytes().all(|b| b.is_ascii_alphanumeric())
        }
        None => false,
    }
}

/// `grant_type=client_credentials`: the app's "Run As" user.
pub fn client_credentials<'s>(
    state: &'s AppState,
    params: &HashMap<String, String>,
    req: &Req,
) -> Result<Granted<'s>, ApiError> {
    let (client_id, secret) = client_auth(params, req);
    let app = app_by_id(state, client_id.as_deref())?;
    check_secret(app, secret.as_deref())?;
    let user = app
        .run_as
        .as_deref()
        .and_then(|name| state.org.user(name))
        .filter(|u| state.controls.user_active(u))
        .ok_or_else(|| ApiError::oauth("invalid_grant", "no client credentials user enabled"))?;
    Ok(Granted {
        app,
        user,
        scopes: scopes::for_client_credentials(&app.scopes),
        refresh: false,
    })
}

/// `grant_type=refresh_token`: checks the client and returns the refresh
/// token to redeem (the store mints the access token).
pub fn refresh_token<'p>(
    state: &AppState,
    params: &'p HashMap<String, String>,
    req: &Req,
) -> Result<&'p str, ApiError> {
    let (client_id, secret) = client_auth(params, req);
    let app = app_by_id(state, client_id.as_deref())?;
    // The secret is optional for refresh (public clients), but a wrong one is refused.
    if secret.as_deref().is_some_and(|s| !s.is_empty()) {
        check_secret(app, secret.as_deref())?;
    }
    let expired = || ApiError::oauth("invalid_grant", "expired access/refresh token");
    let token = params
        .get("refresh_token")
        .map(String::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(expired)?;
    let grant = state.tokens.refresh_grant(token).ok_or_else(expired)?;
    let user_ok = state.controls.user_id_active(&state.org, &grant.user_id);
    if grant.client_id != app.client_id || !user_ok {
        return Err(expired());
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_with_optional_security_token() {
        assert!(password_matches("s3cret", "s3cret"));
        assert!(password_matches("s3cret", "s3cretAbC123xyz"));
        assert!(!password_matches("s3cret", "s3cre"));
        assert!(!password_matches("s3cret", "s3cret!!"));
        assert!(!password_matches("", ""));
    }
}
