//! Tenant-host refusals: 401 for missing, garbage and expired tokens, 403 for
//! a token without `cdp_query_api`, 400 for malformed bodies and bad SQL, 405
//! for wrong methods.

use anyhow::Result;
use http::{Method, StatusCode};
use serde_json::json;

use crate::support::{Env, CLIENT_ID, INGEST_ONLY_CLIENT_ID};
use crate::{assert_tenant_error, v2};

#[tokio::test]
async fn tenant_auth_is_enforced() -> Result<()> {
    let env = Env::start(100).await?;
    let body = json!({"sql": "SELECT 1"});
    for token in [None, Some("garbage")] {
        let r = env
            .call(Method::POST, "/api/v2/query", token, Some(&body), &[])
            .await?;
        assert_tenant_error(&r, StatusCode::UNAUTHORIZED);
        let r = env
            .call(Method::GET, "/api/v1/metadata", token, None, &[])
            .await?;
        assert_tenant_error(&r, StatusCode::UNAUTHORIZED);
    }

    let ingest_only = env.dc_token(INGEST_ONLY_CLIENT_ID).await?;
    let r = env
        .call(
            Method::POST,
            "/api/v2/query",
            Some(&ingest_only),
            Some(&body),
            &[],
        )
        .await?;
    assert_tenant_error(&r, StatusCode::FORBIDDEN);
    assert!(r.text.contains("cdp_query_api"), "{}", r.text);

    let token = env.dc_token(CLIENT_ID).await?;
    env.state().clock.advance_ms(3 * 3600 * 1000);
    let r = env
        .call(
            Method::POST,
            "/api/v2/query",
            Some(&token),
            Some(&body),
            &[],
        )
        .await?;
    assert_tenant_error(&r, StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn tenant_bad_requests() -> Result<()> {
    let env = Env::start(100).await?;
    let token = env.dc_token(CLIENT_ID).await?;

    let r = env.post_raw("/api/v2/query", &token, "{\"sql\": ").await?;
    assert_tenant_error(&r, StatusCode::BAD_REQUEST);
    assert!(r.json["message"]
        .as_str()
        .unwrap_or_default()
        .contains("JSON"));
    let r = env.post_raw("/api/v2/query", &token, "{}").await?;
    assert_tenant_error(&r, StatusCode::BAD_REQUEST);
    assert!(r.json["message"]
        .as_str()
        .unwrap_or_default()
        .contains("sql"));
    let r = env
        .post_raw("/api/v2/query", &token, "[\"SELECT 1\"]")
        .await?;
    assert_tenant_error(&r, StatusCode::BAD_REQUEST);
    let r = env.post_raw("/api/v1/query", &token, "").await?;
    assert_tenant_error(&r, StatusCode::BAD_REQUEST);

    let r = v2(&env, &token, "SELEC ssot__Id__c FROM ssot__Individual__dlm").await?;
    assert_tenant_error(&r, StatusCode::BAD_REQUEST);
    let msg = r.json["message"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        msg.contains("line") || msg.contains("position") || msg.contains("column"),
        "syntax errors say where: {msg}"
    );
    let r = v2(&env, &token, "SELECT * FROM NoSuchTable__dlm").await?;
    assert_tenant_error(&r, StatusCode::BAD_REQUEST);
    assert!(r.json["message"]
        .as_str()
        .unwrap_or_default()
        .contains("NoSuchTable__dlm"));
    for write in [
        "DELETE FROM ssot__Individual__dlm",
        "INSERT INTO ssot__Individual__dlm (ssot__Id__c) VALUES ('x')",
        "DROP TABLE ssot__Individual__dlm",
    ] {
        let r = v2(&env, &token, write).await?;
        assert_tenant_error(&r, StatusCode::BAD_REQUEST);
    }

    let r = env
        .call(Method::GET, "/api/v2/query", Some(&token), None, &[])
        .await?;
    assert_tenant_error(&r, StatusCode::METHOD_NOT_ALLOWED);
    let r = env
        .call(Method::DELETE, "/api/v1/metadata", Some(&token), None, &[])
        .await?;
    assert_tenant_error(&r, StatusCode::METHOD_NOT_ALLOWED);
    let r = env
        .call(Method::POST, "/api/v2/query/abc", Some(&token), None, &[])
        .await?;
    assert_tenant_error(&r, StatusCode::METHOD_NOT_ALLOWED);
    Ok(())
}
