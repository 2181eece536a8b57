//! Records and response readers shared by the playbook scenarios.

use dc_emulator::testing::TestResponse;
use serde_json::{json, Value};

/// The `Bridged` connector's objects (ingestion path segments).
pub const EVENTS: &str = "EngagementEvent";
pub const LEADS: &str = "LeadProfile";

/// The guide's Step 8.4 record shape.
pub fn event(id: &str, email: &str, event_type: &str, channel: &str, at: &str) -> Value {
    json!({
        "event_id": id,
        "customer_email": email,
        "event_type": event_type,
        "event_timestamp": at,
        "conversation_id": format!("conv-{id}"),
        "channel": channel,
    })
}

/// `n` conversation outcomes, ids `{prefix}-000`, `{prefix}-001`, …
pub fn outcomes(prefix: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let kind = ["replied", "meeting_booked", "converted", "unsubscribed"][i % 4];
            event(
                &format!("{prefix}-{i:03}"),
                &format!("lead{i}@example.com"),
                kind,
                "whatsapp",
                "2026-04-19T10:00:00Z",
            )
        })
        .collect()
}

/// `data` of a Query V2 answer, asserting a 200 first.
#[track_caller]
pub fn rows(resp: &TestResponse) -> Vec<Value> {
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()["data"].as_array().cloned().unwrap_or_default()
}

/// The gateway's `x-cache` verdict of a query answer.
pub fn x_cache(resp: &TestResponse) -> &str {
    resp.header("x-cache").unwrap_or("")
}

/// The `status` of each journal entry.
pub fn statuses(entries: &[Value]) -> Vec<u64> {
    entries
        .iter()
        .map(|e| e["status"].as_u64().unwrap_or(0))
        .collect()
}
