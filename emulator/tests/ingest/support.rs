//! Helpers of the ingestion tests: the default org's endpoints, sample
//! records, HTTPS calls with a Data Cloud token, and reads of the store
//! (bounded polling: accepted records land asynchronously).

use std::time::{Duration, Instant};

use dc_emulator::testing::TestResponse;
use http::Method;
use rusqlite::types::ValueRef;
use serde_json::{json, Value};

use crate::common::{TestEnv, CLIENT_ID, USER};

pub const LEADS: &str = "/api/v1/ingest/sources/Bridged/LeadProfile";
pub const EVENTS: &str = "/api/v1/ingest/sources/Bridged/EngagementEvent";
pub const JOBS: &str = "/api/v1/ingest/jobs";

/// How long a poll waits for the processor before the test fails. Generous:
/// the processor normally needs one 50 ms tick, but CI machines stall.
const PATIENCE: Duration = Duration::from_secs(30);

/// A Data Cloud token of the main app (query and ingest scopes).
pub async fn token(env: &TestEnv) -> String {
    env.dc_token(CLIENT_ID, USER).await
}

/// A `LeadProfile` record.
pub fn lead(id: &str, first: &str, email: &str, phone: &str) -> Value {
    json!({
        "lead_id": id,
        "first_name": first,
        "last_name": "Doe",
        "email": email,
        "phone": phone,
        "channel": "whatsapp",
        "updated_at": "2026-04-19T10:00:00Z",
    })
}

/// The integration guide's Step 8.4 event, with its id replaced.
pub fn event(id: &str) -> Value {
    json!({
        "event_id": id,
        "customer_email": "lead@example.com",
        "event_type": "lead_qualified",
        "event_timestamp": "2026-04-19T10:00:00Z",
        "conversation_id": "conv_67890",
        "channel": "whatsapp",
    })
}

/// `{"data": records}`.
pub fn data(records: &[Value]) -> Value {
    json!({ "data": records })
}

/// Sends `method path` with a bearer token and a body of `content_type`.
pub async fn call(
    env: &TestEnv,
    method: Method,
    path: &str,
    token: &str,
    content_type: &str,
    body: impl Into<bytes::Bytes>,
) -> TestResponse {
    let auth = format!("Bearer {token}");
    env.send(
        method,
        path,
        &[("authorization", &auth), ("content-type", content_type)],
        body,
    )
    .await
}

/// `POST path` with a JSON body.
pub async fn post(env: &TestEnv, token: &str, path: &str, body: &Value) -> TestResponse {
    call(
        env,
        Method::POST,
        path,
        token,
        "application/json",
        body.to_string(),
    )
    .await
}

/// Asserts a 202 `{"accepted": true}`.
#[track_caller]
pub fn assert_accepted(resp: &TestResponse) {
    assert_eq!(resp.status, 202, "{}", resp.text());
    assert_eq!(resp.json(), json!({"accepted": true}));
}

/// Rows of `sql` run directly on the store, as JSON values.
pub async fn rows(env: &TestEnv, sql: &str) -> Vec<Vec<Value>> {
    let sql = sql.to_owned();
    env.emu
        .state()
        .store
        .read(move |conn| {
            let mut stmt = conn.prepare(&sql).expect("test SQL prepares");
            let n = stmt.column_count();
            let mut out = Vec::new();
            let mut rows = stmt.query([]).expect("test SQL runs");
            while let Some(row) = rows.next().expect("row") {
                out.push(
                    (0..n)
                        .map(|i| match row.get_ref(i).expect("cell") {
                            ValueRef::Null => Value::Null,
                            ValueRef::Integer(v) => json!(v),
                            ValueRef::Real(v) => json!(v),
                            ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                            ValueRef::Blob(_) => json!("<blob>"),
                        })
                        .collect(),
                );
            }
            out
        })
        .await
        .expect("store read")
}

/// Polls `sql` until `done(rows)` holds; panics with the last rows after
/// `PATIENCE`.
pub async fn wait_until(
    env: &TestEnv,
    sql: &str,
    done: impl Fn(&[Vec<Value>]) -> bool,
) -> Vec<Vec<Value>> {
    let start = Instant::now();
    loop {
        let got = rows(env, sql).await;
        if done(&got) {
            return got;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "gave up waiting on `{sql}`; last rows: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls until nothing is queued (every accepted item was applied).
pub async fn drained(env: &TestEnv) {
    wait_until(env, "SELECT COUNT(*) FROM __dc_ingest_queue", |r| {
        r[0][0] == json!(0)
    })
    .await;
}

/// Polls `GET /api/v1/ingest/jobs/{id}` until the job reaches `state`.
pub async fn wait_job(env: &TestEnv, token: &str, id: &str, state: &str) -> Value {
    let start = Instant::now();
    loop {
        let resp = env.get(&format!("{JOBS}/{id}"), Some(token)).await;
        assert_eq!(resp.status, 200, "{}", resp.text());
        let job = resp.json();
        if job["state"] == state {
            return job;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "job never reached {state}: {job}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
