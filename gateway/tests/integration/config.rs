//! Start-up refusals and configuration errors: each names what is wrong.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use dc_gateway::config::{self, keys, Origin, Override, Secrets};
use dc_gateway::{ConfigError, Gateway, GatewayConfig, StartError};

use super::common::{key_secrets, toml_for};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn temp_file(name: &str, content: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dc-gateway-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

fn err(text: &str, secrets: &Secrets) -> String {
    match GatewayConfig::from_toml_str(text, Path::new("."), secrets) {
        Ok(_) => panic!("config accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn base(extra_credentials: &str) -> String {
    toml_for("https://127.0.0.1:9443", extra_credentials, "")
}

#[tokio::test]
async fn refuses_to_start_open_on_a_non_loopback_address() {
    let text = base("").replace("127.0.0.1:0", "0.0.0.0:0");
    let e = err(&text, &key_secrets());
    assert!(e.contains("refusing to start open on 0.0.0.0:0"), "{e}");

    // The same rule holds for the listener actually handed to start().
    let config = GatewayConfig::from_toml_str(&base(""), Path::new("."), &key_secrets()).unwrap();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    match Gateway::start(config, listener).await {
        Err(StartError::Config(ConfigError::OpenOnNonLoopback { .. })) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("started open on 0.0.0.0"),
    }
}

#[test]
fn bad_configuration_is_reported_precisely() {
    let none = Secrets::default();

    let e = err(&base("private_key_file = \"/nonexistent/host.key\""), &none);
    assert!(
        e.contains("credentials.private_key_file")
            && e.contains("cannot read /nonexistent/host.key"),
        "{e}"
    );

    let e = err(&base(""), &none);
    assert!(
        e.contains("credentials.private_key_file: required for the jwt_bearer flow"),
        "{e}"
    );

    let junk = temp_file("junk.key", "this is not a key");
    let e = err(
        &base(&format!(
            "private_key_file = {:?}",
            junk.display().to_string()
        )),
        &none,
    );
    assert!(
        e.contains("credentials.private_key_file") && e.contains("no PEM private key"),
        "{e}"
    );

    let other = rcgen::generate_simple_self_signed(vec!["x".into()]).unwrap();
    let cert = temp_file("other.crt", &other.cert.pem());
    let e = err(
        &base(&format!(
            "certificate_file = {:?}",
            cert.display().to_string()
        )),
        &key_secrets(),
    );
    assert!(
        e.contains("credentials.certificate_file") && e.contains("does not match"),
        "{e}"
    );

    let right = workspace().join("fixtures/default/host.crt");
    GatewayConfig::from_toml_str(
        &base(&format!(
            "certificate_file = {:?}",
            right.display().to_string()
        )),
        Path::new("."),
        &key_secrets(),
    )
    .expect("the default org key matches its certificate");

    let e = err(
        &base("").replace("https://127.0.0.1:9443", "http://127.0.0.1:9443"),
        &key_secrets(),
    );
    assert!(
        e.contains("upstream.login_url") && e.contains("https://"),
        "{e}"
    );

    let e = err(
        &base("").replace("[upstream]", "[upstream]\nlogin_ur = \"x\""),
        &key_secrets(),
    );
    assert!(e.contains("unknown field") && e.contains("login_ur"), "{e}");

    let e = err(
        &base("").replace("[server]", "[server]\ntls_cert = \"a.pem\""),
        &key_secrets(),
    );
    assert!(
        e.contains("server.tls_key: required when server.tls_cert is set"),
        "{e}"
    );

    let e = err(&base("assertion_ttl_secs = 600"), &key_secrets());
    assert!(
        e.contains("credentials.assertion_ttl_secs") && e.contains("180"),
        "{e}"
    );

    let e = err(&base("flow = \"password\""), &key_secrets());
    assert!(e.contains("credentials.flow"), "{e}");

    let e = err(
        &toml_for(
            "https://127.0.0.1:9443",
            "",
            "[[clients]]\nname = \"a\"\napi_key_sha256 = \"00\"\nobjects = [\"*\"]",
        ),
        &key_secrets(),
    );
    assert!(e.contains("clients[a].api_key_sha256"), "{e}");

    let e = err(
        &toml_for(
            "https://127.0.0.1:9443",
            "",
            &format!(
                "[[clients]]\nname = \"a\"\napi_key_sha256 = \"{}\"",
                "0".repeat(64)
            ),
        ),
        &key_secrets(),
    );
    assert!(e.contains("clients[a].objects: required"), "{e}");

    let e = err(&base("flow = \"client_credentials\""), &none);
    assert!(
        e.contains("credentials.client_secret_file: required for the client_credentials flow"),
        "{e}"
    );
}

#[test]
fn overrides_name_their_origin() {
    let key = keys::find("server.handshake_timeout_secs").unwrap();
    let o = Override {
        key,
        value: "soon".into(),
        origin: Origin::Env,
    };
    let e = config::read_raw(None, &[o]).unwrap_err().to_string();
    assert!(e.contains("DCGW_SERVER_HANDSHAKE_TIMEOUT_SECS"), "{e}");

    // Flags win over the file.
    let file = temp_file("gw.toml", &base(""));
    let o = Override {
        key: keys::find("upstream.login_url").unwrap(),
        value: "https://flag.example".into(),
        origin: Origin::Flag,
    };
    let (raw, base_dir) = config::read_raw(Some(&file), &[o]).unwrap();
    let c = config::validate(raw, &base_dir, &key_secrets()).unwrap();
    assert_eq!(c.upstream.login_url, "https://flag.example");
}

#[test]
fn the_example_configuration_is_valid_and_every_key_is_documented() {
    let example = workspace().join("fixtures/gateway.example.toml");
    let (raw, base_dir) = config::read_raw(Some(&example), &[]).unwrap();
    let c = config::validate(raw, &base_dir, &Secrets::default()).expect("example validates");
    assert!(c.is_open());

    let doc = std::fs::read_to_string(workspace().join("docs/config.md")).unwrap();
    for k in keys::KEYS {
        assert!(
            doc.contains(&format!("`{}`", k.name)),
            "docs/config.md lacks {}",
            k.name
        );
        assert!(doc.contains(k.env), "docs/config.md lacks {}", k.env);
        assert!(
            doc.contains(&format!("--{}", k.flag)),
            "docs/config.md lacks --{}",
            k.flag
        );
    }
    for (env, _) in keys::SECRET_ENV {
        assert!(doc.contains(env), "docs/config.md lacks {env}");
    }
}

#[test]
fn the_binary_checks_config() {
    let bin = env!("CARGO_BIN_EXE_dc-gateway");
    let example = workspace().join("fixtures/gateway.example.toml");
    let out = Command::new(bin)
        .args(["serve", "--check-config", "--config"])
        .arg(&example)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("configuration OK"));

    let out = Command::new(bin)
        .args(["serve", "--check-config", "--config"])
        .arg(&example)
        .env("DCGW_UPSTREAM_LOGIN_URL", "http://plain.example")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("upstream.login_url"));

    let out = Command::new(bin)
        .args([
            "serve",
            "--check-config",
            "--emulator",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Precedence: flag over DCGW_* over the file (which says 127.0.0.1:8443).
    let listen = |flag: Option<&str>, env: Option<&str>| {
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--check-config", "--config"])
            .arg(&example);
        if let Some(f) = flag {
            cmd.args(["--listen", f]);
        }
        if let Some(e) = env {
            cmd.env("DCGW_SERVER_LISTEN", e);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(listen(None, None).contains("listen 127.0.0.1:8443"));
    assert!(listen(None, Some("127.0.0.1:8501")).contains("listen 127.0.0.1:8501"));
    let both = listen(Some("127.0.0.1:8502"), Some("127.0.0.1:8501"));
    assert!(
        both.contains("listen 127.0.0.1:8502"),
        "the flag wins: {both}"
    );

    // `check`, `jwt` and `keygen` have their own tests (tests/check.rs,
    // tests/keygen.rs); `serve --emulator` is run by tests/readme.rs.
}
