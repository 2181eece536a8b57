//! The Ingestion API over real HTTPS with Data Cloud tokens from the real
//! JWT grant and exchange: streaming insert/upsert/delete, validation and
//! processing delay here; refused requests (validation reports, limits,
//! tokens, paths) in `ingest/refusals.rs`; bulk jobs in `ingest/bulk.rs`;
//! schema and connector file errors in `ingest/files.rs`.

#[path = "ingest/bulk.rs"]
mod bulk;
mod common;
#[path = "ingest/files.rs"]
mod files;
#[path = "ingest/refusals.rs"]
mod refusals;
#[path = "ingest/support.rs"]
mod support;

use http::Method;
use serde_json::{json, Value};

use common::{start, start_with, INGEST_CLIENT_ID, USER};
use support::*;

const LEAD_DLO: &str = "SELECT lead_id__c, first_name__c, email__c, phone__c, updated_at__c, \
     KQ_lead_id__c, DataSource__c, DataSourceObject__c FROM Bridged_LeadProfile__dll \
     WHERE lead_id__c LIKE 'test-%' ORDER BY 1";

#[tokio::test]
async fn a_streamed_lead_lands_in_its_dlo_and_the_profile_dmos() {
    let env = start().await;
    let t = token(&env).await;
    let resp = post(
        &env,
        &t,
        LEADS,
        &data(&[lead("test-1", "Ada", "ada@example.com", "(415) 555-0142")]),
    )
    .await;
    assert_accepted(&resp);

    let got = wait_until(&env, LEAD_DLO, |r| r.len() == 1).await;
    assert_eq!(
        got[0],
        [
            json!("test-1"),
            json!("Ada"),
            json!("ada@example.com"),
            json!("(415) 555-0142"),
            json!("2026-04-19T10:00:00.000Z"),
            json!("Bridged"),
            json!("Bridged"),
            json!("LeadProfile")
        ]
    );
    let person = rows(
        &env,
        "SELECT ssot__FirstName__c, KQ_Id__c, ssot__DataSourceId__c, ssot__DataSourceObjectId__c \
         FROM ssot__Individual__dlm WHERE ssot__Id__c = 'test-1'",
    )
    .await;
    assert_eq!(
        person,
        [[
            json!("Ada"),
            json!("Bridged"),
            json!("Bridged"),
            json!("LeadProfile")
        ]]
    );
    let email = rows(
        &env,
        "SELECT ssot__Id__c, ssot__EmailAddress__c FROM ssot__ContactPointEmail__dlm \
         WHERE ssot__PartyId__c = 'test-1'",
    )
    .await;
    assert_eq!(email, [[json!("test-1-email"), json!("ada@example.com")]]);
    let phone = rows(
        &env,
        "SELECT ssot__TelephoneNumber__c, ssot__FormattedE164PhoneNumber__c \
         FROM ssot__ContactPointPhone__dlm WHERE ssot__PartyId__c = 'test-1'",
    )
    .await;
    assert_eq!(phone, [[json!("(415) 555-0142"), json!("+14155550142")]]);

    // Clients read it back with SQL, and the metadata API describes the DLO.
    let sql = "SELECT lead_id__c, email__c, updated_at__c FROM Bridged_LeadProfile__dll WHERE lead_id__c = 'test-1'";
    let resp = env
        .post_json("/api/v2/query", Some(&t), &json!({ "sql": sql }))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(
        body["data"],
        json!([["test-1", "ada@example.com", "2026-04-19 10:00:00.000 UTC"]])
    );
    assert_eq!(
        body["metadata"]["updated_at__c"]["type"],
        "TIMESTAMP WITH TIME ZONE"
    );
    let resp = env
        .get(
            "/api/v1/metadata?entityName=Bridged_LeadProfile__dll",
            Some(&t),
        )
        .await;
    let meta = &resp.json()["metadata"][0];
    assert_eq!(meta["category"], "Profile", "{}", resp.text());
    assert_eq!(meta["primaryKeys"][0]["name"], "lead_id__c");
}

#[tokio::test]
async fn records_upsert_by_primary_key() {
    let env = start().await;
    let t = token(&env).await;
    assert_accepted(
        &post(
            &env,
            &t,
            LEADS,
            &data(&[lead("test-2", "Bo", "bo@example.com", "")]),
        )
        .await,
    );
    wait_until(&env, LEAD_DLO, |r| r.len() == 1).await;
    let created = rows(
        &env,
        "SELECT ssot__CreatedDate__c FROM ssot__Individual__dlm WHERE ssot__Id__c = 'test-2'",
    )
    .await;

    env.emu.state().clock.advance_ms(60_000);
    let mut changed = lead("test-2", "Bob", "", "+44 7700 900123");
    changed["email"] = Value::Null;
    assert_accepted(&post(&env, &t, LEADS, &data(&[changed])).await);
    let got = wait_until(&env, LEAD_DLO, |r| r.len() == 1 && r[0][1] == "Bob").await;
    assert_eq!(got[0][2], Value::Null, "a blank email is stored as NULL");

    // The email contact point went with the email; the phone one appeared;
    // the individual kept its creation time.
    let emails = rows(
        &env,
        "SELECT * FROM ssot__ContactPointEmail__dlm WHERE ssot__PartyId__c = 'test-2'",
    )
    .await;
    assert!(emails.is_empty(), "{emails:?}");
    let phones = rows(&env, "SELECT ssot__FormattedE164PhoneNumber__c FROM ssot__ContactPointPhone__dlm WHERE ssot__PartyId__c = 'test-2'").await;
    assert_eq!(phones, [[json!("+447700900123")]]);
    let person = rows(&env, "SELECT ssot__FirstName__c, ssot__CreatedDate__c, ssot__LastModifiedDate__c > ssot__CreatedDate__c \
         FROM ssot__Individual__dlm WHERE ssot__Id__c = 'test-2'").await;
    assert_eq!(person, [[json!("Bob"), created[0][0].clone(), json!(1)]]);
}

#[tokio::test]
async fn the_guides_shorthand_path_and_the_ingest_only_app() {
    let env = start().await;
    let t = env.dc_token(INGEST_CLIENT_ID, USER).await;
    let resp = post(
        &env,
        &t,
        "/api/v1/ingest/EngagementEvent",
        &data(&[event("evt_12345")]),
    )
    .await;
    assert_accepted(&resp);
    let got = wait_until(
        &env,
        "SELECT event_id__c, customer_email__c, event_timestamp__c, KQ_event_id__c FROM Bridged_EngagementEvent__dll",
        |r| r.len() == 1,
    )
    .await;
    assert_eq!(
        got[0],
        [
            json!("evt_12345"),
            json!("lead@example.com"),
            json!("2026-04-19T10:00:00.000Z"),
            json!("Bridged")
        ]
    );
    // The stream name answers too; an unknown name is 404.
    assert_accepted(
        &post(
            &env,
            &t,
            "/api/v1/ingest/Bridged_EngagementEvent",
            &data(&[event("evt_2")]),
        )
        .await,
    );
    let resp = post(
        &env,
        &t,
        "/api/v1/ingest/NoSuchStream",
        &data(&[event("evt_3")]),
    )
    .await;
    assert_eq!(resp.status, 404, "{}", resp.text());
}

#[tokio::test]
async fn deletes_by_query_and_by_body() {
    let env = start().await;
    let t = token(&env).await;
    let leads: Vec<Value> = (1..=3)
        .map(|i| lead(&format!("test-d{i}"), "X", "x@example.com", ""))
        .collect();
    assert_accepted(&post(&env, &t, LEADS, &data(&leads)).await);
    wait_until(&env, LEAD_DLO, |r| r.len() == 3).await;

    let resp = call(
        &env,
        Method::DELETE,
        &format!("{LEADS}?ids=test-d1,test-d2"),
        &t,
        "application/json",
        "",
    )
    .await;
    assert_accepted(&resp);
    let left = wait_until(&env, LEAD_DLO, |r| r.len() == 1).await;
    assert_eq!(left[0][0], "test-d3");
    let gone = rows(&env, "SELECT COUNT(*) FROM ssot__ContactPointEmail__dlm WHERE ssot__PartyId__c IN ('test-d1', 'test-d2')").await;
    assert_eq!(gone, [[json!(0)]]);

    let body = json!({"ids": ["test-d3", "never-existed"]}).to_string();
    assert_accepted(&call(&env, Method::DELETE, LEADS, &t, "application/json", body).await);
    wait_until(&env, LEAD_DLO, |r| r.is_empty()).await;
    let person = rows(
        &env,
        "SELECT COUNT(*) FROM ssot__Individual__dlm WHERE ssot__Id__c LIKE 'test-d%'",
    )
    .await;
    assert_eq!(person, [[json!(0)]]);

    let ids: Vec<String> = (0..201).map(|i| format!("id{i}")).collect();
    let body = json!({ "ids": ids }).to_string();
    let resp = call(&env, Method::DELETE, LEADS, &t, "application/json", body).await;
    assert_eq!(resp.status, 413, "{}", resp.text());
    assert!(resp.json()["message"]
        .as_str()
        .unwrap()
        .contains("201 ids; the limit is 200"));
    let resp = call(&env, Method::DELETE, LEADS, &t, "application/json", "").await;
    assert_eq!(resp.status, 400, "{}", resp.text());
}

#[tokio::test]
async fn actions_test_validates_without_writing() {
    let env = start().await;
    let t = token(&env).await;
    let path = format!("{LEADS}/actions/test");
    assert_accepted(
        &post(
            &env,
            &t,
            &path,
            &data(&[lead("test-t", "T", "t@example.com", "")]),
        )
        .await,
    );
    let resp = post(
        &env,
        &t,
        &path,
        &data(&[lead("test-t", "T", "not-an-email", "")]),
    )
    .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    let queued = dc_emulator::ingest::queue::pending(env.emu.state())
        .await
        .unwrap();
    assert_eq!(queued, 0);
    assert!(rows(&env, LEAD_DLO).await.is_empty());
}

#[tokio::test]
async fn records_wait_for_their_stream_processing_delay() {
    let env = start_with(common::config_with_org(|org| {
        let bridged = org
            .connectors
            .iter_mut()
            .find(|c| c.name == "Bridged")
            .unwrap();
        bridged
            .streams
            .iter_mut()
            .find(|s| s.object.name == "LeadProfile")
            .unwrap()
            .processing_delay_ms = 300_000;
    }))
    .await;
    let clock = &env.emu.state().clock;
    clock.pin_ms(clock.now_ms());
    let t = token(&env).await;
    assert_accepted(
        &post(
            &env,
            &t,
            LEADS,
            &data(&[lead("test-late", "L", "l@example.com", "")]),
        )
        .await,
    );
    // An undelayed stream's record accepted after it lands first: once it is
    // visible, the processor has run past the delayed one and left it queued.
    assert_accepted(&post(&env, &t, EVENTS, &data(&[event("e-now")])).await);
    wait_until(&env, "SELECT * FROM Bridged_EngagementEvent__dll", |r| {
        r.len() == 1
    })
    .await;
    assert!(
        rows(&env, LEAD_DLO).await.is_empty(),
        "read-after-write: not yet"
    );
    assert_eq!(
        dc_emulator::ingest::queue::pending(env.emu.state())
            .await
            .unwrap(),
        1
    );

    clock.advance_ms(299_000);
    env.emu.state().ingest.poke();
    assert_accepted(&post(&env, &t, EVENTS, &data(&[event("e-later")])).await);
    wait_until(&env, "SELECT * FROM Bridged_EngagementEvent__dll", |r| {
        r.len() == 2
    })
    .await;
    assert!(rows(&env, LEAD_DLO).await.is_empty(), "one second early");

    clock.advance_ms(1_000);
    env.emu.state().ingest.poke();
    wait_until(&env, LEAD_DLO, |r| r.len() == 1).await;
    drained(&env).await;
}

/// Leads wait a minute; events land at once (to know the processor ran).
fn delayed_leads() -> dc_emulator::EmulatorConfig {
    common::config_with_org(|org| {
        let bridged = org
            .connectors
            .iter_mut()
            .find(|c| c.name == "Bridged")
            .unwrap();
        let leads = bridged
            .streams
            .iter_mut()
            .find(|s| s.object.name == "LeadProfile")
            .unwrap();
        leads.processing_delay_ms = 60_000;
    })
}

#[tokio::test]
async fn the_control_api_clock_releases_delayed_records_and_reset_drops_them() {
    let env = start_with(delayed_leads()).await;
    let t = token(&env).await;
    assert_accepted(&post(&env, &t, LEADS, &data(&[lead("test-c1", "C", "", "")])).await);
    // Moving the clock through the test-control API is enough: the
    // processor reads the clock on every tick.
    let resp = env
        .post_json("/__emulator/clock", None, &json!({"advanceMs": 61_000}))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    wait_until(&env, LEAD_DLO, |r| r.len() == 1).await;

    // Queued work and bulk jobs do not outlive a reset.
    assert_accepted(&post(&env, &t, LEADS, &data(&[lead("test-c2", "C", "", "")])).await);
    let job = post(
        &env,
        &t,
        JOBS,
        &json!({"object": "LeadProfile", "sourceName": "Bridged", "operation": "upsert"}),
    )
    .await;
    assert_eq!(job.status, 201);
    let resp = env
        .post_json("/__emulator/reset", None, &json!({"keepTokens": true}))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    env.emu.state().clock.advance_ms(120_000);
    assert_accepted(&post(&env, &t, EVENTS, &data(&[event("e-after-reset")])).await);
    wait_until(&env, "SELECT * FROM Bridged_EngagementEvent__dll", |r| {
        r.len() == 1
    })
    .await;
    assert!(
        rows(&env, LEAD_DLO).await.is_empty(),
        "the reset emptied the DLO and the queue"
    );
    let jobs = env.get(JOBS, Some(&t)).await.json();
    assert_eq!(jobs["data"], json!([]));
}

#[tokio::test]
async fn processing_reports_profile_changes_for_identity_resolution() {
    use dc_emulator::ingest::{queue, Runtime};
    let org = common::default_org();
    let store = dc_emulator::store::Store::open(None, &org).unwrap();
    let runtime = Runtime::new(&Default::default());
    let stream = org
        .connector("Bridged")
        .unwrap()
        .stream("LeadProfile")
        .unwrap()
        .clone();
    let record = dc_emulator::ingest::validate::json_record(
        &stream.object,
        &lead("test-ir", "I", "i@example.com", ""),
    )
    .unwrap();
    let org2 = org.clone();
    let outcome = store
        .write(move |conn| {
            let work = queue::Work::Upsert(vec![record.to_json(&stream.object)]);
            queue::insert(conn, &runtime, "Bridged", "LeadProfile", &work, 0, 0).unwrap();
            let del = queue::Work::Delete(vec!["test-ir".into()]);
            queue::insert(conn, &runtime, "Bridged", "LeadProfile", &del, 0, 1).unwrap();
            queue::process_due(conn, &org2, &runtime, 10).unwrap()
        })
        .await
        .unwrap();
    let seen: Vec<(String, String, bool)> = outcome
        .changes
        .rows
        .iter()
        .map(|c| (c.dmo.clone(), c.id.clone(), c.deleted))
        .collect();
    let s = |d: &str, id: &str, del| (d.to_owned(), id.to_owned(), del);
    assert_eq!(
        seen,
        [
            s("ssot__Individual__dlm", "test-ir", false),
            s("ssot__ContactPointEmail__dlm", "test-ir-email", false),
            s("ssot__Individual__dlm", "test-ir", true),
            s("ssot__ContactPointEmail__dlm", "test-ir-email", true),
        ]
    );
    assert_eq!(outcome.items, 2);
}
