//! Secrets never reach the logs. Both servers run with their own crates at
//! TRACE and every line is captured while the gateway goes through the paths
//! that handle secrets: JWT signing, the a360 exchange, API-key and
//! client-secret checks, facade logins and exchanges, token injection, a
//! 401 renewal, split ingestion and a failed login. No captured line may
//! hold a token (any JWT, any `00D…!` core token, a refresh token), a key or
//! a client secret. Its own test binary: it installs the global subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex};

use dc_emulator::EmulatorConfig;
use serde_json::{json, Value};
use tracing_subscriber::fmt::MakeWriter;

#[path = "integration/common.rs"]
#[allow(dead_code)]
mod common;

use common::{rows, sha256_hex as hex, start, SQL};

/// Every formatted log line, in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

const API_KEY: &str = "log-test-api-key-7c1d9e";
const FACADE_SECRET: &str = "log-test-facade-secret-4b8a";

/// `00D` + 12 alphanumerics + `!`: the shape of every Salesforce (and
/// emulator, and facade) core access token.
fn core_token_at(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    text.match_indices("00D").find_map(|(i, _)| {
        let rest = bytes.get(i + 3..i + 16)?;
        (rest[..12].iter().all(u8::is_ascii_alphanumeric) && rest[12] == b'!')
            .then(|| &text[i..(i + 40).min(text.len())])
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_key_or_secret_is_ever_logged() {
    let captured = Captured::default();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "dc_gateway=trace,dc_emulator=trace,warn",
        ))
        .with_writer(captured.clone())
        .with_ansi(false)
        .init();

    let clients = format!(
        r#"
[[clients]]
name = "app"
api_key_sha256 = "{key}"
direction = "read_write"
objects = ["*"]

[[clients]]
name = "sdk"
client_id = "log-sdk"
client_secret_sha256 = "{secret}"
direction = "read"
objects = ["*"]
"#,
        key = hex(API_KEY),
        secret = hex(FACADE_SECRET),
    );
    let emu = EmulatorConfig {
        dc_token_ttl: std::time::Duration::from_secs(600),
        ..EmulatorConfig::default()
    };
    let env = start(emu, "", &clients).await;
    let key = [("x-api-key", API_KEY)];

    // API key: a miss, a hit, a wrong key.
    rows(&env.query_with(SQL, &key).await);
    rows(&env.query_with(SQL, &key).await);
    assert_eq!(
        env.query_with(SQL, &[("x-api-key", "wrong")]).await.status,
        401
    );
    // A client bearer that is not ours.
    let r = env
        .query_with(SQL, &[("authorization", "Bearer eyJmadeup.eyJmadeup.sig")])
        .await;
    assert_eq!(r.status, 401);

    // Facade: login, exchange, query with the gateway-issued token.
    let (core, dc) = env
        .facade_tokens(&[
            ("grant_type", "client_credentials"),
            ("client_id", "log-sdk"),
            ("client_secret", FACADE_SECRET),
        ])
        .await;
    let r = env
        .gw
        .post_json("/api/v2/query", Some(&dc), &json!({ "sql": SQL }))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let r = env
        .facade_login(&[
            ("grant_type", "client_credentials"),
            ("client_id", "log-sdk"),
            ("client_secret", "not-the-secret"),
        ])
        .await;
    assert_eq!(r.status, 400);

    // Split ingestion (3 chunks).
    let records: Vec<Value> = (0..120)
        .map(|i| {
            json!({"event_id": format!("log-{i}"), "customer_email": "a@example.com",
                   "event_type": "lead_qualified", "event_timestamp": "2026-04-19T10:00:00Z",
                   "conversation_id": "c", "channel": "web"})
        })
        .collect();
    let r = env
        .gw
        .send(
            http::Method::POST,
            "/api/v1/ingest/sources/Bridged/EngagementEvent",
            &[("content-type", "application/json"), key[0]],
            json!({ "data": records }).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 202, "{}", r.text());

    // The Data Cloud token expires upstream: 401, renewal, resend.
    env.emulator.state().clock.advance_ms(601_000);
    rows(
        &env.query_with(
            "SELECT ssot__Id__c FROM UnifiedIndividual__dlm LIMIT 2",
            &key,
        )
        .await,
    );
    env.stop().await;

    // A refused login (the error description is logged, not the assertion).
    let emulator = common::start_emulator(EmulatorConfig::default()).await;
    let text = common::toml_for(emulator.base_url(), "", "")
        .replace(common::USERNAME, "unapproved_user@yourcompany.com");
    let mut config = dc_gateway::GatewayConfig::from_toml_str(
        &text,
        std::path::Path::new("."),
        &common::key_secrets(),
    )
    .unwrap();
    config.upstream.ca_pem = emulator.cert_pem().map(str::to_owned);
    let env = common::start_gateway(emulator, config).await;
    assert_eq!(env.query(SQL).await.status, 502);
    env.stop().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // The capture works and saw the paths above.
    for seen in [
        "dc_gateway::access",
        "dc_emulator::access",
        "token fetched",
        "a360_exchange",
        "route=\"tenant.ingest\"",
        "route=\"facade.token\"",
        "status=401",
    ] {
        assert!(
            logs.contains(seen),
            "no {seen:?} in the captured logs:\n{logs}"
        );
    }
    let leaks: Vec<&str> = logs
        .lines()
        .filter(|line| {
            line.contains("eyJ")
                || core_token_at(line).is_some()
                || line.contains("5Aep861")
                || line.contains(API_KEY)
                || line.contains(FACADE_SECRET)
                || line.contains("PRIVATE KEY")
                || line.contains(&core)
                || line.contains(&dc)
        })
        .collect();
    assert!(
        leaks.is_empty(),
        "secrets in the logs:\n{}",
        leaks.join("\n")
    );
}

#[test]
fn the_core_token_pattern_matches_core_tokens() {
    assert!(core_token_at("token 00DGW0000000001!AbC rest").is_some());
    assert!(core_token_at("org 00D5g00000AbCdE!x").is_some());
    assert!(core_token_at("org id 00D5g00000AbCdE only").is_none());
}
