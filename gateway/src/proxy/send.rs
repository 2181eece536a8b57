//! Sending upstream: every call takes a rate-limit slot, replayable
//! requests are retried per the retry policy (idempotent ones on 429/5xx and
//! timeouts, any on connect failures), and an upstream 401 renews the token
//! once and resends once. Used by the plain forward phase, the cache's fetch
//! closures and the ingestion chunk driver alike.

use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::uri::PathAndQuery;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::context::Upstream as UpstreamLog;
use super::error::ProxyError;
use super::upstream::UpstreamError;
use super::{forward, Proxy};
use crate::auth::Token;
use crate::body::Body;
use crate::cache::UpstreamResponse;
use crate::retry::{with_retry, RequestClass};
use std::sync::Arc;

/// What to send, minus the token and the body.
pub struct Outbound {
    pub method: Method,
    pub path_and_query: PathAndQuery,
    /// Client headers prepared for upstream (`forward::upstream_headers`).
    pub headers: HeaderMap,
    pub class: RequestClass,
}

impl Outbound {
    fn request(&self, token: &Token, body: Body) -> Result<Request<Body>, ProxyError> {
        let uri = http::Uri::builder()
            .scheme(http::uri::Scheme::HTTPS)
            .authority(token.authority.clone())
            .path_and_query(self.path_and_query.clone())
            .build()
            .map_err(|e| ProxyError::Internal(format!("upstream URI: {e}")))?;
        let mut req = Request::new(body);
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = uri;
        *req.headers_mut() = self.headers.clone();
        req.headers_mut()
            .insert(header::AUTHORIZATION, token.bearer().clone());
        Ok(req)
    }

    /// The same request as a `GET` of another path (next batches).
    pub fn get(&self, path_and_query: PathAndQuery) -> Outbound {
        let mut headers = self.headers.clone();
        headers.remove(header::CONTENT_TYPE);
        headers.remove(header::CONTENT_LENGTH);
        Outbound {
            method: Method::GET,
            path_and_query,
            headers,
            class: RequestClass::Idempotent,
        }
    }
}

impl Proxy {
    /// One rate-limited upstream call.
    pub(super) async fn send_once(
        &self,
        req: Request<Body>,
    ) -> Result<Response<Incoming>, ProxyError> {
        if let Some(limiter) = &self.limiter {
            match limiter.acquire().await {
                Ok(waited) if !waited.is_zero() => self.metrics.record_ratelimit_wait(waited),
                Ok(_) => {}
                Err(limited) => {
                    self.metrics.record_ratelimit_rejection();
                    return Err(ProxyError::TooManyRequests {
                        retry_after: Some(limited.retry_after),
                    });
                }
            }
        }
        self.upstream.send(req).await.map_err(ProxyError::Upstream)
    }

    /// Sends with retries when the body can be replayed.
    async fn send_retrying(
        &self,
        out: &Outbound,
        token: &Token,
        body: Body,
        log: &UpstreamLog,
    ) -> Result<Response<Incoming>, ProxyError> {
        let started = Instant::now();
        let result = match body.replayable() {
            Some(bytes) if self.retry.max_attempts > 1 => {
                with_retry(&self.retry, out.class, || {
                    let req = out.request(token, Body::full(bytes.clone()));
                    async move { self.send_once(req?).await }
                })
                .await
            }
            _ => self.send_once(out.request(token, body)?).await,
        };
        log.record(
            started.elapsed(),
            result.as_ref().ok().map(|r| r.status().as_u16()),
        );
        result
    }

    /// Sends; after a 401 renews the token and resends once (when the body
    /// was kept). Returns the response head with the body still streaming.
    pub(super) async fn send_authorized(
        &self,
        out: &Outbound,
        token: Arc<Token>,
        body: Body,
        log: &UpstreamLog,
    ) -> Result<Response<Incoming>, ProxyError> {
        let replay = body.replayable();
        let resp = self.send_retrying(out, &token, body, log).await?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        // Revoked or expired early: one fresh token for everyone refused.
        let fresh = self.tokens.renew(&token).await.map_err(ProxyError::Token)?;
        match replay {
            Some(bytes) => {
                log.mark_retried();
                self.send_retrying(out, &fresh, Body::full(bytes), log)
                    .await
            }
            None => Ok(resp),
        }
    }

    /// Reads a whole upstream response (bounded in size and time), without
    /// hop-by-hop headers.
    pub(super) async fn read_full(
        &self,
        resp: Response<Incoming>,
        cap: usize,
    ) -> Result<UpstreamResponse, ProxyError> {
        let (mut parts, body) = resp.into_parts();
        forward::strip_hop_by_hop(&mut parts.headers);
        let body: Bytes =
            tokio::time::timeout(self.body_timeout, Limited::new(body, cap).collect())
                .await
                .map_err(|_| ProxyError::Upstream(UpstreamError::Timeout(self.body_timeout)))?
                .map_err(|e| ProxyError::Upstream(UpstreamError::Body(e.to_string())))?
                .to_bytes();
        Ok(UpstreamResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// A fully read answer as a response to the client.
pub fn full_response(resp: UpstreamResponse) -> Response<Body> {
    let mut out = Response::new(Body::full(resp.body));
    *out.status_mut() = resp.status;
    *out.headers_mut() = resp.headers;
    // The body was re-framed: the length is whatever hyper computes now.
    out.headers_mut().remove(header::CONTENT_LENGTH);
    out
}

/// `content-type: application/json` on a response.
pub fn json_body(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut out = Response::new(Body::full(body));
    *out.status_mut() = status;
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    out
}
