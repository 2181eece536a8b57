//! Politeness on failure: which upstream outcomes are retried, and how long
//! to wait between tries.
//!
//! Only idempotent requests (queries, `GET`s) are retried on `429`, `502`,
//! `503`, `504`, connection failures and timeouts; a non-idempotent request
//! only when the connection failed before anything was sent. Waits use
//! exponential backoff with full jitter (a uniformly random wait up to
//! `base · 2^n`, capped), which spreads clients out instead of having them
//! retry in lockstep; a `Retry-After` (seconds or HTTP-date) is a floor on the
//! wait. Tries are bounded in count and in total time: a wait that would end
//! past the budget is not taken and the last outcome is returned as is. All
//! waiting is `tokio::time`, so tests drive it with paused time.
//!
//! # How to wire this in
//!
//! Build one [`RetryPolicy`] from config at startup (optionally with
//! [`RetryPolicy::on_retry`] feeding `Metrics::record_retry`). Implement
//! [`Retryable`] for the proxy's upstream error type (map connect errors to
//! [`Outcome::ConnectFailed`], timeouts to [`Outcome::TimedOut`], anything
//! after the request was written to [`Outcome::Failed`]); `Result`,
//! `http::Response` and [`UpstreamResponse`] already implement it. Then wrap
//! one upstream exchange (build the request inside the closure, so each try
//! sends a fresh one):
//! ```text
//! let resp = with_retry(&policy, RequestClass::Idempotent, || send(build_request())).await;
//! ```
//! Use `RequestClass::Idempotent` for query `POST`s and all `GET`s, and
//! [`RequestClass::of`] otherwise. Do not wrap ingestion chunk sends: the
//! chunk driver in `ingest` has its own stricter rule (429/503 only).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::header::RETRY_AFTER;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use rand::Rng;

use crate::cache::UpstreamResponse;

/// Called once per retry (before its wait), e.g. to count retries by reason.
pub type RetryObserver = Arc<dyn Fn(RetryReason) + Send + Sync>;

/// Bounds on retrying.
#[derive(Clone)]
pub struct RetryPolicy {
    /// Tries in total, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Cap of the first jittered wait; doubles per retry.
    pub base_delay: Duration,
    /// Cap of any single backoff wait (a longer `Retry-After` still wins).
    pub max_delay: Duration,
    /// Budget for all tries and waits together.
    pub max_total: Duration,
    pub observer: Option<RetryObserver>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            max_total: Duration::from_secs(10),
            observer: None,
        }
    }
}

impl std::fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .field("max_total", &self.max_total)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl RetryPolicy {
    /// Adds an observer called on every retry.
    pub fn on_retry(mut self, observer: impl Fn(RetryReason) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// The backoff cap before retry number `retry` (0-based): `base · 2^retry`,
    /// at most `max_delay`.
    pub fn backoff_cap(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(30)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// A full-jitter wait before retry number `retry`, floored by `retry_after`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let cap = self.backoff_cap(retry);
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        let jittered = Duration::from_nanos(rand::rng().random_range(0..=nanos));
        retry_after.map_or(jittered, |floor| jittered.max(floor))
    }
}

/// Whether repeating a request can change server state twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestClass {
    /// Safe to repeat: queries (read-only `POST`s) and `GET`/`HEAD`/`OPTIONS`.
    Idempotent,
    /// Everything else (ingestion, token calls, job changes).
    NonIdempotent,
}

impl RequestClass {
    /// By method alone; the proxy marks query `POST`s `Idempotent` itself.
    pub fn of(method: &Method) -> Self {
        if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
            RequestClass::Idempotent
        } else {
            RequestClass::NonIdempotent
        }
    }
}

/// What one try produced, as far as retrying is concerned.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    Response {
        status: StatusCode,
        headers: &'a HeaderMap,
    },
    /// The connection (TCP/TLS) failed: nothing was sent.
    ConnectFailed,
    /// No answer in time; the request may have been processed.
    TimedOut,
    /// Any other failure after the request was (possibly) sent.
    Failed,
}

/// Why a retry happened (metrics label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    TooManyRequests,
    BadGateway,
    Unavailable,
    GatewayTimeout,
    Connect,
    Timeout,
}

impl RetryReason {
    pub const ALL: [RetryReason; 6] = [
        RetryReason::TooManyRequests,
        RetryReason::BadGateway,
        RetryReason::Unavailable,
        RetryReason::GatewayTimeout,
        RetryReason::Connect,
        RetryReason::Timeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RetryReason::TooManyRequests => "429",
            RetryReason::BadGateway => "502",
            RetryReason::Unavailable => "503",
            RetryReason::GatewayTimeout => "504",
            RetryReason::Connect => "connect",
            RetryReason::Timeout => "timeout",
        }
    }
}

/// The verdict on one try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Done,
    Retry {
        reason: RetryReason,
        /// The upstream's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
}

/// Decides whether to retry after `outcome`. `now` turns an HTTP-date
/// `Retry-After` into a wait.
pub fn decide(class: RequestClass, outcome: Outcome<'_>, now: SystemTime) -> Decision {
    let retry = |reason| Decision::Retry {
        reason,
        retry_after: None,
    };
    match (class, outcome) {
        (_, Outcome::ConnectFailed) => retry(RetryReason::Connect),
        (RequestClass::NonIdempotent, _) => Decision::Done,
        (RequestClass::Idempotent, Outcome::TimedOut) => retry(RetryReason::Timeout),
        (RequestClass::Idempotent, Outcome::Failed) => Decision::Done,
        (RequestClass::Idempotent, Outcome::Response { status, headers }) => {
            let reason = match status {
                StatusCode::TOO_MANY_REQUESTS => RetryReason::TooManyRequests,
                StatusCode::BAD_GATEWAY => RetryReason::BadGateway,
                StatusCode::SERVICE_UNAVAILABLE => RetryReason::Unavailable,
                StatusCode::GATEWAY_TIMEOUT => RetryReason::GatewayTimeout,
                _ => return Decision::Done,
            };
            Decision::Retry {
                reason,
                retry_after: headers
                    .get(RETRY_AFTER)
                    .and_then(|v| parse_retry_after(v, now)),
            }
        }
    }
}

/// `Retry-After: <seconds>` or `Retry-After: <HTTP-date>` as a wait from `now`
/// (a date in the past is a zero wait).
pub fn parse_retry_after(value: &HeaderValue, now: SystemTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Anything a try can produce that says how it went.
pub trait Retryable {
    fn outcome(&self) -> Outcome<'_>;
}

impl<B> Retryable for http::Response<B> {
    fn outcome(&self) -> Outcome<'_> {
        Outcome::Response {
            status: self.status(),
            headers: self.headers(),
        }
    }
}

impl Retryable for UpstreamResponse {
    fn outcome(&self) -> Outcome<'_> {
        Outcome::Response {
            status: self.status,
            headers: &self.headers,
        }
    }
}

impl<T: Retryable, E: Retryable> Retryable for Result<T, E> {
    fn outcome(&self) -> Outcome<'_> {
        match self {
            Ok(value) => value.outcome(),
            Err(error) => error.outcome(),
        }
    }
}

/// Runs `op` until its outcome is final, the attempts are used up, or the
/// next wait would overrun the time budget; returns the last outcome.
pub async fn with_retry<T, Op, Fut>(policy: &RetryPolicy, class: RequestClass, op: Op) -> T
where
    T: Retryable,
    Op: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    with_retry_by(policy, op, |result| {
        decide(class, result.outcome(), SystemTime::now())
    })
    .await
}

/// [`with_retry`] with a caller-supplied judgement of each try.
pub async fn with_retry_by<T, Op, Fut, J>(policy: &RetryPolicy, mut op: Op, judge: J) -> T
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = T>,
    J: Fn(&T) -> Decision,
{
    let start = tokio::time::Instant::now();
    let mut attempt = 1;
    loop {
        let result = op().await;
        let Decision::Retry {
            reason,
            retry_after,
        } = judge(&result)
        else {
            return result;
        };
        if attempt >= policy.max_attempts {
            return result;
        }
        let wait = policy.delay(attempt - 1, retry_after);
        if start.elapsed().saturating_add(wait) > policy.max_total {
            return result;
        }
        if let Some(observer) = &policy.observer {
            observer(reason);
        }
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests;
