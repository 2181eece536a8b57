//! Query result cursors: the rows behind a V2 `nextBatchId` and behind a
//! Connect `query-sql` query id.
//!
//! A query runs to completion once; the whole result is kept here and later
//! calls read slices of it. Each cursor remembers who opened it (`Owner`: API
//! family, user, data space) and answers only that owner, so a batch id leaked
//! to another user or replayed on the other host is simply "not found".
//!
//! Expiry follows Salesforce's documented limits and is measured with the
//! emulator's clock (tests advance it): V2 batches must all be fetched within
//! one hour of the query with at most three minutes between calls; query-sql
//! results live 24 hours. The store is bounded: expired cursors are dropped on
//! every access, and when the count or the total number of kept rows exceeds
//! its cap the least recently used cursors go first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use rand::Rng;
use time::OffsetDateTime;

use crate::sql::QueryResult;

/// V2: all batches within one hour of the query.
pub const V2_MAX_AGE_MS: i64 = 60 * 60 * 1000;
/// V2: no more than three minutes between batch calls.
pub const V2_MAX_IDLE_MS: i64 = 3 * 60 * 1000;
/// query-sql: cached results live 24 hours.
pub const QUERY_SQL_MAX_AGE_MS: i64 = 24 * 60 * 60 * 1000;

/// Most cursors kept at once.
const MAX_CURSORS: usize = 256;
/// Most result rows kept across all cursors.
const MAX_TOTAL_ROWS: usize = 2_000_000;

/// Which API opened a cursor; ids never cross from one family to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Tenant host `/api/v2/query`.
    TenantV2,
    /// Core host `ssot/queryv2`.
    ConnectV2,
    /// Core host `ssot/query-sql`.
    QuerySql,
}

/// Who may read a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub api: Api,
    pub user_id: String,
    pub dataspace: String,
}

/// How long a cursor lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// From creation.
    pub max_age_ms: i64,
    /// Since the last read, when limited.
    pub max_idle_ms: Option<i64>,
}

impl Lifetime {
    /// The V2 rule: 1 hour overall, 3 minutes between calls.
    pub const V2: Lifetime = Lifetime {
        max_age_ms: V2_MAX_AGE_MS,
        max_idle_ms: Some(V2_MAX_IDLE_MS),
    };
    /// The query-sql rule: 24 hours.
    pub const QUERY_SQL: Lifetime = Lifetime {
        max_age_ms: QUERY_SQL_MAX_AGE_MS,
        max_idle_ms: None,
    };
}

/// What a reader gets back: the shared result and its bookkeeping.
#[derive(Debug, Clone)]
pub struct CursorView {
    pub query_id: String,
    pub result: Arc<QueryResult>,
    /// Unix ms of the query.
    pub created_ms: i64,
    /// Rows per batch chosen when the cursor was opened.
    pub batch_rows: usize,
}

struct Entry {
    owner: Owner,
    view: CursorView,
    lifetime: Lifetime,
    last_ms: i64,
}

impl Entry {
    fn expired(&self, now_ms: i64) -> bool {
        let too_old = now_ms - self.view.created_ms > self.lifetime.max_age_ms;
        let idle = self
            .lifetime
            .max_idle_ms
            .is_some_and(|idle| now_ms - self.last_ms > idle);
        too_old || idle
    }
}

/// Open cursors.
pub struct Cursors {
    entries: Mutex<HashMap<String, Entry>>,
    max_cursors: usize,
    max_total_rows: usize,
}

impl Default for Cursors {
    fn default() -> Self {
        Cursors::with_caps(MAX_CURSORS, MAX_TOTAL_ROWS)
    }
}

impl Cursors {
    /// A store holding at most `max_cursors` cursors and `max_total_rows` rows.
    pub fn with_caps(max_cursors: usize, max_total_rows: usize) -> Self {
        Cursors {
            entries: Mutex::new(HashMap::new()),
            max_cursors: max_cursors.max(1),
            max_total_rows,
        }
    }

    /// Keeps `result` under `id` for `owner`.
    pub fn open(
        &self,
        now_ms: i64,
        id: String,
        owner: Owner,
        view: CursorView,
        lifetime: Lifetime,
    ) {
        let mut entries = self.lock();
        sweep(&mut entries, now_ms);
        let incoming_rows = view.result.rows.len();
        while !entries.is_empty()
            && (entries.len() >= self.max_cursors
                || total_rows(&entries) + incoming_rows > self.max_total_rows)
        {
            evict_lru(&mut entries);
        }
        entries.insert(
            id,
            Entry {
                owner,
                view,
                lifetime,
                last_ms: now_ms,
            },
        );
    }

    /// The cursor `id` if it exists, has not expired and belongs to `owner`;
    /// counts as a call for the idle limit.
    pub fn get(&self, now_ms: i64, id: &str, owner: &Owner) -> Option<CursorView> {
        let mut entries = self.lock();
        sweep(&mut entries, now_ms);
        let entry = entries.get_mut(id).filter(|e| e.owner == *owner)?;
        entry.last_ms = now_ms;
        Some(entry.view.clone())
    }

    /// Drops the cursor `id` if `owner` may see it; whether it was there.
    pub fn remove(&self, now_ms: i64, id: &str, owner: &Owner) -> bool {
        let mut entries = self.lock();
        sweep(&mut entries, now_ms);
        if entries.get(id).is_some_and(|e| e.owner == *owner) {
            entries.remove(id);
            true
        } else {
            false
        }
    }

    /// Number of live cursors (after dropping expired ones).
    pub fn len(&self, now_ms: i64) -> usize {
        let mut entries = self.lock();
        sweep(&mut entries, now_ms);
        entries.len()
    }

    /// Whether no cursor is live.
    pub fn is_empty(&self, now_ms: i64) -> bool {
        self.len(now_ms) == 0
    }

    /// Drops every cursor (`POST /__emulator/reset`).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock cannot leave the map half-updated in a
        // way that matters (each operation is a single insert/remove), so keep
        // serving rather than poisoning every later query.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn sweep(entries: &mut HashMap<String, Entry>, now_ms: i64) {
    entries.retain(|_, e| !e.expired(now_ms));
}

fn total_rows(entries: &HashMap<String, Entry>) -> usize {
    entries.values().map(|e| e.view.result.rows.len()).sum()
}

fn evict_lru(entries: &mut HashMap<String, Entry>) {
    if let Some(id) = entries
        .iter()
        .min_by_key(|(_, e)| e.last_ms)
        .map(|(id, _)| id.clone())
    {
        entries.remove(&id);
    }
}

/// A random UUID (version 4), lower-case hex with dashes.
pub fn new_uuid() -> String {
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A Trino-style query id, `20220307_195719_00109_5frjj`: UTC date and time of
/// the query, a per-process sequence number and five random characters.
pub fn new_query_id(now: OffsetDateTime) -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let seq = SEQ.fetch_add(1, Ordering::Relaxed) % 100_000;
    let mut rng = rand::rng();
    let suffix: String = (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!(
        "{:04}{:02}{:02}_{:02}{:02}{:02}_{seq:05}_{suffix}",
        now.year(),
        now.month() as u8,
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DcType;
    use crate::sql::Column;
    use serde_json::json;

    fn result(rows: usize) -> Arc<QueryResult> {
        Arc::new(QueryResult {
            columns: vec![Column {
                name: "n".into(),
                ty: DcType::Bigint,
            }],
            rows: (0..rows).map(|i| vec![json!(i)]).collect(),
        })
    }

    fn owner(user: &str) -> Owner {
        Owner {
            api: Api::TenantV2,
            user_id: user.into(),
            dataspace: "default".into(),
        }
    }

    fn view(rows: usize, created_ms: i64) -> CursorView {
        CursorView {
            query_id: "q".into(),
            result: result(rows),
            created_ms,
            batch_rows: 10,
        }
    }

    #[test]
    fn idle_limit_counts_from_last_call() {
        let c = Cursors::default();
        c.open(0, "a".into(), owner("u"), view(5, 0), Lifetime::V2);
        assert!(c.get(V2_MAX_IDLE_MS, "a", &owner("u")).is_some());
        // Measured from the last call, not from creation.
        assert!(c.get(2 * V2_MAX_IDLE_MS, "a", &owner("u")).is_some());
        assert!(c.get(3 * V2_MAX_IDLE_MS + 1, "a", &owner("u")).is_none());
        assert!(c.is_empty(3 * V2_MAX_IDLE_MS + 1));
    }

    #[test]
    fn max_age_applies_even_when_active() {
        let c = Cursors::default();
        c.open(0, "a".into(), owner("u"), view(5, 0), Lifetime::V2);
        let mut t = 0;
        while t + V2_MAX_IDLE_MS <= V2_MAX_AGE_MS {
            t += V2_MAX_IDLE_MS;
            assert!(c.get(t, "a", &owner("u")).is_some(), "at {t}");
        }
        assert!(c.get(V2_MAX_AGE_MS + 1, "a", &owner("u")).is_none());
    }

    #[test]
    fn owner_must_match() {
        let c = Cursors::default();
        c.open(0, "a".into(), owner("u"), view(5, 0), Lifetime::V2);
        assert!(c.get(1, "a", &owner("other")).is_none());
        let mut other_space = owner("u");
        other_space.dataspace = "sales".into();
        assert!(c.get(1, "a", &other_space).is_none());
        let mut other_api = owner("u");
        other_api.api = Api::ConnectV2;
        assert!(c.get(1, "a", &other_api).is_none());
        assert!(!c.remove(1, "a", &other_api));
        assert!(c.remove(1, "a", &owner("u")));
        assert!(c.get(1, "a", &owner("u")).is_none());
    }

    #[test]
    fn count_cap_evicts_least_recently_used() {
        let c = Cursors::with_caps(8, 1000);
        for i in 0..8 {
            c.open(
                i as i64,
                format!("c{i}"),
                owner("u"),
                view(1, 0),
                Lifetime::QUERY_SQL,
            );
        }
        // Touch the oldest so the second oldest goes first.
        assert!(c.get(10_000, "c0", &owner("u")).is_some());
        c.open(
            10_001,
            "new".into(),
            owner("u"),
            view(1, 0),
            Lifetime::QUERY_SQL,
        );
        assert_eq!(c.len(10_002), 8);
        assert!(c.get(10_003, "c0", &owner("u")).is_some());
        assert!(c.get(10_003, "c1", &owner("u")).is_none());
        assert!(c.get(10_003, "new", &owner("u")).is_some());
    }

    #[test]
    fn row_cap_evicts() {
        let c = Cursors::with_caps(8, 100);
        c.open(
            0,
            "big".into(),
            owner("u"),
            view(90, 0),
            Lifetime::QUERY_SQL,
        );
        c.open(
            1,
            "small".into(),
            owner("u"),
            view(20, 0),
            Lifetime::QUERY_SQL,
        );
        assert!(c.get(2, "big", &owner("u")).is_none());
        assert!(c.get(2, "small", &owner("u")).is_some());
    }

    #[test]
    fn ids_have_their_shapes() {
        let u = new_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(u, new_uuid());
        let t = OffsetDateTime::from_unix_timestamp(1_646_683_039).unwrap();
        let q = new_query_id(t);
        assert!(q.starts_with("20220307_195719_"), "{q}");
        let parts: Vec<&str> = q.split('_').collect();
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[2].len(), 5);
        assert_eq!(parts[3].len(), 5);
    }
}
