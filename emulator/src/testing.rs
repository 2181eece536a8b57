//! A minimal HTTPS client for tests and benchmarks: one TLS connection per
//! request, trusting exactly the certificate it is given (never "verify off").
//!
//! It exists so every test ring (emulator integration tests, the end-to-end
//! crate, bench harnesses) talks to the servers over real sockets and real TLS
//! without each growing its own client.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Client for one server.
#[derive(Clone)]
pub struct TestClient {
    addr: SocketAddr,
    tls: Option<TlsConnector>,
}

impl TestClient {
    /// A client for `addr`, trusting `cert_pem` (None: plain HTTP).
    pub fn new(addr: SocketAddr, cert_pem: Option<&str>) -> Self {
        let tls = cert_pem.map(|pem| {
            let mut config = (*crate::tls::client_config_trusting(pem).expect("test CA")).clone();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            TlsConnector::from(Arc::new(config))
        });
        TestClient { addr, tls }
    }

    /// Sends one request. `path` includes the query string.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> std::io::Result<TestResponse> {
        let tcp = TcpStream::connect(self.addr).await?;
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string());
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let req = builder
            .body(Full::new(body.into()))
            .map_err(std::io::Error::other)?;
        match &self.tls {
            Some(connector) => {
                let name = ServerName::from(self.addr.ip());
                let stream = connector.connect(name, tcp).await?;
                exchange(hyper_util::rt::TokioIo::new(stream), req).await
            }
            None => exchange(hyper_util::rt::TokioIo::new(tcp), req).await,
        }
    }

    /// `GET path` with optional bearer token.
    pub async fn get(&self, path: &str, bearer: Option<&str>) -> std::io::Result<TestResponse> {
        let auth = bearer.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        self.send(Method::GET, path, &headers, Bytes::new()).await
    }

    /// `POST path` with a JSON body and optional bearer token.
    pub async fn post_json(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: &serde_json::Value,
    ) -> std::io::Result<TestResponse> {
        let auth = bearer.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = vec![("content-type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        self.send(Method::POST, path, &headers, body.to_string())
            .await
    }

    /// `POST path` with a form body.
    pub async fn post_form(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> std::io::Result<TestResponse> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        self.send(
            Method::POST,
            path,
            &[("content-type", "application/x-www-form-urlencoded")],
            body,
        )
        .await
    }
}

async fn exchange<I>(io: I, req: Request<Full<Bytes>>) -> std::io::Result<TestResponse>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = sender
        .send_request(req)
        .await
        .map_err(std::io::Error::other)?;
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    Ok(TestResponse {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// The default org's TEST-ONLY connected-app private key (`fixtures/default/host.key`).
/// Public on purpose: it only ever signs assertions for the built-in demo org.
pub const DEFAULT_APP_KEY_PEM: &str = include_str!("../../fixtures/default/host.key");

/// Consumer key of the default org's main connected app.
pub const DEFAULT_CLIENT_ID: &str = "emulator-client-id";

/// The default org's integration user.
pub const DEFAULT_USERNAME: &str = "integration_user@yourcompany.com";

/// Signs a JWT bearer assertion for `client_id`/`username` with the default org's
/// test key (RS256, `aud` = `audience`, `exp` two minutes ahead of `now_secs`).
pub fn sign_default_assertion(
    client_id: &str,
    username: &str,
    audience: &str,
    now_secs: i64,
) -> String {
    let claims = serde_json::json!({
        "iss": client_id,
        "sub": username,
        "aud": audience,
        "exp": now_secs + 120,
    });
    let key =
        jsonwebtoken::EncodingKey::from_rsa_pem(DEFAULT_APP_KEY_PEM.as_bytes()).expect("test key");
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .expect("sign")
}

/// Logs in like an SDK (JWT bearer grant, then the a360 exchange) and returns
/// `(core token, Data Cloud token)`.
pub async fn login(
    client: &TestClient,
    base_url: &str,
    client_id: &str,
    username: &str,
    now_secs: i64,
) -> std::io::Result<(String, String)> {
    let assertion = sign_default_assertion(client_id, username, base_url, now_secs);
    let core = client
        .post_form(
            "/services/oauth2/token",
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", &assertion),
            ],
        )
        .await?;
    let core_token = core.json()["access_token"]
        .as_str()
        .ok_or_else(|| std::io::Error::other(format!("token grant failed: {}", core.text())))?
        .to_owned();
    let dc = client
        .post_form(
            "/services/a360/token",
            &[
                ("grant_type", "urn:salesforce:grant-type:external:cdp"),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:access_token",
                ),
                ("subject_token", &core_token),
            ],
        )
        .await?;
    let dc_token = dc.json()["access_token"]
        .as_str()
        .ok_or_else(|| std::io::Error::other(format!("exchange failed: {}", dc.text())))?
        .to_owned();
    Ok((core_token, dc_token))
}

/// Starts an emulator with `config` on an ephemeral loopback port and logs
/// the default user in: the setup every benchmark shares. Returns the
/// emulator and its Data Cloud token.
pub async fn start_logged_in(
    config: crate::EmulatorConfig,
) -> std::io::Result<(crate::Emulator, String)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let emu = crate::Emulator::start(config, listener)
        .await
        .map_err(std::io::Error::other)?;
    let client = TestClient::new(emu.addr(), emu.cert_pem());
    let now = emu.state().clock.now_secs();
    let (_, dc) = login(
        &client,
        emu.base_url(),
        DEFAULT_CLIENT_ID,
        DEFAULT_USERNAME,
        now,
    )
    .await?;
    Ok((emu, dc))
}

/// One keep-alive HTTP/1.1 connection over TLS to `addr`, trusting `cert_pem`:
/// what the benchmarks send their timed requests on (call `ready()` on the
/// sender before each request).
pub async fn keep_alive(
    addr: SocketAddr,
    cert_pem: &str,
) -> std::io::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let mut config =
        (*crate::tls::client_config_trusting(cert_pem).map_err(std::io::Error::other)?).clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::from(addr.ip()), tcp)
        .await?;
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    Ok(sender)
}
