//! Ingestion requests that are refused, and how: schema mismatches with a
//! validation report naming record index and field, body shape and size
//! limits, missing tokens or scopes, unknown sources and objects.

use http::Method;
use serde_json::{json, Value};

use crate::common::{self, start, start_with, test_config, CLIENT_ID};
use crate::support::*;

#[tokio::test]
async fn validation_failures_name_record_and_field() {
    let env = start().await;
    let t = token(&env).await;
    let good = lead("test-v0", "V", "v@example.com", "+1 415 555 0100");
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("channel");
    let mut unknown = good.clone();
    unknown["favourite_colour"] = json!("blue");
    let mut api_name = good.clone();
    api_name.as_object_mut().unwrap().remove("first_name");
    api_name["first_name__c"] = json!("V");
    let cases: Vec<(Value, &str, &str)> = vec![
        (missing, "channel", "missing"),
        (unknown, "favourite_colour", "unknown field"),
        (api_name, "first_name__c", "did you mean `first_name`"),
        (lead("test-v", "V", "v@", ""), "email", "not a valid email"),
        (
            lead("test-v", "V", "", "call me"),
            "phone",
            "not a valid phone",
        ),
        (
            {
                let mut r = good.clone();
                r["updated_at"] = json!("yesterday");
                r
            },
            "updated_at",
            "not a date-time",
        ),
        (
            {
                let mut r = good.clone();
                r["first_name"] = json!(42);
                r
            },
            "first_name",
            "expected a JSON string",
        ),
        (
            lead("", "V", "", ""),
            "lead_id",
            "primary key must not be blank",
        ),
    ];
    for (bad, field, words) in cases {
        let resp = post(&env, &t, LEADS, &data(&[good.clone(), bad.clone()])).await;
        assert_eq!(resp.status, 400, "{field}: {}", resp.text());
        let body = resp.json();
        assert_eq!(body["error"], "Bad Request");
        assert_eq!(
            body["message"],
            "Bad Request: JSON is properly formatted but has a mismatch with Schema."
        );
        assert_eq!(body["path"], format!("uri={LEADS}"));
        assert_eq!(body["tenantId"], env.emu.state().org.tenant_id);
        assert_eq!(body["internalErrorCode"], "COMMON_ERROR_GENERIC");
        let report = body["details"]["validationReport"].as_str().unwrap();
        assert!(
            report.contains(&format!("record 1, field {field}: ")),
            "{report}"
        );
        assert!(report.contains(words), "{field}: {report}");
        let errors = body["details"]["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["recordIndex"] == 1 && e["field"] == field),
            "{errors:?}"
        );
        assert!(
            errors.iter().all(|e| e["recordIndex"] == 1),
            "record 0 is fine: {errors:?}"
        );
    }
    // A record that is no object at all.
    let resp = post(&env, &t, LEADS, &json!({"data": [good, "text"]})).await;
    assert_eq!(resp.status, 400);
    assert!(resp.json()["details"]["validationReport"]
        .as_str()
        .unwrap()
        .starts_with("record 1: a record must be a JSON object"));
    // Nothing of any refused request was queued.
    assert_eq!(
        dc_emulator::ingest::queue::pending(env.emu.state())
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn body_shape_and_size_limits() {
    let env = start_with(dc_emulator::EmulatorConfig {
        ingest: dc_emulator::ingest::IngestSettings {
            max_records: 3,
            ..Default::default()
        },
        ..test_config()
    })
    .await;
    let t = token(&env).await;
    let four: Vec<Value> = (0..4).map(|i| event(&format!("e{i}"))).collect();
    let resp = post(&env, &t, EVENTS, &data(&four)).await;
    assert_eq!(resp.status, 413, "{}", resp.text());
    assert_eq!(
        resp.json()["message"],
        "Ingestion request has 4 records; the limit is 3 records per request"
    );

    let mut big = event("big");
    big["channel"] = json!("x".repeat(200 * 1024));
    let resp = post(&env, &t, EVENTS, &data(&[big])).await;
    assert_eq!(resp.status, 413);
    assert_eq!(resp.json()["error"], "Payload Too Large");
    assert_eq!(resp.json()["message"], "Payload exceeds 200KB");

    for (body, words) in [
        ("{\"data\": [", "malformed JSON"),
        ("{\"records\": []}", "`data` array"),
        ("[]", "`data` array"),
        ("{\"data\": []}", "no record"),
    ] {
        let resp = call(&env, Method::POST, EVENTS, &t, "application/json", body).await;
        assert_eq!(resp.status, 400, "{body}: {}", resp.text());
        assert!(
            resp.json()["message"].as_str().unwrap().contains(words),
            "{}",
            resp.text()
        );
    }
}

#[tokio::test]
async fn the_guides_limit_of_fifty_records_is_the_default() {
    let env = start().await;
    let t = token(&env).await;
    let fifty: Vec<Value> = (0..50).map(|i| event(&format!("e{i}"))).collect();
    assert_accepted(&post(&env, &t, EVENTS, &data(&fifty)).await);
    let fifty_one: Vec<Value> = (0..51).map(|i| event(&format!("e{i}"))).collect();
    let resp = post(&env, &t, EVENTS, &data(&fifty_one)).await;
    assert_eq!(resp.status, 413);
    assert!(resp.text().contains("51 records; the limit is 50"));
}

#[tokio::test]
async fn tokens_scopes_paths_and_methods() {
    let env = start().await;
    let one = data(&[event("e1")]);
    let resp = env.post_json(EVENTS, None, &one).await;
    assert_eq!(resp.status, 401);
    let t = token(&env).await;
    for (path, status) in [
        ("/api/v1/ingest/sources/Nope/EngagementEvent", 404),
        ("/api/v1/ingest/sources/Bridged/Nope", 404),
        ("/api/v1/ingest/sources/Bridged/EngagementEvent/extra", 404),
    ] {
        let resp = post(&env, &t, path, &one).await;
        assert_eq!(resp.status, status, "{path}: {}", resp.text());
        assert_eq!(resp.json()["path"], format!("uri={path}"));
    }
    let resp = env.get(EVENTS, Some(&t)).await;
    assert_eq!(resp.status, 405);

    // An app without cdp_ingest_api gets a token, but not ingestion.
    let env = start_with(common::config_with_org(|org| {
        common::app_mut(org, CLIENT_ID)
            .scopes
            .retain(|s| s != "cdp_ingest_api");
    }))
    .await;
    let t = token(&env).await;
    let resp = post(&env, &t, EVENTS, &one).await;
    assert_eq!(resp.status, 403, "{}", resp.text());
    assert!(resp.text().contains("cdp_ingest_api"));
    let resp = env.get(JOBS, Some(&t)).await;
    assert_eq!(resp.status, 403);
}
