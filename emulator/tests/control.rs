//! The test-control API (`/__emulator/*`) over HTTPS: reset and extra rows,
//! the request journal and the clock here; fault rules and rate limits in
//! `control/faults.rs`; app and user deactivation in `control/access.rs`.

#[path = "control/access.rs"]
mod access;
mod common;
#[path = "control/faults.rs"]
mod faults;

use bytes::Bytes;
use common::{start, start_with, test_config, TestEnv, CLIENT_ID, USER};
use dc_emulator::testing::TestResponse;
use dc_emulator::EmulatorConfig;
use http::Method;
use serde_json::{json, Value};

const INDIVIDUAL: &str = "ssot__Individual__dlm";

/// A control-API call with an optional JSON body.
pub async fn ctl(env: &TestEnv, method: Method, path: &str, body: Option<Value>) -> TestResponse {
    match body {
        Some(b) => {
            env.send(
                method,
                path,
                &[("content-type", "application/json")],
                b.to_string(),
            )
            .await
        }
        None => env.send(method, path, &[], Bytes::new()).await,
    }
}

/// A control-API call that must answer 200; its JSON.
#[track_caller]
pub fn ok(resp: TestResponse) -> Value {
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()
}

/// The tenant-shape 400 message of a refused control call.
#[track_caller]
pub fn bad_request_message(resp: &TestResponse) -> String {
    assert_eq!(resp.status, 400, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["error"], "Bad Request", "{body}");
    body["message"].as_str().unwrap_or_default().to_owned()
}

/// Rows in `table`, read straight from the store.
async fn count(env: &TestEnv, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM \"{table}\"");
    env.emu
        .state()
        .store
        .read(move |c| c.query_row(&sql, [], |r| r.get::<_, i64>(0)))
        .await
        .expect("store read")
        .expect("count")
}

fn individual(id: &str) -> Value {
    json!({"ssot__Id__c": id, "ssot__FirstName__c": "Ada", "ssot__BirthDate__c": "1815-12-10",
           "ssot__ChildrenCount__c": 3, "ssot__HasOptedOutTracking__c": true})
}

#[tokio::test]
async fn rows_are_validated_and_reset_restores_the_fixture() {
    let env = start().await;
    let before = count(&env, INDIVIDUAL).await;
    assert!(before > 0);

    let added = ok(ctl(
        &env,
        Method::POST,
        "/__emulator/rows",
        Some(json!({"object": "SSOT__INDIVIDUAL__DLM", "rows": [individual("ctl-1"), individual("ctl-2")]})),
    )
    .await);
    assert_eq!(added, json!({"object": INDIVIDUAL, "inserted": 2}));
    assert_eq!(count(&env, INDIVIDUAL).await, before + 2);
    assert_eq!(query_first_name(&env, "ctl-1").await, json!([["Ada"]]));

    // Unknown object, unknown field, bad value, duplicate key: 400 naming
    // it, and nothing of the batch lands.
    let cases = [
        (json!({"object": "Nope__dlm", "rows": []}), "Nope__dlm"),
        (
            json!({"object": INDIVIDUAL, "rows": [individual("ctl-3"), {"ssot__Id__c": "ctl-4", "Shoe__c": 1}]}),
            "Shoe__c",
        ),
        (
            json!({"object": INDIVIDUAL, "rows": [{"ssot__Id__c": "ctl-5", "ssot__BirthDate__c": "soon"}]}),
            "ssot__BirthDate__c",
        ),
        (
            json!({"object": INDIVIDUAL, "rows": [individual("ctl-6"), individual("ctl-1")]}),
            "rows[1]",
        ),
    ];
    for (body, needle) in cases {
        let resp = ctl(&env, Method::POST, "/__emulator/rows", Some(body)).await;
        let message = bad_request_message(&resp);
        assert!(message.contains(needle), "{message}");
    }
    assert_eq!(count(&env, INDIVIDUAL).await, before + 2);
    let resp = ctl(&env, Method::POST, "/__emulator/rows", None).await;
    assert!(bad_request_message(&resp).contains("body"));

    let replaced = ctl(
        &env,
        Method::POST,
        "/__emulator/rows",
        Some(json!({"object": INDIVIDUAL, "rows": [individual("ctl-1")], "replace": true})),
    )
    .await;
    assert_eq!(ok(replaced)["inserted"], 1);

    let reset = ok(ctl(&env, Method::POST, "/__emulator/reset", None).await);
    assert!(reset["rows"].as_i64().unwrap() > 0, "{reset}");
    assert_eq!(count(&env, INDIVIDUAL).await, before);
    assert_eq!(query_first_name(&env, "ctl-1").await, json!([]));
}

/// `data` of a Query API V2 lookup of one individual's first name (with a
/// fresh login: a reset voids earlier tokens).
async fn query_first_name(env: &TestEnv, id: &str) -> Value {
    let dc = env.dc_token(CLIENT_ID, USER).await;
    let sql = format!("SELECT ssot__FirstName__c FROM {INDIVIDUAL} WHERE ssot__Id__c = '{id}'");
    let resp = env
        .post_json("/api/v2/query", Some(&dc), &json!({"sql": sql}))
        .await;
    ok(resp)["data"].clone()
}

#[tokio::test]
async fn reset_voids_tokens_and_honours_keep_flags() {
    let env = start().await;
    let dc = env.dc_token(CLIENT_ID, USER).await;
    assert_eq!(env.get("/api/v1/metadata", Some(&dc)).await.status, 200);
    ok(ctl(
        &env,
        Method::POST,
        "/__emulator/clock",
        Some(json!({"pinMs": 4_000_000_000_000_i64})),
    )
    .await);

    let reset = ok(ctl(
        &env,
        Method::POST,
        "/__emulator/reset",
        Some(json!({"keepRows": true, "keepJournal": true})),
    )
    .await);
    assert_eq!(reset["rows"], Value::Null);
    let cleared: Vec<&str> = reset["reset"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(cleared.contains(&"tokens") && cleared.contains(&"clock"));
    assert!(!cleared.contains(&"journal") && !cleared.contains(&"rows"));

    // Tokens issued before the reset are refused; the clock is real again.
    let resp = env.get("/api/v1/metadata", Some(&dc)).await;
    assert_eq!(resp.status, 401, "{}", resp.text());
    let clock = ok(ctl(&env, Method::GET, "/__emulator/clock", None).await);
    assert_eq!(clock["pinned"], false);
    assert_eq!(clock["offsetMs"], 0);
    // The journal was kept: the metadata call before the reset is there.
    let journal = ok(ctl(
        &env,
        Method::GET,
        "/__emulator/journal?path=/api/v1/metadata",
        None,
    )
    .await);
    assert_eq!(journal["entries"].as_array().unwrap().len(), 2);

    let resp = ctl(
        &env,
        Method::POST,
        "/__emulator/reset",
        Some(json!({"keepEverything": true})),
    )
    .await;
    assert!(bad_request_message(&resp).contains("keepEverything"));
}

#[tokio::test]
async fn journal_records_filters_and_redacts() {
    let env = start().await;
    let t0 = env.emu.state().clock.now_ms();
    let core = env.core_token(CLIENT_ID, USER).await;
    let core = core["access_token"].as_str().unwrap().to_owned();
    let dc = env.exchange(&core, None).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(env.get("/api/v1/metadata", Some(&dc)).await.status, 200);
    assert_eq!(env.get("/api/v1/metadata", None).await.status, 401);
    let soql = "/services/data/v64.0/ssot/data-spaces";
    assert_eq!(env.get(soql, Some(&core)).await.status, 200);
    // `cdp` style: secrets in the query string.
    env.post_query(
        "/services/oauth2/token",
        &[
            ("grant_type", "password"),
            ("password", "hunter2"),
            ("client_id", CLIENT_ID),
        ],
    )
    .await;
    ok(ctl(&env, Method::GET, "/__emulator/stats", None).await);

    let all = ok(ctl(&env, Method::GET, "/__emulator/journal", None).await);
    let entries = all["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 6, "control calls are not recorded: {all}");
    assert_eq!(all["capacity"], 10_000);
    let ids: Vec<u64> = entries.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    for e in entries {
        assert!(e["timeMs"].as_i64().unwrap() >= t0);
        assert!(e["durationUs"].is_u64());
        assert!(e["time"].as_str().unwrap().ends_with('Z'));
    }
    let text = all.to_string();
    assert!(!text.contains("hunter2") && !text.contains(&core) && !text.contains(&dc));
    assert!(text.contains("password=%5Bredacted%5D"), "{text}");

    let list = |q: &'static str| {
        let env = &env;
        async move {
            let v = ok(ctl(env, Method::GET, &format!("/__emulator/journal?{q}"), None).await);
            v["entries"].as_array().unwrap().clone()
        }
    };
    let metadata = list("path=/api/v1/meta").await;
    assert_eq!(metadata.len(), 2);
    assert_eq!(metadata[0]["principal"]["kind"], "dataCloud");
    assert_eq!(metadata[0]["principal"]["username"], USER);
    assert_eq!(metadata[0]["principal"]["clientId"], CLIENT_ID);
    assert_eq!(metadata[1]["principal"], Value::Null);
    let connect = list("path=/services/data/*/ssot/*&method=get").await;
    assert_eq!(connect.len(), 1);
    assert_eq!(connect[0]["principal"]["kind"], "core");
    assert_eq!(connect[0]["principal"]["userId"], env.user_id(USER));
    assert_eq!(list("status=401").await.len(), 1);
    assert_eq!(list("status=4xx&method=POST").await.len(), 1);
    assert_eq!(list("method=POST").await.len(), 3);
    assert_eq!(list("limit=2").await[1]["path"], "/services/oauth2/token");
    let future = t0 + 3_600_000;
    assert_eq!(list("since=2000-01-01T00:00:00Z").await.len(), 6);
    let since = format!("/__emulator/journal?since={future}");
    let none = ok(ctl(&env, Method::GET, &since, None).await);
    assert_eq!(none["entries"], json!([]));
    let resp = ctl(&env, Method::GET, "/__emulator/journal?status=abc", None).await;
    assert!(bad_request_message(&resp).contains("status"));

    let deleted = ok(ctl(&env, Method::DELETE, "/__emulator/journal", None).await);
    assert_eq!(deleted["deleted"], 6);
    assert_eq!(list("").await.len(), 0);

    // Control calls are recorded once asked for.
    let settings = json!({"includeControl": true});
    ok(ctl(&env, Method::PUT, "/__emulator/journal", Some(settings)).await);
    ok(ctl(&env, Method::GET, "/__emulator/health", None).await);
    assert_eq!(list("path=/__emulator/health").await.len(), 1);
}

#[tokio::test]
async fn journal_is_bounded() {
    let env = start_with(EmulatorConfig {
        journal_size: 3,
        ..test_config()
    })
    .await;
    for i in 0..5 {
        env.get(&format!("/api/v1/nothing/{i}"), None).await;
    }
    let all = ok(ctl(&env, Method::GET, "/__emulator/journal", None).await);
    let paths: Vec<&str> = all["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/api/v1/nothing/2",
            "/api/v1/nothing/3",
            "/api/v1/nothing/4"
        ]
    );
    assert_eq!(all["evicted"], 2);
    let shrunk = ok(ctl(
        &env,
        Method::PUT,
        "/__emulator/journal",
        Some(json!({"capacity": 1})),
    )
    .await);
    assert_eq!(
        (shrunk["total"].clone(), shrunk["capacity"].clone()),
        (json!(1), json!(1))
    );
}

#[tokio::test]
async fn clock_reads_advances_pins_and_expires_data_cloud_tokens() {
    let env = start().await;
    let clock = ok(ctl(&env, Method::GET, "/__emulator/clock", None).await);
    assert_eq!(clock["pinned"], false);
    let real = clock["nowMs"].as_i64().unwrap();

    let pinned = ok(ctl(
        &env,
        Method::POST,
        "/__emulator/clock",
        Some(json!({"pinIso": "2030-01-02T03:04:05Z"})),
    )
    .await);
    assert_eq!(pinned["now"], "2030-01-02T03:04:05.000Z");
    assert_eq!(pinned["pinned"], true);
    let advanced = ok(ctl(
        &env,
        Method::POST,
        "/__emulator/clock",
        Some(json!({"advanceMs": 1500})),
    )
    .await);
    assert_eq!(advanced["now"], "2030-01-02T03:04:06.500Z");
    let pinned = ok(ctl(
        &env,
        Method::POST,
        "/__emulator/clock",
        Some(json!({"pinMs": real})),
    )
    .await);
    assert_eq!(pinned["nowMs"], real);
    let unpinned = ok(ctl(
        &env,
        Method::POST,
        "/__emulator/clock",
        Some(json!({"unpin": true})),
    )
    .await);
    assert_eq!(unpinned["pinned"], false);
    assert!(unpinned["nowMs"].as_i64().unwrap() >= real);

    for body in [
        json!({}),
        json!({"advanceMs": 1, "unpin": true}),
        json!({"pinIso": "tomorrow"}),
    ] {
        let resp = ctl(&env, Method::POST, "/__emulator/clock", Some(body)).await;
        bad_request_message(&resp);
    }

    // A Data Cloud token lives 7200 s on the emulator clock.
    let dc = env.dc_token(CLIENT_ID, USER).await;
    assert_eq!(env.get("/api/v1/metadata", Some(&dc)).await.status, 200);
    ok(ctl(
        &env,
        Method::POST,
        "/__emulator/clock",
        Some(json!({"advanceMs": 7_201_000})),
    )
    .await);
    let resp = env.get("/api/v1/metadata", Some(&dc)).await;
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.json()["details"]["status"],
        "UNAUTHENTICATED: Invalid JWT (not before or expired)"
    );
}

#[tokio::test]
async fn unknown_control_paths_and_methods() {
    let env = start().await;
    let resp = ctl(&env, Method::GET, "/__emulator/nope", None).await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.json()["error"], "Not Found");
    let resp = ctl(&env, Method::GET, "/__emulator/reset", None).await;
    assert_eq!(resp.status, 405);
    assert_eq!(resp.json()["message"], "Request method 'GET' not supported");
}
