//! Retry decisions and waits, driven by paused tokio time.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use super::*;

fn resp(status: u16, retry_after: Option<&'static str>) -> UpstreamResponse {
    let mut headers = HeaderMap::new();
    if let Some(value) = retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
    }
    UpstreamResponse {
        status: StatusCode::from_u16(status).expect("status"),
        headers,
        body: Bytes::new(),
    }
}

#[derive(Debug, Clone, Copy)]
enum Net {
    Refused,
    Reset,
}

impl Retryable for Net {
    fn outcome(&self) -> Outcome<'_> {
        match self {
            Net::Refused => Outcome::ConnectFailed,
            Net::Reset => Outcome::Failed,
        }
    }
}

#[test]
fn decides_by_class_and_outcome() {
    let now = SystemTime::now();
    let idem = RequestClass::Idempotent;
    let post = RequestClass::NonIdempotent;
    let decide_status = |class, code: u16| decide(class, resp(code, None).outcome(), now);
    for code in [429, 502, 503, 504] {
        assert!(
            matches!(decide_status(idem, code), Decision::Retry { .. }),
            "{code}"
        );
        assert_eq!(decide_status(post, code), Decision::Done, "{code}");
    }
    for code in [200, 400, 401, 404, 500] {
        assert_eq!(decide_status(idem, code), Decision::Done, "{code}");
    }
    assert!(matches!(
        decide(post, Outcome::ConnectFailed, now),
        Decision::Retry {
            reason: RetryReason::Connect,
            ..
        }
    ));
    assert!(matches!(
        decide(idem, Outcome::TimedOut, now),
        Decision::Retry {
            reason: RetryReason::Timeout,
            ..
        }
    ));
    assert_eq!(decide(post, Outcome::TimedOut, now), Decision::Done);
    assert_eq!(decide(idem, Outcome::Failed, now), Decision::Done);
    assert_eq!(RequestClass::of(&Method::GET), idem);
    assert_eq!(RequestClass::of(&Method::POST), post);
    assert_eq!(
        decide(idem, resp(503, Some("7")).outcome(), now),
        Decision::Retry {
            reason: RetryReason::Unavailable,
            retry_after: Some(Duration::from_secs(7))
        }
    );
}

#[test]
fn parses_retry_after_seconds_and_dates() {
    let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:07 GMT").expect("date");
    let parse = |s: &'static str| parse_retry_after(&HeaderValue::from_static(s), now);
    assert_eq!(parse("120"), Some(Duration::from_secs(120)));
    assert_eq!(parse(" 0 "), Some(Duration::ZERO));
    assert_eq!(
        parse("Sun, 06 Nov 1994 08:49:37 GMT"),
        Some(Duration::from_secs(30))
    );
    assert_eq!(parse("Sun, 06 Nov 1994 08:00:00 GMT"), Some(Duration::ZERO));
    assert_eq!(parse("soon"), None);
    assert_eq!(parse("-5"), None);
}

#[test]
fn backoff_caps_double_up_to_the_maximum() {
    let policy = RetryPolicy {
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(350),
        ..RetryPolicy::default()
    };
    assert_eq!(policy.backoff_cap(0), Duration::from_millis(100));
    assert_eq!(policy.backoff_cap(1), Duration::from_millis(200));
    assert_eq!(policy.backoff_cap(2), Duration::from_millis(350));
    assert_eq!(policy.backoff_cap(60), Duration::from_millis(350));
    for retry in 0..5 {
        assert!(policy.delay(retry, None) <= policy.backoff_cap(retry));
        assert!(policy.delay(retry, Some(Duration::from_secs(3))) >= Duration::from_secs(3));
    }
}

/// Runs `with_retry` over a scripted sequence of outcomes; returns the last
/// outcome, the number of tries and the (paused-clock) time it took.
async fn run(
    policy: &RetryPolicy,
    class: RequestClass,
    script: Vec<Result<UpstreamResponse, Net>>,
) -> (Result<UpstreamResponse, Net>, u32, Duration) {
    let tries = Arc::new(AtomicU32::new(0));
    let start = tokio::time::Instant::now();
    let counted = tries.clone();
    let result = with_retry(policy, class, move || {
        let n = counted.fetch_add(1, Ordering::SeqCst) as usize;
        let step = script[n.min(script.len() - 1)].clone();
        async move { step }
    })
    .await;
    (result, tries.load(Ordering::SeqCst), start.elapsed())
}

#[tokio::test(start_paused = true)]
async fn retries_transient_failures_with_bounded_backoff() {
    let policy = RetryPolicy::default();
    let (result, tries, took) = run(
        &policy,
        RequestClass::Idempotent,
        vec![Ok(resp(503, None)), Err(Net::Refused), Ok(resp(200, None))],
    )
    .await;
    assert_eq!(result.expect("ok").status, StatusCode::OK);
    assert_eq!(tries, 3);
    assert!(
        took <= policy.backoff_cap(0) + policy.backoff_cap(1),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn honours_retry_after() {
    let policy = RetryPolicy::default();
    let (result, tries, took) = run(
        &policy,
        RequestClass::Idempotent,
        vec![Ok(resp(429, Some("5"))), Ok(resp(200, None))],
    )
    .await;
    assert_eq!(result.expect("ok").status, StatusCode::OK);
    assert_eq!(tries, 2);
    assert!(took >= Duration::from_secs(5), "{took:?}");
}

#[tokio::test(start_paused = true)]
async fn stops_at_attempt_and_time_bounds() {
    let policy = RetryPolicy::default();
    let (result, tries, _) =
        run(&policy, RequestClass::Idempotent, vec![Ok(resp(502, None))]).await;
    assert_eq!(result.expect("resp").status, StatusCode::BAD_GATEWAY);
    assert_eq!(tries, policy.max_attempts);

    // A Retry-After beyond the budget is not waited for.
    let (result, tries, took) = run(
        &policy,
        RequestClass::Idempotent,
        vec![Ok(resp(429, Some("60"))), Ok(resp(200, None))],
    )
    .await;
    assert_eq!(result.expect("resp").status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!((tries, took), (1, Duration::ZERO));
}

#[tokio::test(start_paused = true)]
async fn never_repeats_what_may_have_been_processed() {
    let policy = RetryPolicy::default();
    let (_, tries, _) = run(
        &policy,
        RequestClass::NonIdempotent,
        vec![Ok(resp(503, None)), Ok(resp(200, None))],
    )
    .await;
    assert_eq!(tries, 1);
    let (result, tries, _) = run(
        &policy,
        RequestClass::Idempotent,
        vec![Err(Net::Reset), Ok(resp(200, None))],
    )
    .await;
    assert!(matches!(result, Err(Net::Reset)));
    assert_eq!(tries, 1);
    let (result, tries, _) = run(
        &policy,
        RequestClass::NonIdempotent,
        vec![Err(Net::Refused), Ok(resp(202, None))],
    )
    .await;
    assert_eq!(result.expect("ok").status, StatusCode::ACCEPTED);
    assert_eq!(tries, 2, "a refused connection sent nothing");
}

#[tokio::test(start_paused = true)]
async fn observer_sees_each_retry() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let policy = RetryPolicy::default().on_retry(move |reason| {
        log.lock().expect("lock").push(reason);
    });
    let _ = run(
        &policy,
        RequestClass::Idempotent,
        vec![
            Ok(resp(504, None)),
            Ok(resp(429, None)),
            Ok(resp(200, None)),
        ],
    )
    .await;
    assert_eq!(
        *seen.lock().expect("lock"),
        vec![RetryReason::GatewayTimeout, RetryReason::TooManyRequests]
    );
}
