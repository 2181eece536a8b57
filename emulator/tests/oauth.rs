//! `/services/oauth2/token` with the JWT bearer grant over real HTTPS: the
//! success body (query string and form body), every audience and `exp` form
//! clients send, and every refusal Salesforce documents for the flow, with
//! its exact error strings; missing and unknown grant types.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
