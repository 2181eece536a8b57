//! The rendered text must parse as the Prometheus exposition format and hold
//! the recorded values.

use std::collections::HashMap;

use super::render::escape;
use super::*;
use crate::cache::CacheStats;

/// One parsed sample: metric name, labels, value.
type Sample = (String, Vec<(String, String)>, f64);

/// A strict little parser for the text format: `# HELP`/`# TYPE` lines, then
/// `name{k="v",…} value` samples whose family was declared by a `# TYPE`.
fn parse(text: &str) -> Vec<Sample> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples = Vec::new();
    assert!(text.ends_with('\n'), "ends with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name, tail) = (parts.next(), parts.next(), parts.next());
            let name = name.expect("comment names a metric");
            assert!(valid_name(name), "{line}");
            match kw {
                Some("HELP") => assert!(tail.is_some_and(|t| !t.is_empty()), "{line}"),
                Some("TYPE") => {
                    let kind = tail.expect("type");
                    assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                    assert!(
                        types.insert(name.to_owned(), kind.to_owned()).is_none(),
                        "one TYPE per family: {name}"
                    );
                }
                _ => panic!("unknown comment: {line}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("name and value");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value in {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (
                name,
                parse_labels(rest.strip_suffix('}').expect("closing brace")),
            ),
            None => (series, Vec::new()),
        };
        assert!(valid_name(name), "{line}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "sample before its TYPE: {line}");
        samples.push((name.to_owned(), labels, value));
    }
    samples
}

fn parse_labels(text: &str) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").expect("key=\"");
        assert!(valid_name(key), "label name {key}");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("closing quote") {
                (_, '\\') => value.push(chars.next().expect("escape").1),
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.push((key.to_owned(), value));
        rest = after[end + 1..]
            .strip_prefix(',')
            .unwrap_or(&after[end + 1..]);
    }
    labels
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && l.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|s| s.2)
}

#[test]
fn renders_parseable_text_with_the_recorded_values() {
    let metrics = Metrics::new(&["query", "ingest"]);
    let query = metrics.route("query");
    assert_eq!(metrics.route("nope"), metrics.route("other"));
    metrics.record_request(query, StatusCode::OK, Duration::from_micros(300));
    metrics.record_request(query, StatusCode::OK, Duration::from_millis(3));
    metrics.record_request(query, StatusCode::BAD_GATEWAY, Duration::from_secs(20));
    metrics.record_request(metrics.route("nope"), StatusCode::NOT_FOUND, Duration::ZERO);
    metrics.record_token_fetch(TokenKind::DataCloud);
    metrics.record_token_failure(TokenKind::Core, TokenFailure::Rejected);
    metrics.record_retry(RetryReason::TooManyRequests);
    metrics.record_retry(RetryReason::TooManyRequests);
    metrics.record_ratelimit_wait(Duration::from_millis(250));
    metrics.record_ratelimit_rejection();
    let stats = CacheStats {
        hits: 7,
        misses: 2,
        bytes: 4096,
        entries: 2,
        ..CacheStats::default()
    };

    let samples = parse(&metrics.render(Some(&stats)));
    let req = |route, status| {
        value(
            &samples,
            "dcgw_requests_total",
            &[("route", route), ("status", status)],
        )
    };
    assert_eq!(req("query", "200"), Some(2.0));
    assert_eq!(req("query", "502"), Some(1.0));
    assert_eq!(req("other", "404"), Some(1.0));
    assert_eq!(req("ingest", "200"), None, "zero series are left out");

    let bucket = |le| {
        value(
            &samples,
            "dcgw_request_duration_seconds_bucket",
            &[("route", "query"), ("le", le)],
        )
    };
    assert_eq!(bucket("0.0005"), Some(1.0));
    assert_eq!(bucket("0.005"), Some(2.0));
    assert_eq!(bucket("10"), Some(2.0));
    assert_eq!(bucket("+Inf"), Some(3.0));
    assert_eq!(
        value(
            &samples,
            "dcgw_request_duration_seconds_count",
            &[("route", "query")]
        ),
        Some(3.0)
    );
    let sum = value(
        &samples,
        "dcgw_request_duration_seconds_sum",
        &[("route", "query")],
    )
    .expect("sum");
    assert!((sum - 20.0033).abs() < 1e-9, "{sum}");

    assert_eq!(value(&samples, "dcgw_cache_hits_total", &[]), Some(7.0));
    assert_eq!(value(&samples, "dcgw_cache_bytes", &[]), Some(4096.0));
    assert_eq!(
        value(
            &samples,
            "dcgw_token_fetches_total",
            &[("kind", "data_cloud")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "dcgw_token_failures_total",
            &[("kind", "core"), ("reason", "rejected")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "dcgw_upstream_retries_total",
            &[("reason", "429")]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(&samples, "dcgw_ratelimit_wait_seconds_total", &[]),
        Some(0.25)
    );
    assert_eq!(
        value(&samples, "dcgw_ratelimit_rejections_total", &[]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "dcgw_ingest_chunks_total",
            &[("outcome", "accepted")]
        ),
        Some(0.0)
    );
}

#[test]
fn histogram_buckets_are_cumulative_for_every_route() {
    let metrics = Metrics::new(&["a", "b"]);
    for ms in [0, 1, 7, 70, 700, 7000, 70000] {
        metrics.record_request(
            metrics.route("b"),
            StatusCode::OK,
            Duration::from_millis(ms),
        );
    }
    let samples = parse(&metrics.render(None));
    for route in ["a", "b", "other"] {
        let buckets: Vec<f64> = samples
            .iter()
            .filter(|(n, l, _)| n == "dcgw_request_duration_seconds_bucket" && l[0].1 == route)
            .map(|s| s.2)
            .collect();
        assert_eq!(buckets.len(), LATENCY_BUCKETS.len() + 1);
        assert!(
            buckets.windows(2).all(|w| w[0] <= w[1]),
            "{route}: {buckets:?}"
        );
    }
    assert!(
        value(&samples, "dcgw_cache_hits_total", &[]).is_none(),
        "no cache, no cache series"
    );
}

#[test]
fn label_values_are_escaped() {
    assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    let metrics = Metrics::new(&["we\"ird"]);
    metrics.record_request(metrics.route("we\"ird"), StatusCode::OK, Duration::ZERO);
    let samples = parse(&metrics.render(None));
    assert_eq!(
        value(
            &samples,
            "dcgw_requests_total",
            &[("route", "we\"ird"), ("status", "200")]
        ),
        Some(1.0)
    );
}
