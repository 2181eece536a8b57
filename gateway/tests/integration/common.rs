//! The harness: an emulator, a gateway in front of it, and clients for both.

use dc_emulator::testing::{TestClient, TestResponse};
use dc_emulator::{Emulator, EmulatorConfig};
use dc_gateway::config::{Secret, Secrets};
use dc_gateway::{Gateway, GatewayConfig};
use serde_json::{json, Value};
use std::path::Path;
use tokio::net::TcpListener;

/// The default org's consumer key and user.
pub const CLIENT_ID: &str = "emulator-client-id";
pub const USERNAME: &str = "integration_user@yourcompany.com";
/// A query the default org answers with rows.
pub const SQL: &str = "SELECT ssot__Id__c, ssot__FirstName__c FROM UnifiedIndividual__dlm LIMIT 5";

/// Both servers and a client for each.
pub struct Env {
    pub emulator: Emulator,
    pub gateway: Gateway,
    /// Client of the gateway (trusts its certificate).
    pub gw: TestClient,
    /// Client of the emulator.
    pub emu: TestClient,
}

/// Gateway TOML for the emulator at `login_url`. `credentials_extra` lines go
/// in `[credentials]`; `tail` is appended (e.g. `[[clients]]`).
pub fn toml_for(login_url: &str, credentials_extra: &str, tail: &str) -> String {
    toml_full(login_url, "", "", credentials_extra, tail)
}

/// [`toml_for`] with extra lines for `[server]` and `[upstream]` too.
pub fn toml_full(
    login_url: &str,
    server_extra: &str,
    upstream_extra: &str,
    credentials_extra: &str,
    tail: &str,
) -> String {
    let dir = std::env::temp_dir();
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
cert_dir = "{dir}"
{server_extra}

[upstream]
login_url = "{login_url}"
{upstream_extra}

[credentials]
client_id = "{CLIENT_ID}"
username = "{USERNAME}"
{credentials_extra}

{tail}
"#,
        dir = dir.display()
    )
}

/// A validated gateway config from [`toml_full`]'s pieces (no extra CA).
pub fn config_full(
    login_url: &str,
    server_extra: &str,
    upstream_extra: &str,
    credentials_extra: &str,
    tail: &str,
) -> GatewayConfig {
    let text = toml_full(
        login_url,
        server_extra,
        upstream_extra,
        credentials_extra,
        tail,
    );
    GatewayConfig::from_toml_str(&text, Path::new("."), &key_secrets())
        .unwrap_or_else(|e| panic!("invalid gateway config: {e}\n{text}"))
}

/// Starts an emulator (default config) on an ephemeral port.
pub async fn start_emulator(emu: EmulatorConfig) -> Emulator {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind emulator");
    Emulator::start(emu, listener)
        .await
        .expect("emulator starts")
}

/// The default org's key as a secret.
pub fn key_secrets() -> Secrets {
    Secrets {
        private_key_pem: Some(Secret::new(dc_gateway::embedded::PRIVATE_KEY_PEM)),
        ..Secrets::default()
    }
}

/// Starts an emulator with `emu` and a gateway in front of it.
pub async fn start(emu: EmulatorConfig, credentials_extra: &str, tail: &str) -> Env {
    start_full(emu, "", "", credentials_extra, tail).await
}

/// [`start`] with extra `[server]` and `[upstream]` lines; the gateway
/// trusts the emulator's certificate.
pub async fn start_full(
    emu: EmulatorConfig,
    server_extra: &str,
    upstream_extra: &str,
    credentials_extra: &str,
    tail: &str,
) -> Env {
    let emulator = start_emulator(emu).await;
    let mut config = config_full(
        emulator.base_url(),
        server_extra,
        upstream_extra,
        credentials_extra,
        tail,
    );
    config.upstream.ca_pem = emulator.cert_pem().map(str::to_owned);
    start_gateway(emulator, config).await
}

/// Starts a gateway with `config` in front of `emulator`.
pub async fn start_gateway(emulator: Emulator, config: GatewayConfig) -> Env {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind gateway");
    let gateway = Gateway::start(config, listener)
        .await
        .expect("gateway starts");
    let gw = TestClient::new(gateway.addr(), Some(gateway.cert_pem()));
    let emu = TestClient::new(emulator.addr(), emulator.cert_pem());
    Env {
        emulator,
        gateway,
        gw,
        emu,
    }
}

impl Env {
    /// `/__emulator/stats`.
    pub async fn stats(&self) -> Value {
        let r = self
            .emu
            .get("/__emulator/stats", None)
            .await
            .expect("stats");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }

    /// One counter of `/__emulator/stats`.
    pub async fn count(&self, name: &str) -> u64 {
        self.stats().await[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no counter {name}"))
    }

    /// `POST /api/v2/query` through the gateway with `headers`.
    pub async fn query_with(&self, sql: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        self.gw
            .send(
                http::Method::POST,
                "/api/v2/query",
                &h,
                json!({ "sql": sql }).to_string(),
            )
            .await
            .expect("query through the gateway")
    }

    /// `POST /api/v2/query` through the gateway, no credentials.
    pub async fn query(&self, sql: &str) -> TestResponse {
        self.query_with(sql, &[]).await
    }

    /// Adds an emulator fault rule (`POST /__emulator/faults`).
    pub async fn add_fault(&self, rule: Value) {
        let r = self
            .emu
            .post_json("/__emulator/faults", None, &rule)
            .await
            .expect("add a fault rule");
        assert!(r.status.is_success(), "{}", r.text());
    }

    /// The emulator's journal entries matching `filter` (its query string,
    /// e.g. `method=POST&path=/api/v2/query`).
    pub async fn journal(&self, filter: &str) -> Vec<Value> {
        let r = self
            .emu
            .get(&format!("/__emulator/journal?{filter}"), None)
            .await
            .expect("journal");
        let j = r.json();
        j["entries"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("journal: {}", r.text()))
    }

    /// `POST /services/oauth2/token` on the gateway's facade with `form`.
    pub async fn facade_login(&self, form: &[(&str, &str)]) -> TestResponse {
        self.gw
            .post_form("/services/oauth2/token", form)
            .await
            .expect("facade login")
    }

    /// Logs in at the facade with `form`, exchanges the core token at
    /// `/services/a360/token`; both must succeed. Returns (core, Data Cloud).
    pub async fn facade_tokens(&self, form: &[(&str, &str)]) -> (String, String) {
        let r = self.facade_login(form).await;
        assert_eq!(r.status, 200, "{:?}: {}", form.first(), r.text());
        let core = r.json()["access_token"].as_str().unwrap().to_owned();
        let r = self
            .gw
            .post_form(
                "/services/a360/token",
                &[
                    ("grant_type", "urn:salesforce:grant-type:external:cdp"),
                    (
                        "subject_token_type",
                        "urn:ietf:params:oauth:token-type:access_token",
                    ),
                    ("subject_token", &core),
                ],
            )
            .await
            .expect("facade exchange");
        assert_eq!(r.status, 200, "{}", r.text());
        let dc = r.json()["access_token"].as_str().unwrap().to_owned();
        (core, dc)
    }

    /// Waits (bounded) until the gateway's start-up login and exchange are
    /// done, so the emulator's counters stay still.
    pub async fn wait_ready(&self) {
        for _ in 0..400 {
            if self.gateway.is_ready() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("gateway never became ready");
    }

    pub async fn stop(self) {
        self.gateway.shutdown().await;
        self.emulator.shutdown().await;
    }
}

/// Hex SHA-256 of a client secret, as `[[clients]]` stores it.
pub fn sha256_hex(secret: &str) -> String {
    dc_gateway::policy::sha256(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Asserts a V2 query answer with at least one row, returns it.
pub fn rows(r: &TestResponse) -> Vec<Value> {
    assert_eq!(r.status, 200, "query failed: {}", r.text());
    let j = r.json();
    let data = j["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data: {j}"));
    assert!(!data.is_empty(), "no rows: {j}");
    data.clone()
}
