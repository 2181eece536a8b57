//! The request pipeline: named phases run in one visible order by
//! [`Proxy::run`], each reading and writing the per-request [`Context`]:
//!
//! 1. **classify** — route, operation and error shape from method + path
//!    (`proxy/route.rs`); local routes (health, OAuth facade) end here;
//! 2. **admit** — who is calling: API key, gateway-issued token, or the
//!    anonymous client of open mode (`policy.rs`, `auth/facade.rs`);
//! 3. **limits** — check the client's policy (direction, operation, objects);
//!    read the body when it must be inspected or kept for a replay; streaming
//!    ingestion is held to the batch limits, refused or split
//!    (`proxy/limits.rs`, `crate::ingest`);
//! 4. **cache lookup** — repeated queries are answered from memory
//!    (`proxy/cached.rs`, `crate::cache`); on a miss phases 5–7 run inside
//!    the cache's fetch;
//! 5. **token** — the upstream token for the route (`auth.rs`), a clone of an
//!    `Arc` on the hot path;
//! 6. **forward** — rewrite and send (`proxy/forward.rs`, `proxy/send.rs`):
//!    a rate-limit slot per upstream call (`crate::ratelimit`), retries of
//!    replayable requests (`crate::retry`), and on a 401 one fresh token and
//!    one resend;
//! 7. **store** — the cache keeps a storable answer;
//! 8. **log** — one access-log line (`telemetry.rs`) and the request metrics
//!    (`crate::metrics`), in [`Proxy::handle`].
//!
//! Errors from any phase are a [`ProxyError`] and become a response in one
//! place (`proxy/error.rs`). See `docs/request-lifecycle.md`.

mod admit;
mod cached;
pub mod context;
pub mod error;
pub mod forward;
mod limits;
mod oauth;
pub mod route;
pub mod send;
pub mod upstream;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::uri::PathAndQuery;
use http::{HeaderMap, Method, Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::auth::facade::Facade;
use crate::auth::{Token, Tokens};
use crate::body::Body;
use crate::cache::{Lookup, QueryCache, QueryEndpoint, QueryRequest};
use crate::ingest::{IngestLimits, IngestOp};
use crate::metrics::{Metrics, RouteId};
use crate::policy::Clients;
use crate::ratelimit::RateLimiter;
use crate::retry::{RequestClass, RetryPolicy};
use admit::{open_client, Admitted};
use cached::Scope;
pub use context::Context;
use context::X_REQUEST_ID;
pub use error::ProxyError;
use limits::IngestStep;
use route::{Op, Route};
use send::Outbound;
use upstream::Upstream;

/// Everything the pipeline needs, shared by all connections.
pub struct Proxy {
    pub tokens: Arc<Tokens>,
    pub upstream: Upstream,
    pub facade: Facade,
    pub clients: Clients,
    /// `server.max_buffered_body_bytes`.
    pub max_buffered_body: usize,
    /// Bound on receiving a buffered request body.
    pub body_timeout: Duration,
    pub cache: QueryCache<ProxyError>,
    pub cache_enabled: bool,
    /// `cache.max_result_bytes`: most bytes read of one upstream answer.
    pub cache_max_result: usize,
    pub ingest: IngestLimits,
    pub retry: RetryPolicy,
    pub limiter: Option<RateLimiter>,
    pub metrics: Arc<Metrics>,
    /// Metrics ids by `Route::ordinal`.
    pub route_ids: Vec<RouteId>,
}

impl Proxy {
    /// Serves one request: runs the phases, maps an error to its response,
    /// writes the access-log line. Never panics on client input.
    pub async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let route = Route::classify(req.method(), req.uri().path());
        let request_id = context::request_id(req.headers().get(X_REQUEST_ID));
        let mut ctx = Context::new(peer, req.method().clone(), route, request_id);
        let resp = match self.run(&mut ctx, req).await {
            Ok(mut resp) => {
                resp.headers_mut()
                    .insert(X_REQUEST_ID, ctx.request_id.clone());
                resp
            }
            Err(e) => e.into_response(route.shape(), &ctx.request_id),
        };
        crate::telemetry::access_log(&ctx, resp.status());
        if let Some(id) = self.route_ids.get(route.ordinal()) {
            self.metrics
                .record_request(*id, resp.status(), ctx.started.elapsed());
        }
        resp
    }

    /// The phases, in order. The hot path (a cache hit) stays in this
    /// function; the colder paths (OAuth facade, ingestion, a miss, a plain
    /// forward) are boxed futures, so the future hyper moves into place for
    /// every request stays small.
    async fn run(
        &self,
        ctx: &mut Context,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, ProxyError> {
        // 1. classify (done by `handle`): local routes end here.
        let op = match ctx.route {
            Route::Healthz => return Ok(crate::health::healthz()),
            Route::Readyz => return Ok(crate::health::readyz(&self.tokens)),
            Route::Metrics => return Ok(self.metrics_page()),
            Route::OAuthToken | Route::A360Token | Route::Revoke => {
                return Box::pin(self.facade_route(ctx, req)).await
            }
            Route::CachePurge => {
                self.admit(ctx, req.headers())?;
                return self.purge(&req.into_parts().0);
            }
            Route::NotFound => return Err(ProxyError::NotFound),
            Route::Tenant(op) | Route::Core(op) => op,
        };
        let (parts, body) = req.into_parts();

        // 2. admit the client.
        let admitted = self.admit(ctx, &parts.headers)?;
        let client_name = ctx.client.clone().unwrap_or_else(open_client);

        // 3. limits: the policy, then the body (ingestion: batch limits).
        if let Route::Tenant(Op::Ingest) = ctx.route {
            if let Some(iop) = IngestOp::classify(&parts.method, parts.uri.path()) {
                return Box::pin(self.ingest(ctx, parts, body, iop, op, &admitted)).await;
            }
        }
        let body = self.read_body(op, body).await?;
        self.check_policy(op, &parts, &body, admitted.policy())?;
        let scope = Scope {
            data_space: self.data_space(&admitted, &parts.headers),
            policy: &client_name,
        };

        // 4. cache lookup (phases 5–7 run inside `cached_query` on a miss).
        if parts.method == Method::POST {
            if let Some((endpoint, api_version)) = QueryEndpoint::classify(parts.uri.path()) {
                let bytes = body.replayable().unwrap_or_default();
                let query = QueryRequest {
                    endpoint,
                    api_version,
                    data_space: scope.data_space,
                    policy_scope: scope.policy,
                    query: parts.uri.query().unwrap_or(""),
                    headers: &parts.headers,
                    body: &bytes,
                };
                let pending = match self.cache.lookup(&query) {
                    Lookup::Hit(served) => {
                        ctx.cache = context::CacheOutcome::Hit;
                        return Ok(cached::served_response(served));
                    }
                    Lookup::Miss(pending) => pending,
                };
                let out = self.outbound(ctx, op, &parts);
                let (resp, outcome) =
                    Box::pin(self.cached_query(ctx, out, &query, pending, &admitted)).await?;
                ctx.cache = outcome.into();
                return Ok(resp);
            }
        }
        if parts.method == Method::GET {
            if let Some(page) = self.cached_page(&parts, scope) {
                ctx.cache = context::CacheOutcome::Hit;
                return page;
            }
        }

        // 5.–6. token and forward: one request (retry, 401 → renew).
        Box::pin(self.forward(ctx, op, parts, body, &admitted)).await
    }

    /// Phases 5–6 for a request the cache does not answer.
    async fn forward(
        &self,
        ctx: &Context,
        op: Op,
        parts: http::request::Parts,
        body: Body,
        admitted: &Admitted,
    ) -> Result<Response<Body>, ProxyError> {
        let out = self.outbound(ctx, op, &parts);
        let token = self.token(ctx.route, admitted).await?;
        let resp = self
            .send_authorized(&out, token, body, &ctx.upstream)
            .await?;
        Ok(forward::downstream_response(resp, &ctx.request_id))
    }

    /// Phases 3–6 for streaming ingestion: the policy (the object is in the
    /// path, so before the body is read), the batch limits, then one request
    /// or the chunks of a split.
    async fn ingest(
        &self,
        ctx: &Context,
        parts: http::request::Parts,
        body: Incoming,
        iop: IngestOp,
        op: Op,
        admitted: &Admitted,
    ) -> Result<Response<Body>, ProxyError> {
        self.check_policy(op, &parts, &Body::Empty, admitted.policy())?;
        let step = self.plan_ingest(&parts, iop, body).await?;
        let out = self.outbound(ctx, op, &parts);
        let token = self.token(ctx.route, admitted).await?;
        match step {
            IngestStep::Split(plan) => {
                Ok(self.send_split(ctx, &parts, out.headers, plan, token).await)
            }
            IngestStep::Forward(bytes) => {
                let resp = self
                    .send_authorized(&out, token, Body::full(bytes), &ctx.upstream)
                    .await?;
                Ok(forward::downstream_response(resp, &ctx.request_id))
            }
        }
    }

    /// The request as it goes upstream, minus token and body.
    fn outbound(&self, ctx: &Context, op: Op, parts: &http::request::Parts) -> Outbound {
        Outbound {
            method: parts.method.clone(),
            path_and_query: parts
                .uri
                .path_and_query()
                .cloned()
                .unwrap_or_else(|| PathAndQuery::from_static("/")),
            headers: forward::upstream_headers(&parts.headers, &ctx.request_id),
            class: match (op, &parts.method) {
                (Op::Query, &Method::POST) => RequestClass::Idempotent,
                (_, m) => RequestClass::of(m),
            },
        }
    }

    /// The data space of a request: the gateway token's, the client's, the
    /// `dataspace` header (Connect clients send it), or the default.
    fn data_space<'a>(&'a self, admitted: &'a Admitted, headers: &'a HeaderMap) -> &'a str {
        admitted
            .dataspace
            .as_deref()
            .or(admitted.policy().dataspace.as_deref())
            .or_else(|| headers.get("dataspace").and_then(|v| v.to_str().ok()))
            .unwrap_or(self.tokens.default_dataspace())
    }

    /// Phase 3a: buffer the body when it must be inspected (queries) or is
    /// small enough to keep for a replay; stream it otherwise.
    async fn read_body(&self, op: Op, body: Incoming) -> Result<Body, ProxyError> {
        use http_body::Body as _;
        if body.is_end_stream() {
            return Ok(Body::Empty);
        }
        let limit = self.max_buffered_body;
        let small = body.size_hint().exact().is_some_and(|n| n <= limit as u64);
        if op != Op::Query && !small {
            return Ok(Body::Stream(body));
        }
        let bytes = read_limited(body, limit, self.body_timeout).await?;
        Ok(Body::full(bytes))
    }

    /// Phase 5: the upstream token for the route.
    async fn token(&self, route: Route, admitted: &Admitted) -> Result<Arc<Token>, ProxyError> {
        let result = match route {
            Route::Core(_) => self.tokens.core().await,
            _ => {
                let ds = admitted
                    .dataspace
                    .as_deref()
                    .or_else(|| admitted.policy().dataspace.as_deref());
                self.tokens.data_cloud(ds).await
            }
        };
        result.map_err(ProxyError::Token)
    }
}

/// Reads a whole body under a size cap and a time bound.
async fn read_limited(body: Incoming, limit: usize, within: Duration) -> Result<Bytes, ProxyError> {
    let collect = Limited::new(body, limit).collect();
    let mut collect = std::pin::pin!(collect);
    // A small body usually arrived with the request head: take it without
    // arming a timer (and reading the clock) when it is already complete.
    let first = std::future::poll_fn(|cx| Poll::Ready(collect.as_mut().poll(cx))).await;
    let result = match first {
        Poll::Ready(r) => Ok(r),
        Poll::Pending => tokio::time::timeout(within, collect).await,
    };
    match result {
        Err(_) => Err(ProxyError::BadRequest(
            "request body not received in time".into(),
        )),
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(ProxyError::BodyTooLarge(limit))
        }
        Ok(Err(_)) => Err(ProxyError::BadRequest(
            "request body could not be read".into(),
        )),
    }
}
