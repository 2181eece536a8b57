//! `keygen`: the key and certificate it writes are what the guide's Step 1
//! produces — a 2048-bit RSA key readable only by its owner and a
//! self-signed certificate — and they work end to end: the gateway's
//! configuration accepts the pair, and an emulator org whose connected app
//! holds the new certificate logs the gateway in with the new key.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use dc_emulator::org::Org;
use dc_emulator::{Emulator, EmulatorConfig, FixtureSource};
use dc_gateway::auth::assertion::SigningKey;
use dc_gateway::check::{self, CheckOptions, Outcome, Step};
use dc_gateway::config::Secrets;
use dc_gateway::keygen::{self, KeygenError, KeygenOptions};
use dc_gateway::GatewayConfig;
use tokio::net::TcpListener;

const BIN: &str = env!("CARGO_BIN_EXE_dc-gateway");

fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dc-gateway-keygen-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn options(out: &Path) -> KeygenOptions {
    KeygenOptions {
        out: out.to_owned(),
        common_name: "Bridged Integration".into(),
        days: 30,
        force: false,
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn writes_a_2048_bit_key_with_mode_0400_and_a_matching_certificate() {
    let dir = temp_dir();
    let g = keygen::generate(&options(&dir)).unwrap();
    assert_eq!(g.key_path, dir.join("host.key"));
    assert_eq!(g.cert_path, dir.join("host.crt"));
    #[cfg(unix)]
    assert_eq!(mode(&g.key_path), 0o400);

    let key_pem = std::fs::read(&g.key_path).unwrap();
    assert!(String::from_utf8_lossy(&key_pem).starts_with("-----BEGIN PRIVATE KEY-----"));
    let cert_pem = std::fs::read(&g.cert_path).unwrap();
    assert!(String::from_utf8_lossy(&cert_pem).starts_with("-----BEGIN CERTIFICATE-----"));
    let key = SigningKey::from_pem(&key_pem).unwrap();
    assert_eq!(key.rsa_bits(), Some(2048));
    key.check_certificate(&cert_pem).unwrap();

    // The gateway's own validation ("key matches certificate") accepts them.
    let text = "[credentials]\nclient_id = \"c\"\nusername = \"u\"\nprivate_key_file = \"host.key\"\ncertificate_file = \"host.crt\"\n";
    GatewayConfig::from_toml_str(text, &dir, &Secrets::default()).unwrap();
    // And refuses a certificate of another key.
    let other = temp_dir();
    let g2 = keygen::generate(&options(&other)).unwrap();
    let text = format!(
        "[credentials]\nclient_id = \"c\"\nusername = \"u\"\nprivate_key_file = \"host.key\"\ncertificate_file = \"{}\"\n",
        g2.cert_path.display()
    );
    let err = GatewayConfig::from_toml_str(&text, &dir, &Secrets::default()).unwrap_err();
    assert!(
        err.to_string().contains("credentials.certificate_file"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(other);
}

#[test]
fn never_overwrites_without_force() {
    let dir = temp_dir();
    let first = keygen::generate(&options(&dir)).unwrap();
    let before = std::fs::read(&first.key_path).unwrap();
    let err = keygen::generate(&options(&dir)).unwrap_err();
    assert!(
        matches!(err, KeygenError::Exists(ref p) if *p == first.key_path),
        "{err}"
    );
    assert_eq!(std::fs::read(&first.key_path).unwrap(), before);

    // Only the certificate left: still refused (no key without its pair).
    std::fs::remove_file(&first.key_path).unwrap();
    let err = keygen::generate(&options(&dir)).unwrap_err();
    assert!(
        matches!(err, KeygenError::Exists(ref p) if *p == first.cert_path),
        "{err}"
    );

    // --force replaces both, even over a read-only key.
    let forced = KeygenOptions {
        force: true,
        ..options(&dir)
    };
    let again = keygen::generate(&forced).unwrap();
    let again2 = keygen::generate(&forced).unwrap();
    assert_ne!(std::fs::read(&again.key_path).unwrap(), before);
    #[cfg(unix)]
    assert_eq!(mode(&again2.key_path), 0o400);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
    let _ = std::fs::remove_dir_all(dir);
}

/// An org whose main connected app holds the new certificate accepts the
/// gateway signing with the new key: `check` is green against it.
#[tokio::test]
async fn a_jwt_signed_with_the_new_key_verifies_against_the_new_certificate() {
    let dir = temp_dir();
    let g = keygen::generate(&options(&dir)).unwrap();
    let mut org = Org::load(&FixtureSource::Builtin).unwrap();
    let app = org
        .apps
        .iter_mut()
        .find(|a| a.client_id == "emulator-client-id")
        .unwrap();
    app.certificate_pem = g.cert_pem.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emu = Emulator::start(
        EmulatorConfig {
            fixtures: FixtureSource::Inline(Arc::new(org)),
            ..EmulatorConfig::default()
        },
        listener,
    )
    .await
    .unwrap();

    let text = format!(
        "[upstream]\nlogin_url = \"{}\"\n[credentials]\nclient_id = \"emulator-client-id\"\nusername = \"integration_user@yourcompany.com\"\nprivate_key_file = \"host.key\"\ncertificate_file = \"host.crt\"\n",
        emu.base_url()
    );
    let mut config = GatewayConfig::from_toml_str(&text, &dir, &Secrets::default()).unwrap();
    config.upstream.ca_pem = emu.cert_pem().map(str::to_owned);
    let options = CheckOptions {
        certificate_pem: Some(g.cert_pem.clone()),
        ..CheckOptions::default()
    };
    let report = check::run(&config, &options).await;
    assert!(report.passed(), "{report}");
    assert!(matches!(
        report.outcome(Step::CoreToken),
        Some(Outcome::Pass(_))
    ));

    // The default org's key no longer matches that app.
    let mut old = config.clone();
    let key = SigningKey::from_pem(dc_gateway::embedded::PRIVATE_KEY_PEM.as_bytes()).unwrap();
    if let dc_gateway::config::Flow::JwtBearer { key: k, .. } = &mut old.credentials.flow {
        *k = Arc::new(key);
    }
    let report = check::run(&old, &CheckOptions::default()).await;
    assert_eq!(
        report.failure().map(|f| f.step),
        Some(Step::CoreToken),
        "{report}"
    );
    emu.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_binary_writes_the_files_and_prints_the_next_steps() {
    let dir = temp_dir();
    let out = Command::new(BIN)
        .args(["keygen", "--cn", "acme", "--days", "10", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("CN=acme"), "{stdout}");
    assert!(stdout.contains("Use digital"), "{stdout}");
    assert!(stdout.contains("private_key_file = "), "{stdout}");
    assert!(dir.join("host.key").exists() && dir.join("host.crt").exists());

    let out = Command::new(BIN)
        .args(["keygen", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn api_keys_hash_to_what_the_configuration_accepts() {
    let (key, hex) = keygen::api_key();
    assert_eq!(key.len(), 43);
    let digest = dc_gateway::policy::parse_hex_digest(&hex).unwrap();
    assert_eq!(digest, dc_gateway::policy::sha256(key.as_bytes()));
    assert_ne!(keygen::api_key().0, key);

    let out = Command::new(BIN)
        .args(["keygen", "--api-key"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("api_key_sha256 = \""));
    let out = Command::new(BIN).arg("keygen").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--out or --api-key is required");
}
