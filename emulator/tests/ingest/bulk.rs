//! Bulk ingestion jobs over HTTPS: the whole life of an upsert job with two
//! CSV files (one malformed row, one invalid value), abort, list filters,
//! delete jobs, and the refusals along the way.

use http::Method;
use serde_json::{json, Value};

use crate::common::{start, TestEnv, CLIENT_ID, USER};
use crate::support::*;

const HEADER: &str = "lead_id,first_name,last_name,email,phone,channel,updated_at";

async fn create(env: &TestEnv, t: &str, object: &str, operation: &str) -> Value {
    let resp = post(
        env,
        t,
        JOBS,
        &json!({"object": object, "sourceName": "Bridged", "operation": operation}),
    )
    .await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    resp.json()
}

async fn upload(env: &TestEnv, t: &str, id: &str, csv: &str) -> dc_emulator::testing::TestResponse {
    call(
        env,
        Method::PUT,
        &format!("{JOBS}/{id}/batches"),
        t,
        "text/csv",
        csv.to_owned(),
    )
    .await
}

async fn patch(
    env: &TestEnv,
    t: &str,
    id: &str,
    state: &str,
) -> dc_emulator::testing::TestResponse {
    let body = json!({ "state": state }).to_string();
    call(
        env,
        Method::PATCH,
        &format!("{JOBS}/{id}"),
        t,
        "application/json",
        body,
    )
    .await
}

async fn delete(env: &TestEnv, t: &str, id: &str) -> dc_emulator::testing::TestResponse {
    call(
        env,
        Method::DELETE,
        &format!("{JOBS}/{id}"),
        t,
        "application/json",
        "",
    )
    .await
}

#[tokio::test]
async fn an_upsert_job_from_create_to_complete() {
    let env = start().await;
    let t = env.dc_token(CLIENT_ID, USER).await;
    let job = create(&env, &t, "LeadProfile", "upsert").await;
    let id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(job["state"], "Open");
    assert_eq!(job["operation"], "upsert");
    assert_eq!(job["object"], "LeadProfile");
    assert_eq!(job["sourceName"], "Bridged");
    assert_eq!(job["contentType"], "CSV");
    assert_eq!(job["apiVersion"], "v1");
    assert_eq!(job["createdById"], env.user_id(USER));
    assert_eq!(
        job["contentUrl"],
        format!("api/v1/ingest/jobs/{id}/batches")
    );

    let first = format!(
        "{HEADER}\ntest-b1,Ann,Lee,ann@example.com,(415) 555-0101,web,2026-04-19T10:00:00Z\n\
         test-b2,\"Bo, Jr\",Lee,,,web,\ntest-b3,Cy,Lee\n"
    );
    let resp = upload(&env, &t, &id, &first).await;
    assert_eq!(resp.status, 202, "{}", resp.text());
    assert!(resp.body.is_empty());
    let second = "channel,updated_at,lead_id,first_name,last_name,email,phone\n\
         sms,2026-04-20T00:00:00.000Z,test-b4,Di,Lee,di@example.com,\n\
         sms,,test-b5,Ed,Lee,not-an-email,\n";
    assert_eq!(upload(&env, &t, &id, second).await.status, 202);

    let resp = patch(&env, &t, &id, "UploadComplete").await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["state"], "UploadComplete");
    let done = wait_job(&env, &t, &id, "JobComplete").await;
    assert_eq!(done["numberRecordsProcessed"], 5, "{done}");
    assert_eq!(done["numberRecordsFailed"], 2, "{done}");
    assert_eq!(done["retries"], 0);
    assert!(done["totalProcessingTime"].is_number());

    let leads = rows(&env, "SELECT lead_id__c, first_name__c, email__c FROM Bridged_LeadProfile__dll WHERE lead_id__c LIKE 'test-b%' ORDER BY 1").await;
    assert_eq!(
        leads,
        [
            [json!("test-b1"), json!("Ann"), json!("ann@example.com")],
            [json!("test-b2"), json!("Bo, Jr"), Value::Null],
            [json!("test-b4"), json!("Di"), json!("di@example.com")],
        ]
    );
    let phones = rows(&env, "SELECT ssot__FormattedE164PhoneNumber__c FROM ssot__ContactPointPhone__dlm WHERE ssot__PartyId__c = 'test-b1'").await;
    assert_eq!(phones, [[json!("+14155550101")]]);

    // Closed: no more uploads, no second close.
    let resp = upload(&env, &t, &id, &first).await;
    assert_eq!(resp.status, 400);
    assert!(
        resp.text().contains("only while the job is Open"),
        "{}",
        resp.text()
    );
    assert_eq!(patch(&env, &t, &id, "UploadComplete").await.status, 400);

    assert_eq!(delete(&env, &t, &id).await.status, 204);
    assert_eq!(env.get(&format!("{JOBS}/{id}"), Some(&t)).await.status, 404);
}

#[tokio::test]
async fn abort_list_and_delete_rules() {
    let env = start().await;
    let t = env.dc_token(CLIENT_ID, USER).await;
    let aborted = create(&env, &t, "EngagementEvent", "upsert").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let csv = "event_id,customer_email,event_type,event_timestamp,conversation_id,channel\n\
               e1,a@example.com,t,2026-04-19T10:00:00Z,c,web\n";
    assert_eq!(upload(&env, &t, &aborted, csv).await.status, 202);
    let resp = patch(&env, &t, &aborted, "Aborted").await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["state"], "Aborted");
    assert_eq!(upload(&env, &t, &aborted, csv).await.status, 400);
    let open = create(&env, &t, "LeadProfile", "delete").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let ids = |resp: &dc_emulator::testing::TestResponse| -> Vec<String> {
        assert_eq!(resp.status, 200, "{}", resp.text());
        resp.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&env.get(&format!("{JOBS}?states=Aborted"), Some(&t)).await),
        std::slice::from_ref(&aborted)
    );
    assert_eq!(
        ids(&env
            .get(&format!("{JOBS}?states=Open,UploadComplete"), Some(&t))
            .await),
        std::slice::from_ref(&open)
    );
    let all = ids(&env
        .get(&format!("{JOBS}?orderBy=createdDate"), Some(&t))
        .await);
    assert_eq!(all.len(), 2);
    assert_eq!(
        ids(&env
            .get(
                &format!("{JOBS}?limit=1&offset=1&orderBy=createdDate"),
                Some(&t)
            )
            .await),
        [all[1].clone()]
    );
    for bad in [
        "states=Bogus",
        "limit=101",
        "limit=0",
        "offset=-1",
        "orderBy=colour",
    ] {
        let resp = env.get(&format!("{JOBS}?{bad}"), Some(&t)).await;
        assert_eq!(resp.status, 400, "{bad}: {}", resp.text());
    }

    // Open jobs cannot be deleted; aborted ones can.
    let resp = delete(&env, &t, &open).await;
    assert_eq!(resp.status, 400);
    assert!(
        resp.text().contains("can be deleted only"),
        "{}",
        resp.text()
    );
    assert_eq!(delete(&env, &t, &aborted).await.status, 204);
    assert_eq!(delete(&env, &t, "no-such-job").await.status, 404);
    assert_eq!(patch(&env, &t, "no-such-job", "Aborted").await.status, 404);
}

#[tokio::test]
async fn a_delete_job_removes_rows_by_primary_key() {
    let env = start().await;
    let t = env.dc_token(CLIENT_ID, USER).await;
    let leads: Vec<Value> = (1..=3)
        .map(|i| lead(&format!("test-x{i}"), "X", "", ""))
        .collect();
    assert_accepted(&post(&env, &t, LEADS, &data(&leads)).await);
    let sql = "SELECT lead_id__c FROM Bridged_LeadProfile__dll WHERE lead_id__c LIKE 'test-x%' ORDER BY 1";
    wait_until(&env, sql, |r| r.len() == 3).await;

    let id = create(&env, &t, "LeadProfile", "delete").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let csv = "test-x1\n\"test-x2\",\"2026-10-26T02:51:28.939Z\"\ntest-x3,not-a-date\n";
    assert_eq!(upload(&env, &t, &id, csv).await.status, 202);
    assert_eq!(patch(&env, &t, &id, "UploadComplete").await.status, 200);
    let done = wait_job(&env, &t, &id, "JobComplete").await;
    assert_eq!(
        (
            done["numberRecordsProcessed"].clone(),
            done["numberRecordsFailed"].clone()
        ),
        (json!(3), json!(1))
    );
    assert_eq!(rows(&env, sql).await, [[json!("test-x3")]]);
    let people = rows(
        &env,
        "SELECT ssot__Id__c FROM ssot__Individual__dlm WHERE ssot__Id__c LIKE 'test-x%'",
    )
    .await;
    assert_eq!(people, [[json!("test-x3")]]);
}

#[tokio::test]
async fn refusals_at_create_and_upload() {
    let env = start().await;
    let t = env.dc_token(CLIENT_ID, USER).await;
    for (body, words) in [
        (
            json!({"object": "LeadProfile", "sourceName": "Bridged", "operation": "insert"}),
            "must be `upsert` or `delete`",
        ),
        (
            json!({"object": "LeadProfile", "sourceName": "Nope", "operation": "upsert"}),
            "sourceName `Nope`",
        ),
        (
            json!({"object": "Nope", "sourceName": "Bridged", "operation": "upsert"}),
            "object `Nope`",
        ),
        (
            json!({"sourceName": "Bridged", "operation": "upsert"}),
            "`object` is required",
        ),
        (
            json!({"object": "LeadProfile", "sourceName": "Bridged", "operation": "upsert", "contentType": "JSON"}),
            "contentType",
        ),
    ] {
        let resp = post(&env, &t, JOBS, &body).await;
        assert_eq!(resp.status, 400, "{body}: {}", resp.text());
        assert!(resp.text().contains(words), "{}", resp.text());
    }
    let id = create(&env, &t, "LeadProfile", "upsert").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (csv, words) in [
        (
            "lead_id,bogus\nx,y\n",
            "`bogus`, which is not a field of `LeadProfile`",
        ),
        ("lead_id,first_name\nx,y\n", "lacks `last_name`"),
        ("lead_id,lead_id\n", "twice"),
        ("", "empty"),
    ] {
        let resp = upload(&env, &t, &id, csv).await;
        assert_eq!(resp.status, 400, "{csv}: {}", resp.text());
        assert!(resp.text().contains(words), "{}", resp.text());
    }
    let resp = call(
        &env,
        Method::PUT,
        &format!("{JOBS}/{id}/batches"),
        &t,
        "application/json",
        "{}",
    )
    .await;
    assert_eq!(resp.status, 415);
    let resp = upload(&env, &t, "no-such-job", &format!("{HEADER}\n")).await;
    assert_eq!(resp.status, 404);
    // A file of only a header is fine; the job completes with nothing to do.
    assert_eq!(
        upload(&env, &t, &id, &format!("{HEADER}\n")).await.status,
        202
    );
    assert_eq!(patch(&env, &t, &id, "UploadComplete").await.status, 200);
    let done = wait_job(&env, &t, &id, "JobComplete").await;
    assert_eq!(done["numberRecordsProcessed"], 0);
}
