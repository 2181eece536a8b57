//! An upstream token bucket that keeps the org under its API quota.
//!
//! Every upstream call first takes a token; tokens refill at
//! `requests_per_second` up to `burst`. Implemented as GCRA (the "virtual
//! scheduling" form of a token bucket): one atomic holds the theoretical
//! arrival time of the next request, and a compare-and-swap reserves a slot —
//! no lock, no allocation, O(1). A caller whose slot is in the future sleeps
//! until it (`tokio::time`, so tests use paused time); a caller whose wait
//! would exceed `max_wait` reserves nothing and gets [`RateLimited`] with the
//! wait as its `Retry-After`, so the proxy can answer `429` itself instead of
//! queueing without bound. A dropped waiter's slot is not given back, which
//! errs on the side of the quota.
//!
//! # How to wire this in
//!
//! Build one `RateLimiter::new(RateLimitConfig { .. })` at startup (share by
//! `Arc` or clone; clones share the bucket) when limiting is configured. Just
//! before each upstream call (inside a `with_retry` closure, so retries pay
//! too): `match limiter.acquire().await { Ok(waited) => …, Err(limited) => …
//! }`. On `Ok`, record `waited` in metrics when non-zero. On `Err`, answer
//! `429` with `Retry-After: limited.retry_after_secs()` and the tenant body
//! `{"error":"Too many requests","message":"Too many requests",…}`, and
//! record the rejection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

/// Bucket settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimitConfig {
    /// Sustained rate (> 0).
    pub requests_per_second: f64,
    /// Requests allowed back to back after an idle period (≥ 1).
    pub burst: u32,
    /// Longest a caller is made to wait before being refused.
    pub max_wait: Duration,
}

/// The limiter refused: the wait for a slot was longer than `max_wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("upstream rate limit: next slot in {retry_after:?}")]
pub struct RateLimited {
    pub retry_after: Duration,
}

impl RateLimited {
    /// Whole seconds for a `Retry-After` header, rounded up, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs();
        let rounded = if self.retry_after.subsec_nanos() > 0 {
            secs + 1
        } else {
            secs
        };
        rounded.max(1)
    }
}

/// A shared GCRA token bucket. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Time zero for `tat` (tokio's clock, so paused time applies).
    origin: Instant,
    /// Nanoseconds between two requests at the sustained rate.
    interval: u64,
    /// How far ahead of now the schedule may run without waiting: burst × interval.
    tolerance: u64,
    max_wait: u64,
    /// Theoretical arrival time of the next request, in ns since `origin`.
    tat: AtomicU64,
}

impl RateLimiter {
    /// Panics never; nonsensical settings are clamped (rate to ≥ 1e-3/s, burst to ≥ 1).
    pub fn new(config: RateLimitConfig) -> Self {
        let rate = if config.requests_per_second.is_finite() {
            config.requests_per_second.max(1e-3)
        } else {
            1e9
        };
        let interval = ((1e9 / rate) as u64).max(1);
        RateLimiter {
            inner: Arc::new(Inner {
                origin: Instant::now(),
                interval,
                tolerance: interval.saturating_mul(u64::from(config.burst.max(1))),
                max_wait: u64::try_from(config.max_wait.as_nanos()).unwrap_or(u64::MAX),
                tat: AtomicU64::new(0),
            }),
        }
    }

    /// Takes a slot, waiting for it if needed; returns how long it waited.
    pub async fn acquire(&self) -> Result<Duration, RateLimited> {
        let wait = self.reserve()?;
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(wait)
    }

    /// Reserves a slot without waiting: the returned duration is how long the
    /// caller must wait before using it (zero = now).
    pub fn reserve(&self) -> Result<Duration, RateLimited> {
        let inner = &*self.inner;
        let now = u64::try_from(inner.origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let mut tat = inner.tat.load(Ordering::Acquire);
        loop {
            let next = tat.max(now).saturating_add(inner.interval);
            let wait = next.saturating_sub(now).saturating_sub(inner.tolerance);
            if wait > inner.max_wait {
                return Err(RateLimited {
                    retry_after: Duration::from_nanos(wait),
                });
            }
            match inner
                .tat
                .compare_exchange_weak(tat, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(Duration::from_nanos(wait)),
                Err(current) => tat = current,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rps: f64, burst: u32, max_wait_ms: u64) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            requests_per_second: rps,
            burst,
            max_wait: Duration::from_millis(max_wait_ms),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn burst_then_sustained_rate() {
        let limiter = limiter(10.0, 3, 1000);
        for _ in 0..3 {
            assert_eq!(limiter.acquire().await, Ok(Duration::ZERO));
        }
        let start = Instant::now();
        assert_eq!(limiter.acquire().await, Ok(Duration::from_millis(100)));
        assert_eq!(limiter.acquire().await, Ok(Duration::from_millis(100)));
        assert_eq!(start.elapsed(), Duration::from_millis(200));
        // Idle refills the bucket up to the burst, no further.
        tokio::time::sleep(Duration::from_secs(10)).await;
        for _ in 0..3 {
            assert_eq!(limiter.acquire().await, Ok(Duration::ZERO));
        }
        assert!(limiter.acquire().await.expect("slot") > Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn refuses_waits_longer_than_the_bound() {
        let limiter = limiter(2.0, 1, 600);
        assert_eq!(limiter.reserve(), Ok(Duration::ZERO));
        assert_eq!(limiter.reserve(), Ok(Duration::from_millis(500)));
        let refused = limiter.reserve().expect_err("1 s > 600 ms");
        assert_eq!(refused.retry_after, Duration::from_secs(1));
        assert_eq!(refused.retry_after_secs(), 1);
        // A refusal reserves nothing: after the queued slot passes, one more fits.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(limiter.reserve(), Ok(Duration::from_millis(500)));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_are_spaced_out() {
        let limiter = limiter(100.0, 1, 10_000);
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let limiter = limiter.clone();
            tasks.push(tokio::spawn(async move { limiter.acquire().await }));
        }
        let mut waits = Vec::new();
        for task in tasks {
            waits.push(task.await.expect("task").expect("slot"));
        }
        waits.sort();
        let expected: Vec<Duration> = (0..50).map(|i| Duration::from_millis(10 * i)).collect();
        assert_eq!(waits, expected, "every slot taken exactly once");
        assert_eq!(start.elapsed(), Duration::from_millis(490));
    }

    #[test]
    fn retry_after_rounds_up() {
        let secs = |ms| {
            RateLimited {
                retry_after: Duration::from_millis(ms),
            }
            .retry_after_secs()
        };
        assert_eq!((secs(1), secs(1000), secs(1001), secs(0)), (1, 1, 2, 1));
    }
}
