//! Planning tests: limits, order, byte exactness, refusals.

use super::*;

fn records(n: usize, pad: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!(r#"{{"id": "r{i}", "pad":"{}"}}"#, "x".repeat(pad)))
        .collect()
}

fn insert_body(records: &[String]) -> Vec<u8> {
    format!(r#"{{"data": [{}]}}"#, records.join(", ")).into_bytes()
}

fn split_plan(plan: Plan) -> SplitPlan {
    match plan {
        Plan::Split(plan) => plan,
        Plan::Forward => panic!("expected a split"),
    }
}

/// The records of a chunk body, as raw text.
fn chunk_records(chunk: &Chunk, member: &str) -> Vec<String> {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&chunk.body).expect("chunk body is JSON");
    assert_eq!(object.len(), 1, "only the {member} member");
    let raw: HashMap<String, &RawValue> = serde_json::from_slice(&chunk.body).expect("json");
    let items: Vec<&RawValue> = serde_json::from_str(raw[member].get()).expect("array");
    items.iter().map(|r| r.get().to_owned()).collect()
}

#[test]
fn compliant_requests_are_forwarded_unchanged() {
    let limits = IngestLimits::default();
    let body = insert_body(&records(50, 10));
    assert_eq!(plan_insert(&body, &limits), Ok(Plan::Forward));
    assert_eq!(plan_insert(br#"{"data":[]}"#, &limits), Ok(Plan::Forward));
}

#[test]
fn splits_120_records_into_50_50_20_in_order_byte_exact() {
    let recs = records(120, 10);
    let plan =
        split_plan(plan_insert(&insert_body(&recs), &IngestLimits::default()).expect("plan"));
    assert_eq!(plan.total, 120);
    assert!(plan.oversized.is_empty());
    let ranges: Vec<_> = plan.chunks.iter().map(|c| c.records.clone()).collect();
    assert_eq!(ranges, vec![0..50, 50..100, 100..120]);
    for (i, chunk) in plan.chunks.iter().enumerate() {
        assert_eq!(chunk.index, i);
        assert_eq!(chunk.query, None);
        assert_eq!(
            chunk_records(chunk, "data"),
            recs[chunk.records.clone()].to_vec()
        );
    }
}

#[test]
fn splits_by_serialized_size() {
    let recs = records(10, 1000);
    let limits = IngestLimits {
        max_request_bytes: 3500,
        ..IngestLimits::default()
    };
    let plan = split_plan(plan_insert(&insert_body(&recs), &limits).expect("plan"));
    let ranges: Vec<_> = plan.chunks.iter().map(|c| c.records.clone()).collect();
    assert_eq!(ranges, vec![0..3, 3..6, 6..9, 9..10]);
    for chunk in &plan.chunks {
        assert!(chunk.body.len() <= 3500, "{}", chunk.body.len());
        assert_eq!(
            chunk_records(chunk, "data"),
            recs[chunk.records.clone()].to_vec()
        );
    }
    // Exactly at the limit still fits.
    let exact = plan.chunks[0].body.len();
    let tight = IngestLimits {
        max_request_bytes: exact,
        ..limits
    };
    let plan = split_plan(plan_insert(&insert_body(&recs), &tight).expect("plan"));
    assert_eq!(plan.chunks[0].records, 0..3);
}

#[test]
fn a_record_too_large_alone_is_set_aside() {
    let mut recs = records(6, 10);
    recs[2] = format!(r#"{{"id":"big","pad":"{}"}}"#, "y".repeat(5000));
    let limits = IngestLimits {
        max_request_bytes: 1000,
        ..IngestLimits::default()
    };
    let plan = split_plan(plan_insert(&insert_body(&recs), &limits).expect("plan"));
    assert_eq!(plan.oversized, vec![2]);
    let ranges: Vec<_> = plan.chunks.iter().map(|c| c.records.clone()).collect();
    assert_eq!(ranges, vec![0..2, 3..6]);
}

#[test]
fn reject_policy_names_the_limit_and_count() {
    let limits = IngestLimits {
        policy: OversizePolicy::Reject,
        ..IngestLimits::default()
    };
    let refusal = plan_insert(&insert_body(&records(120, 1)), &limits).expect_err("413");
    assert_eq!(refusal.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        refusal.message,
        "Ingestion request has 120 records; the limit is 50 records per request"
    );
    let body: serde_json::Value = serde_json::from_slice(&refusal.body()).expect("json");
    assert_eq!(body["error"], "Payload Too Large");
    assert_eq!(body["limit"], 50);
    assert_eq!(body["count"], 120);
    assert!(body["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));

    let big = insert_body(&records(3, 100_000));
    let refusal = plan_insert(&big, &limits).expect_err("413");
    assert!(
        refusal.message.contains("the limit is 200000 bytes"),
        "{}",
        refusal.message
    );

    let refusal = plan_delete(
        Some("ids=a,b,c"),
        b"",
        &IngestLimits {
            max_delete_ids: 2,
            ..limits
        },
    )
    .expect_err("413");
    assert_eq!(
        refusal.message,
        "Delete request has 3 ids; the limit is 2 ids per request"
    );
}

#[test]
fn malformed_bodies_are_refused_with_400() {
    let limits = IngestLimits::default();
    for body in [
        &b"not json"[..],
        br#"{"records":[]}"#,
        br#"{"data":{}}"#,
        br#"[{"data":[]}]"#,
        br#"{"data":[1,]}"#,
        b"",
    ] {
        let refusal = plan_insert(body, &limits).expect_err("400");
        assert_eq!(refusal.status, StatusCode::BAD_REQUEST, "{body:?}");
        let json: serde_json::Value = serde_json::from_slice(&refusal.body()).expect("json");
        assert_eq!(json["error"], "Bad Request");
    }
    let refusal = plan_delete(None, b"{}", &limits).expect_err("400");
    assert_eq!(refusal.status, StatusCode::BAD_REQUEST);
}

#[test]
fn deletes_split_by_query_or_body() {
    let limits = IngestLimits::default();
    let ids: Vec<String> = (0..450).map(|i| format!("id{i}%2B")).collect();
    let query = format!("x=1&ids={}", ids.join(","));
    assert_eq!(
        plan_delete(Some("ids=a,b"), b"", &limits),
        Ok(Plan::Forward)
    );
    let plan = split_plan(plan_delete(Some(&query), b"", &limits).expect("plan"));
    let ranges: Vec<_> = plan.chunks.iter().map(|c| c.records.clone()).collect();
    assert_eq!(ranges, vec![0..200, 200..400, 400..450]);
    let last = plan.chunks[2].query.as_deref().expect("query");
    assert_eq!(last, format!("x=1&ids={}", ids[400..].join(",")));
    assert!(plan.chunks.iter().all(|c| c.body.is_empty()));

    let quoted: Vec<String> = (0..250).map(|i| format!("\"id{i}\"")).collect();
    let body = format!(r#"{{"ids":[{}]}}"#, quoted.join(","));
    let plan = split_plan(plan_delete(None, body.as_bytes(), &limits).expect("plan"));
    assert_eq!(plan.chunks.len(), 2);
    assert_eq!(
        chunk_records(&plan.chunks[1], "ids"),
        quoted[200..].to_vec()
    );
}
