//! Fault injection: rules that make matching requests slow, fail, lose their
//! connection or get a broken body, so client retry and error paths can be
//! tested against the emulator.
//!
//! A rule matches by method (or any) and a path glob (see [`pattern`]). Its
//! action may add latency and may end the request one way: a status (429 with
//! `Retry-After`, 500, 503, … in the host's error shape unless a body is
//! given), a dropped connection, or a 200 whose JSON body is cut short.
//! Rules are evaluated in the order they were added: latency accumulates, and
//! the first rule that ends the request wins. A rule fires at most `times`
//! times (unlimited when absent) and, with a `probability`, only when its own
//! PRNG — ChaCha8 seeded with `seed` (default: the rule id) and drawn only for
//! requests the rule matches — says so. The same rules and the same request
//! sequence therefore give the same faults on every run.

mod answer;
pub mod pattern;

pub use answer::{dropped, host_error, is_dropped, malformed, status_response, DropConnection};

use std::sync::{Mutex, MutexGuard};

use http::{Method, StatusCode};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A rule as clients send it (`POST /__emulator/faults`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleSpec {
    /// `GET`, `POST`, …; absent or null matches every method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Glob over the path (no query string); `*` when absent.
    #[serde(default = "any_path")]
    pub path: String,
    pub action: ActionSpec,
    /// How many times the rule fires; absent or null: every time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Chance (0 to 1) that a matching request is hit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Seed of the rule's PRNG (default: the rule id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

fn any_path() -> String {
    "*".to_owned()
}

/// What a firing rule does.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ActionSpec {
    /// Answer with this status (400-599) instead of running the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `Retry-After` seconds sent with `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// JSON body sent with `status` (default: the host's error body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Delay before anything else happens, milliseconds (real time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Close the connection without answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<bool>,
    /// Run the request, then answer 200 with its JSON body cut in half.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed_body: Option<bool>,
}

/// Longest latency a rule may add (ten minutes): anything longer is a typo.
const MAX_LATENCY_MS: u64 = 600_000;

/// How a request ends when a rule says so.
#[derive(Debug, Clone)]
pub enum Terminal {
    Status {
        status: StatusCode,
        retry_after: Option<u64>,
        body: Option<Value>,
    },
    Drop,
    Malformed,
}

/// What the rules decided for one request.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub latency_ms: u64,
    pub terminal: Option<Terminal>,
    /// Ids of the rules that fired.
    pub rule_ids: Vec<u64>,
}

impl Plan {
    /// Whether any rule fired.
    pub fn fired(&self) -> bool {
        !self.rule_ids.is_empty()
    }

    /// A summary for the journal.
    pub fn describe(&self) -> Value {
        let action = match &self.terminal {
            Some(Terminal::Status { status, .. }) => json!(format!("status {}", status.as_u16())),
            Some(Terminal::Drop) => json!("drop"),
            Some(Terminal::Malformed) => json!("malformedBody"),
            None => json!("latency"),
        };
        json!({"ruleIds": self.rule_ids, "action": action, "latencyMs": self.latency_ms})
    }
}

/// A refused rule: the message names what is wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

struct Rule {
    id: u64,
    spec: RuleSpec,
    method: Option<Method>,
    remaining: Option<u64>,
    fired: u64,
    rng: ChaCha8Rng,
}

impl Rule {
    fn seed(&self) -> u64 {
        self.spec.seed.unwrap_or(self.id)
    }

    fn report(&self) -> Value {
        let mut v = serde_json::to_value(&self.spec).unwrap_or(Value::Null);
        v["id"] = json!(self.id);
        v["seed"] = json!(self.seed());
        v["remaining"] = json!(self.remaining);
        v["fired"] = json!(self.fired);
        v
    }

    fn terminal(&self) -> Option<Terminal> {
        let a = &self.spec.action;
        if let Some(code) = a.status {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Some(Terminal::Status {
                status,
                retry_after: a.retry_after,
                body: a.body.clone(),
            });
        }
        if a.drop == Some(true) {
            return Some(Terminal::Drop);
        }
        (a.malformed_body == Some(true)).then_some(Terminal::Malformed)
    }
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    rules: Vec<Rule>,
}

/// The fault rules of one emulator.
#[derive(Default)]
pub struct Faults {
    inner: Mutex<Inner>,
}

impl Faults {
    /// Validates and appends a rule; returns its report (with `id`).
    pub fn add(&self, spec: RuleSpec) -> Result<Value, RuleError> {
        let method = validate(&spec)?;
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        let rule = Rule {
            id,
            remaining: spec.times,
            rng: ChaCha8Rng::seed_from_u64(spec.seed.unwrap_or(id)),
            method,
            spec,
            fired: 0,
        };
        let report = rule.report();
        inner.rules.push(rule);
        Ok(report)
    }

    /// Every rule, in evaluation order.
    pub fn list(&self) -> Vec<Value> {
        self.lock().rules.iter().map(Rule::report).collect()
    }

    /// Removes one rule; whether it existed.
    pub fn remove(&self, id: u64) -> bool {
        let mut inner = self.lock();
        let before = inner.rules.len();
        inner.rules.retain(|r| r.id != id);
        inner.rules.len() != before
    }

    /// Puts a rule back as it was when added: full count, PRNG reseeded.
    pub fn rewind(&self, id: u64) -> Option<Value> {
        let mut inner = self.lock();
        let rule = inner.rules.iter_mut().find(|r| r.id == id)?;
        rule.remaining = rule.spec.times;
        rule.fired = 0;
        rule.rng = ChaCha8Rng::seed_from_u64(rule.seed());
        Some(rule.report())
    }

    /// Removes every rule (ids keep counting up).
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// Decides what happens to one request.
    pub fn plan(&self, method: &Method, path: &str) -> Plan {
        let mut plan = Plan::default();
        let mut inner = self.lock();
        for rule in inner.rules.iter_mut() {
            if rule.remaining == Some(0)
                || rule.method.as_ref().is_some_and(|m| m != method)
                || !pattern::glob_match(&rule.spec.path, path)
            {
                continue;
            }
            if let Some(p) = rule.spec.probability {
                if rule.rng.random::<f64>() >= p {
                    continue;
                }
            }
            if let Some(n) = rule.remaining.as_mut() {
                *n -= 1;
            }
            rule.fired += 1;
            plan.rule_ids.push(rule.id);
            plan.latency_ms = plan
                .latency_ms
                .saturating_add(rule.spec.action.latency_ms.unwrap_or(0));
            if let Some(t) = rule.terminal() {
                plan.terminal = Some(t);
                break;
            }
        }
        plan
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every mutation completes under the lock; poison carries no half state.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Checks a rule; returns its parsed method.
fn validate(spec: &RuleSpec) -> Result<Option<Method>, RuleError> {
    let bad = |m: String| Err(RuleError(m));
    let method = match spec.method.as_deref().map(str::trim) {
        None | Some("") | Some("*") => None,
        Some(m) => match Method::from_bytes(m.to_ascii_uppercase().as_bytes()) {
            Ok(m) => Some(m),
            Err(_) => return bad(format!("method '{m}' is not an HTTP method")),
        },
    };
    if !spec.path.starts_with('/') && !spec.path.starts_with('*') {
        return bad(format!("path '{}' must start with '/' (or '*')", spec.path));
    }
    let a = &spec.action;
    let terminals = [
        a.status.is_some(),
        a.drop == Some(true),
        a.malformed_body == Some(true),
    ];
    let n_terminal = terminals.iter().filter(|t| **t).count();
    if n_terminal > 1 {
        return bad("action: give at most one of status, drop, malformedBody".into());
    }
    if n_terminal == 0 && a.latency_ms.is_none() {
        return bad(
            "action: give status (with optional retryAfter and body), latencyMs, drop or malformedBody"
                .into(),
        );
    }
    if let Some(code) = a.status {
        if !(400..=599).contains(&code) {
            return bad(format!("action.status {code} is not between 400 and 599"));
        }
    } else if a.retry_after.is_some() || a.body.is_some() {
        return bad("action: retryAfter and body go with status".into());
    }
    if a.latency_ms.is_some_and(|ms| ms > MAX_LATENCY_MS) {
        return bad(format!("action.latencyMs is above {MAX_LATENCY_MS}"));
    }
    if let Some(p) = spec.probability {
        if !(0.0..=1.0).contains(&p) {
            return bad(format!("probability {p} is not between 0 and 1"));
        }
    }
    if spec.times == Some(0) {
        return bad("times must be at least 1 (or null for every time)".into());
    }
    Ok(method)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: Value) -> RuleSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn counted_rule_fires_exactly_n_times() {
        let f = Faults::default();
        f.add(spec(
            json!({"path": "/api/*", "action": {"status": 429, "retryAfter": 2}, "times": 2}),
        ))
        .unwrap();
        let hits: Vec<bool> = (0..4)
            .map(|_| f.plan(&Method::POST, "/api/v2/query").fired())
            .collect();
        assert_eq!(hits, [true, true, false, false]);
        assert!(!f.plan(&Method::GET, "/services/data/v64.0").fired());
    }

    #[test]
    fn probability_is_reproducible_per_seed() {
        let run = || {
            let f = Faults::default();
            f.add(spec(
                json!({"action": {"drop": true}, "probability": 0.5, "seed": 42}),
            ))
            .unwrap();
            (0..64)
                .map(|_| f.plan(&Method::GET, "/x").fired())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a.iter().any(|h| *h) && a.iter().any(|h| !*h));
    }

    #[test]
    fn latency_accumulates_until_a_terminal_rule() {
        let f = Faults::default();
        f.add(spec(json!({"action": {"latencyMs": 10}}))).unwrap();
        f.add(spec(
            json!({"method": "get", "action": {"malformedBody": true}}),
        ))
        .unwrap();
        f.add(spec(json!({"action": {"latencyMs": 1000}}))).unwrap();
        let plan = f.plan(&Method::GET, "/x");
        assert_eq!(plan.latency_ms, 10);
        assert!(matches!(plan.terminal, Some(Terminal::Malformed)));
        assert_eq!(f.plan(&Method::POST, "/x").latency_ms, 1010);
    }

    #[test]
    fn bad_rules_are_refused_with_a_reason() {
        let f = Faults::default();
        for (v, needle) in [
            (json!({"action": {}}), "give status"),
            (json!({"action": {"status": 200}}), "between 400 and 599"),
            (
                json!({"action": {"drop": true, "status": 500}}),
                "at most one",
            ),
            (
                json!({"action": {"drop": true}, "probability": 2}),
                "probability",
            ),
            (json!({"action": {"drop": true}, "times": 0}), "times"),
            (
                json!({"path": "api", "action": {"drop": true}}),
                "must start",
            ),
        ] {
            let err = f.add(spec(v)).unwrap_err();
            assert!(err.0.contains(needle), "{err}");
        }
    }
}
