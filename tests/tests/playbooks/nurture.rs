//! Nurture & Conversion (guide: "Ingest conversation outcomes and lead scores
//! into Data Cloud"): the app sends whole batches — more than Data Cloud's 50
//! records per request — and the gateway splits them. Checked at the
//! emulator: its journal (how many upstream requests, with what status) and
//! its store (what landed, and that nothing landed twice: the processor's
//! applied-records counter equals the records sent).

use dc_emulator::faults::{Faults, RuleSpec};
use dc_emulator::EmulatorConfig;
use dc_tests::{org_with_lead_scores, StackEnv};
use hyper::Method;
use serde_json::{json, Value};

use crate::support::{outcomes, rows, statuses, EVENTS, LEADS};

const INGEST_JOURNAL: &str = "method=POST&path=/api/v1/ingest*";
const EVENTS_PATH: &str = "/api/v1/ingest/sources/Bridged/EngagementEvent";

/// `(first, last, count, outcome, attempts)` of each chunk in an aggregate answer.
fn chunks(body: &Value) -> Vec<(u64, u64, u64, String, u64)> {
    body["chunks"]
        .as_array()
        .expect("chunks")
        .iter()
        .map(|c| {
            (
                c["first"].as_u64().unwrap_or(u64::MAX),
                c["last"].as_u64().unwrap_or(u64::MAX),
                c["count"].as_u64().unwrap_or(0),
                c["outcome"].as_str().unwrap_or("").to_owned(),
                c["attempts"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

async fn landed(env: &StackEnv, prefix: &str) -> i64 {
    env.store_count(&format!(
        "SELECT COUNT(*) FROM \"Bridged_EngagementEvent__dll\" WHERE \"event_id__c\" LIKE '{prefix}-%'"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn outcomes_and_lead_scores_are_split_into_50_record_requests() {
    let org = org_with_lead_scores();
    let env = StackEnv::start(
        EmulatorConfig {
            fixtures: org.source(),
            ..EmulatorConfig::default()
        },
        "",
    )
    .await;

    // 120 conversation outcomes in one request → 50 + 50 + 20 upstream.
    let resp = env.ingest(EVENTS, &outcomes("outcome", 120)).await;
    assert_eq!(resp.status, 202, "{}", resp.text());
    let body = resp.json();
    assert_eq!(
        (body["accepted"].clone(), body["records"].clone()),
        (json!(true), json!(120))
    );
    let accepted = |first, last, count| (first, last, count, "accepted".to_owned(), 1);
    assert_eq!(
        chunks(&body),
        [
            accepted(0, 49, 50),
            accepted(50, 99, 50),
            accepted(100, 119, 20)
        ]
    );
    // Exactly three upstream requests, each accepted by the emulator (which
    // refuses more than 50 records with 413).
    assert_eq!(
        statuses(&env.journal(INGEST_JOURNAL).await),
        [202, 202, 202]
    );
    env.wait_applied().await;
    assert_eq!(landed(&env, "outcome").await, 120);
    assert_eq!(env.records_applied(), 120);

    // Lead scores: 70 profiles → 50 + 20, into the DLO and the profile DMOs.
    let leads: Vec<Value> = (0..70)
        .map(|i| {
            json!({"lead_id": format!("lead-{i:03}"), "first_name": format!("Lead{i}"),
                   "last_name": "Nurtured", "email": format!("lead{i}@example.com"),
                   "phone": format!("(415) 555-{:04}", 1000 + i),
                   "channel": "whatsapp", "updated_at": "2026-04-19T11:00:00Z",
                   "lead_score": (i * 7 % 100)})
        })
        .collect();
    let resp = env.ingest(LEADS, &leads).await;
    assert_eq!(resp.status, 202, "{}", resp.text());
    assert_eq!(chunks(&resp.json()).len(), 2);
    env.wait_applied().await;
    assert_eq!(env.records_applied(), 190);
    let hot = env
        .query(
            "SELECT lead_id__c, lead_score__c FROM Bridged_LeadProfile__dll \
             WHERE lead_score__c >= 90 ORDER BY lead_score__c DESC, lead_id__c",
            &[],
        )
        .await;
    let hot = rows(&hot);
    let expected: Vec<_> = {
        let mut v: Vec<(i64, String)> = (0..70i64)
            .map(|i| (i * 7 % 100, format!("lead-{i:03}")))
            .filter(|(s, _)| *s >= 90)
            .collect();
        v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        // A number field is a DECIMAL column: V2 sends its values as strings.
        v.into_iter()
            .map(|(s, id)| json!([id, s.to_string()]))
            .collect()
    };
    assert!(!expected.is_empty());
    assert_eq!(hot, expected);
    let individuals = env
        .store_count(
            "SELECT COUNT(*) FROM \"ssot__Individual__dlm\" WHERE \"ssot__Id__c\" LIKE 'lead-%'",
        )
        .await;
    assert_eq!(individuals, 70);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_on_a_chunk_is_retried_and_every_record_lands_once() {
    let env = StackEnv::start(EmulatorConfig::default(), "").await;
    let rule = env
        .add_fault(json!({"method": "POST", "path": "/api/v1/ingest/*",
                          "action": {"status": 429, "retryAfter": 1}, "times": 1}))
        .await;

    let resp = env.ingest(EVENTS, &outcomes("retried", 120)).await;
    assert_eq!(resp.status, 202, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["accepted"], true);
    let attempts: Vec<u64> = chunks(&body).iter().map(|c| c.4).collect();
    assert_eq!(attempts.iter().sum::<u64>(), 4, "{body}");
    assert_eq!(attempts.iter().filter(|a| **a == 2).count(), 1, "{body}");

    let sent = env.journal(INGEST_JOURNAL).await;
    let mut got = statuses(&sent);
    got.sort_unstable();
    assert_eq!(got, [202, 202, 202, 429]);
    let limited = sent.iter().find(|e| e["status"] == 429).expect("the 429");
    assert_eq!(limited["fault"]["ruleIds"], json!([rule]));

    env.wait_applied().await;
    assert_eq!(landed(&env, "retried").await, 120);
    // Not re-sent after acceptance: 120 applications, not 170.
    assert_eq!(env.records_applied(), 120);
}

/// A seed for a rule with `probability` 0.5 and `times` 1 that passes over
/// the first matching request and fires on the second. Found by evaluating
/// the emulator's own rule engine, so the choice is deterministic and stays
/// right if its PRNG changes.
fn seed_for_second_request() -> u64 {
    (0..10_000u64)
        .find(|&seed| {
            let faults = Faults::default();
            let spec: RuleSpec = serde_json::from_value(json!({"method": "POST",
                "path": EVENTS_PATH, "action": {"status": 500},
                "probability": 0.5, "seed": seed, "times": 1}))
            .expect("rule");
            faults.add(spec).expect("valid rule");
            let fired: Vec<bool> = (0..3)
                .map(|_| faults.plan(&Method::POST, EVENTS_PATH).fired())
                .collect();
            fired == [false, true, false]
        })
        .expect("some seed fires on the second request only")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_500_on_the_second_chunk_is_reported_and_nothing_is_dropped() {
    // One chunk at a time, so "the second chunk" is the second request.
    let env = StackEnv::start(EmulatorConfig::default(), "[ingest]\nconcurrency = 1\n").await;
    let seed = seed_for_second_request();
    env.add_fault(
        json!({"method": "POST", "path": EVENTS_PATH, "action": {"status": 500},
                         "probability": 0.5, "seed": seed, "times": 1}),
    )
    .await;

    let records = outcomes("partial", 120);
    let resp = env.ingest(EVENTS, &records).await;
    assert_eq!(resp.status, 207, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["accepted"], false);
    assert_eq!(body["records"], 120);
    assert_eq!(body["acceptedRecords"], 70);
    let got = chunks(&body);
    assert_eq!(
        got,
        [
            (0, 49, 50, "accepted".to_owned(), 1),
            (50, 99, 50, "failed".to_owned(), 1),
            (100, 119, 20, "accepted".to_owned(), 1),
        ]
    );
    assert_eq!(body["chunks"][1]["status"], 500);
    assert!(body["chunks"][1]["error"].is_object(), "{body}");
    let message = body["message"].as_str().unwrap_or("");
    assert!(message.contains("records 50-99 failed (500)"), "{message}");
    // Not retried: the chunk driver retries only 429/503; any other error
    // status is a definite failure, reported for the app to resend.
    assert_eq!(
        statuses(&env.journal(INGEST_JOURNAL).await),
        [202, 500, 202]
    );

    env.wait_applied().await;
    assert_eq!(landed(&env, "partial").await, 70);
    let missing = env
        .store_count(
            "SELECT COUNT(*) FROM \"Bridged_EngagementEvent__dll\" \
             WHERE \"event_id__c\" BETWEEN 'partial-050' AND 'partial-099'",
        )
        .await;
    assert_eq!(missing, 0);

    // `failed` means safe to resend: the app sends exactly that range again.
    let resp = env.ingest(EVENTS, &records[50..100]).await;
    assert_eq!(resp.status, 202, "{}", resp.text());
    env.wait_applied().await;
    assert_eq!(landed(&env, "partial").await, 120);
    assert_eq!(env.records_applied(), 120);
}
