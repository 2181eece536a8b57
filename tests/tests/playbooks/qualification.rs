//! Qualification Agent (guide: "Read historical engagement across channels;
//! write qualification events back to Data Cloud"): find the lead's unified
//! profile by email, read their past engagement events, write a
//! `lead_qualified` event (Step 8.4) and read it back by `event_id`.
//!
//! Two lessons a real integration meets, shown on the wire:
//! * the gateway caches queries, so re-running the read-back query after the
//!   write serves the cached (stale) empty answer; `Cache-Control: no-cache`
//!   goes upstream (and refreshes the cached answer);
//! * Data Cloud applies ingested records after a processing delay: a 202 is
//!   not visibility. The emulator's delay runs on its clock, so the record
//!   stays invisible until the clock is advanced past it.

use dc_emulator::ingest::IngestSettings;
use dc_emulator::EmulatorConfig;
use dc_tests::{wait_for, StackEnv};
use hyper::Method;
use serde_json::json;

use crate::support::{event, rows, x_cache, EVENTS};

/// Processing delay of every stream in this scenario (real streams: minutes).
const DELAY_MS: u64 = 5 * 60 * 1000;
const EVENT_ID: &str = "evt_qualified_1";
const NO_CACHE: (&str, &str) = ("cache-control", "no-cache");

#[tokio::test(flavor = "multi_thread")]
async fn qualification_agent_reads_history_writes_and_reads_back() {
    let env = StackEnv::start(
        EmulatorConfig {
            ingest: IngestSettings {
                delay_override_ms: Some(DELAY_MS),
                ..IngestSettings::default()
            },
            ..EmulatorConfig::default()
        },
        "",
    )
    .await;

    // 1. The lead's unified profile, looked up by the email the agent has.
    let first = env
        .query(
            "SELECT IndividualId, FirstName, LastName, Email FROM UnifiedIndividual \
             WHERE Email IS NOT NULL ORDER BY IndividualId LIMIT 1",
            &[],
        )
        .await;
    let first = rows(&first);
    let (id, email) = (first[0][0].clone(), first[0][3].clone());
    let email = email.as_str().expect("an email").to_owned();
    let profile = env
        .query(
            &format!(
                "SELECT IndividualId, FirstName FROM UnifiedIndividual WHERE Email = '{email}'"
            ),
            &[],
        )
        .await;
    let profile = rows(&profile);
    assert_eq!(profile.len(), 1, "{profile:?}");
    assert_eq!(profile[0][0], id);

    // 2. Their history across channels (loaded earlier by other streams).
    env.control(
        Method::POST,
        "/__emulator/rows",
        Some(json!({"object": "Bridged_EngagementEvent__dll", "rows": [
            {"event_id__c": "evt_hist_1", "customer_email__c": email, "event_type__c": "page_view",
             "event_timestamp__c": "2026-04-01T09:00:00Z", "channel__c": "web"},
            {"event_id__c": "evt_hist_2", "customer_email__c": email, "event_type__c": "message_received",
             "event_timestamp__c": "2026-04-12T18:30:00Z", "channel__c": "sms"},
        ]})),
    )
    .await;
    let history_sql = format!(
        "SELECT event_id__c, event_type__c, channel__c FROM Bridged_EngagementEvent__dll \
         WHERE customer_email__c = '{email}' ORDER BY event_timestamp__c"
    );
    let history = env.query(&history_sql, &[]).await;
    assert_eq!(
        rows(&history),
        [
            json!(["evt_hist_1", "page_view", "web"]),
            json!(["evt_hist_2", "message_received", "sms"])
        ]
    );

    // 3. The agent checks whether it qualified this lead before: no.
    let readback = format!(
        "SELECT event_id__c, customer_email__c, event_type__c, channel__c \
         FROM Bridged_EngagementEvent__dll WHERE event_id__c = '{EVENT_ID}'"
    );
    let before = env.query(&readback, &[]).await;
    assert_eq!(rows(&before), Vec::<serde_json::Value>::new());
    assert_eq!(x_cache(&before), "MISS");

    // 4. It writes the qualification event; the app sends no credentials,
    //    the emulator sees the gateway's Data Cloud token for the integration user.
    let qualified = event(
        EVENT_ID,
        &email,
        "lead_qualified",
        "whatsapp",
        "2026-04-19T10:00:00Z",
    );
    let resp = env.ingest(EVENTS, &[qualified]).await;
    assert_eq!(resp.status, 202, "{}", resp.text());
    assert_eq!(resp.json(), json!({"accepted": true}));
    let sent = env.journal("method=POST&path=/api/v1/ingest*").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["status"], 202);
    assert_eq!(sent[0]["principal"]["kind"], "dataCloud");
    assert_eq!(
        sent[0]["principal"]["username"],
        dc_gateway::embedded::USERNAME
    );

    // 5. Lesson one: the same query is a cache hit — the stale empty answer.
    let stale = env.query(&readback, &[]).await;
    assert_eq!(x_cache(&stale), "HIT");
    assert!(rows(&stale).is_empty());
    // `no-cache` goes upstream…
    let fresh = env.query(&readback, &[NO_CACHE]).await;
    assert_eq!(x_cache(&fresh), "BYPASS");
    // …and lesson two: accepted is not applied. The record waits in the
    // emulator's queue for the processing delay, on the emulator clock.
    assert!(rows(&fresh).is_empty(), "visible before the delay passed");
    let queued = dc_emulator::ingest::queue::pending(env.emulator.state())
        .await
        .expect("store");
    assert_eq!(queued, 1);

    // 6. Time passes (the clock, not the test, waits): the record lands.
    env.advance_clock(DELAY_MS as i64).await;
    let landed = wait_for("the lead_qualified event to be queryable", || async {
        let resp = env.query(&readback, &[NO_CACHE]).await;
        let found = rows(&resp);
        (!found.is_empty()).then_some(found)
    })
    .await;
    assert_eq!(
        landed,
        [json!([EVENT_ID, email, "lead_qualified", "whatsapp"])]
    );
    // The no-cache read stored the fresh answer: plain reads now hit it.
    let cached = env.query(&readback, &[]).await;
    assert_eq!(x_cache(&cached), "HIT");
    assert_eq!(rows(&cached).len(), 1);
    // The other way to read after a write: a query the cache has not seen.
    let unseen = env
        .query(
            &format!(
                "SELECT event_type__c FROM Bridged_EngagementEvent__dll \
                 WHERE event_id__c = '{EVENT_ID}' AND event_type__c = 'lead_qualified'"
            ),
            &[],
        )
        .await;
    assert_eq!(x_cache(&unseen), "MISS");
    assert_eq!(rows(&unseen), [json!(["lead_qualified"])]);

    // 7. The history query is still cached from step 2 (stale); fresh, it
    //    shows the qualification after the earlier events.
    assert_eq!(rows(&env.query(&history_sql, &[]).await).len(), 2);
    let history = env.query(&history_sql, &[NO_CACHE]).await;
    assert_eq!(
        rows(&history)
            .iter()
            .map(|r| r[1].as_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>(),
        ["page_view", "message_received", "lead_qualified"]
    );
}
