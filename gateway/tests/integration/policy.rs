//! Clients and policies: unknown clients get 401, forbidden operations and
//! objects 403 naming them, in the shape of the path.

use dc_emulator::EmulatorConfig;
use serde_json::json;

use super::common::{rows, sha256_hex as hex, start, Env, SQL};

async fn closed() -> Env {
    let clients = format!(
        r#"
[[clients]]
name = "reader"
api_key_sha256 = "{reader}"
direction = "read"
operations = ["query"]
objects = ["UnifiedIndividual__dlm"]

[[clients]]
name = "writer"
api_key_sha256 = "{writer}"
direction = "write"
operations = ["ingest"]
objects = ["EngagementEvent"]

[[clients]]
name = "sdk"
client_id = "sdk-app"
client_secret_sha256 = "{sdk}"
direction = "read"
objects = ["*"]
"#,
        reader = hex("reader-key"),
        writer = hex("writer-key"),
        sdk = hex("sdk-secret"),
    );
    start(EmulatorConfig::default(), "", &clients).await
}

#[tokio::test]
async fn unknown_clients_get_401_in_the_shape_of_the_path() {
    let env = closed().await;
    let r = env.query(SQL).await;
    assert_eq!(r.status, 401);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("Unknown client"),
        "{}",
        r.text()
    );
    let r = env.query_with(SQL, &[("x-api-key", "wrong")]).await;
    assert_eq!(r.status, 401);
    let r = env
        .gw
        .post_json(
            "/services/data/v64.0/ssot/query-sql",
            Some("wrong"),
            &json!({"sql": SQL}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json()[0]["errorCode"],
        "INVALID_SESSION_ID",
        "{}",
        r.text()
    );
    env.stop().await;
}

#[tokio::test]
async fn policies_allow_and_forbid_by_direction_operation_and_object() {
    let env = closed().await;
    // Allowed: the reader's object, by x-api-key or as a bearer.
    rows(&env.query_with(SQL, &[("x-api-key", "reader-key")]).await);
    rows(
        &env.query_with(SQL, &[("authorization", "Bearer reader-key")])
            .await,
    );

    // A table outside the reader's objects, hidden in a join.
    let r = env
        .query_with(
            "SELECT u.ssot__Id__c FROM UnifiedIndividual__dlm u \
             JOIN ssot__Individual__dlm i ON u.ssot__Id__c = i.ssot__Id__c",
            &[("x-api-key", "reader-key")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("ssot__Individual__dlm"));

    // The reader may not write.
    let ingest = "/api/v1/ingest/sources/web/EngagementEvent";
    let body = json!({"data": [{"event_id": "e1"}]}).to_string();
    let r = env
        .gw
        .send(
            http::Method::POST,
            ingest,
            &[
                ("x-api-key", "reader-key"),
                ("content-type", "application/json"),
            ],
            body.clone(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.json()["message"].as_str().unwrap().contains("write"));

    // The writer may not read, nor ingest into another object.
    let r = env.query_with(SQL, &[("x-api-key", "writer-key")]).await;
    assert_eq!(r.status, 403);
    assert!(r.json()["message"].as_str().unwrap().contains("read"));
    let r = env
        .gw
        .send(
            http::Method::POST,
            "/api/v1/ingest/sources/web/Other",
            &[
                ("x-api-key", "writer-key"),
                ("content-type", "application/json"),
            ],
            body.clone(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    assert!(r.json()["message"].as_str().unwrap().contains("'Other'"));
    // Its own object passes the policy (what the upstream says is its business).
    let r = env
        .gw
        .send(
            http::Method::POST,
            ingest,
            &[
                ("x-api-key", "writer-key"),
                ("content-type", "application/json"),
            ],
            body,
        )
        .await
        .unwrap();
    assert!(
        r.status != 401 && r.status != 403,
        "{} {}",
        r.status,
        r.text()
    );
    env.stop().await;
}

#[tokio::test]
async fn the_facade_authenticates_configured_clients() {
    let env = closed().await;
    let r = env
        .gw
        .post_form(
            "/services/oauth2/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "sdk-app"),
                ("client_secret", "nope"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_client");
    let (_, dc) = env
        .facade_tokens(&[
            ("grant_type", "client_credentials"),
            ("client_id", "sdk-app"),
            ("client_secret", "sdk-secret"),
        ])
        .await;
    rows(
        &env.query_with(SQL, &[("authorization", &format!("Bearer {dc}"))])
            .await,
    );
    // The read-only client still may not ingest with its facade token.
    let r = env
        .gw
        .post_json(
            "/api/v1/ingest/sources/web/EngagementEvent",
            Some(&dc),
            &json!({"data": []}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    // A Data Cloud token does not open the core host.
    let r = env
        .gw
        .post_json(
            "/services/data/v64.0/ssot/query-sql",
            Some(&dc),
            &json!({"sql": SQL}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    env.stop().await;
}
