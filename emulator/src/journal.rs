//! The request journal: a bounded ring of the requests the emulator served,
//! for tests to assert on what a client actually sent.
//!
//! Each entry has an id, the emulator-clock time, method, path, query string,
//! status (none for a dropped connection), duration in microseconds, the
//! principal behind the bearer token when it is one the emulator issued (a
//! core token or a Data Cloud token; the token itself is never kept), and the
//! fault rules that fired. Query-string secrets (`assertion`, `password`,
//! `client_secret`, tokens…: `cdp` sends them all in the query string) are
//! recorded as `[redacted]`. The ring keeps the last `capacity` entries
//! (`--journal-size`, default 10,000; 0 turns recording off); the
//! test-control API's own requests are left out unless asked for.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use http::Method;
use serde::Serialize;
use serde_json::Value;

use crate::auth::dc;
use crate::clock::format_iso_millis;
use crate::faults::{self, pattern};
use crate::state::AppState;
use crate::wire::{Req, Resp};

/// Query parameters whose values are secrets.
const SECRET_PARAMS: [&str; 9] = [
    "assertion",
    "subject_token",
    "token",
    "client_secret",
    "password",
    "refresh_token",
    "access_token",
    "code",
    "code_verifier",
];

/// Who made a request, from the token it carried.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    /// `core` or `dataCloud`.
    pub kind: &'static str,
    pub username: String,
    pub user_id: String,
    pub client_id: String,
}

/// One recorded request.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub id: u64,
    /// Emulator-clock Unix milliseconds when the request arrived.
    pub time_ms: i64,
    /// The same instant, ISO-8601 UTC.
    pub time: String,
    pub method: String,
    pub path: String,
    /// Raw query string with secret values redacted; empty when absent.
    pub query: String,
    /// `None` when a fault dropped the connection.
    pub status: Option<u16>,
    pub duration_us: u64,
    pub principal: Option<Principal>,
    /// The fault rules that fired, if any.
    pub fault: Option<Value>,
}

/// Which entries a listing wants.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub method: Option<Method>,
    /// A glob (`*`, `?`) matched against the whole path, else a prefix.
    pub path: Option<String>,
    pub status: Option<StatusFilter>,
    /// Entries at or after this emulator-clock time (Unix ms).
    pub since_ms: Option<i64>,
    /// Only the newest `limit` matches.
    pub limit: Option<usize>,
}

/// `404` or a class such as `4xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Exact(u16),
    Class(u16),
}

impl StatusFilter {
    /// Parses `429` or `4xx`.
    pub fn parse(s: &str) -> Option<StatusFilter> {
        let s = s.trim();
        if let Some(d) = s.strip_suffix("xx").or_else(|| s.strip_suffix("XX")) {
            return d
                .parse::<u16>()
                .ok()
                .filter(|d| (1..=5).contains(d))
                .map(StatusFilter::Class);
        }
        s.parse::<u16>().ok().map(StatusFilter::Exact)
    }

    fn matches(self, status: Option<u16>) -> bool {
        match (self, status) {
            (StatusFilter::Exact(want), Some(s)) => s == want,
            (StatusFilter::Class(c), Some(s)) => s / 100 == c,
            (_, None) => false,
        }
    }
}

impl Filter {
    fn matches(&self, e: &Entry) -> bool {
        self.method.as_ref().is_none_or(|m| m.as_str() == e.method)
            && self.path.as_deref().is_none_or(|p| {
                if pattern::is_glob(p) {
                    pattern::glob_match(p, &e.path)
                } else {
                    e.path.starts_with(p)
                }
            })
            && self.status.is_none_or(|s| s.matches(e.status))
            && self.since_ms.is_none_or(|t| e.time_ms >= t)
    }
}

struct Ring {
    entries: VecDeque<Entry>,
    capacity: usize,
    next_id: u64,
    /// Entries pushed out by newer ones since the last clear.
    evicted: u64,
}

/// The journal of one emulator.
pub struct Journal {
    ring: Mutex<Ring>,
    include_control: AtomicBool,
}

/// A listing: the matching entries, oldest first, and the ring's bookkeeping.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listing {
    pub entries: Vec<Entry>,
    /// Entries held (before filtering).
    pub total: usize,
    pub capacity: usize,
    pub evicted: u64,
    pub include_control: bool,
}

impl Journal {
    pub fn new(capacity: usize, include_control: bool) -> Self {
        Journal {
            ring: Mutex::new(Ring {
                entries: VecDeque::with_capacity(capacity.min(1024)),
                capacity,
                next_id: 0,
                evicted: 0,
            }),
            include_control: AtomicBool::new(include_control),
        }
    }

    /// Whether a request (control-API or not) will be recorded: callers skip
    /// resolving the principal otherwise.
    pub fn wants(&self, control: bool) -> bool {
        (!control || self.include_control.load(Ordering::Relaxed)) && self.lock().capacity > 0
    }

    /// Appends an entry (its `id` is assigned here), evicting the oldest.
    pub fn record(&self, mut entry: Entry) {
        let mut ring = self.lock();
        if ring.capacity == 0 {
            return;
        }
        ring.next_id += 1;
        entry.id = ring.next_id;
        while ring.entries.len() >= ring.capacity {
            ring.entries.pop_front();
            ring.evicted += 1;
        }
        ring.entries.push_back(entry);
    }

    /// The entries matching `filter`, oldest first.
    pub fn list(&self, filter: &Filter) -> Listing {
        let ring = self.lock();
        let mut entries: Vec<Entry> = ring
            .entries
            .iter()
            .filter(|e| filter.matches(e))
            .cloned()
            .collect();
        if let Some(limit) = filter.limit {
            let skip = entries.len().saturating_sub(limit);
            entries.drain(..skip);
        }
        Listing {
            entries,
            total: ring.entries.len(),
            capacity: ring.capacity,
            evicted: ring.evicted,
            include_control: self.include_control.load(Ordering::Relaxed),
        }
    }

    /// Forgets every entry (ids keep counting up).
    pub fn clear(&self) {
        let mut ring = self.lock();
        ring.entries.clear();
        ring.evicted = 0;
    }

    /// Changes the capacity (dropping the oldest entries that no longer
    /// fit) and whether control-API requests are recorded.
    pub fn configure(&self, capacity: Option<usize>, include_control: Option<bool>) {
        if let Some(c) = capacity {
            let mut ring = self.lock();
            ring.capacity = c;
            while ring.entries.len() > c {
                ring.entries.pop_front();
                ring.evicted += 1;
            }
        }
        if let Some(i) = include_control {
            self.include_control.store(i, Ordering::Relaxed);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        // Every operation leaves the ring consistent; poison carries no half state.
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A request on its way through, to be journaled when it is answered.
pub struct Pending {
    started: Instant,
    time_ms: i64,
    principal: Option<Principal>,
}

impl Pending {
    /// Notes the arrival of `req`, unless the journal will not record it.
    pub fn begin(state: &AppState, req: &Req, control: bool) -> Option<Pending> {
        state.journal.wants(control).then(|| Pending {
            started: Instant::now(),
            time_ms: state.clock.now_ms(),
            principal: principal(state, req),
        })
    }

    /// Records the request with its answer.
    pub fn finish(self, state: &AppState, req: &Req, resp: &Resp, fault: Option<Value>) {
        let time =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.time_ms) * 1_000_000)
                .map(format_iso_millis)
                .unwrap_or_default();
        state.journal.record(Entry {
            id: 0,
            time_ms: self.time_ms,
            time,
            method: req.method.to_string(),
            path: req.path.clone(),
            query: redact_query(&req.query),
            status: (!faults::is_dropped(resp)).then(|| resp.status().as_u16()),
            duration_us: u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX),
            principal: self.principal,
            fault,
        });
    }
}

/// The principal behind the request's bearer token, if the emulator issued
/// it and it is still good: a map lookup for core tokens, an HMAC check for
/// Data Cloud tokens.
pub fn principal(state: &AppState, req: &Req) -> Option<Principal> {
    let token = req.bearer()?;
    if let Some(core) = state.tokens.core(token) {
        return Some(Principal {
            kind: "core",
            username: core.username,
            user_id: core.user_id,
            client_id: core.client_id,
        });
    }
    if token.bytes().filter(|b| *b == b'.').count() != 2 {
        return None;
    }
    let claims = dc::verify(state, token).ok()?;
    Some(Principal {
        kind: "dataCloud",
        username: claims.username,
        user_id: claims.sub,
        client_id: claims.client_id,
    })
}

/// The query string with secret values replaced by `[redacted]`.
pub fn redact_query(query: &str) -> String {
    if query.is_empty() {
        return String::new();
    }
    let secret = |k: &str| SECRET_PARAMS.iter().any(|s| s.eq_ignore_ascii_case(k));
    if !form_urlencoded::parse(query.as_bytes()).any(|(k, _)| secret(&k)) {
        return query.to_owned();
    }
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if secret(&k) {
            out.append_pair(&k, "[redacted]");
        } else {
            out.append_pair(&k, &v);
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(method: &str, path: &str, status: u16, time_ms: i64) -> Entry {
        Entry {
            id: 0,
            time_ms,
            time: String::new(),
            method: method.into(),
            path: path.into(),
            query: String::new(),
            status: Some(status),
            duration_us: 1,
            principal: None,
            fault: None,
        }
    }

    #[test]
    fn ring_is_bounded_and_filters() {
        let j = Journal::new(3, false);
        j.record(entry("POST", "/services/oauth2/token", 200, 1));
        j.record(entry("POST", "/api/v2/query", 429, 2));
        j.record(entry("GET", "/api/v2/query/b1", 200, 3));
        j.record(entry("GET", "/api/v1/metadata", 401, 4));
        let all = j.list(&Filter::default());
        assert_eq!(all.total, 3);
        assert_eq!(all.evicted, 1);
        assert_eq!(all.entries[0].id, 2);
        let f = |f: Filter| j.list(&f).entries.iter().map(|e| e.id).collect::<Vec<_>>();
        let glob = Filter {
            path: Some("/api/v2/*/*".into()),
            ..Filter::default()
        };
        assert_eq!(f(glob), [3]);
        let prefix = Filter {
            path: Some("/api/v2/query".into()),
            ..Filter::default()
        };
        assert_eq!(f(prefix), [2, 3]);
        let status = Filter {
            status: StatusFilter::parse("4xx"),
            method: Some(Method::GET),
            since_ms: Some(3),
            ..Filter::default()
        };
        assert_eq!(f(status), [4]);
        let limited = Filter {
            limit: Some(1),
            ..Filter::default()
        };
        assert_eq!(f(limited), [4]);
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            redact_query("grant_type=x&assertion=eyJ.a.b&Password=p"),
            "grant_type=x&assertion=%5Bredacted%5D&Password=%5Bredacted%5D"
        );
        assert_eq!(redact_query("limit=5&offset=2"), "limit=5&offset=2");
    }
}
