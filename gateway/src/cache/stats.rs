//! Cache counters: relaxed atomics bumped on the hot path (no locks, no
//! allocation), read as a [`CacheStats`] snapshot by `GET /metrics` and tests.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters, shared by the cache, its memo and its eviction listener.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub bypasses: AtomicU64,
    /// Requests that waited on another request's identical miss.
    pub coalesced: AtomicU64,
    /// `no-cache` requests that fetched fresh and stored the answer.
    pub refreshes: AtomicU64,
    /// Upstream answers that were served but not stored.
    pub not_stored: AtomicU64,
    /// Entries removed to stay under the byte bound.
    pub evictions: AtomicU64,
    /// Entries removed because their TTL passed.
    pub expirations: AtomicU64,
    pub purges: AtomicU64,
    pub memo_hits: AtomicU64,
    pub memo_misses: AtomicU64,
    /// Next-batch requests answered from the cache / not found there.
    pub pages_served: AtomicU64,
    pub pages_gone: AtomicU64,
}

/// A point-in-time copy of the counters plus the cache's size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub bypasses: u64,
    pub coalesced: u64,
    pub refreshes: u64,
    pub not_stored: u64,
    pub evictions: u64,
    pub expirations: u64,
    pub purges: u64,
    pub memo_hits: u64,
    pub memo_misses: u64,
    pub pages_served: u64,
    pub pages_gone: u64,
    /// Current weighted size (body bytes + overhead) of the main cache.
    pub bytes: u64,
    pub entries: u64,
    /// Multi-batch results held for clients paging through them.
    pub cursor_entries: u64,
    pub memo_entries: u64,
}

impl Counters {
    pub fn snapshot(&self) -> CacheStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheStats {
            hits: get(&self.hits),
            misses: get(&self.misses),
            bypasses: get(&self.bypasses),
            coalesced: get(&self.coalesced),
            refreshes: get(&self.refreshes),
            not_stored: get(&self.not_stored),
            evictions: get(&self.evictions),
            expirations: get(&self.expirations),
            purges: get(&self.purges),
            memo_hits: get(&self.memo_hits),
            memo_misses: get(&self.memo_misses),
            pages_served: get(&self.pages_served),
            pages_gone: get(&self.pages_gone),
            ..CacheStats::default()
        }
    }
}

/// Bumps a counter by one (relaxed: counters order nothing).
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
