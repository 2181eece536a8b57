//! Upstream credentials: injection, single-flight, background refresh,
//! 401 → one fresh token and one retry, failures naming the step.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dc_emulator::EmulatorConfig;

use super::common::{rows, start, SQL};

#[tokio::test]
async fn injects_tokens_for_a_client_without_credentials() {
    let env = start(EmulatorConfig::default(), "", "").await;
    let r = env.query(SQL).await;
    assert_eq!(rows(&r).len(), 5);
    assert!(r.header("x-request-id").is_some());

    // The core host with the core token.
    let r = env
        .gw
        .post_json(
            "/services/data/v64.0/ssot/query-sql",
            None,
            &serde_json::json!({ "sql": SQL }),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"].as_array().map(Vec::len), Some(5));
    env.stop().await;
}

#[tokio::test]
async fn two_hundred_concurrent_first_requests_make_one_login_and_one_exchange() {
    let env = Arc::new(start(EmulatorConfig::default(), "", "").await);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let env = env.clone();
        tasks.push(tokio::spawn(async move { env.query(SQL).await }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(env.count("tokenRequests").await, 1);
    assert_eq!(env.count("exchangeRequests").await, 1);
    assert!(env.gateway.is_ready());
    let r = env.gw.get("/readyz", None).await.unwrap();
    assert_eq!(r.status, 200);
    let Ok(env) = Arc::try_unwrap(env) else {
        panic!("env still shared")
    };
    env.stop().await;
}

#[tokio::test]
async fn tokens_are_refreshed_in_the_background_before_they_expire() {
    let emu = EmulatorConfig {
        core_token_ttl: Duration::from_secs(3),
        dc_token_ttl: Duration::from_secs(3),
        ..EmulatorConfig::default()
    };
    let creds = "core_token_ttl_secs = 3\nrefresh_fraction = 0.5\nrefresh_jitter = 0.0\nrefresh_min_secs = 0.1";
    let env = start(emu, creds, "").await;
    rows(&env.query(SQL).await);
    let first = env.count("exchangeRequests").await;
    // Keep querying until a second exchange happened (bounded): every query
    // must succeed meanwhile, none may see an expired token.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut refreshed = false;
    while Instant::now() < deadline {
        rows(&env.query(SQL).await);
        if env.count("exchangeRequests").await > first {
            refreshed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refreshed, "no background refresh happened");
    assert!(
        env.count("tokenRequests").await >= 2,
        "core token not refreshed"
    );
    rows(&env.query(SQL).await);
    // Before expiry, not after: the second exchange came within the first
    // token's 3-second lifetime (at half of it, as configured), and no
    // request met an expired token upstream (no 401 to recover from).
    let mut times: Vec<i64> = env
        .journal("path=/services/a360/token")
        .await
        .iter()
        .map(|e| e["timeMs"].as_i64().unwrap())
        .collect();
    assert!(times.len() >= 2, "{times:?}");
    times.sort_unstable();
    let gap = times[1] - times[0];
    assert!(
        (1_000..3_000).contains(&gap),
        "second exchange {gap} ms after the first"
    );
    let refused = env.journal("status=401").await;
    assert!(refused.is_empty(), "{refused:?}");
    env.stop().await;
}

/// `credentials.flow = "refresh_token"`: no key, no JWT; the gateway logs in
/// with a refresh token and the consumer secret, then exchanges as usual.
#[tokio::test]
async fn the_refresh_token_flow_logs_in_without_a_key() {
    use dc_gateway::config::{Secret, Secrets};
    use dc_gateway::GatewayConfig;
    let emulator = super::common::start_emulator(EmulatorConfig::default()).await;
    // A refresh token as an admin would get one (password grant, app with
    // the refresh_token scope).
    let emu = dc_emulator::testing::TestClient::new(emulator.addr(), emulator.cert_pem());
    let r = emu
        .post_form(
            "/services/oauth2/token",
            &[
                ("grant_type", "password"),
                ("client_id", super::common::CLIENT_ID),
                ("client_secret", "emulator-client-secret"),
                ("username", super::common::USERNAME),
                ("password", "emulator-password"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();

    let text =
        super::common::toml_full(emulator.base_url(), "", "", "flow = \"refresh_token\"", "")
            .replace(&format!("username = \"{}\"\n", super::common::USERNAME), "");
    let secrets = Secrets {
        client_secret: Some(Secret::new("emulator-client-secret")),
        refresh_token: Some(Secret::new(refresh)),
        ..Secrets::default()
    };
    let mut config = GatewayConfig::from_toml_str(&text, std::path::Path::new("."), &secrets)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    config.upstream.ca_pem = emulator.cert_pem().map(str::to_owned);
    let env = super::common::start_gateway(emulator, config).await;
    rows(&env.query(SQL).await);
    let entries = env.journal("path=/services/oauth2/token").await;
    // The test's password grant, then the gateway's refresh-token grant.
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(entries.iter().all(|e| e["status"] == 200), "{entries:?}");
    assert_eq!(env.count("exchangeRequests").await, 1);
    env.stop().await;
}

#[tokio::test]
async fn an_upstream_401_fetches_one_fresh_token_and_retries_once() {
    let emu = EmulatorConfig {
        dc_token_ttl: Duration::from_secs(600),
        ..EmulatorConfig::default()
    };
    let env = start(emu, "", "").await;
    rows(&env.query(SQL).await);
    let exchanges = env.count("exchangeRequests").await;
    let logins = env.count("tokenRequests").await;
    // The emulator now considers the gateway's Data Cloud token expired; the
    // gateway does not know yet.
    env.emulator.state().clock.advance_ms(601_000);
    // Another statement, so the query cache cannot answer it.
    let r = env
        .query("SELECT ssot__Id__c FROM UnifiedIndividual__dlm LIMIT 3")
        .await;
    rows(&r);
    assert_eq!(env.count("exchangeRequests").await, exchanges + 1);
    assert_eq!(env.count("tokenRequests").await, logins);
    env.stop().await;
}

/// One renewal and one resend, never a loop: an upstream that refuses the
/// fresh token too gets its 401 passed back, after exactly two upstream tries.
#[tokio::test]
async fn a_second_401_is_passed_back_not_retried_again() {
    let env = start(EmulatorConfig::default(), "", "").await;
    env.wait_ready().await;
    let exchanges = env.count("exchangeRequests").await;
    env.add_fault(
        serde_json::json!({"method": "POST", "path": "/api/v2/query", "action": {"status": 401}}),
    )
    .await;
    let r = env.query(SQL).await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(env.count("exchangeRequests").await, exchanges + 1);
    let tries = env.journal("method=POST&path=/api/v2/query").await;
    assert_eq!(tries.len(), 2, "{tries:?}");
    env.stop().await;
}

#[tokio::test]
async fn a_failed_login_names_the_step_and_the_upstream_description() {
    // A user not pre-authorized for the app: the JWT bearer grant fails.
    let env = start_with_user("unapproved_user@yourcompany.com").await;
    let r = env.query(SQL).await;
    assert_eq!(r.status, 502, "{}", r.text());
    let j = r.json();
    assert_eq!(j["details"]["step"], "jwt_bearer", "{j}");
    assert_eq!(j["details"]["error"], "invalid_grant", "{j}");
    assert!(
        j["details"]["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{j}"
    );
    assert!(j["message"].as_str().unwrap().contains("jwt_bearer"), "{j}");
    let r = env.gw.get("/readyz", None).await.unwrap();
    assert_eq!(r.status, 503);
    let r = env.gw.get("/healthz", None).await.unwrap();
    assert_eq!(r.status, 200);
    env.stop().await;

    // A user without Data Cloud: the login works, the exchange fails.
    let env = start_with_user("no_datacloud_user@yourcompany.com").await;
    let r = env.query(SQL).await;
    assert_eq!(r.status, 502, "{}", r.text());
    let j = r.json();
    assert_eq!(j["details"]["step"], "a360_exchange", "{j}");
    assert!(
        j["details"]["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{j}"
    );
    env.stop().await;
}

async fn start_with_user(username: &str) -> super::common::Env {
    use dc_gateway::GatewayConfig;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emulator = dc_emulator::Emulator::start(EmulatorConfig::default(), listener)
        .await
        .unwrap();
    let text = super::common::toml_for(emulator.base_url(), "", "")
        .replace(super::common::USERNAME, username);
    let mut config = GatewayConfig::from_toml_str(
        &text,
        std::path::Path::new("."),
        &super::common::key_secrets(),
    )
    .unwrap();
    config.upstream.ca_pem = emulator.cert_pem().map(str::to_owned);
    super::common::start_gateway(emulator, config).await
}
