//! Salesforce's own Python connector (`salesforce-cdp-connector`, pinned in
//! tests/interop/requirements.txt) against the emulator, unchanged except for
//! its login URL: JWT bearer login with the default org's key, the a360
//! exchange, queries over several V2 batches, and `list_tables`.

use dc_emulator::EmulatorConfig;
use dc_tests::{default_org_key, run_interop, unified_count, EmulatorEnv};

#[tokio::test(flavor = "multi_thread")]
async fn cdp_connector_logs_in_and_queries_the_emulator() {
    let env = EmulatorEnv::start(EmulatorConfig {
        query_batch_rows: 97,
        ..EmulatorConfig::default()
    })
    .await;
    let unified = unified_count(&env.emulator).await;
    assert!(unified > 97 * 3, "the query must span several batches");
    let out = run_interop(
        "cdp_query.py",
        vec![
            ("DC_LOGIN_URL".into(), env.emulator.base_url().to_owned()),
            (
                "DC_PRIVATE_KEY".into(),
                default_org_key().display().to_string(),
            ),
            ("DC_EXPECT_ROWS".into(), unified.to_string()),
            (
                "REQUESTS_CA_BUNDLE".into(),
                env.emulator.cert_path().expect("TLS").display().to_string(),
            ),
        ],
    )
    .await;
    assert!(out.contains("cdp interop OK"), "{out}");
}
