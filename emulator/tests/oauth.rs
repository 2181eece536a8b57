//! `/services/oauth2/token` and `/services/oauth2/revoke` over real HTTPS:
//! the JWT bearer grant and every refusal Salesforce documents for it (with
//! its exact error strings), client credentials, password, refresh token,
//! revocation, and core-session expiry on the emulator clock.

mod common;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::*;
use dc_emulator::testing::TestResponse;
use dc_emulator::EmulatorConfig;
use http::{Method, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const TOKEN: &str = "/services/oauth2/token";

async fn jwt_grant(env: &TestEnv, assertion: &str) -> TestResponse {
    env.post_form(
        TOKEN,
        &[("grant_type", JWT_BEARER), ("assertion", assertion)],
    )
    .await
}

/// Asserts an OAuth error: HTTP 400, exact `error` and `error_description`.
#[track_caller]
fn assert_oauth_error(resp: &TestResponse, error: &str, description: &str) {
    assert_eq!(resp.status, StatusCode::BAD_REQUEST, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_description"], description, "{body}");
}

/// Checks the superset of keys every grant returns.
fn assert_token_body(env: &TestEnv, body: &Value, user_id: &str) {
    let state = env.emu.state();
    let token = body["access_token"].as_str().unwrap();
    let (org, opaque) = token.split_once('!').unwrap();
    assert_eq!(org, state.org.org_id);
    assert!(opaque.len() >= 80, "{opaque}");
    assert!(opaque
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_'));
    assert_eq!(body["instance_url"], env.emu.base_url());
    assert_eq!(body["api_instance_url"], env.emu.base_url());
    assert_eq!(body["token_type"], "Bearer");
    let id = format!(
        "{}/id/{}/{}",
        env.emu.base_url(),
        state.org.org_id18,
        user_id
    );
    assert_eq!(body["id"], id);
    let issued_at = body["issued_at"].as_str().unwrap();
    assert!(issued_at.parse::<i64>().unwrap() > 1_600_000_000_000);
    // signature = base64(HMAC-SHA256(client secret, id + issued_at))
    let key = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA256,
        env.secret(CLIENT_ID).as_bytes(),
    );
    let tag = aws_lc_rs::hmac::sign(&key, format!("{id}{issued_at}").as_bytes());
    assert_eq!(body["signature"], STANDARD.encode(tag.as_ref()));
    assert!(
        body.get("expires_in").is_none(),
        "core tokens carry no expires_in"
    );
}

#[tokio::test]
async fn jwt_bearer_in_form_body() {
    let env = start().await;
    let resp = jwt_grant(&env, &sign_assertion(&env.claims(CLIENT_ID, USER))).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let body = resp.json();
    assert_token_body(&env, &body, &env.user_id(USER));
    assert_eq!(
        body["scope"],
        "api refresh_token cdp_query_api cdp_profile_api cdp_ingest_api"
    );
    assert!(
        body.get("refresh_token").is_none(),
        "JWT bearer issues no refresh token"
    );
}

#[tokio::test]
async fn jwt_bearer_in_query_string_with_empty_body() {
    let env = start().await;
    let assertion = sign_assertion(&env.claims(CLIENT_ID, USER));
    let resp = env
        .post_query(
            TOKEN,
            &[("grant_type", JWT_BEARER), ("assertion", &assertion)],
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    assert_token_body(&env, &resp.json(), &env.user_id(USER));
}

#[tokio::test]
async fn jwt_bearer_accepts_every_documented_audience_and_string_exp() {
    let env = start().await;
    let host = env.emu.addr().to_string();
    let port = env.emu.addr().port();
    let base = env.emu.base_url().to_owned();
    for aud in [
        "https://login.salesforce.com".to_owned(),
        "https://login.salesforce.com/".to_owned(),
        "https://test.salesforce.com".to_owned(),
        "login.salesforce.com".to_owned(),
        base.clone(),
        format!("{base}/"),
        host.clone(),
        format!("https://localhost:{port}"),
    ] {
        let mut claims = env.claims(CLIENT_ID, USER);
        claims["aud"] = json!(aud);
        let resp = jwt_grant(&env, &sign_assertion(&claims)).await;
        assert_eq!(resp.status, StatusCode::OK, "aud {aud}: {}", resp.text());
    }
    // `exp` as a numeric string, as in Salesforce's own samples; `prn` wins over `sub`.
    let now = env.emu.state().clock.now_secs();
    let claims = json!({"iss": CLIENT_ID, "prn": USER, "sub": "nobody@nowhere",
        "aud": "https://login.salesforce.com", "exp": (now + 300).to_string()});
    let resp = jwt_grant(&env, &sign_assertion(&claims)).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    // `cdp` signs exp = now + 3600; the guide's sample, ten years: fine by default.
    let mut claims = env.claims(CLIENT_ID, USER);
    claims["exp"] = json!(now + 10 * 365 * 24 * 3600);
    assert_eq!(jwt_grant(&env, &sign_assertion(&claims)).await.status, 200);
}

#[tokio::test]
async fn jwt_bearer_refusals_carry_salesforce_error_strings() {
    let env = start().await;
    let now = env.emu.state().clock.now_secs();
    let with = |k: &str, v: Value| {
        let mut c = env.claims(CLIENT_ID, USER);
        c[k] = v;
        sign_assertion(&c)
    };
    let cases = [
        (
            with("iss", json!("nope")),
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            sign_assertion(&env.claims(CLIENT_ID, UNAPPROVED_USER)),
            "invalid_grant",
            "user hasn't approved this consumer",
        ),
        (
            sign_assertion(&env.claims(CLIENT_ID, "ghost@yourcompany.com")),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            with("aud", json!("https://example.com")),
            "invalid_grant",
            "audience is invalid",
        ),
        (
            with("exp", json!(now - 120)),
            "invalid_grant",
            "expired authorization code",
        ),
        (
            with("exp", json!("tomorrow")),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            with("exp", Value::Null),
            "invalid_grant",
            "invalid assertion",
        ),
        ("not.a.jwt".to_owned(), "invalid_grant", "invalid assertion"),
        (String::new(), "invalid_grant", "invalid assertion"),
    ];
    for (assertion, error, description) in cases {
        assert_oauth_error(&jwt_grant(&env, &assertion).await, error, description);
    }
    // Within the 30 s skew, a just-expired assertion still passes.
    assert_eq!(
        jwt_grant(&env, &with("exp", json!(now - 10))).await.status,
        200
    );
}

#[tokio::test]
async fn jwt_bearer_refuses_anything_but_a_valid_rs256_signature() {
    let env = start().await;
    let claims = env.claims(CLIENT_ID, USER);
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());

    // alg none, unsigned.
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    // HS256 keyed with the public certificate (algorithm confusion).
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(APP_CERT_PEM.as_bytes()),
    )
    .unwrap();
    // RS512 with the right key: Salesforce takes RS256 only.
    let key = EncodingKey::from_rsa_pem(app_private_key_pem().as_bytes()).unwrap();
    let rs512 = jsonwebtoken::encode(&Header::new(Algorithm::RS512), &claims, &key).unwrap();
    // Valid signature, then the payload swapped for another user's.
    let good = sign_assertion(&claims);
    let parts: Vec<&str> = good.split('.').collect();
    let other = b64(&env.claims(CLIENT_ID, NO_DC_USER));
    let tampered = format!("{}.{other}.{}", parts[0], parts[2]);
    // Signed by a key that is not the certificate's ("invalid private key").
    let stranger = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let wrong_key = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(stranger.serialize_pem().as_bytes()).unwrap(),
    )
    .unwrap();

    for assertion in [none, hs256, rs512, tampered, wrong_key.clone()] {
        assert_oauth_error(
            &jwt_grant(&env, &assertion).await,
            "invalid_grant",
            "invalid assertion",
        );
    }

    // The guide's "kid not found" row: a bad signature whose `kid` names
    // another key; the certificate's own thumbprint as `kid` is fine.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("key-2024".into());
    let stranger_key = EncodingKey::from_rsa_pem(stranger.serialize_pem().as_bytes()).unwrap();
    let bad_kid = jsonwebtoken::encode(&header, &claims, &stranger_key).unwrap();
    assert_oauth_error(
        &jwt_grant(&env, &bad_kid).await,
        "invalid_grant",
        "kid not found",
    );
    let der = rustls_pki_types::pem::PemObject::from_pem_slice(APP_CERT_PEM.as_bytes())
        .map(|d: rustls_pki_types::CertificateDer<'static>| d.to_vec())
        .unwrap();
    let x5t = URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der).as_ref(),
    );
    header.kid = Some(x5t);
    let good_kid = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    assert_eq!(jwt_grant(&env, &good_kid).await.status, 200);
}

#[tokio::test]
async fn strict_mode_enforces_the_three_minute_ceiling() {
    let env = start_with(EmulatorConfig {
        strict_jwt: true,
        ..test_config()
    })
    .await;
    let now = env.emu.state().clock.now_secs();
    let mut claims = env.claims(CLIENT_ID, USER);
    claims["exp"] = json!(now + 3600);
    assert_oauth_error(
        &jwt_grant(&env, &sign_assertion(&claims)).await,
        "invalid_grant",
        "expired authorization code",
    );
    claims["exp"] = json!(now + 120);
    assert_eq!(jwt_grant(&env, &sign_assertion(&claims)).await.status, 200);
}

#[tokio::test]
async fn blocked_app_inactive_user_and_missing_certificate() {
    let env = start_with(config_with_org(|org| {
        app_mut(org, INGEST_CLIENT_ID).active = false;
        app_mut(org, CLIENT_ID).certificate_pem.clear();
        user_mut(org, NO_DC_USER).active = false;
    }))
    .await;
    let resp = jwt_grant(&env, &sign_assertion(&env.claims(INGEST_CLIENT_ID, USER))).await;
    assert_oauth_error(&resp, "invalid_client", "app is blocked by admin");
    let resp = jwt_grant(&env, &sign_assertion(&env.claims(CLIENT_ID, USER))).await;
    assert_oauth_error(&resp, "invalid_grant", "certificate not found");
    let resp = env
        .post_form(
            TOKEN,
            &[
                ("grant_type", "password"),
                ("client_id", CLIENT_ID),
                ("client_secret", &env.secret(CLIENT_ID)),
                ("username", NO_DC_USER),
                ("password", &env.password(NO_DC_USER)),
            ],
        )
        .await;
    assert_oauth_error(&resp, "invalid_grant", "authentication failure");
}

#[tokio::test]
async fn grant_type_missing_or_unknown() {
    let env = start().await;
    let resp = env.post_form(TOKEN, &[("assertion", "x")]).await;
    assert_oauth_error(&resp, "invalid_request", "grant type is missing");
    let resp = env
        .post_form(
            TOKEN,
            &[("grant_type", "authorization_code"), ("code", "x")],
        )
        .await;
    assert_oauth_error(&resp, "unsupported_grant_type", "grant type not supported");
    let resp = env.send(Method::GET, TOKEN, &[], "").await;
    assert_eq!(resp.status, StatusCode::METHOD_NOT_ALLOWED);
}

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
