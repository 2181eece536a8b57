//! Raw request → cache-key memo: the reason a cache hit never re-parses SQL.
//!
//! Canonicalizing (JSON parse, SQL tokenize + parse + print, SHA-256) costs
//! microseconds; a hit should cost a hash and two lookups. So the first time a
//! given raw body is seen with a given context (endpoint, version, data space,
//! policy scope, query string, arrow flag), the verdict — the cache key and
//! referenced tables, or the reason it is not cacheable — is kept in this
//! small moka cache (the synchronous one: it never waits, and a plain call
//! keeps every request's future small), bounded by bytes.
//!
//! The memo is keyed by a 128-bit hash of the raw parts: two SipHash-1-3
//! digests under two independent random keys (std `RandomState`, fresh per
//! process). Why no copy of the raw body to compare: SipHash is a keyed PRF,
//! so clients cannot aim collisions at keys they don't know, and an accidental
//! collision of 128 bits is out of reach (~1e-21 for a billion distinct
//! bodies) — the same argument as for the main cache's 128-bit keys
//! (`key.rs`). Keeping only the hash and the verdict makes a memo entry a few
//! dozen bytes instead of a copy of every distinct request, which matters
//! when most queries are distinct (RSS per cached answer).

use std::hash::BuildHasher;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use moka::sync::Cache;

use super::key::{self, CacheKey, KeyParts};
use super::policy::BypassReason;
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

/// Bytes a memo entry costs (key, verdict, moka's bookkeeping), for the
/// weigher; the referenced table names come on top.
const MEMO_OVERHEAD: usize = 160;

fn weight(verdict: &Verdict) -> u32 {
    let tables = match verdict {
        Verdict::Cacheable { tables, .. } => tables.iter().map(|t| t.len() + 24).sum(),
        Verdict::Bypass(_) => 0,
    };
    u32::try_from(MEMO_OVERHEAD + tables).unwrap_or(u32::MAX)
}

/// The memo itself; cheap to clone (moka caches share by clone).
#[derive(Clone)]
pub(crate) struct Memo {
    entries: Cache<u128, Verdict>,
    /// Two independently keyed hashers: together a 128-bit keyed hash.
    hashers: [std::hash::RandomState; 2],
}

impl Memo {
    pub fn new(max_bytes: u64) -> Self {
        Memo {
            entries: Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_k, v: &Verdict| weight(v))
                .build(),
            hashers: [std::hash::RandomState::new(), std::hash::RandomState::new()],
        }
    }

    /// The verdict for `req`, from the memo when this exact raw request was
    /// seen before, else computed and remembered.
    pub fn resolve(&self, req: &QueryRequest<'_>, arrow: bool, counters: &Counters) -> Verdict {
        let parts = (
            req.endpoint,
            req.api_version,
            req.data_space,
            req.policy_scope,
            req.query,
            arrow,
            &req.body[..],
        );
        let [a, b] = &self.hashers;
        let hash = (u128::from(a.hash_one(parts)) << 64) | u128::from(b.hash_one(parts));
        if let Some(verdict) = self.entries.get(&hash) {
            counters.memo_hits.fetch_add(1, Ordering::Relaxed);
            return verdict;
        }
        counters.memo_misses.fetch_add(1, Ordering::Relaxed);
        let verdict = compute_verdict(req, arrow);
        self.entries.insert(hash, verdict.clone());
        verdict
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::QueryEndpoint;
    use bytes::Bytes;
    use http::HeaderMap;

    fn request<'a>(body: &'a Bytes, scope: &'a str, headers: &'a HeaderMap) -> QueryRequest<'a> {
        QueryRequest {
            endpoint: QueryEndpoint::TenantV2,
            api_version: "v2",
            data_space: "default",
            policy_scope: scope,
            query: "",
            headers,
            body,
        }
    }

    #[test]
    fn a_repeated_raw_request_is_a_memo_hit_and_any_context_change_is_not() {
        let memo = Memo::new(1 << 20);
        let counters = Counters::default();
        let headers = HeaderMap::new();
        let body = Bytes::from_static(br#"{"sql":"SELECT a FROM t"}"#);
        let first = memo.resolve(&request(&body, "p1", &headers), false, &counters);
        let again = memo.resolve(&request(&body, "p1", &headers), false, &counters);
        let other_scope = memo.resolve(&request(&body, "p2", &headers), false, &counters);
        let arrow = memo.resolve(&request(&body, "p1", &headers), true, &counters);
        assert_eq!(counters.memo_hits.load(Ordering::Relaxed), 1);
        assert_eq!(counters.memo_misses.load(Ordering::Relaxed), 3);
        let key = |v: &Verdict| match v {
            Verdict::Cacheable { key, .. } => *key,
            Verdict::Bypass(r) => panic!("bypassed: {r:?}"),
        };
        assert_eq!(key(&first), key(&again));
        assert_ne!(
            key(&first),
            key(&other_scope),
            "policy scopes never share keys"
        );
        assert_ne!(key(&first), key(&arrow));
        let bad = Bytes::from_static(b"not json");
        let verdict = memo.resolve(&request(&bad, "p1", &headers), false, &counters);
        assert!(matches!(verdict, Verdict::Bypass(_)));
    }
}
