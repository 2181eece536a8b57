//! Phase 3 for streaming ingestion: the body is read under the ingestion cap
//! and checked against the batch limits (`crate::ingest`). Within limits it
//! is forwarded as is; over them it is refused (413) or split into compliant
//! chunks sent by the ingestion driver, and the client gets one aggregate
//! answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::context::Context;
use super::error::ProxyError;
use super::send::json_body;
use super::upstream::{Upstream, UpstreamError};
use super::Proxy;
use crate::auth::{Token, Tokens};
use crate::body::Body;
use crate::ingest::{
    plan_delete, plan_insert, read_capped, send_chunks, Chunk, ChunkReply, IngestOp, Plan,
    ReadError, Refusal, SplitPlan,
};
use crate::ratelimit::RateLimiter;

/// Largest chunk answer read back.
const MAX_CHUNK_REPLY: usize = 1 << 20;

/// What to do with an ingestion request within or over the limits.
pub enum IngestStep {
    /// Within the limits: forward this body unchanged.
    Forward(Bytes),
    /// Over them: send these chunks.
    Split(SplitPlan),
}

fn refused(r: Refusal) -> ProxyError {
    ProxyError::Refused {
        status: r.status,
        message: r.message.clone(),
        body: r.body(),
    }
}

impl Proxy {
    /// Reads the body under the cap and plans it.
    pub(super) async fn plan_ingest(
        &self,
        parts: &Parts,
        op: IngestOp,
        body: Incoming,
    ) -> Result<IngestStep, ProxyError> {
        let limits = &self.ingest;
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let bytes =
            match tokio::time::timeout(self.body_timeout, read_capped(body, limits.max_body_bytes))
                .await
            {
                Err(_) => {
                    return Err(ProxyError::BadRequest(
                        "request body not received in time".into(),
                    ))
                }
                Ok(Ok(b)) => b,
                Ok(Err(ReadError::TooLarge { limit })) => {
                    return Err(refused(Refusal::too_large(
                        format!("Request body exceeds the gateway's {limit} byte ingestion limit"),
                        limit,
                        declared.unwrap_or(limit + 1),
                    )))
                }
                Ok(Err(ReadError::Body(_))) => {
                    return Err(ProxyError::BadRequest(
                        "request body could not be read".into(),
                    ))
                }
            };
        let plan = match op {
            IngestOp::Insert | IngestOp::Validate => plan_insert(&bytes, limits),
            IngestOp::Delete => plan_delete(parts.uri.query(), &bytes, limits),
        }
        .map_err(refused)?;
        Ok(match plan {
            Plan::Forward => IngestStep::Forward(bytes),
            Plan::Split(plan) => IngestStep::Split(plan),
        })
    }

    /// Sends a split request's chunks and answers with the aggregate.
    pub(super) async fn send_split(
        &self,
        ctx: &Context,
        parts: &Parts,
        headers: HeaderMap,
        plan: SplitPlan,
        token: Arc<Token>,
    ) -> Response<Body> {
        let sender = Arc::new(ChunkSender {
            upstream: self.upstream.clone(),
            limiter: self.limiter.clone(),
            tokens: self.tokens.clone(),
            token: std::sync::Mutex::new(token),
            method: parts.method.clone(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers,
            timeout: self.body_timeout,
        });
        let started = Instant::now();
        let agg = send_chunks(plan, &self.ingest, move |chunk| {
            let sender = sender.clone();
            async move { sender.send(chunk).await }
        })
        .await;
        self.metrics.record_chunks(&agg);
        let status = agg.status();
        ctx.upstream
            .record(started.elapsed(), Some(status.as_u16()));
        json_body(status, agg.body())
    }
}

/// Everything one chunk send needs, owned (the driver wants `'static`).
struct ChunkSender {
    upstream: Upstream,
    limiter: Option<RateLimiter>,
    tokens: Arc<Tokens>,
    /// The current token; replaced when a chunk got a 401.
    token: std::sync::Mutex<Arc<Token>>,
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    timeout: Duration,
}

impl ChunkSender {
    async fn send(&self, chunk: Chunk) -> ChunkReply {
        let token = match self.token.lock() {
            Ok(t) => t.clone(),
            Err(_) => return ChunkReply::NotSent("token lock poisoned".into()),
        };
        match self.send_with(&chunk, &token).await {
            Ok((status, _, _)) if status == StatusCode::UNAUTHORIZED => {
                // Refused before being accepted: safe to resend once, fresh token.
                let fresh = match self.tokens.renew(&token).await {
                    Ok(t) => t,
                    Err(e) => return ChunkReply::NotSent(e.to_string()),
                };
                if let Ok(mut t) = self.token.lock() {
                    *t = fresh.clone();
                }
                self.reply(self.send_with(&chunk, &fresh).await)
            }
            other => self.reply(other),
        }
    }

    fn reply(&self, r: Result<(StatusCode, HeaderMap, Bytes), ChunkReply>) -> ChunkReply {
        match r {
            Ok((status, headers, body)) => ChunkReply::Response {
                status,
                headers,
                body,
            },
            Err(reply) => reply,
        }
    }

    async fn send_with(
        &self,
        chunk: &Chunk,
        token: &Token,
    ) -> Result<(StatusCode, HeaderMap, Bytes), ChunkReply> {
        let query = chunk.query.as_ref().or(self.query.as_ref());
        let target = match query {
            Some(q) => format!("https://{}{}?{q}", token.authority, self.path),
            None => format!("https://{}{}", token.authority, self.path),
        };
        let mut req = Request::new(Body::full(chunk.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = target
            .parse()
            .map_err(|_| ChunkReply::NotSent("bad upstream URI".into()))?;
        *req.headers_mut() = self.headers.clone();
        let h = req.headers_mut();
        h.remove(header::CONTENT_LENGTH);
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(header::AUTHORIZATION, token.bearer().clone());
        if let Some(limiter) = &self.limiter {
            if let Err(e) = limiter.acquire().await {
                return Err(ChunkReply::NotSent(e.to_string()));
            }
        }
        let resp = self.upstream.send(req).await.map_err(|e| match e {
            UpstreamError::Connect(m) => ChunkReply::NotSent(m),
            other => ChunkReply::Unknown(other.to_string()),
        })?;
        let (parts, body) = resp.into_parts();
        let body =
            match tokio::time::timeout(self.timeout, Limited::new(body, MAX_CHUNK_REPLY).collect())
                .await
            {
                Ok(Ok(c)) => c.to_bytes(),
                _ => Bytes::new(),
            };
        Ok((parts.status, parts.headers, body))
    }
}
