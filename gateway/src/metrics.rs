//! Gateway metrics in the Prometheus text format (`GET /metrics`).
//!
//! Why hand-rolled atomics rather than a metrics crate: every label set is
//! known up front (routes are registered at startup, statuses are 100..=599,
//! reasons are enums), so each series is a fixed slot in an array of
//! `AtomicU64`. Recording is a few relaxed atomic adds — no lock, no map
//! lookup, no allocation on the hot path; only rendering allocates.
//!
//! # How to wire this in
//!
//! * At startup: `let metrics = Arc::new(Metrics::new(&["query", "query-next-batch",
//!   "ingest", …]))` with the proxy's route names, and resolve each name once
//!   with [`Metrics::route`] into a [`RouteId`] kept beside the route
//!   (unknown names map to `other`).
//! * Per request, after the response is known:
//!   `metrics.record_request(route_id, status, started.elapsed())`.
//! * Token refresher: [`Metrics::record_token_fetch`] /
//!   [`Metrics::record_token_failure`]. Retries: pass
//!   `move |reason| metrics.record_retry(reason)` to `RetryPolicy::on_retry`.
//!   Ingestion: [`Metrics::record_chunks`] with the aggregate. Rate limiter:
//!   [`Metrics::record_ratelimit_wait`] when `acquire` waited,
//!   [`Metrics::record_ratelimit_rejection`] when it refused.
//! * `GET /metrics`: answer `200`, `content-type:` [`CONTENT_TYPE`], body
//!   `metrics.render(Some(&cache.stats()))` (`None` when the cache is off).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::StatusCode;

use crate::ingest::{Aggregate, ChunkOutcome};
use crate::retry::RetryReason;

/// The `content-type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (seconds) of the latency histogram buckets; `+Inf` is implied.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The same bounds in nanoseconds, for the comparison on the hot path.
const LATENCY_BUCKETS_NS: [u64; 14] = [
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

const STATUS_SLOTS: usize = 500; // 100..=599

/// A registered route label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteId(usize);

/// Which token a fetch was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// The core (Salesforce) access token from `/services/oauth2/token`.
    Core,
    /// The Data Cloud token from `/services/a360/token`.
    DataCloud,
}

impl TokenKind {
    const ALL: [TokenKind; 2] = [TokenKind::Core, TokenKind::DataCloud];

    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Core => "core",
            TokenKind::DataCloud => "data_cloud",
        }
    }
}

/// Why a token fetch failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFailure {
    /// Could not connect or the connection broke.
    Transport,
    /// No answer in time.
    Timeout,
    /// The OAuth server refused (4xx, e.g. `invalid_grant`).
    Rejected,
    /// The OAuth server failed (5xx).
    ServerError,
    /// A 200 whose body was not a usable token response.
    BadResponse,
}

impl TokenFailure {
    const ALL: [TokenFailure; 5] = [
        TokenFailure::Transport,
        TokenFailure::Timeout,
        TokenFailure::Rejected,
        TokenFailure::ServerError,
        TokenFailure::BadResponse,
    ];

    fn as_str(self) -> &'static str {
        match self {
            TokenFailure::Transport => "transport",
            TokenFailure::Timeout => "timeout",
            TokenFailure::Rejected => "rejected",
            TokenFailure::ServerError => "server_error",
            TokenFailure::BadResponse => "bad_response",
        }
    }
}

const CHUNK_OUTCOMES: [ChunkOutcome; 3] = [
    ChunkOutcome::Accepted,
    ChunkOutcome::Failed,
    ChunkOutcome::Unknown,
];

/// Per-route series: request counts by status and the latency histogram.
struct RouteSeries {
    by_status: Box<[AtomicU64]>,
    buckets: [AtomicU64; LATENCY_BUCKETS_NS.len() + 1],
    latency_sum_ns: AtomicU64,
}

impl RouteSeries {
    fn new() -> Self {
        RouteSeries {
            by_status: (0..STATUS_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            buckets: Default::default(),
            latency_sum_ns: AtomicU64::new(0),
        }
    }
}

/// All gateway metrics. Share with `Arc`.
pub struct Metrics {
    route_names: Box<[&'static str]>,
    routes: Box<[RouteSeries]>,
    token_fetches: [AtomicU64; 2],
    token_failures: [[AtomicU64; 5]; 2],
    retries: [AtomicU64; RetryReason::ALL.len()],
    chunks: [AtomicU64; 3],
    ratelimit_waits: AtomicU64,
    ratelimit_wait_ns: AtomicU64,
    ratelimit_rejections: AtomicU64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("routes", &self.route_names)
            .finish_non_exhaustive()
    }
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl Metrics {
    /// Registers the route labels (plus `other` for anything else).
    pub fn new(routes: &[&'static str]) -> Self {
        let mut names: Vec<&'static str> = routes.to_vec();
        if !names.contains(&"other") {
            names.push("other");
        }
        Metrics {
            routes: names.iter().map(|_| RouteSeries::new()).collect(),
            route_names: names.into_boxed_slice(),
            token_fetches: Default::default(),
            token_failures: Default::default(),
            retries: Default::default(),
            chunks: Default::default(),
            ratelimit_waits: AtomicU64::new(0),
            ratelimit_wait_ns: AtomicU64::new(0),
            ratelimit_rejections: AtomicU64::new(0),
        }
    }

    /// The id of a registered route, or of `other`. Resolve once, at startup.
    pub fn route(&self, name: &str) -> RouteId {
        let index = self.route_names.iter().position(|n| *n == name);
        RouteId(index.unwrap_or_else(|| self.other()))
    }

    fn other(&self) -> usize {
        self.route_names
            .iter()
            .position(|n| *n == "other")
            .unwrap_or(self.route_names.len() - 1)
    }

    /// Counts one finished request and its latency.
    pub fn record_request(&self, route: RouteId, status: StatusCode, latency: Duration) {
        let Some(series) = self.routes.get(route.0) else {
            return;
        };
        let slot = usize::from(status.as_u16()).saturating_sub(100);
        if let Some(counter) = series.by_status.get(slot) {
            add(counter, 1);
        }
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BUCKETS_NS
            .iter()
            .position(|bound| ns <= *bound)
            .unwrap_or(LATENCY_BUCKETS_NS.len());
        add(&series.buckets[bucket], 1);
        add(&series.latency_sum_ns, ns);
    }

    pub fn record_token_fetch(&self, kind: TokenKind) {
        add(&self.token_fetches[kind as usize], 1);
    }

    pub fn record_token_failure(&self, kind: TokenKind, reason: TokenFailure) {
        add(&self.token_failures[kind as usize][reason as usize], 1);
    }

    pub fn record_retry(&self, reason: RetryReason) {
        add(&self.retries[reason as usize], 1);
    }

    /// Counts the chunks of one split ingestion request by outcome.
    pub fn record_chunks(&self, aggregate: &Aggregate) {
        for (i, outcome) in CHUNK_OUTCOMES.iter().enumerate() {
            add(&self.chunks[i], aggregate.chunks(*outcome) as u64);
        }
    }

    pub fn record_ratelimit_wait(&self, waited: Duration) {
        add(&self.ratelimit_waits, 1);
        add(
            &self.ratelimit_wait_ns,
            u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX),
        );
    }

    pub fn record_ratelimit_rejection(&self) {
        add(&self.ratelimit_rejections, 1);
    }
}

mod render;

#[cfg(test)]
mod tests;
