//! Behaviour tests of the query cache with an in-memory fake upstream
//! (closures counting their calls).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};

use super::*;

fn json(body: &str) -> UpstreamResponse {
    UpstreamResponse {
        status: StatusCode::OK,
        headers: HeaderMap::new(),
        body: Bytes::from(body.to_owned()),
    }
}

fn v2_done(tag: &str) -> UpstreamResponse {
    json(&format!(
        r#"{{"data":[["{tag}"]],"done":true,"rowCount":1,"metadata":{{}}}}"#
    ))
}

fn body(sql: &str) -> Bytes {
    Bytes::from(serde_json::json!({ "sql": sql }).to_string())
}

struct Req {
    body: Bytes,
    headers: HeaderMap,
    data_space: &'static str,
    policy: &'static str,
}

impl Req {
    fn new(sql: &str) -> Self {
        Req {
            body: body(sql),
            headers: HeaderMap::new(),
            data_space: "default",
            policy: "p1",
        }
    }

    fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.insert(name, HeaderValue::from_static(value));
        self
    }

    fn as_query(&self) -> QueryRequest<'_> {
        QueryRequest {
            endpoint: QueryEndpoint::TenantV2,
            api_version: "v2",
            data_space: self.data_space,
            policy_scope: self.policy,
            query: "",
            headers: &self.headers,
            body: &self.body,
        }
    }
}

/// The cache as these tests use it: upstream errors are plain strings.
type TestCache = QueryCache<&'static str>;

type Fut = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<UpstreamResponse, &'static str>> + Send>,
>;

fn no_batches(_id: String) -> Fut {
    Box::pin(async { Err("no batches expected") })
}

/// Serves `req` with an upstream answering `answer`, counting calls in `calls`.
async fn serve(
    cache: &TestCache,
    req: &Req,
    calls: &Arc<AtomicUsize>,
    answer: UpstreamResponse,
) -> Served {
    let calls = calls.clone();
    cache
        .serve(
            &req.as_query(),
            move || -> Fut {
                Box::pin(async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok(answer)
                })
            },
            no_batches,
        )
        .await
        .expect("upstream ok")
}

fn reply_body(served: &Served) -> Bytes {
    match &served.reply {
        Reply::Json(body) => body.clone(),
        Reply::Upstream(resp) => resp.body.clone(),
    }
}

#[tokio::test]
async fn miss_then_hit_and_equivalent_sql_shares_the_entry() {
    let cache = TestCache::new(CacheConfig::default());
    let calls = Arc::new(AtomicUsize::new(0));
    let first = serve(&cache, &Req::new("SELECT a FROM t"), &calls, v2_done("x")).await;
    assert_eq!(first.outcome, CacheOutcome::Miss);
    let again = serve(&cache, &Req::new("SELECT a FROM t"), &calls, v2_done("y")).await;
    assert_eq!(again.outcome, CacheOutcome::Hit);
    assert_eq!(reply_body(&again), reply_body(&first));
    let spelled = serve(
        &cache,
        &Req::new("select A\n from T -- hi"),
        &calls,
        v2_done("z"),
    )
    .await;
    assert_eq!(spelled.outcome, CacheOutcome::Hit);
    let literal = serve(
        &cache,
        &Req::new("SELECT a FROM t WHERE n = 'X'"),
        &calls,
        v2_done("l"),
    )
    .await;
    assert_eq!(literal.outcome, CacheOutcome::Miss);
    let lower = serve(
        &cache,
        &Req::new("SELECT a FROM t WHERE n = 'x'"),
        &calls,
        v2_done("l"),
    )
    .await;
    assert_eq!(lower.outcome, CacheOutcome::Miss);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (2, 3));
    assert_eq!(stats.memo_hits, 1, "the repeated raw body skipped parsing");
}

#[tokio::test]
async fn data_spaces_and_policies_never_share_entries() {
    let cache = TestCache::new(CacheConfig::default());
    let calls = Arc::new(AtomicUsize::new(0));
    let mut req = Req::new("SELECT a FROM t");
    serve(&cache, &req, &calls, v2_done("default")).await;
    req.data_space = "other";
    let other_space = serve(&cache, &req, &calls, v2_done("other")).await;
    assert_eq!(other_space.outcome, CacheOutcome::Miss);
    req.policy = "p2";
    let other_policy = serve(&cache, &req, &calls, v2_done("p2")).await;
    assert_eq!(other_policy.outcome, CacheOutcome::Miss);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_misses_make_one_upstream_call() {
    let cache = TestCache::new(CacheConfig::default());
    let calls = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let cache = cache.clone();
        let calls = calls.clone();
        tasks.push(tokio::spawn(async move {
            let req = Req::new("SELECT a FROM t");
            cache
                .serve(
                    &req.as_query(),
                    move || -> Fut {
                        Box::pin(async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok(v2_done("once"))
                        })
                    },
                    no_batches,
                )
                .await
                .expect("ok")
                .outcome
        }));
    }
    let mut misses = 0;
    for task in tasks {
        if task.await.expect("task") == CacheOutcome::Miss {
            misses += 1;
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(misses, 1);
}

#[tokio::test]
async fn entries_expire_after_the_ttl() {
    let cache = TestCache::new(CacheConfig {
        ttl: Duration::from_millis(50),
        ..CacheConfig::default()
    });
    let calls = Arc::new(AtomicUsize::new(0));
    let req = Req::new("SELECT a FROM t");
    serve(&cache, &req, &calls, v2_done("1")).await;
    // moka's TTL runs on its own clock (not tokio's), so this sleeps for real;
    // only "expired after 4x the TTL" is asserted, never a timing upper bound.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let later = serve(&cache, &req, &calls, v2_done("2")).await;
    assert_eq!(later.outcome, CacheOutcome::Miss);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn byte_bound_evicts() {
    let cache = TestCache::new(CacheConfig {
        max_bytes: 16 * 1024,
        ..CacheConfig::default()
    });
    let calls = Arc::new(AtomicUsize::new(0));
    let filler = "x".repeat(1000);
    for i in 0..64 {
        let req = Req::new(&format!("SELECT a FROM t WHERE id = {i}"));
        serve(&cache, &req, &calls, v2_done(&filler)).await;
        cache.sync();
    }
    let stats = cache.stats();
    assert!(stats.bytes <= 16 * 1024, "{stats:?}");
    assert!(stats.evictions > 0, "{stats:?}");
    assert!(stats.entries < 64, "{stats:?}");
}

#[tokio::test]
async fn no_cache_refreshes_and_no_store_bypasses() {
    let cache = TestCache::new(CacheConfig::default());
    let calls = Arc::new(AtomicUsize::new(0));
    let sql = "SELECT a FROM t";
    serve(&cache, &Req::new(sql), &calls, v2_done("old")).await;

    let refresh = Req::new(sql).header("cache-control", "no-cache");
    let fresh = serve(&cache, &refresh, &calls, v2_done("new")).await;
    assert_eq!(fresh.outcome, CacheOutcome::Bypass);
    let hit = serve(&cache, &Req::new(sql), &calls, v2_done("unused")).await;
    assert_eq!(hit.outcome, CacheOutcome::Hit);
    assert!(String::from_utf8_lossy(&reply_body(&hit)).contains("new"));

    let no_store = Req::new(sql).header("cache-control", "no-store");
    let bypass = serve(&cache, &no_store, &calls, v2_done("nostore")).await;
    assert_eq!(bypass.outcome, CacheOutcome::Bypass);
    assert!(String::from_utf8_lossy(&reply_body(&bypass)).contains("nostore"));
    let still = serve(&cache, &Req::new(sql), &calls, v2_done("unused")).await;
    assert!(String::from_utf8_lossy(&reply_body(&still)).contains("new"));

    let fresh_only = Req::new("SELECT b FROM t").header("cache-control", "no-store");
    serve(&cache, &fresh_only, &calls, v2_done("b")).await;
    let miss = serve(&cache, &Req::new("SELECT b FROM t"), &calls, v2_done("b")).await;
    assert_eq!(miss.outcome, CacheOutcome::Miss, "no-store wrote nothing");
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn uncacheable_requests_and_answers_pass_through() {
    let cache = TestCache::new(CacheConfig::default());
    let calls = Arc::new(AtomicUsize::new(0));
    for _ in 0..2 {
        let write = serve(&cache, &Req::new("DELETE FROM t"), &calls, v2_done("d")).await;
        assert_eq!(write.outcome, CacheOutcome::Bypass);
    }
    let mut garbage = Req::new("x");
    garbage.body = Bytes::from_static(b"{not json");
    assert_eq!(
        serve(&cache, &garbage, &calls, v2_done("g")).await.outcome,
        CacheOutcome::Bypass
    );
    let error = UpstreamResponse {
        status: StatusCode::BAD_REQUEST,
        headers: HeaderMap::new(),
        body: Bytes::from_static(br#"{"error":"Bad Request","message":"no such table"}"#),
    };
    for _ in 0..2 {
        let served = serve(
            &cache,
            &Req::new("SELECT a FROM nope"),
            &calls,
            error.clone(),
        )
        .await;
        assert_eq!(served.outcome, CacheOutcome::Miss);
        match served.reply {
            Reply::Upstream(resp) => assert_eq!(resp.status, StatusCode::BAD_REQUEST),
            Reply::Json(_) => panic!("a 400 must pass through"),
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), 5);

    let failed = cache
        .serve(
            &Req::new("SELECT a FROM t").as_query(),
            || -> Fut { Box::pin(async { Err("connection refused") }) },
            no_batches,
        )
        .await;
    assert_eq!(failed.err().as_deref(), Some(&"connection refused"));

    let off = TestCache::new(CacheConfig {
        enabled: false,
        ..CacheConfig::default()
    });
    for _ in 0..2 {
        let served = serve(&off, &Req::new("SELECT 1"), &calls, v2_done("1")).await;
        assert_eq!(served.outcome, CacheOutcome::Bypass);
    }
}

#[tokio::test]
async fn purge_by_table_and_all() {
    let cache = TestCache::new(CacheConfig::default());
    let calls = Arc::new(AtomicUsize::new(0));
    let on_a = Req::new("SELECT x FROM Alpha__dlm");
    let on_b = Req::new("SELECT x FROM beta__dlm b JOIN gamma.Delta__dll d ON b.x = d.x");
    serve(&cache, &on_a, &calls, v2_done("a")).await;
    serve(&cache, &on_b, &calls, v2_done("b")).await;

    cache.purge_table("ALPHA__DLM");
    assert_eq!(
        serve(&cache, &on_a, &calls, v2_done("a")).await.outcome,
        CacheOutcome::Miss
    );
    assert_eq!(
        serve(&cache, &on_b, &calls, v2_done("b")).await.outcome,
        CacheOutcome::Hit
    );

    cache.purge_table("delta__dll");
    assert_eq!(
        serve(&cache, &on_b, &calls, v2_done("b")).await.outcome,
        CacheOutcome::Miss
    );

    cache.purge_all();
    assert_eq!(
        serve(&cache, &on_a, &calls, v2_done("a")).await.outcome,
        CacheOutcome::Miss
    );
    assert_eq!(
        serve(&cache, &on_b, &calls, v2_done("b")).await.outcome,
        CacheOutcome::Miss
    );
    assert_eq!(cache.stats().purges, 3);
}

mod paging;
