//! Driver tests with a scripted upstream closure and paused time.

use std::sync::atomic::AtomicUsize;
use std::sync::Mutex;
use std::time::Duration;

use http::HeaderValue;

use super::*;
use crate::ingest::{plan_insert, Plan};

fn plan(n: usize) -> SplitPlan {
    let recs: Vec<String> = (0..n).map(|i| format!(r#"{{"id":{i}}}"#)).collect();
    let body = format!(r#"{{"data":[{}]}}"#, recs.join(","));
    match plan_insert(body.as_bytes(), &IngestLimits::default()).expect("plan") {
        Plan::Split(plan) => plan,
        Plan::Forward => panic!("expected a split"),
    }
}

fn reply(status: u16, body: &'static str) -> ChunkReply {
    ChunkReply::Response {
        status: StatusCode::from_u16(status).expect("status"),
        headers: HeaderMap::new(),
        body: Bytes::from_static(body.as_bytes()),
    }
}

/// A scripted upstream: `script(chunk index, try number)` gives the reply;
/// every send is logged as (chunk index, try).
#[derive(Clone, Default)]
struct Upstream {
    log: Arc<Mutex<Vec<(usize, u32)>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

impl Upstream {
    fn sender(
        &self,
        script: fn(usize, u32) -> ChunkReply,
    ) -> impl Fn(Chunk) -> std::pin::Pin<Box<dyn Future<Output = ChunkReply> + Send>>
           + Send
           + Sync
           + 'static {
        let me = self.clone();
        move |chunk: Chunk| {
            let me = me.clone();
            Box::pin(async move {
                let try_no = {
                    let mut log = me.log.lock().expect("lock");
                    let n = log.iter().filter(|(c, _)| *c == chunk.index).count() as u32 + 1;
                    log.push((chunk.index, n));
                    n
                };
                let now = me.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                me.max_in_flight.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                me.in_flight.fetch_sub(1, Ordering::SeqCst);
                script(chunk.index, try_no)
            })
        }
    }

    fn tries(&self, chunk: usize) -> usize {
        let log = self.log.lock().expect("lock");
        log.iter().filter(|(c, _)| *c == chunk).count()
    }
}

fn body_json(agg: &Aggregate) -> serde_json::Value {
    serde_json::from_slice(&agg.body()).expect("aggregate body is JSON")
}

#[tokio::test(start_paused = true)]
async fn all_chunks_accepted_gives_202_with_summary() {
    let up = Upstream::default();
    let agg = send_chunks(
        plan(120),
        &IngestLimits::default(),
        up.sender(|_, _| reply(202, r#"{"accepted":true}"#)),
    )
    .await;
    assert_eq!(agg.status(), StatusCode::ACCEPTED);
    let body = body_json(&agg);
    assert_eq!(body["accepted"], true);
    assert_eq!(body["records"], 120);
    let chunks = body["chunks"].as_array().expect("chunks");
    assert_eq!(chunks.len(), 3);
    assert_eq!(
        (chunks[1]["first"].as_u64(), chunks[1]["last"].as_u64()),
        (Some(50), Some(99))
    );
    assert_eq!(agg.chunks(ChunkOutcome::Accepted), 3);
}

#[tokio::test(start_paused = true)]
async fn a_failing_middle_chunk_is_reported_and_the_rest_proceed() {
    let up = Upstream::default();
    let agg = send_chunks(
        plan(120),
        &IngestLimits::default(),
        up.sender(|chunk, _| {
            if chunk == 1 {
                reply(
                    400,
                    r#"{"error":"Bad Request","message":"mismatch with Schema"}"#,
                )
            } else {
                reply(202, r#"{"accepted":true}"#)
            }
        }),
    )
    .await;
    assert_eq!(agg.status(), StatusCode::MULTI_STATUS);
    assert_eq!(up.tries(1), 1, "a 400 is not retried");
    let body = body_json(&agg);
    assert_eq!(body["accepted"], false);
    assert_eq!(body["acceptedRecords"], 70);
    assert_eq!(body["error"], "Multi-Status");
    assert!(body["message"]
        .as_str()
        .is_some_and(|m| m.contains("records 50-99 failed (400)")));
    let middle = &body["chunks"][1];
    assert_eq!(middle["outcome"], "failed");
    assert_eq!(middle["status"], 400);
    assert_eq!(middle["error"]["message"], "mismatch with Schema");
    assert_eq!(body["chunks"][2]["outcome"], "accepted");
}

#[tokio::test(start_paused = true)]
async fn only_429_and_503_are_retried() {
    let up = Upstream::default();
    let start = tokio::time::Instant::now();
    let agg = send_chunks(
        plan(150),
        &IngestLimits::default(),
        up.sender(|chunk, try_no| match (chunk, try_no) {
            (0, 1) => ChunkReply::Response {
                status: StatusCode::TOO_MANY_REQUESTS,
                headers: {
                    let mut h = HeaderMap::new();
                    h.insert("retry-after", HeaderValue::from_static("3"));
                    h
                },
                body: Bytes::new(),
            },
            (1, 1) => reply(503, ""),
            (2, _) => reply(500, r#"{"message":"Internal Server Error"}"#),
            _ => reply(202, r#"{"accepted":true}"#),
        }),
    )
    .await;
    assert_eq!((up.tries(0), up.tries(1), up.tries(2)), (2, 2, 1));
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "Retry-After honoured"
    );
    let outcomes: Vec<_> = agg.ranges.iter().map(|r| (r.outcome, r.attempts)).collect();
    assert_eq!(
        outcomes,
        vec![
            (ChunkOutcome::Accepted, 2),
            (ChunkOutcome::Accepted, 2),
            (ChunkOutcome::Failed, 1)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn ambiguous_failures_are_unknown_and_never_resent() {
    let up = Upstream::default();
    let agg = send_chunks(
        plan(100),
        &IngestLimits::default(),
        up.sender(|chunk, _| match chunk {
            0 => ChunkReply::Unknown("connection reset after sending".into()),
            _ => ChunkReply::NotSent("connection refused".into()),
        }),
    )
    .await;
    assert_eq!((up.tries(0), up.tries(1)), (1, 1));
    assert_eq!(agg.ranges[0].outcome, ChunkOutcome::Unknown);
    assert_eq!(agg.ranges[1].outcome, ChunkOutcome::Failed);
    assert_eq!(agg.status(), StatusCode::BAD_GATEWAY);
    let body = body_json(&agg);
    assert_eq!(
        body["chunks"][0]["error"]["message"],
        "connection reset after sending"
    );
    assert_eq!(body["chunks"][0]["status"], serde_json::Value::Null);
}

#[tokio::test(start_paused = true)]
async fn none_accepted_takes_the_first_failure_status() {
    let up = Upstream::default();
    let agg = send_chunks(
        plan(60),
        &IngestLimits::default(),
        up.sender(|_, _| reply(401, r#"{"error":"Unauthorized"}"#)),
    )
    .await;
    assert_eq!(agg.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_bounded() {
    let up = Upstream::default();
    let limits = IngestLimits {
        concurrency: 3,
        ..IngestLimits::default()
    };
    let agg = send_chunks(plan(1000), &limits, up.sender(|_, _| reply(202, "{}"))).await;
    assert_eq!(agg.ranges.len(), 20);
    assert_eq!(up.max_in_flight.load(Ordering::SeqCst), 3);
    let starts: Vec<_> = agg.ranges.iter().map(|r| r.records.start).collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "in record order");
}

#[tokio::test(start_paused = true)]
async fn oversized_records_are_413_ranges() {
    let mut recs: Vec<String> = (0..5).map(|i| format!(r#"{{"id":{i}}}"#)).collect();
    recs[1] = format!(r#"{{"id":1,"blob":"{}"}}"#, "z".repeat(300));
    let body = format!(r#"{{"data":[{}]}}"#, recs.join(","));
    let limits = IngestLimits {
        max_request_bytes: 200,
        ..IngestLimits::default()
    };
    let Plan::Split(plan) = plan_insert(body.as_bytes(), &limits).expect("plan") else {
        panic!("expected a split");
    };
    let up = Upstream::default();
    let agg = send_chunks(plan, &limits, up.sender(|_, _| reply(202, "{}"))).await;
    assert_eq!(agg.status(), StatusCode::MULTI_STATUS);
    let oversized = &agg.ranges[1];
    assert_eq!(
        (oversized.records.clone(), oversized.status),
        (1..2, Some(StatusCode::PAYLOAD_TOO_LARGE))
    );
    assert_eq!(agg.records(ChunkOutcome::Accepted), 4);
}
