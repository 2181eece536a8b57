//! Raw request → cache-key memo: the reason a cache hit never re-parses SQL.
//!
//! Canonicalizing (JSON parse, SQL tokenize + parse + print, SHA-256) costs
//! microseconds; a hit should cost a hash and two lookups. So the first time a
//! given raw body is seen with a given context (endpoint, version, data space,
//! policy scope, query string, arrow flag), the verdict — the cache key and
//! referenced tables, or the reason it is not cacheable — is kept in this
//! small moka cache, bounded by bytes. Later requests hash the raw parts with
//! SipHash (std `RandomState`: fast for a ~100-byte body and keyed per process,
//! so clients cannot aim collisions) and look the verdict up. The memo is
//! moka's synchronous cache: it never waits on anything, and a plain call
//! keeps every request's future smaller than an `async` lookup would.
//!
//! Why the entry keeps a copy of the raw body and context: a 64-bit hash can
//! collide, so a found entry is used only if its stored parts are equal to the
//! request's (one `memcmp`); on mismatch the request is canonicalized afresh
//! and replaces the entry. Correctness never rests on the 64-bit hash.

use std::hash::BuildHasher;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use moka::sync::Cache;

use super::key::{self, CacheKey, KeyParts};
use super::policy::{BypassReason, QueryEndpoint};
use super::stats::Counters;
use super::QueryRequest;

/// What a raw request maps to.
#[derive(Debug, Clone)]
pub(crate) enum Verdict {
    Cacheable {
        key: CacheKey,
        tables: Arc<[String]>,
    },
    Bypass(BypassReason),
}

/// One memoized raw request: its parts (for the equality check) and verdict.
#[derive(Debug)]
pub(crate) struct MemoEntry {
    endpoint: QueryEndpoint,
    api_version: Box<str>,
    data_space: Box<str>,
    policy_scope: Box<str>,
    query: Box<str>,
    arrow: bool,
    body: Bytes,
    pub verdict: Verdict,
}

/// Bookkeeping bytes per memo entry, added to the raw sizes by the weigher.
const MEMO_OVERHEAD: usize = 160;

impl MemoEntry {
    fn matches(&self, req: &QueryRequest<'_>, arrow: bool) -> bool {
        self.endpoint == req.endpoint
            && self.arrow == arrow
            && self.body == req.body
            && *self.query == *req.query
            && *self.api_version == *req.api_version
            && *self.data_space == *req.data_space
            && *self.policy_scope == *req.policy_scope
    }

    fn weight(&self) -> u32 {
        let bytes = self.body.len()
            + self.api_version.len()
            + self.data_space.len()
            + self.policy_scope.len()
            + self.query.len()
            + MEMO_OVERHEAD;
        u32::try_from(bytes).unwrap_or(u32::MAX)
    }
}

/// The memo itself; cheap to clone (moka caches share by clone).
#[derive(Clone)]
pub(crate) struct Memo {
    entries: Cache<u64, Arc<MemoEntry>>,
    hasher: std::hash::RandomState,
}

impl Memo {
    pub fn new(max_bytes: u64) -> Self {
        Memo {
            entries: Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_k, v: &Arc<MemoEntry>| v.weight())
                .build(),
            hasher: std::hash::RandomState::new(),
        }
    }

    /// The verdict for `req`, from the memo when this exact raw request was
    /// seen before, else computed and remembered.
    pub fn resolve(
        &self,
        req: &QueryRequest<'_>,
        arrow: bool,
        counters: &Counters,
    ) -> Arc<MemoEntry> {
        let hash = self.hasher.hash_one((
            req.endpoint,
            req.api_version,
            req.data_space,
            req.policy_scope,
            req.query,
            arrow,
            &req.body[..],
        ));
        if let Some(entry) = self.entries.get(&hash) {
            if entry.matches(req, arrow) {
                counters.memo_hits.fetch_add(1, Ordering::Relaxed);
                return entry;
            }
        }
        counters.memo_misses.fetch_add(1, Ordering::Relaxed);
        let entry = Arc::new(MemoEntry {
            endpoint: req.endpoint,
            api_version: req.api_version.into(),
            data_space: req.data_space.into(),
            policy_scope: req.policy_scope.into(),
            query: req.query.into(),
            arrow,
            // A copy, so the memo never pins a larger buffer the body was cut from.
            body: Bytes::copy_from_slice(req.body),
            verdict: compute_verdict(req, arrow),
        });
        self.entries.insert(hash, entry.clone());
        entry
    }

    /// Runs moka's pending housekeeping (sizes current for stats and tests).
    pub fn sync(&self) {
        self.entries.run_pending_tasks();
    }

    pub fn entry_count(&self) -> u64 {
        self.entries.entry_count()
    }
}

/// The slow path: parse the body and SQL, derive the key.
fn compute_verdict(req: &QueryRequest<'_>, arrow: bool) -> Verdict {
    let body = match key::parse_query_body(req.body) {
        Ok(body) => body,
        Err(reason) => return Verdict::Bypass(reason),
    };
    let sql = match key::canonicalize_sql(&body.sql) {
        Ok(sql) => sql,
        Err(reason) => return Verdict::Bypass(reason),
    };
    let query_string = key::canonical_query_string(req.query);
    let parts = KeyParts {
        endpoint: req.endpoint,
        api_version: req.api_version,
        data_space: req.data_space,
        policy_scope: req.policy_scope,
        query_string: &query_string,
        arrow_stream: arrow,
        body_rest: &body.rest,
    };
    Verdict::Cacheable {
        key: key::derive_key(&parts, &sql.text),
        tables: sql.tables.into(),
    }
}
