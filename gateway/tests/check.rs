//! `check` and `jwt` against an in-process emulator over real TLS: a green
//! run with the default org, and each of the guide's failure rows the
//! default org can produce (wrong key, unapproved user, user without Data
//! Cloud, app without the query scope), plus the binaries' exit codes and
//! output.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use dc_emulator::testing::TestClient;
use dc_emulator::{Emulator, EmulatorConfig};
use dc_gateway::check::{self, hints, CheckOptions, Outcome, Report, Step};
use dc_gateway::config::{Secret, Secrets};
use dc_gateway::{jwt_cmd, keygen, GatewayConfig};
use tokio::net::TcpListener;

const CLIENT_ID: &str = "emulator-client-id";
const USERNAME: &str = "integration_user@yourcompany.com";
const BIN: &str = env!("CARGO_BIN_EXE_dc-gateway");

async fn emulator() -> Emulator {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    Emulator::start(EmulatorConfig::default(), listener)
        .await
        .expect("emulator starts")
}

fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dc-gateway-check-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The gateway configuration `serve` would use against `emulator`, for
/// `client_id` / `username`, signing with `key_pem`.
fn config(emulator: &Emulator, client_id: &str, username: &str, key_pem: &str) -> GatewayConfig {
    let text = format!(
        "[upstream]\nlogin_url = \"{}\"\n[credentials]\nclient_id = \"{client_id}\"\nusername = \"{username}\"\n",
        emulator.base_url()
    );
    let secrets = Secrets {
        private_key_pem: Some(Secret::new(key_pem)),
        ..Secrets::default()
    };
    let mut config = GatewayConfig::from_toml_str(&text, std::path::Path::new("."), &secrets)
        .expect("valid configuration");
    config.upstream.ca_pem = emulator.cert_pem().map(str::to_owned);
    config
}

/// Runs `check` as `client_id` / `username` with the default org's key,
/// comparing it with the app's certificate.
async fn check_as(emulator: &Emulator, client_id: &str, username: &str) -> Report {
    let config = config(
        emulator,
        client_id,
        username,
        dc_gateway::embedded::PRIVATE_KEY_PEM,
    );
    let options = CheckOptions {
        certificate_pem: emulator
            .state()
            .org
            .app(client_id)
            .map(|a| a.certificate_pem.clone()),
        ..CheckOptions::default()
    };
    check::run(&config, &options).await
}

/// Asserts the report failed first at `step` with the guide's row `hint`,
/// and skipped what depends on it.
fn assert_fails_at(report: &Report, step: Step, hint: hints::Hint) {
    let failure = report
        .failure()
        .unwrap_or_else(|| panic!("no failure:\n{report}"));
    assert_eq!(failure.step, step, "{report}");
    let Outcome::Fail {
        hint: Some(got), ..
    } = &failure.outcome
    else {
        panic!("no hint:\n{report}");
    };
    assert_eq!(got.issue, hint.issue, "{report}");
    let text = report.to_string();
    assert!(
        text.contains(&format!("  hint: {} — {}", hint.issue, hint.solution)),
        "{text}"
    );
    assert!(!report.passed());
}

#[tokio::test]
async fn check_against_the_emulator_is_green() {
    let emu = emulator().await;
    let report = check_as(&emu, CLIENT_ID, USERNAME).await;
    assert!(report.passed(), "{report}");
    for step in [
        Step::Configuration,
        Step::Key,
        Step::Jwt,
        Step::CoreToken,
        Step::Exchange,
        Step::Query,
    ] {
        assert!(
            matches!(report.outcome(step), Some(Outcome::Pass(_))),
            "{step:?}:\n{report}"
        );
    }
    let text = report.to_string();
    assert!(
        text.contains("✔ key loads (RSA 2048, matches certificate)"),
        "{text}"
    );
    assert!(text.contains(check::GUIDE_SQL), "{text}");
    assert!(text.contains("– test ingest: skipped"), "{text}");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_key_not_matching_the_app_certificate_fails_at_the_core_token() {
    let emu = emulator().await;
    let dir = temp_dir();
    let generated = keygen::generate(&keygen::KeygenOptions {
        out: dir.clone(),
        common_name: "wrong".into(),
        days: 1,
        force: false,
    })
    .unwrap();
    let key_pem = std::fs::read_to_string(&generated.key_path).unwrap();

    // Nothing to compare the key with: Salesforce's `invalid assertion`.
    let config = config(&emu, CLIENT_ID, USERNAME, &key_pem);
    let report = check::run(&config, &CheckOptions::default()).await;
    assert_fails_at(&report, Step::CoreToken, hints::JWT_AUTH);
    assert!(
        report
            .to_string()
            .contains("✘ core token: invalid_grant: invalid assertion"),
        "{report}"
    );
    for step in [Step::Exchange, Step::Query, Step::Ingest] {
        assert!(
            matches!(report.outcome(step), Some(Outcome::Skipped(r)) if r == "core token failed"),
            "{report}"
        );
    }

    // With the app's certificate known, the key step already says so.
    let options = CheckOptions {
        certificate_pem: Some(
            emu.state()
                .org
                .app(CLIENT_ID)
                .unwrap()
                .certificate_pem
                .clone(),
        ),
        ..CheckOptions::default()
    };
    let report = check::run(&config, &options).await;
    assert_fails_at(&report, Step::Key, hints::JWT_AUTH);
    let _ = std::fs::remove_dir_all(dir);
    emu.shutdown().await;
}

#[tokio::test]
async fn an_unapproved_user_gets_the_user_not_approved_hint() {
    let emu = emulator().await;
    let report = check_as(&emu, CLIENT_ID, "unapproved_user@yourcompany.com").await;
    assert_fails_at(&report, Step::CoreToken, hints::USER_NOT_APPROVED);
    let text = report.to_string();
    assert!(
        text.contains("✘ core token: invalid_grant: user hasn't approved this consumer\n  hint: User not approved — Set Permitted Users to \"Admin approved users are pre-authorized\""),
        "{text}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_user_without_data_cloud_fails_at_the_exchange() {
    let emu = emulator().await;
    let report = check_as(&emu, CLIENT_ID, "no_datacloud_user@yourcompany.com").await;
    assert_fails_at(&report, Step::Exchange, hints::EXCHANGE_FAILS);
    assert!(matches!(
        report.outcome(Step::CoreToken),
        Some(Outcome::Pass(_))
    ));
    assert!(
        report.to_string().contains(
            "hint: Token exchange fails — Verify user has Data Cloud permission set assigned"
        ),
        "{report}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn an_app_without_the_query_scope_fails_at_the_query() {
    let emu = emulator().await;
    let report = check_as(&emu, "emulator-ingest-only-client-id", USERNAME).await;
    assert_fails_at(&report, Step::Query, hints::SCOPE_ERROR);
    assert!(matches!(
        report.outcome(Step::Exchange),
        Some(Outcome::Pass(_))
    ));
    assert!(report.to_string().contains("cdp_query_api"), "{report}");
    emu.shutdown().await;
}

#[tokio::test]
async fn an_unknown_consumer_key_or_an_unreachable_host_has_its_row() {
    let emu = emulator().await;
    let report = check_as(&emu, "no-such-app", USERNAME).await;
    assert_fails_at(&report, Step::CoreToken, hints::JWT_AUTH);
    assert!(
        report.to_string().contains("client identifier invalid"),
        "{report}"
    );

    // A login host that closes every connection at once.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let closer = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    let mut config = config(
        &emu,
        CLIENT_ID,
        USERNAME,
        dc_gateway::embedded::PRIVATE_KEY_PEM,
    );
    config.upstream.login_url = format!("https://{addr}");
    let report = check::run(&config, &CheckOptions::default()).await;
    assert_fails_at(&report, Step::CoreToken, hints::UNREACHABLE);
    closer.abort();
    emu.shutdown().await;
}

#[tokio::test]
async fn an_unknown_object_gets_the_query_returns_no_data_hint() {
    let emu = emulator().await;
    let config = config(
        &emu,
        CLIENT_ID,
        USERNAME,
        dc_gateway::embedded::PRIVATE_KEY_PEM,
    );
    let options = CheckOptions {
        sql: "SELECT IndividualId FROM NoSuchObject LIMIT 1".into(),
        ..CheckOptions::default()
    };
    let report = check::run(&config, &options).await;
    assert_fails_at(&report, Step::Query, hints::QUERY_NO_DATA);
    assert!(report.to_string().contains("NoSuchObject"), "{report}");
    emu.shutdown().await;
}

#[tokio::test]
async fn the_client_credentials_flow_skips_the_key_and_jwt_steps() {
    let emu = emulator().await;
    let text = format!(
        "[upstream]\nlogin_url = \"{}\"\n[credentials]\nflow = \"client_credentials\"\nclient_id = \"{CLIENT_ID}\"\n",
        emu.base_url()
    );
    let secrets = Secrets {
        client_secret: Some(Secret::new("emulator-client-secret")),
        ..Secrets::default()
    };
    let mut config =
        GatewayConfig::from_toml_str(&text, std::path::Path::new("."), &secrets).unwrap();
    config.upstream.ca_pem = emu.cert_pem().map(str::to_owned);
    let report = check::run(&config, &CheckOptions::default()).await;
    assert!(report.passed(), "{report}");
    assert!(matches!(
        report.outcome(Step::Key),
        Some(Outcome::Skipped(_))
    ));
    assert!(matches!(
        report.outcome(Step::Jwt),
        Some(Outcome::Skipped(_))
    ));
    assert!(matches!(
        report.outcome(Step::Query),
        Some(Outcome::Pass(_))
    ));

    let secrets = Secrets {
        client_secret: Some(Secret::new("wrong")),
        ..Secrets::default()
    };
    let mut config =
        GatewayConfig::from_toml_str(&text, std::path::Path::new("."), &secrets).unwrap();
    config.upstream.ca_pem = emu.cert_pem().map(str::to_owned);
    let report = check::run(&config, &CheckOptions::default()).await;
    assert_fails_at(&report, Step::CoreToken, hints::CLIENT_SECRET);
    emu.shutdown().await;
}

/// The emulator's Ingestion API may not be merged yet: then the test event
/// is refused with 404 and the report says how to set the object up; once
/// it is, the default org's `Bridged` source accepts it with 202.
#[tokio::test]
async fn the_test_ingest_is_reported_either_way() {
    let emu = emulator().await;
    let config = config(
        &emu,
        CLIENT_ID,
        USERNAME,
        dc_gateway::embedded::PRIVATE_KEY_PEM,
    );
    let options = CheckOptions {
        ingest_source: Some(check::DEFAULT_INGEST_SOURCE.into()),
        ..CheckOptions::default()
    };
    let report = check::run(&config, &options).await;
    match report.outcome(Step::Ingest) {
        Some(Outcome::Pass(detail)) => {
            assert!(
                detail.starts_with("202 Accepted: EngagementEvent evt_"),
                "{report}"
            );
        }
        Some(Outcome::Fail { message, hint }) => {
            assert!(
                message.starts_with("HTTP 404 from /api/v1/ingest/sources/Bridged/EngagementEvent"),
                "{report}"
            );
            assert_eq!(*hint, Some(hints::INGEST_OBJECT_MISSING), "{report}");
            assert!(!report.passed());
        }
        other => panic!("ingest not run: {other:?}\n{report}"),
    }
    emu.shutdown().await;
}

#[test]
fn the_binary_exits_0_only_when_every_step_passes() {
    let out = Command::new(BIN)
        .args(["check", "--emulator"])
        .env("DCGW_LOG_LEVEL", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("✔ a360 exchange"), "{stdout}");
    assert!(stdout.ends_with("all checks passed\n"), "{stdout}");

    let out = Command::new(BIN)
        .args([
            "check",
            "--emulator",
            "--username",
            "unapproved_user@yourcompany.com",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("  hint: User not approved"), "{stdout}");
    assert!(
        stdout.contains("– query: skipped (core token failed)"),
        "{stdout}"
    );

    // An unreadable key is the key step's failure, not a crash.
    let out = Command::new(BIN)
        .args([
            "check",
            "--emulator",
            "--private-key-file",
            "/nonexistent/host.key",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with(
            "✘ key loads: credentials.private_key_file: cannot read /nonexistent/host.key"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("  hint: JWT authentication fails"),
        "{stdout}"
    );
}

#[tokio::test]
async fn jwt_prints_an_assertion_the_emulator_accepts() {
    let emu = emulator().await;
    let out = Command::new(BIN)
        .args(["jwt", "--emulator", "--login-url", emu.base_url()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let jwt = stdout.strip_suffix('\n').expect("one line");
    assert!(!jwt.contains(char::is_whitespace), "only the JWT on stdout");

    let claims = jwt_cmd::claims(jwt).expect("decodes");
    assert_eq!(claims["iss"], CLIENT_ID);
    assert_eq!(claims["sub"], USERNAME);
    assert_eq!(claims["aud"], emu.base_url());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let exp = claims["exp"].as_u64().unwrap();
    assert!(exp > now && exp <= now + 180, "exp {exp}, now {now}");

    let client = TestClient::new(emu.addr(), emu.cert_pem());
    let r = client
        .post_form(
            "/services/oauth2/token",
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", jwt),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    emu.shutdown().await;
}

#[test]
fn jwt_exp_is_at_most_three_minutes() {
    let run = |extra: &[&str]| {
        Command::new(BIN)
            .args(["jwt", "--emulator", "--login-url", "https://127.0.0.1:9443"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&["--exp-seconds", "30"]);
    assert!(out.status.success());
    let claims = jwt_cmd::claims(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(claims["aud"], "https://127.0.0.1:9443");
    let (exp, iat) = (
        claims["exp"].as_u64().unwrap(),
        claims["iat"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 30);

    let out = run(&["--exp-seconds", "181"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
