//! Raw request → cache-key memo: the reason a cache hit never re-parses SQL.
//!
//! Canonicalizing (JSON parse, SQL tokenize + parse + print, SHA-256) costs
//! microseconds; a hit should cost a hash and two lookups. So the first time a
//! given raw body is seen with a given context (endpoint, version, data space,
//! policy scope, query string, arrow flag), the verdict — the cache key and
//! referenced tables, or the reason it is not cacheable — is remembered here.
//!
//! The memo is keyed by a 128-bit hash of the raw parts: two SipHash-1-3
//! digests under two independent random keys (std `RandomState`, fresh per
//! process). Why no copy of the raw body to compare: SipHash is a keyed PRF,
//! so clients cannot aim collisions at keys they don't know, and an accidental
//! collision of 128 bits is out of reach (~1e-21 for a billion distinct
//! bodies) — the same argument as for the main cache's 128-bit keys
//! (`key.rs`).
//!
//! Why not a second moka cache: a memo entry is 64 bytes of key and verdict,
//! and moka's per-entry bookkeeping (entry info, deque nodes, hash-table
//! bucket: ~250 bytes in several allocations) would cost four times that,
//! once per distinct query — most of the resident memory a cached answer
//! costs beyond its bytes. A forgotten verdict only costs one re-parse, so
//! the memo needs a bound, not an exact eviction order: it is a set of
//! sharded hash maps in two generations. Entries go into the young map; when
//! a shard's young map is full it becomes the old one (the previous old one
//! is dropped) and a verdict found in the old map moves back to the young
//! one. A verdict used at least once per generation therefore stays; the
//! rest go within two generations. Lookups take one uncontended shard lock
//! and never wait on anything else.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::mem;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

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

/// Bytes one remembered verdict costs: the map slot (128-bit hash and the
/// verdict, 64 bytes), the hash map's spare capacity and control bytes. The
/// table names are shared with the stored answer and not counted.
const ENTRY_BYTES: u64 = 128;

/// Shards: enough that the workers rarely meet on one lock.
const SHARDS: usize = 16;

/// The memo itself.
pub(crate) struct Memo {
    shards: Box<[Mutex<Generations>]>,
    /// Young-map size at which a shard rotates its generations.
    per_generation: usize,
    /// Two independently keyed hashers: together a 128-bit keyed hash.
    hashers: [std::hash::RandomState; 2],
    /// Distinct table lists, shared by every verdict (and stored answer)
    /// that reads the same tables: most queries of an app read a handful of
    /// table sets, so this saves two allocations per distinct query.
    table_lists: Mutex<HashSet<Arc<[String]>>>,
}

/// Most distinct table lists kept for sharing; past it lists are not shared.
const MAX_TABLE_LISTS: usize = 1024;

/// The keys are already keyed hashes: the maps use their low 64 bits as is.
type Map = HashMap<u128, Verdict, BuildHasherDefault<PreHashed>>;

#[derive(Default)]
struct Generations {
    young: Map,
    old: Map,
}

impl Generations {
    /// The verdict for `hash`, moving it to the young generation if it was
    /// old. Returns a map the caller drops after unlocking, if any.
    fn get(&mut self, hash: u128, per_generation: usize) -> (Option<Verdict>, Option<Map>) {
        if let Some(verdict) = self.young.get(&hash) {
            return (Some(verdict.clone()), None);
        }
        match self.old.remove(&hash) {
            Some(verdict) => {
                let dropped = self.insert(hash, verdict.clone(), per_generation);
                (Some(verdict), dropped)
            }
            None => (None, None),
        }
    }

    /// Remembers a verdict; rotates the generations when the young map is
    /// full and returns the dropped old map (freed outside the lock).
    fn insert(&mut self, hash: u128, verdict: Verdict, per_generation: usize) -> Option<Map> {
        let dropped = (self.young.len() >= per_generation)
            .then(|| mem::replace(&mut self.old, mem::take(&mut self.young)));
        self.young.insert(hash, verdict);
        dropped
    }
}

impl Memo {
    /// A memo that holds at most about `max_bytes` of verdicts.
    pub fn new(max_bytes: u64) -> Self {
        let entries = (max_bytes / ENTRY_BYTES).max(2 * SHARDS as u64);
        let per_generation = usize::try_from(entries / (2 * SHARDS as u64)).unwrap_or(usize::MAX);
        Memo {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_generation,
            hashers: [std::hash::RandomState::new(), std::hash::RandomState::new()],
            table_lists: Mutex::default(),
        }
    }

    /// The shared copy of a table list.
    fn share_tables(&self, tables: Vec<String>) -> Arc<[String]> {
        let mut lists = self
            .table_lists
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(shared) = lists.get(&tables[..]) {
            return shared.clone();
        }
        let list: Arc<[String]> = tables.into();
        if lists.len() < MAX_TABLE_LISTS {
            lists.insert(list.clone());
        }
        list
    }

    fn shard(&self, hash: u128) -> MutexGuard<'_, Generations> {
        // High bits pick the shard, low bits the slot within it.
        let index = (hash >> 120) as usize % SHARDS;
        // A panic while holding the lock cannot leave a map half-updated in
        // a way that matters here (at worst a verdict is missing).
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
        let (found, dropped) = self.shard(hash).get(hash, self.per_generation);
        drop(dropped);
        if let Some(verdict) = found {
            counters.memo_hits.fetch_add(1, Ordering::Relaxed);
            return verdict;
        }
        counters.memo_misses.fetch_add(1, Ordering::Relaxed);
        // Parsed outside the lock; two requests racing on one new body both
        // parse it and store the same verdict.
        let verdict = compute_verdict(req, arrow, |tables| self.share_tables(tables));
        let dropped = self
            .shard(hash)
            .insert(hash, verdict.clone(), self.per_generation);
        drop(dropped);
        verdict
    }

    /// Verdicts currently remembered (both generations).
    pub fn entry_count(&self) -> u64 {
        (0..SHARDS)
            .map(|i| {
                let shard = self.shards[i]
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                (shard.young.len() + shard.old.len()) as u64
            })
            .sum()
    }
}

/// Hasher for keys that are already uniformly distributed keyed hashes:
/// takes the low 64 bits of the `u128` as the hash.
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }

    /// Not used for `u128` keys; a plain FNV-1a so any other use stays sound.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// The slow path: parse the body and SQL, derive the key.
fn compute_verdict(
    req: &QueryRequest<'_>,
    arrow: bool,
    share_tables: impl FnOnce(Vec<String>) -> Arc<[String]>,
) -> Verdict {
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
        tables: share_tables(sql.tables),
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

    #[test]
    fn verdicts_reading_the_same_tables_share_one_list() {
        let memo = Memo::new(1 << 20);
        let counters = Counters::default();
        let headers = HeaderMap::new();
        let tables = |sql: &str| {
            let body = Bytes::from(format!(r#"{{"sql":"{sql}"}}"#));
            match memo.resolve(&request(&body, "p", &headers), false, &counters) {
                Verdict::Cacheable { tables, .. } => tables,
                Verdict::Bypass(r) => panic!("bypassed: {r:?}"),
            }
        };
        let a = tables("SELECT a FROM t WHERE n = 1");
        let b = tables("SELECT b FROM T WHERE n = 2");
        let c = tables("SELECT c FROM u");
        assert!(Arc::ptr_eq(&a, &b), "same table list, one allocation");
        assert_eq!(&a[..], ["t".to_owned()]);
        assert_eq!(&c[..], ["u".to_owned()]);
    }

    #[test]
    fn the_memo_is_bounded_and_keeps_verdicts_in_use() {
        // 2 entries per generation per shard: at most 4 per shard in all.
        let memo = Memo::new(4 * SHARDS as u64 * ENTRY_BYTES);
        assert_eq!(memo.per_generation, 2);
        let counters = Counters::default();
        let headers = HeaderMap::new();
        let body = |n: usize| Bytes::from(format!(r#"{{"sql":"SELECT a FROM t WHERE n = {n}"}}"#));
        let hot = body(0);
        for n in 1..2000 {
            memo.resolve(&request(&body(n), "p", &headers), false, &counters);
            // Used again after every new body: never forgotten.
            memo.resolve(&request(&hot, "p", &headers), false, &counters);
        }
        assert!(
            memo.entry_count() <= 4 * SHARDS as u64,
            "{}",
            memo.entry_count()
        );
        assert_eq!(
            counters.memo_misses.load(Ordering::Relaxed),
            2000,
            "the hot body was parsed once; every other body once"
        );
        assert_eq!(counters.memo_hits.load(Ordering::Relaxed), 1998);
    }
}
