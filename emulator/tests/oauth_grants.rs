//! `/services/oauth2/token` with the other grants over real HTTPS: client
//! credentials (form and HTTP Basic), password (with a security token
//! appended), refresh token; `/services/oauth2/revoke` for access and
//! refresh tokens; and core-session expiry on the emulator clock.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::*;
use dc_emulator::testing::TestResponse;
use http::{Method, StatusCode};

const TOKEN: &str = "/services/oauth2/token";

#[tokio::test]
async fn client_credentials() {
    let env = start().await;
    let ok = env
        .post_form(
            TOKEN,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", &env.secret(CLIENT_ID)),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    let body = ok.json();
    assert_token_body(&env, &body, &env.user_id(USER));
    assert_eq!(
        body["scope"],
        "api cdp_query_api cdp_profile_api cdp_ingest_api"
    );
    assert!(body.get("refresh_token").is_none());

    // HTTP Basic client authentication works too.
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{}", env.secret(CLIENT_ID)))
    );
    let resp = env
        .send(
            Method::POST,
            TOKEN,
            &[
                ("authorization", &basic),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());

    let bad_secret = env
        .post_form(
            TOKEN,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", "wrong"),
            ],
        )
        .await;
    assert_oauth_error(&bad_secret, "invalid_client", "invalid client credentials");
    let unknown = env
        .post_form(
            TOKEN,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "nope"),
                ("client_secret", "x"),
            ],
        )
        .await;
    assert_oauth_error(&unknown, "invalid_client_id", "client identifier invalid");
    // An app without a "Run As" user.
    let env = start_with(config_with_org(|org| {
        app_mut(org, INGEST_CLIENT_ID).run_as = None
    }))
    .await;
    let no_run_as = env
        .post_form(
            TOKEN,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", INGEST_CLIENT_ID),
                ("client_secret", &env.secret(INGEST_CLIENT_ID)),
            ],
        )
        .await;
    assert_oauth_error(
        &no_run_as,
        "invalid_grant",
        "no client credentials user enabled",
    );
}

async fn password_grant(
    env: &TestEnv,
    username: &str,
    password: &str,
    secret: &str,
) -> TestResponse {
    env.post_form(
        TOKEN,
        &[
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("client_secret", secret),
            ("username", username),
            ("password", password),
        ],
    )
    .await
}

#[tokio::test]
async fn password_and_refresh_token() {
    let env = start().await;
    let (password, secret) = (env.password(USER), env.secret(CLIENT_ID));
    let resp = password_grant(&env, USER, &password, &secret).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    let body = resp.json();
    assert_token_body(&env, &body, &env.user_id(USER));
    let refresh = body["refresh_token"]
        .as_str()
        .expect("refresh_token for an app with that scope");

    // A security token appended to the password is accepted.
    let with_token = format!("{password}aBcDeFgHiJkLmNoPqRsTuVwXy");
    assert_eq!(
        password_grant(&env, USER, &with_token, &secret)
            .await
            .status,
        200
    );
    for (user, pw) in [
        (USER, "wrong"),
        ("ghost@yourcompany.com", password.as_str()),
        (USER, ""),
    ] {
        assert_oauth_error(
            &password_grant(&env, user, pw, &secret).await,
            "invalid_grant",
            "authentication failure",
        );
    }
    assert_oauth_error(
        &password_grant(&env, USER, &password, "wrong").await,
        "invalid_client",
        "invalid client credentials",
    );

    // refresh_token grant, with and without the (optional) secret.
    for params in [
        vec![
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("refresh_token", refresh),
        ],
        vec![
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", &env.secret(CLIENT_ID)),
            ("refresh_token", refresh),
        ],
    ] {
        let resp = env.post_form(TOKEN, &params).await;
        assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
        let body = resp.json();
        assert_token_body(&env, &body, &env.user_id(USER));
        assert!(body.get("refresh_token").is_none(), "no rotation");
    }
    let bad = env
        .post_form(
            TOKEN,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", CLIENT_ID),
                ("refresh_token", "5Aep861nope"),
            ],
        )
        .await;
    assert_oauth_error(&bad, "invalid_grant", "expired access/refresh token");
    let wrong_app = env
        .post_form(
            TOKEN,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", INGEST_CLIENT_ID),
                ("refresh_token", refresh),
            ],
        )
        .await;
    assert_oauth_error(&wrong_app, "invalid_grant", "expired access/refresh token");
    let bad_secret = env
        .post_form(
            TOKEN,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", CLIENT_ID),
                ("client_secret", "nope"),
                ("refresh_token", refresh),
            ],
        )
        .await;
    assert_oauth_error(&bad_secret, "invalid_client", "invalid client credentials");
}

#[tokio::test]
async fn revoke_access_and_refresh_tokens() {
    let env = start().await;
    let (password, secret) = (env.password(USER), env.secret(CLIENT_ID));
    let state = env.emu.state().clone();
    let core = env.core_token(CLIENT_ID, USER).await;
    let access = core["access_token"].as_str().unwrap();
    assert!(state.tokens.core(access).is_some());

    // cdp's form: query string, empty body, response ignored.
    let resp = env
        .post_query("/services/oauth2/revoke", &[("token", access)])
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    assert!(resp.body.is_empty());
    assert!(state.tokens.core(access).is_none());
    let again = env
        .post_form("/services/oauth2/revoke", &[("token", access)])
        .await;
    assert_oauth_error(&again, "invalid_token", "invalid token");
    let missing = env.post_form("/services/oauth2/revoke", &[]).await;
    assert_oauth_error(&missing, "invalid_request", "token is missing");

    // Revoking a refresh token (by GET) takes its access tokens with it.
    let body = password_grant(&env, USER, &password, &secret).await.json();
    let (first, refresh) = (
        body["access_token"].as_str().unwrap(),
        body["refresh_token"].as_str().unwrap(),
    );
    let second = env
        .post_form(
            TOKEN,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", CLIENT_ID),
                ("refresh_token", refresh),
            ],
        )
        .await
        .json();
    let second = second["access_token"].as_str().unwrap();
    let path = format!(
        "/services/oauth2/revoke?token={}",
        form_urlencoded::byte_serialize(refresh.as_bytes()).collect::<String>()
    );
    assert_eq!(env.get(&path, None).await.status, StatusCode::OK);
    assert!(state.tokens.core(first).is_none());
    assert!(state.tokens.core(second).is_none());
    let resp = env
        .post_form(
            TOKEN,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", CLIENT_ID),
                ("refresh_token", refresh),
            ],
        )
        .await;
    assert_oauth_error(&resp, "invalid_grant", "expired access/refresh token");
}

fn bearer_req(token: &str) -> dc_emulator::wire::Req {
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    dc_emulator::wire::Req {
        method: Method::GET,
        path: "/services/data/v64.0/ssot/query-sql".into(),
        query: String::new(),
        headers,
        body: bytes::Bytes::new(),
    }
}

#[tokio::test]
async fn core_session_expires_on_the_emulator_clock() {
    let env = start().await;
    let state = env.emu.state().clone();
    let core = env.core_token(CLIENT_ID, USER).await;
    let access = core["access_token"].as_str().unwrap();
    let session = dc_emulator::auth::require_core(&state, &bearer_req(access)).unwrap();
    assert_eq!(session.username, USER);
    assert_eq!(session.client_id, CLIENT_ID);

    let ttl_ms = state.config.core_token_ttl.as_millis() as i64;
    state.clock.advance_ms(ttl_ms + 1_000);
    let err = dc_emulator::auth::require_core(&state, &bearer_req(access)).unwrap_err();
    assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(err.message(), "Session expired or invalid");
    let err = dc_emulator::auth::require_core(&state, &bearer_req("00D!garbage")).unwrap_err();
    assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
}
