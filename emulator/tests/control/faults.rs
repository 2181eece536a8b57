//! Fault rules and rate limits, seen by a client over HTTPS.

use std::time::{Duration, Instant};

use http::Method;
use serde_json::{json, Value};

use super::{bad_request_message, ctl, ok};
use crate::common::{start, TestEnv, CLIENT_ID, USER};

const METADATA: &str = "/api/v1/metadata";
const DATA_SPACES: &str = "/services/data/v64.0/ssot/data-spaces";

async fn add_rule(env: &TestEnv, rule: Value) -> u64 {
    let added = ok(ctl(env, Method::POST, "/__emulator/faults", Some(rule)).await);
    added["id"].as_u64().expect("rule id")
}

#[tokio::test]
async fn counted_status_faults_then_success() {
    let env = start().await;
    let dc = env.dc_token(CLIENT_ID, USER).await;
    let rule = json!({"method": "GET", "path": "/api/v1/metadata*",
                      "action": {"status": 429, "retryAfter": 2}, "times": 3});
    let id = add_rule(&env, rule).await;
    for _ in 0..3 {
        let resp = env.get(METADATA, Some(&dc)).await;
        assert_eq!(resp.status, 429);
        assert_eq!(resp.header("retry-after"), Some("2"));
        let body = resp.json();
        assert_eq!(body["error"], "Too many requests");
        assert_eq!(body["message"], "Too many requests");
        assert!(body["timestamp"].is_string());
    }
    assert_eq!(env.get(METADATA, Some(&dc)).await.status, 200);
    let listed = ok(ctl(&env, Method::GET, &format!("/__emulator/faults/{id}"), None).await);
    assert_eq!(
        (listed["fired"].clone(), listed["remaining"].clone()),
        (json!(3), json!(0))
    );
    let journal = ok(ctl(&env, Method::GET, "/__emulator/journal?status=429", None).await);
    let entries = journal["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["fault"]["ruleIds"], json!([id]));
    assert_eq!(entries[0]["fault"]["action"], "status 429");

    // Each host answers in its own shape; a given body is sent as is.
    add_rule(
        &env,
        json!({"path": "/services/data/*", "action": {"status": 503}, "times": 1}),
    )
    .await;
    let core = env.core_token(CLIENT_ID, USER).await;
    let core = core["access_token"].as_str().unwrap().to_owned();
    let resp = env.get(DATA_SPACES, Some(&core)).await;
    assert_eq!(resp.status, 503);
    assert_eq!(resp.json()[0]["errorCode"], "SERVER_UNAVAILABLE");
    assert_eq!(env.get(DATA_SPACES, Some(&core)).await.status, 200);
    let custom = json!({"path": "/services/oauth2/token", "times": 1,
                        "action": {"status": 500, "body": {"custom": true}}});
    add_rule(&env, custom).await;
    let resp = env.post_form("/services/oauth2/token", &[]).await;
    assert_eq!(
        (resp.status.as_u16(), resp.json()),
        (500, json!({"custom": true}))
    );
}

/// Statuses of `n` GETs of a path that is otherwise 404.
async fn statuses(env: &TestEnv, n: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(env.get("/api/v1/nothing", None).await.status.as_u16());
    }
    out
}

#[tokio::test]
async fn probability_with_a_seed_is_reproducible() {
    let env = start().await;
    let rule = json!({"path": "/api/v1/nothing", "action": {"status": 503},
                      "probability": 0.5, "seed": 42});
    let id = add_rule(&env, rule.clone()).await;
    let first = statuses(&env, 24).await;
    assert!(first.contains(&503) && first.contains(&404), "{first:?}");

    let rewound = ok(ctl(
        &env,
        Method::POST,
        &format!("/__emulator/faults/{id}/reset"),
        None,
    )
    .await);
    assert_eq!(rewound["fired"], 0);
    assert_eq!(statuses(&env, 24).await, first);

    let deleted = ok(ctl(
        &env,
        Method::DELETE,
        &format!("/__emulator/faults/{id}"),
        None,
    )
    .await);
    assert_eq!(deleted["deleted"], 1);
    add_rule(&env, rule).await;
    assert_eq!(statuses(&env, 24).await, first);
}

#[tokio::test]
async fn latency_delays_the_answer() {
    let env = start().await;
    let rule = json!({"path": "/api/v1/nothing", "action": {"latencyMs": 300}, "times": 1});
    add_rule(&env, rule).await;
    let started = Instant::now();
    let resp = env.get("/api/v1/nothing", None).await;
    // A lower bound only: the request ran after the delay.
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(resp.status, 404);
}

#[tokio::test]
async fn dropped_connection_and_malformed_body() {
    let env = start().await;
    let dc = env.dc_token(CLIENT_ID, USER).await;
    add_rule(
        &env,
        json!({"path": METADATA, "action": {"drop": true}, "times": 1}),
    )
    .await;
    let err = env.client.get(METADATA, Some(&dc)).await;
    assert!(err.is_err(), "expected a connection error, got {err:?}");
    assert_eq!(env.get(METADATA, Some(&dc)).await.status, 200);
    let journal = ok(ctl(
        &env,
        Method::GET,
        "/__emulator/journal?path=/api/v1/metadata",
        None,
    )
    .await);
    assert_eq!(journal["entries"][0]["status"], Value::Null);
    assert_eq!(journal["entries"][0]["fault"]["action"], "drop");

    add_rule(
        &env,
        json!({"path": METADATA, "action": {"malformedBody": true}, "times": 1}),
    )
    .await;
    let resp = env.get(METADATA, Some(&dc)).await;
    assert_eq!(resp.status, 200);
    assert!(resp.header("content-type").unwrap().contains("json"));
    assert!(resp.body.starts_with(b"{"), "{}", resp.text());
    assert!(serde_json::from_slice::<Value>(&resp.body).is_err());
    assert!(env.get(METADATA, Some(&dc)).await.json().is_object());
}

#[tokio::test]
async fn control_api_is_exempt_and_rules_are_validated() {
    let env = start().await;
    add_rule(&env, json!({"path": "*", "action": {"status": 500}})).await;
    assert_eq!(env.get("/api/v1/nothing", None).await.status, 500);
    let rules = ok(ctl(&env, Method::GET, "/__emulator/faults", None).await);
    assert_eq!(rules["rules"].as_array().unwrap().len(), 1);
    let deleted = ok(ctl(&env, Method::DELETE, "/__emulator/faults", None).await);
    assert_eq!(deleted["deleted"], 1);
    assert_eq!(env.get("/api/v1/nothing", None).await.status, 404);

    for (rule, needle) in [
        (json!({"action": {"status": 200}}), "between 400 and 599"),
        (json!({"action": {}}), "give status"),
        (
            json!({"action": {"drop": true}, "probability": 1.5}),
            "probability",
        ),
        (json!({"action": {"drop": true}, "colour": "red"}), "colour"),
        (json!({"method": "G T", "action": {"drop": true}}), "method"),
    ] {
        let resp = ctl(&env, Method::POST, "/__emulator/faults", Some(rule)).await;
        let message = bad_request_message(&resp);
        assert!(message.contains(needle), "{message}");
    }
    let resp = ctl(&env, Method::DELETE, "/__emulator/faults/999", None).await;
    assert_eq!(resp.status, 404);
    let resp = ctl(&env, Method::GET, "/__emulator/faults/x", None).await;
    bad_request_message(&resp);
}

#[tokio::test]
async fn rate_limits_answer_like_data_cloud_and_recover_with_the_clock() {
    let env = start().await;
    let dc = env.dc_token(CLIENT_ID, USER).await;
    let core = env.core_token(CLIENT_ID, USER).await;
    let core = core["access_token"].as_str().unwrap().to_owned();
    let now = env.emu.state().clock.now_ms();
    ok(ctl(
        &env,
        Method::POST,
        "/__emulator/clock",
        Some(json!({"pinMs": now})),
    )
    .await);
    let limits = json!({"metadata": {"requests": 2, "windowMs": 60_000},
                        "connect": {"requests": 1, "windowMs": 10_000}});
    let report = ok(ctl(&env, Method::PUT, "/__emulator/ratelimits", Some(limits)).await);
    assert_eq!(report["query"], Value::Null);
    assert_eq!(report["metadata"]["requests"], 2);

    assert_eq!(env.get(METADATA, Some(&dc)).await.status, 200);
    assert_eq!(env.get(METADATA, Some(&dc)).await.status, 200);
    let resp = env.get(METADATA, Some(&dc)).await;
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("60"));
    assert_eq!(resp.json()["error"], "Too many requests");
    assert_eq!(resp.json()["message"], "Too many requests");

    assert_eq!(env.get(DATA_SPACES, Some(&core)).await.status, 200);
    let resp = env.get(DATA_SPACES, Some(&core)).await;
    assert_eq!(resp.status, 403);
    assert_eq!(resp.header("retry-after"), Some("10"));
    assert_eq!(
        resp.json(),
        json!([{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}])
    );
    let report = ok(ctl(&env, Method::GET, "/__emulator/ratelimits", None).await);
    assert_eq!(report["metadata"]["used"], 2);
    assert_eq!(report["metadata"]["remaining"], 0);

    ok(ctl(
        &env,
        Method::POST,
        "/__emulator/clock",
        Some(json!({"advanceMs": 60_000})),
    )
    .await);
    assert_eq!(env.get(METADATA, Some(&dc)).await.status, 200);
    assert_eq!(env.get(DATA_SPACES, Some(&core)).await.status, 200);

    // The token endpoint is throttled in the OAuth shape.
    let limits = json!({"token": {"requests": 0, "windowMs": 5_000}});
    ok(ctl(&env, Method::PUT, "/__emulator/ratelimits", Some(limits)).await);
    let resp = env.post_form("/services/oauth2/token", &[]).await;
    assert_eq!(resp.status, 429);
    assert_eq!(resp.json()["error"], "rate_limit_exceeded");
    assert_eq!(resp.header("retry-after"), Some("5"));
    ok(ctl(&env, Method::DELETE, "/__emulator/ratelimits/token", None).await);
    assert_eq!(
        env.post_form("/services/oauth2/token", &[]).await.status,
        400
    );

    let resp = ctl(
        &env,
        Method::PUT,
        "/__emulator/ratelimits",
        Some(json!({"soql": null})),
    )
    .await;
    assert!(bad_request_message(&resp).contains("soql"));
    let cleared = ok(ctl(&env, Method::DELETE, "/__emulator/ratelimits", None).await);
    assert!(cleared.as_object().unwrap().values().all(Value::is_null));
}
