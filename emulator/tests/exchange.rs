//! `/services/a360/token` over real HTTPS, and `require_dc` on the tokens it
//! issues: claims clients read (`audienceTenantId`, `exp`), the bare-host
//! `instance_url`, the three request forms (form body, query string, bearer
//! header), every refusal, scope enforcement, data spaces, and expiry on the
//! emulator clock. Revoking the core token must leave the DC token valid.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use dc_emulator::auth::require_dc;
use dc_emulator::error::ApiError;
use dc_emulator::testing::TestResponse;
use dc_emulator::wire::Req;
use http::{Method, StatusCode};
use serde_json::Value;

const A360: &str = "/services/a360/token";

#[track_caller]
fn assert_oauth_error_containing(resp: &TestResponse, error: &str, description_part: &str) {
    assert_eq!(resp.status, StatusCode::BAD_REQUEST, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["error"], error, "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(description.contains(description_part), "{body}");
}

fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn tenant_req(token: Option<&str>) -> Req {
    let mut headers = http::HeaderMap::new();
    if let Some(t) = token {
        headers.insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    Req {
        method: Method::POST,
        path: "/api/v2/query".into(),
        query: String::new(),
        headers,
        body: bytes::Bytes::new(),
    }
}

/// The `details.status` of a tenant 401.
fn tenant_detail(err: &ApiError) -> String {
    match err {
        ApiError::Tenant {
            details: Some(d), ..
        } => d["status"].as_str().unwrap_or_default().to_owned(),
        other => panic!("not a tenant error with details: {other:?}"),
    }
}

async fn core_access(env: &TestEnv, client_id: &str, user: &str) -> String {
    env.core_token(client_id, user).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn exchange_issues_a_data_cloud_jwt() {
    let env = start().await;
    let state = env.emu.state().clone();
    let core = core_access(&env, CLIENT_ID, USER).await;
    let resp = env.exchange(&core, None).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    let body = resp.json();
    assert_eq!(
        body["instance_url"],
        env.emu.addr().to_string(),
        "bare host:port"
    );
    assert!(!body["instance_url"].as_str().unwrap().contains("://"));
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:jwt"
    );
    assert_eq!(body["expires_in"], 7200);

    let token = body["access_token"].as_str().unwrap();
    let claims = jwt_claims(token);
    let now = state.clock.now_secs();
    assert_eq!(claims["iss"], env.emu.base_url());
    assert_eq!(claims["sub"], env.user_id(USER));
    assert_eq!(claims["aud"], state.host);
    assert_eq!(claims["audienceTenantId"], state.org.tenant_id);
    assert_eq!(claims["orgId"], state.org.org_id18);
    assert_eq!(claims["dataspace"], "default");
    assert_eq!(claims["clientId"], CLIENT_ID);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!((iat - now).abs() <= 5);
    assert_eq!(exp - iat, 7200);
    let scp: Vec<&str> = claims["scp"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(scp.contains(&"cdp_query_api") && scp.contains(&"api"));

    let session = require_dc(&state, &tenant_req(Some(token)), "cdp_query_api").unwrap();
    assert_eq!(session.dataspace, "default");
    assert_eq!(session.user_id, env.user_id(USER));
    assert_eq!(session.client_id, CLIENT_ID);
}

#[tokio::test]
async fn exchange_accepts_query_string_bearer_header_and_the_rfc8693_alias() {
    let env = start().await;
    // cdp: every parameter in the query string, empty body.
    let core = core_access(&env, CLIENT_ID, USER).await;
    let resp = env
        .post_query(
            A360,
            &[
                ("grant_type", CDP_GRANT),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("subject_token", &core),
                ("dataspace", "default"),
            ],
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    // The integration guide: only `Authorization: Bearer <core token>`.
    let auth = format!("Bearer {core}");
    let resp = env
        .send(Method::POST, A360, &[("authorization", &auth)], "")
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    // pydc's README grant type.
    let resp = env
        .post_form(
            A360,
            &[
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("subject_token", &core),
            ],
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
}

#[tokio::test]
async fn exchange_refusals() {
    let env = start().await;
    let core = core_access(&env, CLIENT_ID, USER).await;
    let resp = env
        .post_form(
            A360,
            &[
                ("grant_type", "client_credentials"),
                ("subject_token", &core),
            ],
        )
        .await;
    assert_oauth_error_containing(&resp, "unsupported_grant_type", "grant type not supported");
    let resp = env.post_form(A360, &[("subject_token", &core)]).await;
    assert_oauth_error_containing(&resp, "invalid_request", "grant type is missing");
    let resp = env
        .post_form(
            A360,
            &[
                ("grant_type", CDP_GRANT),
                ("subject_token", &core),
                ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            ],
        )
        .await;
    assert_oauth_error_containing(&resp, "invalid_request", "subject token type");
    let resp = env.exchange("00D5g00000EmuL8!nonsense", None).await;
    assert_oauth_error_containing(&resp, "invalid_grant", "invalid subject token");
    let resp = env.post_form(A360, &[("grant_type", CDP_GRANT)]).await;
    assert_oauth_error_containing(&resp, "invalid_grant", "invalid subject token");

    // Unknown data space: named in the error.
    let resp = env.exchange(&core, Some("marketing_eu")).await;
    assert_oauth_error_containing(&resp, "invalid_request", "'marketing_eu'");

    // "Token exchange fails | Missing Data Cloud license".
    let no_dc = core_access(&env, CLIENT_ID, NO_DC_USER).await;
    let resp = env.exchange(&no_dc, None).await;
    assert_oauth_error_containing(
        &resp,
        "invalid_grant",
        "user does not have Data Cloud permission",
    );

    // Expired (per the emulator clock) and revoked core tokens.
    let ttl_ms = env.emu.state().config.core_token_ttl.as_millis() as i64;
    env.emu.state().clock.advance_ms(ttl_ms + 1_000);
    let resp = env.exchange(&core, None).await;
    assert_oauth_error_containing(&resp, "invalid_grant", "invalid subject token");
    let fresh = core_access(&env, CLIENT_ID, USER).await;
    env.post_form("/services/oauth2/revoke", &[("token", &fresh)])
        .await;
    let resp = env.exchange(&fresh, None).await;
    assert_oauth_error_containing(&resp, "invalid_grant", "invalid subject token");
}

#[tokio::test]
async fn exchange_requires_api_and_a_data_cloud_scope() {
    let env = start_with(config_with_org(|org| {
        app_mut(org, CLIENT_ID).scopes = vec!["cdp_query_api".into()];
        app_mut(org, INGEST_CLIENT_ID).scopes = vec!["api".into(), "refresh_token".into()];
    }))
    .await;
    let core = core_access(&env, CLIENT_ID, USER).await;
    assert_oauth_error_containing(&env.exchange(&core, None).await, "invalid_scope", "\"api\"");
    let core = core_access(&env, INGEST_CLIENT_ID, USER).await;
    assert_oauth_error_containing(
        &env.exchange(&core, None).await,
        "invalid_scope",
        "no Data Cloud scope",
    );
}

#[tokio::test]
async fn revoking_the_core_token_leaves_the_dc_token_valid() {
    let env = start().await;
    let state = env.emu.state().clone();
    let core = core_access(&env, CLIENT_ID, USER).await;
    let dc = env.exchange(&core, None).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // What cdp does right after the exchange.
    let resp = env
        .post_query("/services/oauth2/revoke", &[("token", &core)])
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    assert!(require_dc(&state, &tenant_req(Some(&dc)), "cdp_query_api").is_ok());
    // A DC token is not revocable at the core revoke endpoint.
    let resp = env
        .post_form("/services/oauth2/revoke", &[("token", &dc)])
        .await;
    assert_eq!(resp.json()["error"], "unsupported_token_type");
}

#[tokio::test]
async fn require_dc_enforces_scopes() {
    let env = start().await;
    let state = env.emu.state().clone();
    let ingest = env.dc_token(INGEST_CLIENT_ID, USER).await;
    assert!(require_dc(&state, &tenant_req(Some(&ingest)), "cdp_ingest_api").is_ok());
    let err = require_dc(&state, &tenant_req(Some(&ingest)), "cdp_query_api").unwrap_err();
    assert_eq!(err.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        err.message(),
        "Access denied: token lacks the \"cdp_query_api\" scope"
    );

    // The blanket `cdp_api` counts for every Data Cloud scope.
    let env = start_with(config_with_org(|org| {
        app_mut(org, INGEST_CLIENT_ID).scopes = vec!["api".into(), "cdp_api".into()];
    }))
    .await;
    let blanket = env.dc_token(INGEST_CLIENT_ID, USER).await;
    let state = env.emu.state().clone();
    for scope in ["cdp_query_api", "cdp_profile_api", "cdp_ingest_api"] {
        assert!(require_dc(&state, &tenant_req(Some(&blanket)), scope).is_ok());
    }
}

#[tokio::test]
async fn require_dc_refuses_missing_foreign_and_expired_tokens() {
    let env = start().await;
    let other = start().await;
    let state = env.emu.state().clone();
    let dc = env.dc_token(CLIENT_ID, USER).await;
    let foreign = other.dc_token(CLIENT_ID, USER).await;

    for req in [
        tenant_req(None),
        tenant_req(Some("garbage")),
        tenant_req(Some(&foreign)),
    ] {
        let err = require_dc(&state, &req, "cdp_query_api").unwrap_err();
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(err.message(), "Authorization header verification failed");
    }

    let ttl_ms = state.config.dc_token_ttl.as_millis() as i64;
    state.clock.advance_ms(ttl_ms - 5_000);
    assert!(require_dc(&state, &tenant_req(Some(&dc)), "cdp_query_api").is_ok());
    state.clock.advance_ms(10_000);
    let err = require_dc(&state, &tenant_req(Some(&dc)), "cdp_query_api").unwrap_err();
    assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        tenant_detail(&err),
        "UNAUTHENTICATED: Invalid JWT (not before or expired)"
    );
}

#[tokio::test]
async fn over_https_the_tenant_host_takes_dc_tokens_only_and_outlives_the_core_token() {
    let env = start().await;
    // `/api/v1/query-config` needs `cdp_query_api` and nothing else.
    let tenant = "/api/v1/query-config";
    let core = core_access(&env, CLIENT_ID, USER).await;
    let dc = env.exchange(&core, None).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // A core token is not a tenant credential.
    let resp = env.get(tenant, Some(&core)).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{}", resp.text());
    assert_eq!(
        resp.json()["message"],
        "Authorization header verification failed"
    );

    // cdp revokes the core token right after the exchange; the DC token keeps working.
    env.post_query("/services/oauth2/revoke", &[("token", &core)])
        .await;
    let resp = env.get(tenant, Some(&dc)).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    assert_eq!(resp.json()["queryengine"], "hyper");

    // Until it expires on the emulator clock.
    let ttl_ms = env.emu.state().config.dc_token_ttl.as_millis() as i64;
    env.emu.state().clock.advance_ms(ttl_ms + 1_000);
    let resp = env.get(tenant, Some(&dc)).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.json()["details"]["status"],
        "UNAUTHENTICATED: Invalid JWT (not before or expired)"
    );
}
