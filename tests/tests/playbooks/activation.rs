//! Activation (guide: "Query unified customer profiles from Data Cloud for
//! WhatsApp/SMS broadcast"): the app reads every unified profile in Query V2
//! pages, following `nextBatchId` through the gateway. The gateway fetches a
//! multi-batch result whole and serves the pages from its cache under its
//! own batch ids; upstream 503s and 429s are retried out of the app's sight,
//! and a rate limit longer than the gateway's retry budget reaches the app
//! as a 429 with `Retry-After`, after which its retry gets the rows — also
//! midway through a result, where the gateway hands the app the upstream's
//! own batch id to continue from.

use std::collections::HashSet;

use dc_emulator::testing::TestResponse;
use dc_emulator::EmulatorConfig;
use dc_tests::StackEnv;
use hyper::Method;
use serde_json::{json, Value};

use crate::support::{rows, statuses, x_cache};

const BATCH_ROWS: usize = 100;
const AUDIENCE_SQL: &str =
    "SELECT IndividualId, FirstName, LastName, Email FROM UnifiedIndividual ORDER BY IndividualId";

/// Reads a V2 result to its end through the gateway: every row, and the
/// `x-cache` verdict of each answer (first page included).
async fn read_all(env: &StackEnv, first: TestResponse) -> (Vec<Value>, Vec<String>) {
    let mut all = rows(&first);
    let mut verdicts = vec![x_cache(&first).to_owned()];
    let mut page = first.json();
    while page["done"] == false {
        let id = page["nextBatchId"]
            .as_str()
            .expect("nextBatchId")
            .to_owned();
        assert!(id.starts_with("gwb-"), "an upstream batch id leaked: {id}");
        let resp = env.next_batch(&id).await;
        all.extend(rows(&resp));
        verdicts.push(x_cache(&resp).to_owned());
        page = resp.json();
    }
    (all, verdicts)
}

fn distinct_ids(rows: &[Value]) -> usize {
    rows.iter()
        .map(|r| r[0].as_str().unwrap_or("").to_owned())
        .collect::<HashSet<_>>()
        .len()
}

async fn small_batches() -> StackEnv {
    StackEnv::start(
        EmulatorConfig {
            query_batch_rows: BATCH_ROWS,
            ..EmulatorConfig::default()
        },
        "",
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn activation_reads_profiles_in_pages_served_by_the_gateway() {
    let env = small_batches().await;
    let total = env.unified_count().await as usize;
    let batches = total.div_ceil(BATCH_ROWS);
    assert!(batches >= 3, "the audience must span several batches");

    let (audience, verdicts) = read_all(&env, env.query(AUDIENCE_SQL, &[]).await).await;
    assert_eq!(audience.len(), total);
    assert_eq!(distinct_ids(&audience), total);
    assert_eq!(verdicts[0], "MISS");
    assert!(verdicts[1..].iter().all(|v| v == "HIT"), "{verdicts:?}");
    // Upstream: one POST, then the remaining batches fetched by the gateway.
    assert_eq!(env.journal("method=POST&path=/api/v2/query").await.len(), 1);
    let gets = env.journal("method=GET&path=/api/v2/query/*").await;
    assert_eq!(statuses(&gets), vec![200; batches - 1]);

    // The next broadcast reads the same audience: no upstream call at all.
    env.clear_journal().await;
    let (again, verdicts) = read_all(&env, env.query(AUDIENCE_SQL, &[]).await).await;
    assert_eq!(again, audience);
    assert!(verdicts.iter().all(|v| v == "HIT"), "{verdicts:?}");
    assert!(env.journal("path=/api/").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn activation_gets_its_rows_through_503s_and_429s() {
    let env = small_batches().await;
    let reachable = rows(
        &env.query(
            "SELECT COUNT(*) FROM UnifiedIndividual WHERE Email IS NOT NULL",
            &[],
        )
        .await,
    )[0][0]
        .as_u64()
        .expect("a count") as usize;
    assert!(reachable > 2 * BATCH_ROWS);

    // A 503 on the query and one on a later batch: the gateway retries both.
    env.clear_journal().await;
    env.add_fault(json!({"method": "POST", "path": "/api/v2/query",
                         "action": {"status": 503}, "times": 1}))
        .await;
    env.add_fault(json!({"method": "GET", "path": "/api/v2/query/*",
                         "action": {"status": 503}, "times": 1}))
        .await;
    let sql = "SELECT IndividualId, Email FROM UnifiedIndividual WHERE Email IS NOT NULL ORDER BY IndividualId";
    let (reached, _) = read_all(&env, env.query(sql, &[]).await).await;
    assert_eq!(reached.len(), reachable);
    assert_eq!(distinct_ids(&reached), reachable);
    let posts = env.journal("method=POST&path=/api/v2/query").await;
    assert_eq!(statuses(&posts), [503, 200]);
    let gets = env.journal("method=GET&path=/api/v2/query/*").await;
    assert_eq!(
        (gets[0]["status"].clone(), gets[1]["status"].clone()),
        (json!(503), json!(200))
    );
    assert_eq!(
        gets[0]["path"], gets[1]["path"],
        "the same batch, fetched again"
    );

    // A 429 with Retry-After: the gateway waits at least that long, then retries.
    env.clear_journal().await;
    env.add_fault(json!({"method": "POST", "path": "/api/v2/query",
                         "action": {"status": 429, "retryAfter": 1}, "times": 1}))
        .await;
    let resp = env
        .query(
            "SELECT IndividualId FROM UnifiedIndividual ORDER BY IndividualId LIMIT 10",
            &[],
        )
        .await;
    assert_eq!(rows(&resp).len(), 10);
    let posts = env.journal("method=POST&path=/api/v2/query").await;
    assert_eq!(statuses(&posts), [429, 200]);
    let waited =
        posts[1]["timeMs"].as_i64().unwrap_or(0) - posts[0]["timeMs"].as_i64().unwrap_or(0);
    assert!(
        waited >= 1000,
        "retried after {waited} ms, before Retry-After"
    );

    // The org's rate limit, with time standing still: one query a minute.
    let now = env.control(Method::GET, "/__emulator/clock", None).await["nowMs"].clone();
    env.control(
        Method::POST,
        "/__emulator/clock",
        Some(json!({ "pinMs": now })),
    )
    .await;
    env.control(
        Method::PUT,
        "/__emulator/ratelimits",
        Some(json!({"query": {"requests": 1, "windowMs": 60_000}})),
    )
    .await;
    let first = env
        .query(
            "SELECT IndividualId FROM UnifiedIndividual ORDER BY IndividualId LIMIT 5",
            &[],
        )
        .await;
    assert_eq!(rows(&first).len(), 5);
    // A minute is past the gateway's retry budget: the app gets the 429.
    let second_sql =
        "SELECT IndividualId, Email FROM UnifiedIndividual ORDER BY IndividualId LIMIT 5";
    let limited = env.query(second_sql, &[]).await;
    assert_eq!(limited.status, 429, "{}", limited.text());
    assert_eq!(limited.header("retry-after"), Some("60"));
    assert_eq!(limited.json()["error"], "Too many requests");
    // The app honours Retry-After (here: the emulator clock moves on) and retries.
    env.advance_clock(60_000).await;
    let retried = env.query(second_sql, &[]).await;
    assert_eq!(rows(&retried).len(), 5);
    assert_eq!(x_cache(&retried), "MISS", "a 429 is never cached");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limit_midway_leaves_the_rest_of_the_pages_to_the_app() {
    let env = small_batches().await;
    let total = env.unified_count().await as usize;
    let batches = total.div_ceil(BATCH_ROWS);
    assert!(batches > 3);
    // Three Query API calls a minute, and time stands still unless moved.
    let now = env.control(Method::GET, "/__emulator/clock", None).await["nowMs"].clone();
    env.control(
        Method::POST,
        "/__emulator/clock",
        Some(json!({ "pinMs": now })),
    )
    .await;
    env.control(
        Method::PUT,
        "/__emulator/ratelimits",
        Some(json!({"query": {"requests": 3, "windowMs": 60_000}})),
    )
    .await;

    // The gateway fetches the query and two batches, then meets the limit:
    // it stores nothing, serves what it has under its own ids, and the last
    // of those pages hands the app the upstream's own next batch id.
    let first = env.query(AUDIENCE_SQL, &[]).await;
    let mut audience = rows(&first);
    let mut page = first.json();
    let mut gateway_pages = 0;
    let mut limited = 0;
    while page["done"] == false {
        let id = page["nextBatchId"]
            .as_str()
            .expect("nextBatchId")
            .to_owned();
        gateway_pages += usize::from(id.starts_with("gwb-"));
        let resp = env.next_batch(&id).await;
        if resp.status == 429 {
            // The app honours Retry-After (the emulator clock moves for it).
            limited += 1;
            let wait: i64 = resp
                .header("retry-after")
                .and_then(|s| s.parse().ok())
                .expect("Retry-After seconds");
            env.advance_clock(wait * 1000).await;
            continue;
        }
        audience.extend(rows(&resp));
        page = resp.json();
    }
    assert_eq!(
        gateway_pages, 2,
        "pages served from what the gateway fetched"
    );
    assert_eq!(audience.len(), total);
    assert_eq!(distinct_ids(&audience), total);
    assert!(limited >= 1);
    // Nothing was fetched twice: every batch the emulator served is distinct.
    let served: Vec<String> = env
        .journal("method=GET&path=/api/v2/query/*&status=200")
        .await
        .iter()
        .map(|e| e["path"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(served.len(), batches - 1);
    assert_eq!(served.iter().collect::<HashSet<_>>().len(), batches - 1);
}
