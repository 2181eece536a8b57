//! The query cache: answers repeated read-only queries from memory.
//!
//! A `moka::sync::Cache` keyed by a 128-bit hash of the canonical query
//! (`cache/key.rs`), bounded by bytes (weigher = body bytes + overhead), with
//! a TTL, shared by clone. Concurrent identical misses coalesce into one
//! upstream call (`cache/inflight.rs`); data space and policy scope are in
//! the key, so coalescing never crosses them. A second small cache memoizes
//! raw body → key (`cache/memo.rs`): a hit costs a keyed 128-bit hash of the
//! raw request, two lookups and a `Bytes` clone, never a SQL parse, and never awaits —
//! [`QueryCache::lookup`] is a plain call. Multi-batch V2 results are fetched
//! whole and paged under gateway batch ids (`cache/pages.rs`). What may be
//! stored is decided by pure functions (`cache/policy.rs`).
//!
//! # How to wire this in
//!
//! * Build once: `let cache = QueryCache::new(CacheConfig { .. })`; clone it
//!   into each connection (clones share the same cache).
//! * `POST` whose path satisfies [`QueryEndpoint::classify`]: read the body
//!   (capped), resolve data space and the client's policy scope, then
//!   ```text
//!   let served = cache.serve(&QueryRequest { endpoint, api_version, data_space,
//!       policy_scope, query: uri.query().unwrap_or(""), headers: req.headers(), body: &body },
//!       || forward_buffered(post),                // one upstream POST (with_retry inside is fine)
//!       |batch_id| forward_buffered(get_batch(batch_id)), // GET …/query/{id} (or ssot/queryv2/{id})
//!   ).await;
//!   ```
//!   Both closures return `Result<UpstreamResponse, E>` with the body fully
//!   read; ask the upstream for `Accept-Encoding: identity` (encoded answers
//!   are never stored). `Err(e)` is the upstream transport error (→ 502).
//!   `Ok(served)`: set `x-cache: served.outcome.as_str()` ([`X_CACHE`]; a
//!   request that waited on an identical in-flight miss is a `HIT`); send
//!   `Reply::Json(bytes)` as `200` + `content-type: application/json`, and
//!   `Reply::Upstream(resp)` as is. `served.bypass` says why for the log.
//! * `GET` whose path satisfies [`QueryEndpoint::next_batch_path`] and whose id
//!   satisfies [`is_gateway_batch_id`]: `cache.next_batch(id, data_space,
//!   policy_scope)` → `Some(bytes)` is a `200` JSON page (`x-cache: HIT`),
//!   `None` a `404` JSON error like an expired upstream cursor (tenant host:
//!   `crate::ingest::tenant_error(404, "Not Found", …)`; core host: the
//!   `[{"errorCode":"NOT_FOUND",…}]` array). Other ids go upstream untouched.
//! * `DELETE /__gateway/cache[?table=Name]`: `cache.purge_all()` or
//!   `cache.purge_table(name)`.
//! * `GET /metrics`: `cache.stats()` → [`crate::metrics::Metrics::render`].

mod exchange;
mod inflight;
mod key;
mod memo;
mod pages;
mod policy;
mod stats;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use moka::notification::RemovalCause;
use moka::sync::Cache;

pub use exchange::{
    CacheConfig, CacheOutcome, QueryRequest, Reply, Served, UpstreamResponse, X_CACHE,
};
pub use key::{canonicalize_sql, CacheKey, CanonicalSql};
pub use pages::is_gateway_batch_id;
pub use policy::{request_directive, BypassReason, QueryEndpoint, RequestDirective};
pub use stats::CacheStats;

use inflight::InFlight;
use memo::{Memo, Verdict};
use pages::StoredResult;
use policy::Storability;
use stats::{bump, Counters};

/// Why a fill did not produce a storable entry; shared by coalesced waiters.
enum NotStored<E> {
    /// Serve this upstream answer unchanged.
    Upstream(UpstreamResponse),
    /// Serve page 0 (and later pages from the cursor cache), store nothing.
    Transient(Arc<StoredResult>),
    /// The upstream call itself failed.
    Failed(Arc<E>),
}

/// What [`QueryCache::lookup`] found.
pub enum Lookup {
    /// A stored answer (`x-cache: HIT`).
    Hit(Served),
    /// Not answered from memory: hand this to [`QueryCache::complete`].
    Miss(Pending),
}

/// What a request the cache could not answer needs next.
#[derive(Debug, Clone)]
pub enum Pending {
    /// Forward it; nothing is read or stored.
    Bypass(BypassReason),
    /// `no-cache`: fetch fresh, store the fresh answer.
    Refresh {
        key: CacheKey,
        tables: Arc<[String]>,
    },
    /// A miss: fetch (coalesced with identical misses) and store.
    Fill {
        key: CacheKey,
        tables: Arc<[String]>,
    },
}

/// The query cache. Cheap to clone; clones share everything. `E` is the
/// error type of the caller's upstream calls (shared by coalesced waiters).
pub struct QueryCache<E> {
    inner: Arc<Inner<E>>,
}

impl<E> Clone for QueryCache<E> {
    fn clone(&self) -> Self {
        QueryCache {
            inner: self.inner.clone(),
        }
    }
}

/// What one fill produced, shared by the requests coalesced onto it.
type FillOutcome<E> = Result<Arc<StoredResult>, NotStored<E>>;

struct Inner<E> {
    config: CacheConfig,
    /// Fills in progress (miss coalescing).
    inflight: InFlight<FillOutcome<E>>,
    main: Cache<CacheKey, Arc<StoredResult>>,
    /// Multi-batch results some client is paging through, by (key, generation).
    cursors: Cache<(CacheKey, u64), Arc<StoredResult>>,
    memo: Memo,
    counters: Arc<Counters>,
    generation: AtomicU64,
    /// Bumped by every purge; a fill that straddles a purge is served, not stored.
    epoch: AtomicU64,
}

impl<E: Send + Sync + 'static> QueryCache<E> {
    pub fn new(config: CacheConfig) -> Self {
        let counters = Arc::new(Counters::default());
        let listener_counters = counters.clone();
        let main = Cache::builder()
            .max_capacity(config.max_bytes)
            .weigher(|_k, v: &Arc<StoredResult>| v.weight)
            .time_to_live(config.ttl)
            .support_invalidation_closures()
            .eviction_listener(move |_k, _v, cause| match cause {
                RemovalCause::Size => bump(&listener_counters.evictions),
                RemovalCause::Expired => bump(&listener_counters.expirations),
                RemovalCause::Explicit | RemovalCause::Replaced => {}
            })
            .build();
        let cursors = Cache::builder()
            .max_capacity(config.cursor_max_bytes)
            .weigher(|_k, v: &Arc<StoredResult>| v.weight)
            .time_to_idle(config.cursor_idle)
            .time_to_live(config.cursor_ttl)
            .build();
        QueryCache {
            inner: Arc::new(Inner {
                memo: Memo::new(config.memo_max_bytes),
                inflight: InFlight::default(),
                config,
                main,
                cursors,
                counters,
                generation: AtomicU64::new(1),
                epoch: AtomicU64::new(0),
            }),
        }
    }

    /// Answers a query request from the cache or through `fetch` (see the
    /// module docs). `fetch_batch` is called only on a miss whose first answer
    /// is a V2 batch with `done:false`, once per remaining upstream batch id.
    ///
    /// The same as [`QueryCache::lookup`] followed, on a miss, by
    /// [`QueryCache::complete`]; callers with a hot path of their own use the
    /// two halves so a hit never builds the upstream request.
    pub async fn serve<F, Fut, B, BFut>(
        &self,
        req: &QueryRequest<'_>,
        fetch: F,
        fetch_batch: B,
    ) -> Result<Served, Arc<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<UpstreamResponse, E>>,
        B: Fn(String) -> BFut,
        BFut: Future<Output = Result<UpstreamResponse, E>>,
    {
        match self.lookup(req) {
            Lookup::Hit(served) => Ok(served),
            Lookup::Miss(pending) => self.complete(pending, req, fetch, fetch_batch).await,
        }
    }

    /// The read half of [`QueryCache::serve`]: a stored answer, or what the
    /// request needs instead (fill, refresh or pass through). Costs a hash of
    /// the raw request and two lookups; never parses SQL it has seen before,
    /// never waits (a plain call, so it adds nothing to the caller's future).
    pub fn lookup(&self, req: &QueryRequest<'_>) -> Lookup {
        let inner = &*self.inner;
        if !inner.config.enabled {
            return Lookup::Miss(Pending::Bypass(BypassReason::Disabled));
        }
        let directive = policy::request_directive(req.headers);
        if directive == RequestDirective::NoStore {
            return Lookup::Miss(Pending::Bypass(BypassReason::NoStore));
        }
        let arrow = policy::wants_arrow(req.headers);
        let (key, tables) = match inner.memo.resolve(req, arrow, &inner.counters) {
            Verdict::Cacheable { key, tables } => (key, tables),
            Verdict::Bypass(reason) => return Lookup::Miss(Pending::Bypass(reason)),
        };
        if directive == RequestDirective::Refresh {
            return Lookup::Miss(Pending::Refresh { key, tables });
        }
        match inner.main.get(&key) {
            Some(stored) => {
                bump(&inner.counters.hits);
                Lookup::Hit(self.reply_stored(key, &stored, CacheOutcome::Hit))
            }
            None => Lookup::Miss(Pending::Fill { key, tables }),
        }
    }

    /// The write half of [`QueryCache::serve`]: runs what `lookup` said the
    /// request needs. Concurrent identical fills coalesce into one `fetch`.
    pub async fn complete<F, Fut, B, BFut>(
        &self,
        pending: Pending,
        req: &QueryRequest<'_>,
        fetch: F,
        fetch_batch: B,
    ) -> Result<Served, Arc<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<UpstreamResponse, E>>,
        B: Fn(String) -> BFut,
        BFut: Future<Output = Result<UpstreamResponse, E>>,
    {
        let inner = &*self.inner;
        let (key, tables) = match pending {
            Pending::Bypass(reason) => return self.pass_through(fetch, reason).await,
            Pending::Refresh { key, tables } => {
                bump(&inner.counters.bypasses);
                bump(&inner.counters.refreshes);
                return match self.fill(key, &tables, req, fetch, &fetch_batch).await {
                    Ok(stored) => {
                        inner.main.insert(key, stored.clone());
                        Ok(self.reply_stored(key, &stored, CacheOutcome::Bypass))
                    }
                    Err(not_stored) => {
                        self.reply_not_stored(key, &not_stored, CacheOutcome::Bypass)
                    }
                };
            }
            Pending::Fill { key, tables } => (key, tables),
        };
        let fetched = AtomicBool::new(false);
        let (filled, ran) = inner
            .inflight
            .run(key, || async {
                // A fill that finished between our lookup and now left its
                // answer in the main cache: no upstream call needed.
                if let Some(stored) = inner.main.get(&key) {
                    return Ok(stored);
                }
                fetched.store(true, Ordering::Relaxed);
                let filled = self.fill(key, &tables, req, fetch, &fetch_batch).await;
                if let Ok(stored) = &filled {
                    inner.main.insert(key, stored.clone());
                }
                filled
            })
            .await;
        let outcome = if fetched.load(Ordering::Relaxed) {
            bump(&inner.counters.misses);
            CacheOutcome::Miss
        } else {
            // Answered without an upstream call: by another request's fill
            // (coalesced) or by one that finished just before ours started.
            if !ran {
                bump(&inner.counters.coalesced);
            }
            bump(&inner.counters.hits);
            CacheOutcome::Hit
        };
        match &*filled {
            Ok(stored) => Ok(self.reply_stored(key, stored, outcome)),
            Err(not_stored) => self.reply_not_stored(key, not_stored, outcome),
        }
    }

    /// Answers a `GET` for a gateway batch id, or `None` when the id is not
    /// ours, its result is gone, or it belongs to another data space / scope.
    pub fn next_batch(
        &self,
        batch_id: &str,
        data_space: &str,
        policy_scope: &str,
    ) -> Option<Bytes> {
        let inner = &*self.inner;
        let (key, generation, page) = pages::parse_batch_id(batch_id)?;
        let stored = match inner.cursors.get(&(key, generation)) {
            Some(stored) => Some(stored),
            None => inner.main.get(&key).filter(|s| s.generation == generation),
        };
        let page = stored.and_then(|s| s.later_page(page, data_space, policy_scope).cloned());
        bump(if page.is_some() {
            &inner.counters.pages_served
        } else {
            &inner.counters.pages_gone
        });
        page
    }

    /// Drops every stored answer (cursors being paged stay readable: they are
    /// snapshots, as upstream cursors are).
    pub fn purge_all(&self) {
        self.inner.epoch.fetch_add(1, Ordering::SeqCst);
        bump(&self.inner.counters.purges);
        self.inner.main.invalidate_all();
    }

    /// Drops every stored answer whose SQL reads `table` (case-insensitive;
    /// a bare name matches any schema).
    pub fn purge_table(&self, table: &str) {
        self.inner.epoch.fetch_add(1, Ordering::SeqCst);
        bump(&self.inner.counters.purges);
        let table = table.to_ascii_lowercase();
        // Fails only without `support_invalidation_closures`, which `new` sets;
        // fall back to dropping everything rather than keeping stale answers.
        if self
            .inner
            .main
            .invalidate_entries_if(move |_k, v| v.reads(&table))
            .is_err()
        {
            self.inner.main.invalidate_all();
        }
    }

    /// Counters and sizes (sizes are moka's, updated by its housekeeping).
    pub fn stats(&self) -> CacheStats {
        let inner = &*self.inner;
        CacheStats {
            bytes: inner.main.weighted_size(),
            entries: inner.main.entry_count(),
            cursor_entries: inner.cursors.entry_count(),
            memo_entries: inner.memo.entry_count(),
            ..inner.counters.snapshot()
        }
    }

    /// Runs moka's pending housekeeping so sizes and evictions are current
    /// (tests and `/metrics` accuracy; not needed for correctness).
    pub fn sync(&self) {
        self.inner.main.run_pending_tasks();
        self.inner.cursors.run_pending_tasks();
    }

    async fn pass_through<F, Fut>(&self, fetch: F, reason: BypassReason) -> Result<Served, Arc<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<UpstreamResponse, E>>,
    {
        bump(&self.inner.counters.bypasses);
        let resp = fetch().await.map_err(Arc::new)?;
        Ok(Served {
            outcome: CacheOutcome::Bypass,
            bypass: Some(reason),
            reply: Reply::Upstream(resp),
        })
    }

    /// Fetches an answer (and its remaining batches) and decides whether it is
    /// storable. Runs once per coalesced group of identical misses.
    async fn fill<F, Fut, B, BFut>(
        &self,
        key: CacheKey,
        tables: &Arc<[String]>,
        req: &QueryRequest<'_>,
        fetch: F,
        fetch_batch: &B,
    ) -> Result<Arc<StoredResult>, NotStored<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<UpstreamResponse, E>>,
        B: Fn(String) -> BFut,
        BFut: Future<Output = Result<UpstreamResponse, E>>,
    {
        let inner = &*self.inner;
        let epoch = inner.epoch.load(Ordering::SeqCst);
        let resp = fetch().await.map_err(|e| NotStored::Failed(Arc::new(e)))?;
        let generation = inner.generation.fetch_add(1, Ordering::Relaxed);
        let new_stored = |pages| {
            Arc::new(StoredResult::new(
                pages,
                tables.clone(),
                generation,
                req.data_space,
                req.policy_scope,
            ))
        };
        let (stored, complete) =
            match policy::storability(req.endpoint, resp.status, &resp.headers, &resp.body) {
                Storability::No(_) => {
                    bump(&inner.counters.not_stored);
                    return Err(NotStored::Upstream(resp));
                }
                Storability::Complete if resp.body.len() > inner.config.max_result_bytes => {
                    bump(&inner.counters.not_stored);
                    return Err(NotStored::Upstream(resp));
                }
                Storability::Complete => (new_stored(vec![resp.body.clone()]), true),
                Storability::MoreBatches(next) => {
                    let collected = pages::collect_batches(
                        req.endpoint,
                        resp.body.clone(),
                        next,
                        fetch_batch,
                        inner.config.max_result_bytes,
                    )
                    .await;
                    let Some(linked) = pages::link_pages(collected.bodies, key, generation) else {
                        bump(&inner.counters.not_stored);
                        return Err(NotStored::Upstream(resp));
                    };
                    (new_stored(linked), collected.complete)
                }
            };
        let purged_meanwhile = inner.epoch.load(Ordering::SeqCst) != epoch;
        let fits = u64::from(stored.weight) <= inner.config.max_bytes;
        if complete && fits && !purged_meanwhile {
            Ok(stored)
        } else {
            bump(&inner.counters.not_stored);
            Err(NotStored::Transient(stored))
        }
    }

    /// Page 0 of a stored answer; a multi-page answer is also pinned in the
    /// cursor cache so the client can page through it even if the main entry
    /// expires or is evicted meanwhile.
    fn reply_stored(
        &self,
        key: CacheKey,
        stored: &Arc<StoredResult>,
        outcome: CacheOutcome,
    ) -> Served {
        if stored.is_multi_page() {
            let cursor = (key, stored.generation);
            if !self.inner.cursors.contains_key(&cursor) {
                self.inner.cursors.insert(cursor, stored.clone());
            }
        }
        Served {
            outcome,
            bypass: bypass_reason(outcome),
            reply: Reply::Json(stored.first.clone()),
        }
    }

    fn reply_not_stored(
        &self,
        key: CacheKey,
        not_stored: &NotStored<E>,
        outcome: CacheOutcome,
    ) -> Result<Served, Arc<E>> {
        match not_stored {
            NotStored::Upstream(resp) => Ok(Served {
                outcome,
                bypass: bypass_reason(outcome),
                reply: Reply::Upstream(resp.clone()),
            }),
            NotStored::Transient(stored) => Ok(self.reply_stored(key, stored, outcome)),
            NotStored::Failed(e) => Err(e.clone()),
        }
    }
}

/// The only bypass that reaches a stored reply is a `no-cache` refresh.
fn bypass_reason(outcome: CacheOutcome) -> Option<BypassReason> {
    (outcome == CacheOutcome::Bypass).then_some(BypassReason::Refresh)
}

#[cfg(test)]
mod tests;
