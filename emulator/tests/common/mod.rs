//! Shared helpers for the emulator's integration tests: start an emulator
//! in-process on `127.0.0.1:0`, talk to it over real TLS (trusting exactly
//! its generated certificate), and get tokens the way clients do (a signed
//! JWT bearer assertion, then the a360 exchange).
//!
//! Include with `mod common;` from any `tests/*.rs`. Not every test binary
//! uses every helper, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use dc_emulator::org::{ConnectedApp, Org, User};
use dc_emulator::testing::{TestClient, TestResponse};
use dc_emulator::{Emulator, EmulatorConfig, FixtureSource};
use http::{Method, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// Consumer key of the main app (`api refresh_token cdp_*`, run-as integration user).
/// Secrets and passwords come from the running org (`TestEnv::secret`, `TestEnv::password`).
pub const CLIENT_ID: &str = "emulator-client-id";
/// An app with only `api cdp_ingest_api`.
pub const INGEST_CLIENT_ID: &str = "emulator-ingest-only-client-id";

/// Pre-authorized, holds "Data Cloud Admin".
pub const USER: &str = "integration_user@yourcompany.com";
/// Active but not pre-authorized for the apps.
pub const UNAPPROVED_USER: &str = "unapproved_user@yourcompany.com";
/// Pre-authorized, but without a Data Cloud permission set.
pub const NO_DC_USER: &str = "no_datacloud_user@yourcompany.com";

/// JWT bearer grant type.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// a360 exchange grant type.
pub const CDP_GRANT: &str = "urn:salesforce:grant-type:external:cdp";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The test-only connected-app certificate and its private key.
pub const APP_CERT_PEM: &str = include_str!("../../../fixtures/default/host.crt");
const APP_KEY_FILE: &str = include_str!("../../../fixtures/default/host.key");

/// A running emulator and a client that trusts it.
pub struct TestEnv {
    pub emu: Emulator,
    pub client: TestClient,
}

/// Starts an emulator with [`test_config`].
pub async fn start() -> TestEnv {
    start_with(test_config()).await
}

/// Starts an emulator with `config` on `127.0.0.1:0`.
pub async fn start_with(config: EmulatorConfig) -> TestEnv {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let emu = Emulator::start(config, listener)
        .await
        .expect("emulator starts");
    let client = TestClient::new(emu.addr(), emu.cert_pem());
    TestEnv { emu, client }
}

/// HTTPS, generated certificate, the built-in default org, in-memory database.
pub fn test_config() -> EmulatorConfig {
    EmulatorConfig::default()
}

/// The built-in default org, to edit for a test.
pub fn default_org() -> Org {
    Org::load(&FixtureSource::Builtin).expect("built-in org loads")
}

impl TestEnv {
    /// Sends any request: `path` includes the query string.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> TestResponse {
        self.client
            .send(method, path, headers, body)
            .await
            .expect("request reaches the emulator")
    }

    /// `POST path` with a form body.
    pub async fn post_form(&self, path: &str, params: &[(&str, &str)]) -> TestResponse {
        self.client
            .post_form(path, params)
            .await
            .expect("request reaches the emulator")
    }

    /// `POST path?params` with an empty body (how `cdp` calls OAuth endpoints).
    pub async fn post_query(&self, path: &str, params: &[(&str, &str)]) -> TestResponse {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        self.send(Method::POST, &format!("{path}?{query}"), &[], Bytes::new())
            .await
    }

    /// `GET path` with an optional bearer token.
    pub async fn get(&self, path: &str, bearer: Option<&str>) -> TestResponse {
        self.client
            .get(path, bearer)
            .await
            .expect("request reaches the emulator")
    }

    /// `POST path` with a JSON body and an optional bearer token.
    pub async fn post_json(&self, path: &str, bearer: Option<&str>, body: &Value) -> TestResponse {
        self.client
            .post_json(path, bearer, body)
            .await
            .expect("request reaches the emulator")
    }

    /// The user id of `username` in the running org.
    pub fn user_id(&self, username: &str) -> String {
        let org = &self.emu.state().org;
        org.user(username).expect("user in org").user_id.clone()
    }

    /// The password of `username` in the running org.
    pub fn password(&self, username: &str) -> String {
        let org = &self.emu.state().org;
        org.user(username).expect("user in org").password.clone()
    }

    /// The consumer secret of `client_id` in the running org.
    pub fn secret(&self, client_id: &str) -> String {
        let org = &self.emu.state().org;
        org.app(client_id)
            .expect("app in org")
            .client_secret
            .clone()
    }

    /// Claims of a valid assertion for `client_id`/`username`, expiring in 5 minutes.
    pub fn claims(&self, client_id: &str, username: &str) -> Value {
        let now = self.emu.state().clock.now_secs();
        json!({"iss": client_id, "sub": username, "aud": "https://login.salesforce.com", "exp": now + 300})
    }

    /// A core token by the JWT bearer grant; panics unless it succeeds.
    pub async fn core_token(&self, client_id: &str, username: &str) -> Value {
        let assertion = sign_assertion(&self.claims(client_id, username));
        let resp = self
            .post_form(
                "/services/oauth2/token",
                &[("grant_type", JWT_BEARER), ("assertion", &assertion)],
            )
            .await;
        assert_eq!(resp.status, 200, "JWT grant failed: {}", resp.text());
        resp.json()
    }

    /// Exchanges a core token at `/services/a360/token` (raw response).
    pub async fn exchange(&self, core_token: &str, dataspace: Option<&str>) -> TestResponse {
        let mut params = vec![
            ("grant_type", CDP_GRANT),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("subject_token", core_token),
        ];
        if let Some(ds) = dataspace {
            params.push(("dataspace", ds));
        }
        self.post_form("/services/a360/token", &params).await
    }

    /// A Data Cloud token for `client_id`/`username` in data space `default`.
    pub async fn dc_token(&self, client_id: &str, username: &str) -> String {
        let core = self.core_token(client_id, username).await;
        let core = core["access_token"].as_str().expect("access_token");
        let resp = self.exchange(core, None).await;
        assert_eq!(resp.status, 200, "exchange failed: {}", resp.text());
        resp.json()["access_token"]
            .as_str()
            .expect("DC access_token")
            .to_owned()
    }
}

/// Asserts an OAuth error: HTTP 400, exact `error` and `error_description`.
#[track_caller]
pub fn assert_oauth_error(resp: &TestResponse, error: &str, description: &str) {
    assert_eq!(resp.status, StatusCode::BAD_REQUEST, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_description"], description, "{body}");
}

/// Checks the superset of keys every grant returns, for a token of
/// [`CLIENT_ID`] issued to `user_id`.
pub fn assert_token_body(env: &TestEnv, body: &Value, user_id: &str) {
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

/// An app of `org` to edit (panics when absent).
pub fn app_mut<'o>(org: &'o mut Org, client_id: &str) -> &'o mut ConnectedApp {
    org.apps
        .iter_mut()
        .find(|a| a.client_id == client_id)
        .expect("app in org")
}

/// A user of `org` to edit (panics when absent).
pub fn user_mut<'o>(org: &'o mut Org, username: &str) -> &'o mut User {
    org.users
        .iter_mut()
        .find(|u| u.username.eq_ignore_ascii_case(username))
        .expect("user in org")
}

/// An EmulatorConfig like [`test_config`] with the default org edited by `edit`.
pub fn config_with_org(edit: impl FnOnce(&mut Org)) -> EmulatorConfig {
    let mut org = default_org();
    edit(&mut org);
    EmulatorConfig {
        fixtures: FixtureSource::Inline(Arc::new(org)),
        ..test_config()
    }
}

/// The test-only private key as PEM (the fixture file starts with comment
/// lines, which are dropped here).
pub fn app_private_key_pem() -> String {
    let start = APP_KEY_FILE.find("-----BEGIN").expect("PEM in host.key");
    APP_KEY_FILE[start..].to_owned()
}

/// Signs `claims` RS256 with the test-only key.
pub fn sign_assertion(claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(app_private_key_pem().as_bytes()).expect("RSA key");
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).expect("sign")
}
