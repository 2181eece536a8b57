//! The OAuth facade: an SDK pointed at the gateway logs in, exchanges, and
//! pages through a query with gateway-issued tokens only.

use dc_emulator::EmulatorConfig;
use serde_json::json;

use super::common::start;

/// An unsigned-looking but well-formed assertion (open mode does not check
/// signatures, as an SDK's existing JWT configuration must keep working).
fn assertion() -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{}",
        b64.encode(br#"{"alg":"RS256"}"#),
        b64.encode(br#"{"iss":"x","sub":"y","aud":"z","exp":4102444800}"#),
        b64.encode(b"sig")
    )
}

#[tokio::test]
async fn an_sdk_logs_in_exchanges_and_pages_through_a_query() {
    let emu = EmulatorConfig {
        query_batch_rows: 7,
        ..EmulatorConfig::default()
    };
    let env = start(emu, "", "").await;
    let host = env.gateway.addr().to_string();

    // cdp style: everything in the query string, no body.
    let path = format!(
        "/services/oauth2/token?grant_type={}&assertion={}",
        "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
        assertion()
    );
    let r = env
        .gw
        .send(http::Method::POST, &path, &[], bytes::Bytes::new())
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let core = r.json();
    assert_eq!(core["instance_url"], format!("https://{host}"));
    for k in [
        "access_token",
        "scope",
        "id",
        "token_type",
        "api_instance_url",
        "issued_at",
    ] {
        assert!(core[k].is_string(), "missing {k}: {core}");
    }
    let core_token = core["access_token"].as_str().unwrap().to_owned();

    let r = env
        .gw
        .post_form(
            "/services/a360/token",
            &[
                ("grant_type", "urn:salesforce:grant-type:external:cdp"),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:access_token",
                ),
                ("subject_token", &core_token),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let dc = r.json();
    assert_eq!(
        dc["instance_url"], host,
        "a360 instance_url is a bare host:port"
    );
    assert!(dc["expires_in"].is_u64());
    let dc_token = dc["access_token"].as_str().unwrap().to_owned();
    assert_eq!(dc_token.split('.').count(), 3, "JWT-shaped");

    // cdp revokes the core token right after the exchange.
    let r = env
        .gw
        .post_form("/services/oauth2/revoke", &[("token", &core_token)])
        .await
        .unwrap();
    assert_eq!(r.status, 200);

    // fetchall: first batch, then nextBatchId until done.
    let sql = "SELECT ssot__Id__c FROM UnifiedIndividual__dlm ORDER BY ssot__Id__c LIMIT 20";
    let r = env
        .gw
        .post_json("/api/v2/query", Some(&dc_token), &json!({ "sql": sql }))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let mut page = r.json();
    let mut total = page["data"].as_array().unwrap().len();
    let mut pages = 1;
    while page["done"] == false {
        let next = page["nextBatchId"].as_str().unwrap().to_owned();
        let r = env
            .gw
            .get(&format!("/api/v2/query/{next}"), Some(&dc_token))
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        page = r.json();
        total += page["data"].as_array().unwrap().len();
        pages += 1;
        assert!(pages < 10, "runaway pagination");
    }
    assert_eq!(total, 20);
    assert!(pages >= 3);

    // The revoked core token is dead; a made-up subject token is refused.
    let r = env
        .gw
        .post_form(
            "/services/a360/token",
            &[
                ("grant_type", "urn:salesforce:grant-type:external:cdp"),
                ("subject_token", &core_token),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_grant");
    env.stop().await;
}

#[tokio::test]
async fn the_facade_rejects_what_salesforce_rejects() {
    let env = start(EmulatorConfig::default(), "", "").await;
    let r = env
        .gw
        .post_form("/services/oauth2/token", &[])
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_request");
    assert_eq!(r.json()["error_description"], "grant type is missing");
    let r = env
        .gw
        .post_form("/services/oauth2/token", &[("grant_type", "magic")])
        .await
        .unwrap();
    assert_eq!(r.json()["error"], "unsupported_grant_type");
    let r = env
        .gw
        .post_form(
            "/services/oauth2/token",
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", "garbage"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.json()["error"], "invalid_grant");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    env.stop().await;
}

/// Open mode takes the client-credentials and password grants as sent (an
/// SDK's existing settings keep working); the tokens it issues authorize the
/// client at the gateway only: upstream, the emulator sees the gateway's own
/// Data Cloud and core tokens on every request.
#[tokio::test]
async fn open_mode_accepts_client_credentials_and_password_grants() {
    let env = start(EmulatorConfig::default(), "", "").await;
    env.wait_ready().await;
    let grants: [&[(&str, &str)]; 2] = [
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "any-app"),
            ("client_secret", "any-secret"),
        ],
        &[
            ("grant_type", "password"),
            ("client_id", "any-app"),
            ("client_secret", "any-secret"),
            ("username", "someone@example.com"),
            ("password", "whatever"),
        ],
    ];
    let mut issued = Vec::new();
    for form in grants {
        let (core, dc) = env.facade_tokens(form).await;

        // The core token works on the core host…
        let r = env
            .gw
            .post_json(
                "/services/data/v61.0/ssot/queryv2",
                Some(&core),
                &json!({ "sql": "SELECT IndividualId FROM UnifiedIndividual LIMIT 2" }),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["data"].as_array().map(Vec::len), Some(2));

        // …and its exchanged Data Cloud token on the tenant host.
        let r = env
            .gw
            .post_json(
                "/api/v2/query",
                Some(&dc),
                &json!({ "sql": "SELECT IndividualId FROM UnifiedIndividual LIMIT 3" }),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        issued.push((core, dc));
    }

    // Upstream: only the gateway's own login, and every forwarded request
    // carried a token the emulator issued to the gateway's connected app.
    assert_eq!(env.count("tokenRequests").await, 1);
    assert_eq!(env.count("exchangeRequests").await, 1);
    let tenant = env.journal("path=/api/v2/query").await;
    let core = env.journal("path=/services/data/*").await;
    for (entries, kind) in [(tenant, "dataCloud"), (core, "core")] {
        assert!(!entries.is_empty());
        for e in entries {
            assert_eq!(e["status"], 200, "{e}");
            assert_eq!(e["principal"]["kind"], kind, "{e}");
            assert_eq!(e["principal"]["clientId"], "emulator-client-id", "{e}");
        }
    }
    // The facade's tokens are not the ones the emulator issued.
    for (core, dc) in issued {
        assert!(core.starts_with("00DGW"), "{core}");
        assert_eq!(dc.split('.').count(), 3);
    }
    env.stop().await;
}
