//! The per-request context every phase reads and writes: identity of the
//! request (id, route, client), what happened (cache outcome, upstream
//! time, retry) — everything the access log line reports.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderValue, Method};

use super::route::Route;

/// The `x-request-id` header.
pub const X_REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");

/// What the cache did for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Not a cacheable request.
    None,
    Hit,
    Miss,
    /// Cacheable kind, but skipped (e.g. `Cache-Control: no-cache`).
    Bypass,
}

impl From<crate::cache::CacheOutcome> for CacheOutcome {
    fn from(o: crate::cache::CacheOutcome) -> Self {
        match o {
            crate::cache::CacheOutcome::Hit => CacheOutcome::Hit,
            crate::cache::CacheOutcome::Miss => CacheOutcome::Miss,
            crate::cache::CacheOutcome::Bypass => CacheOutcome::Bypass,
        }
    }
}

impl CacheOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheOutcome::None => "none",
            CacheOutcome::Hit => "hit",
            CacheOutcome::Miss => "miss",
            CacheOutcome::Bypass => "bypass",
        }
    }
}

/// Per-request state carried through the phases.
#[derive(Debug)]
pub struct Context {
    pub request_id: HeaderValue,
    pub started: Instant,
    pub peer: SocketAddr,
    pub method: Method,
    pub route: Route,
    /// Name of the admitted client (`open` in open mode).
    pub client: Option<Arc<str>>,
    pub cache: CacheOutcome,
    /// Upstream timing and outcome, shared with the closures the cache and
    /// the ingestion driver call (hence atomics, not `&mut`).
    pub upstream: Upstream,
}

/// What happened upstream for one request.
#[derive(Debug, Default)]
pub struct Upstream {
    /// Nanoseconds spent waiting for upstream response heads (all calls).
    nanos: AtomicU64,
    /// Upstream calls made.
    calls: AtomicU64,
    /// Status of the last upstream response (0: none).
    status: AtomicU16,
    /// The request was sent again after a 401 with a fresh token.
    retried: AtomicBool,
}

impl Upstream {
    /// Records one upstream call that took `d` and answered `status`.
    pub fn record(&self, d: Duration, status: Option<u16>) {
        self.nanos.fetch_add(
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.calls.fetch_add(1, Ordering::Relaxed);
        if let Some(s) = status {
            self.status.store(s, Ordering::Relaxed);
        }
    }

    pub fn mark_retried(&self) {
        self.retried.store(true, Ordering::Relaxed);
    }

    /// Total upstream time, `None` when nothing went upstream.
    pub fn time(&self) -> Option<Duration> {
        (self.calls.load(Ordering::Relaxed) > 0)
            .then(|| Duration::from_nanos(self.nanos.load(Ordering::Relaxed)))
    }

    pub fn status(&self) -> Option<u16> {
        Some(self.status.load(Ordering::Relaxed)).filter(|s| *s != 0)
    }

    pub fn retried(&self) -> bool {
        self.retried.load(Ordering::Relaxed)
    }
}

impl Context {
    pub fn new(peer: SocketAddr, method: Method, route: Route, request_id: HeaderValue) -> Self {
        Context {
            request_id,
            started: Instant::now(),
            peer,
            method,
            route,
            client: None,
            cache: CacheOutcome::None,
            upstream: Upstream::default(),
        }
    }
}

/// The incoming `x-request-id` when it is sane, else a fresh one. Marked
/// sensitive: not a secret, but unique per request, so HTTP/2's HPACK should
/// send it as a never-indexed literal instead of churning its header table.
pub fn request_id(incoming: Option<&HeaderValue>) -> HeaderValue {
    let mut id = pick_request_id(incoming);
    id.set_sensitive(true);
    id
}

fn pick_request_id(incoming: Option<&HeaderValue>) -> HeaderValue {
    if let Some(v) = incoming {
        let ok = v.len() <= 128
            && v.as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        if ok && !v.is_empty() {
            return v.clone();
        }
    }
    fresh_request_id()
}

/// A new request id: 32 hex digits, a per-process random half and a counter
/// half, so ids are unique within a process and unlikely to repeat across
/// restarts. Encoded by hand: this runs for every request that comes
/// without an id, and `format!` would cost more than the rest of a cache hit's
/// bookkeeping.
fn fresh_request_id() -> HeaderValue {
    static PREFIX: std::sync::LazyLock<u64> = std::sync::LazyLock::new(rand::random);
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut out = [0u8; 32];
    for (i, word) in [*PREFIX, n].into_iter().enumerate() {
        for (j, byte) in word.to_be_bytes().into_iter().enumerate() {
            out[i * 16 + j * 2] = HEX[usize::from(byte >> 4)];
            out[i * 16 + j * 2 + 1] = HEX[usize::from(byte & 0xf)];
        }
    }
    HeaderValue::from_bytes(&out).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_sane_ids_and_replaces_others() {
        let keep = HeaderValue::from_static("abc-123");
        assert_eq!(request_id(Some(&keep)), keep);
        let bad = HeaderValue::from_static("a b");
        assert_ne!(request_id(Some(&bad)), bad);
        assert_eq!(request_id(None).len(), 32);
        // Fresh ids are unique and plain lower-case hex.
        let (a, b) = (request_id(None), request_id(None));
        assert_ne!(a, b);
        assert!(a
            .as_bytes()
            .iter()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }
}
