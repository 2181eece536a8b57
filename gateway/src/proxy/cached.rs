//! Phases 4 and 7 for queries: the cache lookup and store, wrapped around
//! the token and forward phases (which run inside the cache's fetch
//! closures, so a hit needs no token and makes no upstream call).
//!
//! Also the gateway's own pages of cached multi-batch results (`GET
//! /api/v2/query/{gateway batch id}`) and the purge route.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::uri::PathAndQuery;
use http::{Response, StatusCode};

use super::context::Context;
use super::error::ProxyError;
use super::send::{full_response, json_body, Outbound};
use super::Proxy;
use crate::body::Body;
use crate::cache::{
    is_gateway_batch_id, Pending, QueryEndpoint, QueryRequest, Reply, Served, X_CACHE,
};

/// Who and where, for cache keys: data space and policy scope.
pub struct Scope<'a> {
    pub data_space: &'a str,
    /// The client's name: answers are never shared across clients whose
    /// policies might differ, and batch ids only page for their owner.
    pub policy: &'a str,
}

impl Proxy {
    /// A cacheable query `POST` the cache did not answer from memory
    /// (`pending` says why): fetched through the cache, which coalesces
    /// identical misses and stores a storable answer.
    pub(super) async fn cached_query(
        &self,
        ctx: &Context,
        mut out: Outbound,
        req: &QueryRequest<'_>,
        pending: Pending,
        admitted: &super::admit::Admitted,
    ) -> Result<(Response<Body>, crate::cache::CacheOutcome), ProxyError> {
        // Encoded answers are never stored: ask for identity.
        out.headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
        let (endpoint, version) = (req.endpoint, req.api_version);
        let cap = self.cache_max_result;
        let route = ctx.route;
        let token = std::sync::OnceLock::new();
        let token = &token;
        let out = &out;
        let body_ref = req.body;
        let fetch = || async move {
            let t = self.token(route, admitted).await?;
            let _ = token.set(t.clone());
            let resp = self
                .send_authorized(out, t, Body::full(body_ref.clone()), &ctx.upstream)
                .await?;
            self.read_full(resp, cap).await
        };
        let fetch_batch = |id: String| async move {
            let t: std::sync::Arc<crate::auth::Token> = token
                .get()
                .cloned()
                .ok_or_else(|| ProxyError::Internal("batch before first page".into()))?;
            let path = match endpoint {
                QueryEndpoint::ConnectV2 => format!("/services/data/{version}/ssot/queryv2/{id}"),
                _ => format!("/api/v2/query/{id}"),
            };
            let pq = PathAndQuery::try_from(path)
                .map_err(|_| ProxyError::BadRequest("unusable nextBatchId".into()))?;
            let resp = self
                .send_authorized(&out.get(pq), t, Body::Empty, &ctx.upstream)
                .await?;
            self.read_full(resp, cap).await
        };
        let served = self
            .cache
            .complete(pending, req, fetch, fetch_batch)
            .await
            .map_err(std::sync::Arc::unwrap_or_clone)?;
        let outcome = served.outcome;
        Ok((served_response(served), outcome))
    }

    /// A `GET` of a gateway batch id: the page from the cache, or a 404 like
    /// an expired upstream cursor. `None`: not a gateway batch id.
    pub(super) fn cached_page(
        &self,
        parts: &Parts,
        scope: Scope<'_>,
    ) -> Option<Result<Response<Body>, ProxyError>> {
        let (_, id) = QueryEndpoint::next_batch_path(parts.uri.path())?;
        if !is_gateway_batch_id(id) {
            return None;
        }
        Some(
            match self.cache.next_batch(id, scope.data_space, scope.policy) {
                Some(page) => {
                    let mut resp = json_body(StatusCode::OK, page);
                    resp.headers_mut()
                        .insert(X_CACHE, crate::cache::CacheOutcome::Hit.header_value());
                    Ok(resp)
                }
                None => Err(ProxyError::NotFound),
            },
        )
    }

    /// `DELETE /__gateway/cache[?table=Name]`.
    pub(super) fn purge(&self, parts: &Parts) -> Result<Response<Body>, ProxyError> {
        if parts.method != http::Method::DELETE {
            return Err(ProxyError::MethodNotAllowed);
        }
        let table = form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "table")
            .map(|(_, v)| v.into_owned());
        match &table {
            Some(t) => self.cache.purge_table(t),
            None => self.cache.purge_all(),
        }
        Ok(json_body(
            StatusCode::OK,
            Bytes::from(serde_json::json!({"purged": table.as_deref().unwrap_or("*")}).to_string()),
        ))
    }

    /// `GET /metrics`.
    pub(super) fn metrics_page(&self) -> Response<Body> {
        let stats = self.cache_enabled.then(|| {
            // Apply moka's pending bookkeeping so sizes are exact, not lagging.
            self.cache.sync();
            self.cache.stats()
        });
        let mut resp = Response::new(Body::full(self.metrics.render(stats.as_ref())));
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
        );
        resp
    }
}

/// A cache answer as the client's response, with its `x-cache` header.
pub(super) fn served_response(served: Served) -> Response<Body> {
    let mut resp = match served.reply {
        Reply::Json(bytes) => json_body(StatusCode::OK, bytes),
        Reply::Upstream(u) => full_response(u),
    };
    resp.headers_mut()
        .insert(X_CACHE, served.outcome.header_value());
    resp
}
