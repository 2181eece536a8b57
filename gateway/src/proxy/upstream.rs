//! The pooled upstream HTTPS client: hyper-util's legacy `Client` over
//! hyper-rustls, keeping connections alive and speaking HTTP/2 where the
//! upstream offers it (ALPN), HTTP/1.1 otherwise.
//!
//! Every wait is bounded: connecting (`upstream.connect_timeout_secs`) and the
//! response head (`upstream.response_timeout_secs`, which also covers the TLS
//! handshake and a wait for a pooled connection). Token grants also bound the
//! size of the response body they read.

use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::body::Body;
use crate::config::UpstreamSettings;

/// Largest token-endpoint response the gateway reads.
const MAX_GRANT_RESPONSE: usize = 256 * 1024;

/// Why an upstream exchange failed (before any status was received, or
/// while reading a small response).
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// Could not connect: nothing was sent.
    #[error("cannot connect upstream: {0}")]
    Connect(String),
    #[error("upstream request failed: {0}")]
    Request(String),
    #[error("upstream did not answer within {0:?}")]
    Timeout(Duration),
    #[error("upstream response body: {0}")]
    Body(String),
}

/// The shared upstream client.
#[derive(Clone)]
pub struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Body>,
    response_timeout: Duration,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("response_timeout", &self.response_timeout)
            .finish_non_exhaustive()
    }
}

impl Upstream {
    pub fn new(settings: &UpstreamSettings) -> Result<Self, dc_emulator::tls::TlsError> {
        let tls = crate::tls::upstream_client(settings)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(settings.connect_timeout));
        http.set_keepalive(Some(Duration::from_secs(60)));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(settings.pool_idle_timeout)
            .pool_max_idle_per_host(settings.pool_max_idle_per_host)
            .build(connector);
        Ok(Upstream {
            client,
            response_timeout: settings.response_timeout,
        })
    }

    /// Sends a request and waits (bounded) for the response head; the body
    /// streams afterwards.
    pub async fn send(&self, req: Request<Body>) -> Result<Response<Incoming>, UpstreamError> {
        match tokio::time::timeout(self.response_timeout, self.client.request(req)).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) if e.is_connect() => Err(UpstreamError::Connect(error_chain(&e))),
            Ok(Err(e)) => Err(UpstreamError::Request(error_chain(&e))),
            Err(_) => Err(UpstreamError::Timeout(self.response_timeout)),
        }
    }

    /// POSTs a form (OAuth grants) and reads the whole, size-capped response.
    pub async fn post_form(
        &self,
        uri: Uri,
        form: String,
    ) -> Result<(StatusCode, Bytes), UpstreamError> {
        let req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .header(header::ACCEPT, HeaderValue::from_static("application/json"))
            .body(Body::full(form))
            .map_err(|e| UpstreamError::Request(e.to_string()))?;
        let resp = self.send(req).await?;
        let status = resp.status();
        let body = tokio::time::timeout(
            self.response_timeout,
            Limited::new(resp.into_body(), MAX_GRANT_RESPONSE).collect(),
        )
        .await
        .map_err(|_| UpstreamError::Timeout(self.response_timeout))?
        .map_err(|e| UpstreamError::Body(e.to_string()))?
        .to_bytes();
        Ok((status, body))
    }
}

/// `e` and its sources, joined (hyper's top-level messages are terse).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
