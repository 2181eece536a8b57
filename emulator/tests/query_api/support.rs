//! Test harness for the query API tests: starts the emulator in-process on
//! `127.0.0.1:0` over real TLS (through `dc_emulator::testing::TestClient`,
//! trusting its generated certificate) and obtains tokens the way clients do
//! (JWT bearer grant signed with the fixture key, then the a360 exchange).

use anyhow::{anyhow, Context, Result};
use dc_emulator::testing::TestClient;
use dc_emulator::{Emulator, EmulatorConfig};
use http::{Method, StatusCode};
use serde_json::Value;
use tokio::net::TcpListener;

pub const CLIENT_ID: &str = "emulator-client-id";
pub const INGEST_ONLY_CLIENT_ID: &str = "emulator-ingest-only-client-id";
pub const USERNAME: &str = "integration_user@yourcompany.com";

/// A running emulator and a client that trusts it.
pub struct Env {
    pub emu: Emulator,
    client: TestClient,
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
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let config = EmulatorConfig {
            query_batch_rows: batch_rows,
            ..EmulatorConfig::default()
        };
        let emu = Emulator::start(config, listener).await?;
        let client = TestClient::new(emu.addr(), emu.cert_pem());
        Ok(Env { emu, client })
    }

    /// Sends one request to `path_and_query` on the emulator.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Reply> {
        let resp = self
            .client
            .send(method, path_and_query, headers, body)
            .await?;
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

    /// A core access token for `client_id` via the JWT bearer grant.
    pub async fn core_token(&self, client_id: &str) -> Result<String> {
        let assertion = sign_assertion(client_id, USERNAME, self.emu.base_url())?;
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
            .append_pair("assertion", &assertion)
            .finish();
        let reply = self
            .send(
                Method::POST,
                "/services/oauth2/token",
                &[("content-type", "application/x-www-form-urlencoded")],
                form.into_bytes(),
            )
            .await?;
        token_of(&reply).context("JWT bearer grant")
    }

    /// A Data Cloud token for `client_id` (JWT grant, then the a360 exchange).
    pub async fn dc_token(&self, client_id: &str) -> Result<String> {
        let core = self.core_token(client_id).await?;
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "urn:salesforce:grant-type:external:cdp")
            .append_pair(
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            )
            .append_pair("subject_token", &core)
            .finish();
        let reply = self
            .send(
                Method::POST,
                "/services/a360/token",
                &[("content-type", "application/x-www-form-urlencoded")],
                form.into_bytes(),
            )
            .await?;
        token_of(&reply).context("a360 exchange")
    }
}

fn token_of(reply: &Reply) -> Result<String> {
    if reply.status != StatusCode::OK {
        return Err(anyhow!("status {}: {}", reply.status, reply.text));
    }
    reply.json["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no access_token in {}", reply.text))
}

/// An RS256 assertion signed with the fixture key (which has comment lines
/// before its PEM block).
fn sign_assertion(client_id: &str, username: &str, aud: &str) -> Result<String> {
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/default/host.key"
    ))?;
    let pem = raw
        .find("-----BEGIN")
        .map(|i| &raw[i..])
        .ok_or_else(|| anyhow!("no PEM in host.key"))?;
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes())?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = serde_json::json!({
        "iss": client_id,
        "sub": username,
        "aud": aud,
        "exp": now + 300,
    });
    Ok(jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )?)
}
