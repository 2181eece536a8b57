//! One credential's current token, fetched at most once at a time, and kept
//! fresh in the background.
//!
//! The hot path is [`TokenCell::valid`]: an atomic load of an `Arc` (arc-swap),
//! no lock. Only a missing, expired or rejected token sends a caller into
//! [`TokenCell::fetch`], which is single-flight: callers queue on one async
//! mutex, the first one fetches, and everyone who queued while that fetch ran
//! takes its result — success or failure — instead of fetching again. So 200
//! concurrent first requests make one upstream call.
//!
//! [`run`] is the background task: it sleeps until the token's refresh time
//! (a jittered fraction of its lifetime, see `RefreshPolicy`), replaces it,
//! and on failure retries with a capped backoff while the old token (if still
//! valid) keeps serving.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;

use super::{Token, TokenError};

/// A failure is handed to request-path callers for this long before they
/// try again, so a dead upstream is not hammered by every request.
const FAILURE_HOLD: Duration = Duration::from_millis(500);

/// Longest wait between background retries after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The current token of one credential.
pub struct TokenCell {
    /// For logs: `core` or `data_cloud:<dataspace>`.
    pub label: String,
    current: ArcSwapOption<Token>,
    /// Held while fetching; remembers the last failure.
    flight: Mutex<Option<(Instant, TokenError)>>,
    /// Completed fetch attempts, to tell waiters a fetch ran while they queued.
    attempts: AtomicU64,
    /// Wakes the background task when a request path replaced the token.
    renewed: Notify,
}

impl TokenCell {
    pub fn new(label: impl Into<String>) -> Self {
        TokenCell {
            label: label.into(),
            current: ArcSwapOption::empty(),
            flight: Mutex::new(None),
            attempts: AtomicU64::new(0),
            renewed: Notify::new(),
        }
    }

    /// The current token if it is still usable: the hot path.
    pub fn valid(&self) -> Option<Arc<Token>> {
        self.current.load_full().filter(|t| t.usable())
    }

    /// The current token, usable or not.
    pub fn current(&self) -> Option<Arc<Token>> {
        self.current.load_full()
    }

    /// Returns a usable token other than `rejected`, fetching one (single
    /// flight) when needed. `hold_failures`: a failure younger than
    /// `FAILURE_HOLD` is returned instead of fetching again (request path).
    pub async fn fetch<F, Fut>(
        &self,
        rejected: Option<&Arc<Token>>,
        hold_failures: bool,
        fetch: F,
    ) -> Result<Arc<Token>, TokenError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Token, TokenError>>,
    {
        let acceptable = |t: &Arc<Token>| t.usable() && rejected.is_none_or(|r| !Arc::ptr_eq(r, t));
        let seen = self.attempts.load(Ordering::Acquire);
        let mut last_failure = self.flight.lock().await;
        if let Some(t) = self.current.load_full().filter(acceptable) {
            return Ok(t);
        }
        if self.attempts.load(Ordering::Acquire) != seen {
            // A fetch finished while we queued and gave nothing acceptable:
            // share its failure rather than fetching again.
            if let Some((_, e)) = last_failure.as_ref() {
                return Err(e.clone());
            }
        }
        if hold_failures {
            if let Some((at, e)) = last_failure.as_ref() {
                if at.elapsed() < FAILURE_HOLD {
                    return Err(e.clone());
                }
            }
        }
        let result = fetch().await;
        self.attempts.fetch_add(1, Ordering::Release);
        match result {
            Ok(token) => {
                let token = Arc::new(token);
                self.current.store(Some(token.clone()));
                *last_failure = None;
                if rejected.is_some() {
                    self.renewed.notify_waiters();
                }
                Ok(token)
            }
            Err(e) => {
                *last_failure = Some((Instant::now(), e.clone()));
                Err(e)
            }
        }
    }

    /// Forgets the token (e.g. the upstream revoked it).
    pub fn clear(&self) {
        self.current.store(None);
    }
}

/// Keeps `cell` fresh until the task is aborted. `fetch` makes one new token.
pub async fn run<F, Fut>(cell: Arc<TokenCell>, min_retry: Duration, fetch: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Token, TokenError>>,
{
    let mut failures: u32 = 0;
    loop {
        let wait = match cell.current() {
            Some(t) => t.refresh_at.saturating_duration_since(Instant::now()),
            None => Duration::ZERO,
        };
        if !wait.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = cell.renewed.notified() => continue,
            }
        }
        let current = cell.current();
        match cell.fetch(current.as_ref(), false, &fetch).await {
            Ok(t) => {
                failures = 0;
                tracing::debug!(
                    credential = %cell.label,
                    lifetime_secs = t.lifetime.as_secs_f64(),
                    "token refreshed"
                );
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let backoff = min_retry
                    .saturating_mul(1u32 << failures.min(10))
                    .min(MAX_BACKOFF);
                tracing::warn!(
                    credential = %cell.label,
                    step = e.step,
                    error = %e.failure,
                    retry_in_ms = backoff.as_millis() as u64,
                    "token refresh failed"
                );
                tokio::time::sleep(backoff).await;
            }
        }
    }
}
