//! Deactivating a connected app or a user at run time: clients get
//! Salesforce's refusals on login, and tokens already issued stop working
//! on both hosts until the switch is turned back on.

use http::Method;
use serde_json::{json, Value};

use super::{ctl, ok};
use crate::common::{
    assert_oauth_error, sign_assertion, start, TestEnv, CLIENT_ID, JWT_BEARER, USER,
};

const METADATA: &str = "/api/v1/metadata";
const DATA_SPACES: &str = "/services/data/v64.0/ssot/data-spaces";

async fn jwt_grant(env: &TestEnv) -> dc_emulator::testing::TestResponse {
    let assertion = sign_assertion(&env.claims(CLIENT_ID, USER));
    env.post_form(
        "/services/oauth2/token",
        &[("grant_type", JWT_BEARER), ("assertion", &assertion)],
    )
    .await
}

async fn password_grant(env: &TestEnv) -> dc_emulator::testing::TestResponse {
    let (secret, password) = (env.secret(CLIENT_ID), env.password(USER));
    env.post_form(
        "/services/oauth2/token",
        &[
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("client_secret", &secret),
            ("username", USER),
            ("password", &password),
        ],
    )
    .await
}

/// Core and Data Cloud tokens both refused, each in its host's 401.
async fn assert_tokens_refused(env: &TestEnv, core: &str, dc: &str) {
    let resp = env.get(DATA_SPACES, Some(core)).await;
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.json(),
        json!([{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}])
    );
    let resp = env.get(METADATA, Some(dc)).await;
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.json()["message"],
        "Authorization header verification failed"
    );
    let resp = env.exchange(core, None).await;
    assert_oauth_error(&resp, "invalid_grant", "invalid subject token");
}

async fn tokens(env: &TestEnv) -> (String, String) {
    let core = env.core_token(CLIENT_ID, USER).await;
    let core = core["access_token"].as_str().unwrap().to_owned();
    let dc = env.exchange(&core, None).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (core, dc)
}

#[tokio::test]
async fn deactivated_app_is_blocked_and_its_tokens_refused() {
    let env = start().await;
    let (core, dc) = tokens(&env).await;
    let path = format!("/__emulator/apps/{CLIENT_ID}/deactivate");
    let switched = ok(ctl(&env, Method::POST, &path, None).await);
    assert_eq!(switched["active"], false);
    assert_eq!(switched["clientId"], CLIENT_ID);

    assert_oauth_error(
        &jwt_grant(&env).await,
        "invalid_client",
        "app is blocked by admin",
    );
    assert_oauth_error(
        &password_grant(&env).await,
        "invalid_client",
        "app is blocked by admin",
    );
    assert_tokens_refused(&env, &core, &dc).await;
    let apps = ok(ctl(&env, Method::GET, "/__emulator/apps", None).await);
    let app = apps["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["clientId"] == CLIENT_ID)
        .cloned()
        .unwrap();
    assert_eq!(app["active"], false);

    let path = format!("/__emulator/apps/{CLIENT_ID}/activate");
    assert_eq!(
        ok(ctl(&env, Method::POST, &path, None).await)["active"],
        true
    );
    assert_eq!(jwt_grant(&env).await.status, 200);
    assert_eq!(env.get(METADATA, Some(&dc)).await.status, 200);

    let resp = ctl(
        &env,
        Method::POST,
        "/__emulator/apps/no-such-app/deactivate",
        None,
    )
    .await;
    assert_eq!(resp.status, 404);
    assert!(resp.json()["message"]
        .as_str()
        .unwrap()
        .contains("no-such-app"));
}

#[tokio::test]
async fn deactivated_user_cannot_log_in_and_its_tokens_are_refused() {
    let env = start().await;
    let (core, dc) = tokens(&env).await;
    let refresh = password_grant(&env).await.json()["refresh_token"]
        .as_str()
        .expect("password grant issues a refresh token")
        .to_owned();

    // `@` percent-encoded, as URL builders do.
    let path = "/__emulator/users/integration_user%40yourcompany.com/deactivate";
    let switched = ok(ctl(&env, Method::POST, path, None).await);
    assert_eq!(switched["username"], USER);
    assert_eq!(switched["userId"], env.user_id(USER));
    assert_eq!(switched["active"], false);

    assert_oauth_error(&jwt_grant(&env).await, "invalid_grant", "invalid assertion");
    assert_oauth_error(
        &password_grant(&env).await,
        "invalid_grant",
        "authentication failure",
    );
    let secret = env.secret(CLIENT_ID);
    let resp = env
        .post_form(
            "/services/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", CLIENT_ID),
                ("client_secret", &secret),
                ("refresh_token", &refresh),
            ],
        )
        .await;
    assert_oauth_error(&resp, "invalid_grant", "expired access/refresh token");
    assert_tokens_refused(&env, &core, &dc).await;
    let users = ok(ctl(&env, Method::GET, "/__emulator/users", None).await);
    let user: Value = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == USER)
        .cloned()
        .unwrap();
    assert_eq!(user["active"], false);

    let path = "/__emulator/users/integration_user@yourcompany.com/activate";
    ok(ctl(&env, Method::POST, path, None).await);
    assert_eq!(jwt_grant(&env).await.status, 200);
    assert_eq!(env.get(DATA_SPACES, Some(&core)).await.status, 200);

    let resp = ctl(
        &env,
        Method::POST,
        "/__emulator/users/nobody@x.com/deactivate",
        None,
    )
    .await;
    assert_eq!(resp.status, 404);
}
