//! Rate limits per endpoint class, answered the way Data Cloud answers them.
//!
//! Each class (`token`, `exchange`, `query`, `metadata`, `ingest`,
//! `connect`) may get a budget of `requests` per `windowMs`, measured on the
//! emulator clock: a fixed window opens at the first request and the budget
//! refills when the clock passes its end, so a test can exhaust a budget and
//! then advance the clock instead of sleeping. A request over budget is
//! refused without running, with `Retry-After` (whole seconds to the window's
//! end, at least 1) and the host's throttling body:
//! tenant host → 429 `{"timestamp",…,"error":"Too many requests","message":"Too many requests"}`;
//! core host → 403 `[{"errorCode":"REQUEST_LIMIT_EXCEEDED","message":"TotalRequests Limit exceeded."}]`;
//! OAuth endpoints → 429 `{"error":"rate_limit_exceeded",…}` (inferred: no
//! documented shape). Refused requests do not use up budget.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use http::{header, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::faults::host_error;
use crate::wire::Resp;

/// Every endpoint class, in the order reports list them.
pub const CLASSES: [&str; 6] = [
    "token", "exchange", "query", "metadata", "ingest", "connect",
];

/// The class of a request path, if it belongs to one.
///
/// `connect` is the whole core-host REST surface (`/services/data/…`):
/// Salesforce meters it as one org-wide `TotalRequests` allowance. The
/// tenant host is split by API.
pub fn class_of(path: &str) -> Option<&'static str> {
    if path.starts_with("/services/oauth2/") {
        Some("token")
    } else if path.starts_with("/services/a360/") {
        Some("exchange")
    } else if path.starts_with("/services/data/") {
        Some("connect")
    } else if let Some(rest) = path.strip_prefix("/api/") {
        // `/api/v1/metadata`, `/api/v1/ingest/…`; everything else on the
        // tenant host (query V1/V2/V3, query-config, profile, insight,
        // data graph) reads data and counts as `query`.
        let api = rest.split('/').nth(1).unwrap_or("");
        Some(match api {
            "metadata" => "metadata",
            "ingest" => "ingest",
            _ => "query",
        })
    } else {
        None
    }
}

/// A budget as clients send it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Budget {
    /// Requests allowed per window (0 refuses every request).
    pub requests: u64,
    /// Window length in emulator-clock milliseconds.
    pub window_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct Meter {
    budget: Budget,
    /// Start of the current window (Unix ms), or `None` before the first request.
    window_start_ms: Option<i64>,
    used: u64,
}

impl Meter {
    fn window_end(&self, start: i64) -> i64 {
        start.saturating_add(i64::try_from(self.budget.window_ms).unwrap_or(i64::MAX))
    }

    /// Rolls the window forward when the clock has left it.
    fn roll(&mut self, now_ms: i64) {
        if let Some(start) = self.window_start_ms {
            if now_ms >= self.window_end(start) || now_ms < start {
                self.window_start_ms = None;
                self.used = 0;
            }
        }
    }
}

/// A refusal: how long to wait.
#[derive(Debug, Clone, Copy)]
pub struct OverBudget {
    pub class: &'static str,
    pub retry_after_secs: u64,
}

/// A refused budget update.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct LimitError(pub String);

/// The rate limits of one emulator.
#[derive(Default)]
pub struct RateLimits {
    meters: Mutex<BTreeMap<&'static str, Meter>>,
}

impl RateLimits {
    /// Counts a request to `path` against its class, or refuses it.
    pub fn admit(&self, path: &str, now_ms: i64) -> Result<(), OverBudget> {
        let Some(class) = class_of(path) else {
            return Ok(());
        };
        let mut meters = self.lock();
        let Some(meter) = meters.get_mut(class) else {
            return Ok(());
        };
        meter.roll(now_ms);
        if meter.used >= meter.budget.requests {
            let wait_ms = match meter.window_start_ms {
                Some(start) => meter.window_end(start).saturating_sub(now_ms).max(0) as u64,
                // `requests: 0`: no window is open; say one window.
                None => meter.budget.window_ms,
            };
            return Err(OverBudget {
                class,
                retry_after_secs: wait_ms.div_ceil(1000).max(1),
            });
        }
        meter.window_start_ms.get_or_insert(now_ms);
        meter.used += 1;
        Ok(())
    }

    /// Applies `{"class": {"requests", "windowMs"} | null, …}`: sets (and
    /// restarts) or removes the named classes; others stay as they are.
    /// All-or-nothing: an unknown class or bad budget changes nothing.
    pub fn update(&self, body: &serde_json::Map<String, Value>) -> Result<(), LimitError> {
        let mut changes = Vec::new();
        for (name, value) in body {
            let class = CLASSES
                .iter()
                .copied()
                .find(|c| *c == name.as_str())
                .ok_or_else(|| {
                    LimitError(format!(
                        "unknown endpoint class '{name}': use one of {}",
                        CLASSES.join(", ")
                    ))
                })?;
            let budget = match value {
                Value::Null => None,
                v => {
                    let b: Budget = serde_json::from_value(v.clone())
                        .map_err(|e| LimitError(format!("{class}: {e}")))?;
                    if b.window_ms == 0 {
                        return Err(LimitError(format!("{class}: windowMs must be at least 1")));
                    }
                    Some(b)
                }
            };
            changes.push((class, budget));
        }
        let mut meters = self.lock();
        for (class, budget) in changes {
            match budget {
                Some(budget) => {
                    meters.insert(
                        class,
                        Meter {
                            budget,
                            window_start_ms: None,
                            used: 0,
                        },
                    );
                }
                None => {
                    meters.remove(class);
                }
            }
        }
        Ok(())
    }

    /// Removes one class's budget, or all of them.
    pub fn clear(&self, class: Option<&str>) {
        let mut meters = self.lock();
        match class {
            Some(c) => {
                meters.remove(c);
            }
            None => meters.clear(),
        }
    }

    /// Every class with its budget and current use (null when unlimited).
    pub fn report(&self, now_ms: i64) -> Value {
        let mut meters = self.lock();
        let mut out = serde_json::Map::new();
        for class in CLASSES {
            let v = match meters.get_mut(class) {
                None => Value::Null,
                Some(m) => {
                    m.roll(now_ms);
                    json!({
                        "requests": m.budget.requests,
                        "windowMs": m.budget.window_ms,
                        "used": m.used,
                        "remaining": m.budget.requests.saturating_sub(m.used),
                        "windowStartMs": m.window_start_ms,
                        "windowEndMs": m.window_start_ms.map(|s| m.window_end(s)),
                    })
                }
            };
            out.insert(class.to_owned(), v);
        }
        Value::Object(out)
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<&'static str, Meter>> {
        // Each operation leaves the map consistent before it can panic.
        self.meters.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The refusal of an over-budget request to `path`.
pub fn refusal(path: &str, over: OverBudget, now: time::OffsetDateTime) -> Resp {
    let status = if path.starts_with("/services/data/") {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::TOO_MANY_REQUESTS
    };
    let mut resp = host_error(path, status).into_response(now);
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(over.retry_after_secs),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(v: Value) -> RateLimits {
        let r = RateLimits::default();
        r.update(v.as_object().unwrap()).unwrap();
        r
    }

    #[test]
    fn classes() {
        assert_eq!(class_of("/services/oauth2/token"), Some("token"));
        assert_eq!(class_of("/services/a360/token"), Some("exchange"));
        assert_eq!(
            class_of("/services/data/v64.0/ssot/query-sql"),
            Some("connect")
        );
        assert_eq!(class_of("/api/v2/query/abc"), Some("query"));
        assert_eq!(class_of("/api/v1/metadata"), Some("metadata"));
        assert_eq!(class_of("/api/v1/ingest/sources/x/y"), Some("ingest"));
        assert_eq!(class_of("/__emulator/stats"), None);
    }

    #[test]
    fn budget_refills_when_the_window_ends() {
        let r = limits(json!({"query": {"requests": 2, "windowMs": 10_000}}));
        assert!(r.admit("/api/v2/query", 1_000).is_ok());
        assert!(r.admit("/api/v2/query", 2_000).is_ok());
        let over = r.admit("/api/v2/query", 2_500).unwrap_err();
        assert_eq!(over.retry_after_secs, 9); // 8.5 s, rounded up
        assert!(r.admit("/api/v1/metadata", 2_500).is_ok());
        assert!(r.admit("/api/v2/query", 11_000).is_ok());
    }

    #[test]
    fn updates_are_all_or_nothing() {
        let r = RateLimits::default();
        let bad = json!({"query": {"requests": 1, "windowMs": 1000}, "nope": null});
        let err = r.update(bad.as_object().unwrap()).unwrap_err();
        assert!(err.0.contains("nope"), "{err}");
        assert!(r.admit("/api/v2/query", 0).is_ok() && r.admit("/api/v2/query", 0).is_ok());
    }
}
