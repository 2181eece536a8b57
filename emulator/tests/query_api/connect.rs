//! The core host's Connect query resources with a core token: `ssot/queryv2`,
//! `ssot/query`, `ssot/query-sql`, metadata, data spaces and SOQL.

use anyhow::Result;
use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{Env, Reply, CLIENT_ID};

/// The core error shape: `[{"errorCode", "message"}]` with `code` first.
fn assert_core_error(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.json[0]["errorCode"], code, "{}", r.text);
    assert!(r.json[0]["message"].is_string(), "{}", r.text);
}

async fn post(env: &Env, token: &str, path: &str, body: &Value) -> Result<Reply> {
    env.call(Method::POST, path, Some(token), Some(body), &[])
        .await
}

async fn get(env: &Env, token: &str, path: &str) -> Result<Reply> {
    env.call(Method::GET, path, Some(token), None, &[]).await
}

#[tokio::test]
async fn queryv2_with_core_token_by_version() -> Result<()> {
    let env = Env::start(100).await?;
    let token = env.core_token(CLIENT_ID).await?;
    let sql = json!({"sql": "SELECT ssot__Id__c FROM ssot__Individual__dlm"});
    for version in ["v52.0", "v64.0"] {
        let path = format!("/services/data/{version}/ssot/queryv2");
        let r = post(&env, &token, &path, &sql).await?;
        assert_eq!(r.status, StatusCode::OK, "{version}: {}", r.text);
        assert_eq!(r.json["rowCount"], 100);
        assert_eq!(r.json["done"], false);
        let next = r.json["nextBatchId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let r = get(&env, &token, &format!("{path}/{next}")).await?;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json["rowCount"], 100);
        // A Connect batch id is not a tenant batch id.
        let dc = env.dc_token(CLIENT_ID).await?;
        let next = r.json["nextBatchId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let cross = get(&env, &dc, &format!("/api/v2/query/{next}")).await?;
        assert_eq!(cross.status, StatusCode::NOT_FOUND, "{}", cross.text);
    }
    for bad in ["v51.0", "v61", "vX.0", "61.0"] {
        let r = post(
            &env,
            &token,
            &format!("/services/data/{bad}/ssot/queryv2"),
            &sql,
        )
        .await?;
        assert_core_error(&r, StatusCode::NOT_FOUND, "NOT_FOUND");
    }
    let r = get(&env, &token, "/services/data/v64.0/ssot/no-such-thing").await?;
    assert_core_error(&r, StatusCode::NOT_FOUND, "NOT_FOUND");
    let r = get(&env, &token, "/services/data/v64.0/ssot/queryv2/unknown_1").await?;
    assert_core_error(&r, StatusCode::NOT_FOUND, "NOT_FOUND");
    Ok(())
}

#[tokio::test]
async fn guide_queries_on_connect() -> Result<()> {
    let env = Env::start(100).await?;
    let token = env.core_token(CLIENT_ID).await?;
    let path = "/services/data/v61.0/ssot/queryv2";
    let body = json!({"sql": "SELECT IndividualId, FirstName, LastName, Email FROM UnifiedIndividual LIMIT 50"});
    let r = post(&env, &token, path, &body).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["rowCount"], 50);
    assert_eq!(r.json["done"], true);
    for (i, name) in ["IndividualId", "FirstName", "LastName", "Email"]
        .iter()
        .enumerate()
    {
        assert_eq!(r.json["metadata"][name]["placeInOrder"], i, "{name}");
        assert_eq!(r.json["metadata"][name]["type"], "VARCHAR");
    }
    let body = json!({"sql": "SELECT IndividualId, Email FROM UnifiedIndividual LIMIT 1"});
    let r = post(&env, &token, path, &body).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["data"].as_array().map(Vec::len), Some(1));

    let v1 = post(
        &env,
        &token,
        "/services/data/v61.0/ssot/query?limit=3",
        &body,
    )
    .await?;
    assert_eq!(v1.status, StatusCode::OK, "{}", v1.text);
    assert!(
        v1.json["data"][0]["IndividualId"].is_string(),
        "{}",
        v1.text
    );
    Ok(())
}

#[tokio::test]
async fn query_sql_lifecycle() -> Result<()> {
    let env = Env::start(100).await?;
    let token = env.core_token(CLIENT_ID).await?;
    let base = "/services/data/v64.0/ssot/query-sql";
    let create = json!({
        "sql": "SELECT ssot__Id__c FROM ssot__Individual__dlm WHERE ssot__Id__c <> :skip",
        "rowLimit": 1_000_000,
        "sqlParameters": [{"name": "skip", "value": "no-such-id", "type": "Varchar"}],
    });
    let r = post(&env, &token, base, &create).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let total = r.json["status"]["rowCount"].as_u64().unwrap_or(0);
    assert!(total >= 1000, "{}", r.json["status"]);
    assert_eq!(r.json["returnedRows"], 100);
    assert_eq!(r.json["status"]["completionStatus"], "Finished");
    assert_eq!(r.json["status"]["progress"], 1.0);
    assert!(r.json["status"]["expirationTime"].is_string());
    assert!(r.json.get("queryId").is_none(), "queryId lives in status");
    assert_eq!(
        r.json["metadata"],
        json!([{"name": "ssot__Id__c", "type": "Varchar", "nullable": true}])
    );
    let id = r.json["status"]["queryId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let first_id = r.json["data"][0][0]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let s = get(&env, &token, &format!("{base}/{id}?waitTimeMs=5000")).await?;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text);
    assert_eq!(s.json["status"]["rowCount"], total);
    assert!(s.json.get("data").is_none());

    let mut fetched = 100;
    while fetched < total {
        let path = format!("{base}/{id}/rows?offset={fetched}&rowLimit=1000000&omitSchema=true");
        let page = get(&env, &token, &path).await?;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.json.get("metadata").is_none());
        let n = page.json["returnedRows"].as_u64().unwrap_or(0);
        assert!(n > 0 && n <= 100);
        assert_eq!(page.json["data"].as_array().map(Vec::len), Some(n as usize));
        fetched += n;
    }
    assert_eq!(fetched, total);
    let with_schema = get(
        &env,
        &token,
        &format!("{base}/{id}/rows?offset=0&rowLimit=2"),
    )
    .await?;
    assert_eq!(with_schema.json["returnedRows"], 2);
    assert!(with_schema.json["metadata"].is_array());

    let beyond = get(
        &env,
        &token,
        &format!("{base}/{id}/rows?offset={}", total + 1),
    )
    .await?;
    assert_core_error(&beyond, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    assert_eq!(beyond.json[0]["message"], "Request out of range");

    let del = env
        .call(
            Method::DELETE,
            &format!("{base}/{id}"),
            Some(&token),
            None,
            &[],
        )
        .await?;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let after = get(&env, &token, &format!("{base}/{id}")).await?;
    assert_core_error(&after, StatusCode::NOT_FOUND, "ITEM_NOT_FOUND");

    // One named parameter selecting one row.
    let one = json!({
        "sql": "SELECT ssot__Id__c FROM ssot__Individual__dlm WHERE ssot__Id__c = :id",
        "sqlParameters": [{"name": "id", "value": first_id, "type": "Varchar"}],
    });
    let r = post(&env, &token, base, &one).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["status"]["rowCount"], 1);
    assert_eq!(r.json["data"], json!([[first_id]]));

    // adaptiveTimeout 0: status and schema only.
    let mut lazy = create.clone();
    lazy["adaptiveTimeout"] = json!(0);
    let r = post(&env, &token, base, &lazy).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["returnedRows"], 0);
    assert_eq!(r.json["status"]["rowCount"], total);
    Ok(())
}

#[tokio::test]
async fn query_sql_errors() -> Result<()> {
    let env = Env::start(100).await?;
    let token = env.core_token(CLIENT_ID).await?;
    let base = "/services/data/v64.0/ssot/query-sql";
    let r = post(&env, &token, base, &json!({"query": "SELECT 1"})).await?;
    assert_core_error(&r, StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR");
    assert!(r.json[0]["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("Unrecognized field \"query\""));
    let r = post(&env, &token, base, &json!({})).await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = post(
        &env,
        &token,
        base,
        &json!({"sql": "SELECT * FROM Nope__dlm"}),
    )
    .await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let code = r.json[0]["errorCode"].as_str().unwrap_or_default();
    assert!(
        code == "INVALID_INPUT" || code == "MALFORMED_QUERY",
        "{}",
        r.text
    );
    let r = env
        .call(
            Method::POST,
            base,
            Some(&token),
            Some(&json!({"sql": "SELECT 1"})),
            &[("dataspace", "no-such-space")],
        )
        .await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    for path in [format!("{base}/unknown"), format!("{base}/unknown/rows")] {
        let r = get(&env, &token, &path).await?;
        assert_core_error(&r, StatusCode::NOT_FOUND, "ITEM_NOT_FOUND");
    }
    let r = env
        .call(Method::PUT, &format!("{base}/x"), Some(&token), None, &[])
        .await?;
    assert_core_error(&r, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
    let r = get(&env, &token, "/services/data/v64.0/ssot/queryv2").await?;
    assert_core_error(&r, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
    Ok(())
}

#[tokio::test]
async fn core_auth_is_enforced() -> Result<()> {
    let env = Env::start(100).await?;
    let body = json!({"sql": "SELECT 1"});
    let path = "/services/data/v64.0/ssot/query-sql";
    for token in [None, Some("garbage"), Some("00D000000000000!AQ0AQbogus")] {
        let r = env
            .call(Method::POST, path, token, Some(&body), &[])
            .await?;
        assert_core_error(&r, StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID");
    }
    // A Data Cloud token is not a core token.
    let dc = env.dc_token(CLIENT_ID).await?;
    let r = post(&env, &dc, path, &body).await?;
    assert_core_error(&r, StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID");
    let token = env.core_token(CLIENT_ID).await?;
    env.state().clock.advance_ms(3 * 3600 * 1000);
    let r = post(&env, &token, path, &body).await?;
    assert_core_error(&r, StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID");
    Ok(())
}

#[tokio::test]
async fn metadata_data_spaces_and_soql() -> Result<()> {
    let env = Env::start(100).await?;
    let token = env.core_token(CLIENT_ID).await?;
    let v = "/services/data/v61.0";
    let r = get(
        &env,
        &token,
        &format!("{v}/ssot/metadata?entityName=ssot__Individual__dlm"),
    )
    .await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["metadata"][0]["name"], "ssot__Individual__dlm");
    let r = get(
        &env,
        &token,
        &format!("{v}/ssot/metadata-entities?entityType=DataModelObject"),
    )
    .await?;
    let list = r.json["metadata"].as_array().cloned().unwrap_or_default();
    assert!(!list.is_empty());
    assert!(list.iter().all(|o| o["entityType"] == "DataModelObject"));

    let r = get(&env, &token, &format!("{v}/ssot/data-spaces")).await?;
    assert_eq!(r.json["dataSpaces"][0]["name"], "default", "{}", r.text);

    let r = get(
        &env,
        &token,
        &format!("{v}/query/?q=SELECT+name+from+Dataspace"),
    )
    .await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["done"], true);
    assert_eq!(r.json["totalSize"], 1);
    assert_eq!(r.json["records"][0]["Name"], "default");
    assert_eq!(r.json["records"][0]["attributes"]["type"], "DataSpace");
    let r = get(&env, &token, &format!("{v}/query?q=SELECT+Id+FROM+Account")).await?;
    assert_core_error(&r, StatusCode::BAD_REQUEST, "MALFORMED_QUERY");
    Ok(())
}
