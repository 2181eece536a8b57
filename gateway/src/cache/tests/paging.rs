//! Multi-batch results: fetched whole on a miss, served under gateway batch ids.

use super::*;

fn batch(n: u32, next: Option<&str>) -> UpstreamResponse {
    json(&match next {
        Some(id) => format!(r#"{{"data":[[{n}]],"done":false,"nextBatchId":"{id}","rowCount":1}}"#),
        None => format!(r#"{{"data":[[{n}]],"done":true,"nextBatchId":"","rowCount":1}}"#),
    })
}

fn next_id(body: &Bytes) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).expect("json page");
    value["nextBatchId"]
        .as_str()
        .expect("nextBatchId")
        .to_owned()
}

fn first_row(body: &Bytes) -> u64 {
    let value: serde_json::Value = serde_json::from_slice(body).expect("json page");
    value["data"][0][0].as_u64().expect("row")
}

/// Serves a V2 query whose upstream answer has three batches; `fail_last`
/// makes the third batch fetch answer 404 (an expired upstream cursor).
async fn serve_paged(
    cache: &TestCache,
    req: &Req,
    posts: &Arc<AtomicUsize>,
    gets: &Arc<AtomicUsize>,
    fail_last: bool,
) -> Served {
    let posts = posts.clone();
    let gets = gets.clone();
    cache
        .serve(
            &req.as_query(),
            move || -> Fut {
                Box::pin(async move {
                    posts.fetch_add(1, Ordering::SeqCst);
                    Ok(batch(1, Some("up1")))
                })
            },
            move |id: String| -> Fut {
                let gets = gets.clone();
                Box::pin(async move {
                    gets.fetch_add(1, Ordering::SeqCst);
                    match id.as_str() {
                        "up1" => Ok(batch(2, Some("up2"))),
                        "up2" if !fail_last => Ok(batch(3, None)),
                        _ => Ok(UpstreamResponse {
                            status: StatusCode::NOT_FOUND,
                            headers: HeaderMap::new(),
                            body: Bytes::from_static(br#"{"error":"Not Found"}"#),
                        }),
                    }
                })
            },
        )
        .await
        .expect("ok")
}

fn page0(served: &Served) -> Bytes {
    match &served.reply {
        Reply::Json(body) => body.clone(),
        Reply::Upstream(_) => panic!("expected a gateway-produced page"),
    }
}

#[tokio::test]
async fn a_miss_fetches_all_batches_and_pages_come_from_the_cache() {
    let cache = TestCache::new(CacheConfig::default());
    let (posts, gets) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let req = Req::new("SELECT n FROM big");
    let first = serve_paged(&cache, &req, &posts, &gets, false).await;
    assert_eq!(first.outcome, CacheOutcome::Miss);
    assert_eq!(
        (posts.load(Ordering::SeqCst), gets.load(Ordering::SeqCst)),
        (1, 2)
    );

    let p0 = page0(&first);
    assert_eq!(first_row(&p0), 1);
    let id1 = next_id(&p0);
    assert!(is_gateway_batch_id(&id1), "{id1}");
    let p1 = cache.next_batch(&id1, "default", "p1").expect("page 1");
    assert_eq!(first_row(&p1), 2);
    let id2 = next_id(&p1);
    assert!(is_gateway_batch_id(&id2));
    let p2 = cache.next_batch(&id2, "default", "p1").expect("page 2");
    assert_eq!(first_row(&p2), 3);
    let last: serde_json::Value = serde_json::from_slice(&p2).expect("json");
    assert_eq!(last["done"], serde_json::Value::Bool(true));

    // Another data space or policy cannot read the pages.
    assert!(cache.next_batch(&id1, "other", "p1").is_none());
    assert!(cache.next_batch(&id1, "default", "p2").is_none());
    assert!(cache.next_batch("up1", "default", "p1").is_none());

    // A repeat is a hit with the same gateway ids and no upstream call.
    let again = serve_paged(&cache, &req, &posts, &gets, false).await;
    assert_eq!(again.outcome, CacheOutcome::Hit);
    assert_eq!(next_id(&page0(&again)), id1);
    assert_eq!(
        (posts.load(Ordering::SeqCst), gets.load(Ordering::SeqCst)),
        (1, 2)
    );
}

#[tokio::test]
async fn pages_being_read_survive_a_refresh_and_a_purge() {
    let cache = TestCache::new(CacheConfig::default());
    let (posts, gets) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let req = Req::new("SELECT n FROM big");
    let old_id = next_id(&page0(
        &serve_paged(&cache, &req, &posts, &gets, false).await,
    ));

    let refresh = Req::new("SELECT n FROM big").header("cache-control", "no-cache");
    let fresh = serve_paged(&cache, &refresh, &posts, &gets, false).await;
    assert_eq!(fresh.outcome, CacheOutcome::Bypass);
    let new_id = next_id(&page0(&fresh));
    assert_ne!(old_id, new_id, "a refresh gets a new generation");

    cache.purge_all();
    assert!(cache.next_batch(&old_id, "default", "p1").is_some());
    assert!(cache.next_batch(&new_id, "default", "p1").is_some());
}

#[tokio::test]
async fn too_large_results_pass_through_without_being_stored() {
    let cache = TestCache::new(CacheConfig {
        max_result_bytes: 80,
        ..CacheConfig::default()
    });
    let (posts, gets) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let req = Req::new("SELECT n FROM big");
    let first = serve_paged(&cache, &req, &posts, &gets, false).await;
    assert_eq!(first.outcome, CacheOutcome::Miss);
    assert_eq!(gets.load(Ordering::SeqCst), 1, "stopped at the byte bound");
    let p1 = cache
        .next_batch(&next_id(&page0(&first)), "default", "p1")
        .expect("fetched page is still served");
    assert_eq!(
        next_id(&p1),
        "up2",
        "the rest continues against the upstream"
    );

    let again = serve_paged(&cache, &req, &posts, &gets, false).await;
    assert_eq!(again.outcome, CacheOutcome::Miss, "nothing was stored");
    assert_eq!(posts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failed_batch_is_left_to_the_client_and_nothing_is_stored() {
    let cache = TestCache::new(CacheConfig::default());
    let (posts, gets) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let req = Req::new("SELECT n FROM big");
    let first = serve_paged(&cache, &req, &posts, &gets, true).await;
    let p1 = cache
        .next_batch(&next_id(&page0(&first)), "default", "p1")
        .expect("page 1");
    assert_eq!(next_id(&p1), "up2");
    let again = serve_paged(&cache, &req, &posts, &gets, true).await;
    assert_eq!(again.outcome, CacheOutcome::Miss);
}
