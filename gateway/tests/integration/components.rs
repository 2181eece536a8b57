//! The pipeline components as wired into the gateway: query cache,
//! ingestion limits, upstream rate limit, metrics.

use dc_emulator::EmulatorConfig;
use serde_json::json;

use super::common::{rows, start, SQL};

#[tokio::test]
async fn repeated_queries_are_answered_from_the_cache() {
    let env = start(EmulatorConfig::default(), "", "").await;
    let first = env.query(SQL).await;
    rows(&first);
    assert_eq!(first.header("x-cache"), Some("MISS"));
    let upstream = env.count("queryRequests").await;

    let again = env.query(SQL).await;
    assert_eq!(again.header("x-cache"), Some("HIT"));
    assert_eq!(rows(&again), rows(&first));
    assert_eq!(
        env.count("queryRequests").await,
        upstream,
        "a hit went upstream"
    );

    let r = env.query_with(SQL, &[("cache-control", "no-store")]).await;
    rows(&r);
    assert_eq!(r.header("x-cache"), Some("BYPASS"));
    assert_eq!(env.count("queryRequests").await, upstream + 1);

    let r = env
        .gw
        .send(
            http::Method::DELETE,
            "/__gateway/cache",
            &[],
            bytes::Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(env.query(SQL).await.header("x-cache"), Some("MISS"));

    let m = env.gw.get("/metrics", None).await.unwrap();
    assert_eq!(m.status, 200);
    let text = m.text();
    assert!(text.contains("dcgw_cache_hits_total"), "{text}");
    assert!(text.contains("dcgw_requests_total"), "{text}");
    assert!(text.contains("tenant.query"), "{text}");
    env.stop().await;
}

/// Counted at the emulator, over the real path: 100 concurrent identical
/// queries (the upstream slowed so they overlap) make one upstream query;
/// after `cache.ttl_secs` the entry is gone and the next one goes upstream.
/// (Data spaces and policies never sharing an entry: `cache/tests.rs`.)
#[tokio::test]
async fn identical_misses_coalesce_and_entries_expire_after_the_ttl() {
    let env =
        std::sync::Arc::new(start(EmulatorConfig::default(), "", "[cache]\nttl_secs = 1").await);
    env.wait_ready().await;
    env.add_fault(json!({"method": "POST", "path": "/api/v2/query", "action": {"latencyMs": 300}}))
        .await;
    let before = env.count("queryRequests").await;
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let env = env.clone();
            tokio::spawn(async move { env.query(SQL).await })
        })
        .collect();
    let mut outcomes = std::collections::BTreeMap::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(rows(&r).len(), 5);
        *outcomes
            .entry(r.header("x-cache").unwrap_or("-").to_owned())
            .or_insert(0) += 1;
    }
    assert_eq!(env.count("queryRequests").await, before + 1, "{outcomes:?}");
    assert_eq!(outcomes.get("MISS"), Some(&1), "{outcomes:?}");
    assert_eq!(outcomes.get("HIT"), Some(&99), "{outcomes:?}");

    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let upstream = env.count("queryRequests").await;
    let r = env.query(SQL).await;
    assert_eq!(r.header("x-cache"), Some("MISS"), "expired after the TTL");
    assert_eq!(env.count("queryRequests").await, upstream + 1);
    let Ok(env) = std::sync::Arc::try_unwrap(env) else {
        panic!("env still shared")
    };
    env.stop().await;
}

fn records(n: usize) -> String {
    let data: Vec<_> = (0..n)
        .map(|i| json!({"event_id": format!("e{i}")}))
        .collect();
    json!({ "data": data }).to_string()
}

#[tokio::test]
async fn oversized_ingestion_is_split_into_compliant_chunks() {
    let env = start(EmulatorConfig::default(), "", "").await;
    env.wait_ready().await;
    let before = env.count("requests").await;
    let r = env
        .gw
        .send(
            http::Method::POST,
            "/api/v1/ingest/sources/web/EngagementEvent",
            &[("content-type", "application/json")],
            records(120),
        )
        .await
        .unwrap();
    let j = r.json();
    assert_eq!(j["records"], 120, "{j}");
    assert_eq!(j["chunks"].as_array().map(Vec::len), Some(3), "{j}");
    // Three chunk requests reached the upstream (plus this stats call).
    assert_eq!(env.count("requests").await, before + 1 + 3);
    env.stop().await;
}

#[tokio::test]
async fn oversized_ingestion_can_be_refused_instead() {
    let env = start(
        EmulatorConfig::default(),
        "",
        "[ingest]\noversize = \"reject\"",
    )
    .await;
    env.wait_ready().await;
    let before = env.count("requests").await;
    let r = env
        .gw
        .send(
            http::Method::POST,
            "/api/v1/ingest/sources/web/EngagementEvent",
            &[("content-type", "application/json")],
            records(51),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.json()["limit"], 50);
    assert_eq!(r.json()["count"], 51);
    let r = env
        .gw
        .send(
            http::Method::POST,
            "/api/v1/ingest/sources/web/EngagementEvent",
            &[("content-type", "application/json")],
            "not json",
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        env.count("requests").await,
        before + 1,
        "nothing went upstream"
    );
    env.stop().await;
}

#[tokio::test]
async fn the_upstream_rate_limit_answers_429_itself() {
    let env = start(
        EmulatorConfig::default(),
        "",
        "[cache]\nenabled = false\n[ratelimit]\nrequests_per_second = 0.01\nburst = 1\nmax_wait_ms = 0",
    )
    .await;
    // The token calls do not count; the first query takes the only slot.
    rows(&env.query(SQL).await);
    let r = env.query(SQL).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.header("retry-after").is_some());
    assert_eq!(r.json()["error"], "Too many requests");
    env.stop().await;
}
