//! Salesforce's Python connector pointed at the gateway instead of Salesforce:
//! it logs into the gateway's OAuth facade (open loopback mode accepts its JWT
//! assertion as sent), gets gateway-issued tokens whose `instance_url` is the
//! gateway, and runs paginated queries that the gateway forwards with the real
//! Data Cloud token it holds.

use dc_emulator::EmulatorConfig;
use dc_tests::{run_interop, StackEnv};

#[tokio::test(flavor = "multi_thread")]
async fn cdp_connector_queries_through_the_gateway_facade() {
    let env = StackEnv::start(
        EmulatorConfig {
            query_batch_rows: 97,
            ..EmulatorConfig::default()
        },
        "",
    )
    .await;
    let unified = env.unified_count().await;
    // The connector signs with a key of its own: the facade does not need the org's.
    let dir = std::env::temp_dir().join(format!("dc-interop-gw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("client.key");
    std::fs::write(&key, dc_emulator::testing::DEFAULT_APP_KEY_PEM).unwrap();
    let out = run_interop(
        "cdp_query.py",
        vec![
            ("DC_LOGIN_URL".into(), env.gateway.base_url().to_owned()),
            ("DC_PRIVATE_KEY".into(), key.display().to_string()),
            ("DC_EXPECT_ROWS".into(), unified.to_string()),
            (
                "REQUESTS_CA_BUNDLE".into(),
                env.gateway
                    .cert_path()
                    .expect("generated cert")
                    .display()
                    .to_string(),
            ),
        ],
    )
    .await;
    assert!(out.contains("cdp interop OK"), "{out}");
    // The connector's requests went through the gateway: the emulator saw the
    // gateway's single login, not one per connector call.
    let stats = env.emu.get("/__emulator/stats", None).await.unwrap().json();
    assert_eq!(stats["exchangeRequests"], 1, "{stats}");
    let _ = std::fs::remove_dir_all(dir);
}
