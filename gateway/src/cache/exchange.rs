//! The plain types a cache exchange is made of: settings, the request as the
//! cache sees it, the upstream answer the caller's closures return, and the
//! reply with its `x-cache` outcome. No proxy internals: `http` and `bytes` only.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use super::policy::{BypassReason, QueryEndpoint};

/// The response header naming the cache outcome.
pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// Cache settings (validated by the config module before they get here).
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Off: every query is forwarded (outcome `BYPASS`).
    pub enabled: bool,
    /// How long an answer is served from the cache.
    pub ttl: Duration,
    /// Bound of the main cache, in weighted bytes.
    pub max_bytes: u64,
    /// Bound of the raw-body → key memo, in bytes.
    pub memo_max_bytes: u64,
    /// Most bytes fetched for one multi-batch result before giving up storing it.
    pub max_result_bytes: usize,
    /// A paged result stays readable this long after its last page was read…
    pub cursor_idle: Duration,
    /// …and at most this long in total (the upstream's own limits: 3 min / 1 h).
    pub cursor_ttl: Duration,
    /// Bound of the held cursors, in bytes.
    pub cursor_max_bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            enabled: true,
            ttl: Duration::from_secs(300),
            max_bytes: 256 << 20,
            memo_max_bytes: 16 << 20,
            max_result_bytes: 32 << 20,
            cursor_idle: Duration::from_secs(180),
            cursor_ttl: Duration::from_secs(3600),
            cursor_max_bytes: 64 << 20,
        }
    }
}

/// A query request as the cache needs it. Borrowed: nothing is copied on a hit.
#[derive(Debug, Clone, Copy)]
pub struct QueryRequest<'a> {
    pub endpoint: QueryEndpoint,
    /// `"v1"`, `"v2"` or the Connect version (`"v64.0"`), from [`QueryEndpoint::classify`].
    pub api_version: &'a str,
    /// The data space the query runs in (token's or `dataspace` header/param).
    pub data_space: &'a str,
    /// The client's policy scope: clients that may see different data must differ here.
    pub policy_scope: &'a str,
    /// Raw query string without `?` (`""` when none).
    pub query: &'a str,
    /// Request headers (`cache-control`, `pragma`, `enable-arrow-stream` are read).
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
}

/// A fully read upstream answer.
#[derive(Debug, Clone)]
pub struct UpstreamResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The `x-cache` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Miss,
    Bypass,
}

impl CacheOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheOutcome::Hit => "HIT",
            CacheOutcome::Miss => "MISS",
            CacheOutcome::Bypass => "BYPASS",
        }
    }

    /// The header value, without allocating.
    pub fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(self.as_str())
    }
}

/// What to send the client.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `200`, `content-type: application/json`: a stored (or page-linked) answer.
    Json(Bytes),
    /// The upstream's own answer, to send unchanged.
    Upstream(UpstreamResponse),
}

/// The answer to a query request plus its cache outcome.
#[derive(Debug, Clone)]
pub struct Served {
    pub outcome: CacheOutcome,
    /// Why the cache was bypassed (for the access log), when it was.
    pub bypass: Option<BypassReason>,
    pub reply: Reply,
}
