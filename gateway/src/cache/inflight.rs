//! Coalescing of concurrent identical misses: the first request for a key
//! runs the fill, every request that arrives while it runs waits for the same
//! outcome (stored answer, unstorable answer or error) instead of calling the
//! upstream again.
//!
//! Why not moka's `future::Cache::try_get_with`: it only exists on moka's
//! async cache, whose `get` is an `async fn` with a 728-byte future that every
//! request would carry. The hit path is far hotter than the miss path, so the
//! stored answers live in moka's synchronous cache (a hit is a plain call)
//! and coalescing lives here: a briefly held mutex around a map of
//! `tokio::sync::OnceCell`s, touched only on a miss. `OnceCell::get_or_init`
//! gives the semantics needed: one fill at a time; if the request running it
//! is cancelled (client gone), a waiting request takes the fill over; a
//! finished outcome — an error included — is shared by every waiter.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::OnceCell;

use super::key::CacheKey;

type Cells<T> = HashMap<CacheKey, Arc<OnceCell<Arc<T>>>>;

/// Fills in progress, by cache key; `T` is a fill's outcome.
pub(crate) struct InFlight<T> {
    fills: Mutex<Cells<T>>,
}

impl<T> Default for InFlight<T> {
    fn default() -> Self {
        InFlight {
            fills: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Send + Sync> InFlight<T> {
    /// Runs `fill` for `key` unless an identical fill is already running, in
    /// which case its outcome is awaited. Returns the outcome and whether
    /// this call ran the fill (`false`: coalesced onto another request's).
    pub async fn run<F, Fut>(&self, key: CacheKey, fill: F) -> (Arc<T>, bool)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let cell = self
            .lock()
            .entry(key)
            .or_insert_with(|| Arc::new(OnceCell::new()))
            .clone();
        let mut ran = false;
        let outcome = cell
            .get_or_init(|| {
                ran = true;
                async move { Arc::new(fill().await) }
            })
            .await
            .clone();
        // Finished: the next miss for this key starts a fresh fill (a stored
        // answer is in the main cache by now; an unstorable one must not be
        // served to requests that come later).
        let mut fills = self.lock();
        if fills.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            fills.remove(&key);
        }
        (outcome, ran)
    }

    /// Fills running now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, Cells<T>> {
        // Every critical section is one insert or remove, so the map is
        // consistent even after a panic elsewhere: a poisoned lock is usable.
        self.fills.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_fills_of_one_key_run_once_and_share_the_outcome() {
        let inflight = Arc::new(InFlight::<Result<u32, String>>::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (inflight, calls) = (inflight.clone(), calls.clone());
                tokio::spawn(async move {
                    inflight
                        .run(CacheKey(1), || async {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Err::<u32, _>("upstream down".to_owned())
                        })
                        .await
                })
            })
            .collect();
        let mut ran = 0;
        for t in tasks {
            let (outcome, this_ran) = t.await.unwrap();
            assert_eq!(
                *outcome,
                Err("upstream down".to_owned()),
                "errors are shared too"
            );
            ran += usize::from(this_ran);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(ran, 1);
        assert_eq!(inflight.len(), 0, "a finished fill leaves the map");
    }

    #[tokio::test]
    async fn a_later_miss_fills_afresh_and_other_keys_never_wait() {
        let inflight = InFlight::<u32>::default();
        let (a, ran_a) = inflight.run(CacheKey(1), || async { 1 }).await;
        let (b, ran_b) = inflight.run(CacheKey(1), || async { 2 }).await;
        assert_eq!((*a, ran_a, *b, ran_b), (1, true, 2, true));
        let (c, _) = inflight.run(CacheKey(2), || async { 3 }).await;
        assert_eq!(*c, 3);
    }

    #[tokio::test]
    async fn a_cancelled_fill_is_taken_over_by_a_waiter() {
        let inflight = Arc::new(InFlight::<u32>::default());
        let first = {
            let inflight = inflight.clone();
            tokio::spawn(async move {
                inflight
                    .run(CacheKey(9), || async {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        1
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let second = {
            let inflight = inflight.clone();
            tokio::spawn(async move { inflight.run(CacheKey(9), || async { 2 }).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        first.abort();
        let (outcome, ran) = second.await.unwrap();
        assert_eq!((*outcome, ran), (2, true));
    }
}
