//! Query-test conveniences over the shared harness (`tests/common`): the
//! built-in org with a chosen V2 batch size, requests answering a
//! [`Reply`], and tokens for an app by the real JWT bearer grant (audience:
//! the emulator's own URL) and the a360 exchange.

use anyhow::{anyhow, Result};
use dc_emulator::state::AppState;
use dc_emulator::EmulatorConfig;
use http::{Method, StatusCode};
use serde_json::Value;

use crate::common::{self, TestEnv};

pub use crate::common::{CLIENT_ID, INGEST_CLIENT_ID as INGEST_ONLY_CLIENT_ID, USER};

/// A running emulator (built-in org and data) and a client that trusts it.
pub struct Env {
    inner: TestEnv,
}

/// A response: status and body (JSON when it parses, else `Value::Null`).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub json: Value,
    pub text: String,
}

impl Env {
    /// Starts the built-in org with `batch_rows` rows per V2 batch.
    pub async fn start(batch_rows: usize) -> Result<Env> {
        let inner = common::start_with(EmulatorConfig {
            query_batch_rows: batch_rows,
            ..EmulatorConfig::default()
        })
        .await;
        Ok(Env { inner })
    }

    /// The emulator's shared state (its clock, for expiry tests).
    pub fn state(&self) -> &AppState {
        self.inner.emu.state()
    }

    /// Sends one request to `path_and_query` on the emulator.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Reply> {
        let resp = self.inner.send(method, path_and_query, headers, body).await;
        Ok(Reply {
            status: resp.status,
            json: resp.json(),
            text: resp.text(),
        })
    }

    /// A request with `Authorization: Bearer token` and a JSON body when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        extra: &[(&str, &str)],
    ) -> Result<Reply> {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = extra.to_vec();
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        let bytes = match body {
            Some(b) => {
                headers.push(("content-type", "application/json"));
                serde_json::to_vec(b)?
            }
            None => Vec::new(),
        };
        self.send(method, path, &headers, bytes).await
    }

    /// A raw-body POST with a token (for malformed JSON).
    pub async fn post_raw(&self, path: &str, token: &str, body: &str) -> Result<Reply> {
        let auth = format!("Bearer {token}");
        self.send(
            Method::POST,
            path,
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body.as_bytes().to_vec(),
        )
        .await
    }

    /// A core access token for `client_id` (as [`USER`]) via the JWT bearer
    /// grant, the assertion's audience being the emulator's URL.
    pub async fn core_token(&self, client_id: &str) -> Result<String> {
        let mut claims = self.inner.claims(client_id, USER);
        claims["aud"] = Value::String(self.inner.emu.base_url().to_owned());
        let assertion = common::sign_assertion(&claims);
        let resp = self
            .inner
            .post_form(
                "/services/oauth2/token",
                &[
                    ("grant_type", common::JWT_BEARER),
                    ("assertion", &assertion),
                ],
            )
            .await;
        access_token(resp.status, &resp.json(), &resp.text())
    }

    /// A Data Cloud token for `client_id` (JWT grant, then the a360 exchange).
    pub async fn dc_token(&self, client_id: &str) -> Result<String> {
        let core = self.core_token(client_id).await?;
        let resp = self.inner.exchange(&core, None).await;
        access_token(resp.status, &resp.json(), &resp.text())
    }
}

fn access_token(status: StatusCode, json: &Value, text: &str) -> Result<String> {
    if status != StatusCode::OK {
        return Err(anyhow!("status {status}: {text}"));
    }
    json["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no access_token in {text}"))
}
