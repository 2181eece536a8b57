//! End-to-end test harness: starts the emulator (and, where a test needs it,
//! the gateway in front of it) in-process on ephemeral ports over real TLS,
//! and runs the pinned Python client libraries against them.
//!
//! Every scenario module under `tests/tests/` builds on [`TestEnv`].

use std::path::{Path, PathBuf};
use std::process::Command;

use dc_emulator::testing::TestClient;
use dc_emulator::{Emulator, EmulatorConfig};
use tokio::net::TcpListener;

/// The workspace root (for fixtures and the interop scripts).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A running emulator with a client that trusts its certificate.
pub struct EmulatorEnv {
    pub emulator: Emulator,
    pub client: TestClient,
}

impl EmulatorEnv {
    /// Starts the emulator with `config` on `127.0.0.1:0`.
    pub async fn start(config: EmulatorConfig) -> EmulatorEnv {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let emulator = Emulator::start(config, listener)
            .await
            .expect("emulator starts");
        let client = TestClient::new(emulator.addr(), emulator.cert_pem());
        EmulatorEnv { emulator, client }
    }
}

/// The Python interpreter of the interop environment: `DC_INTEROP_PYTHON`, else
/// `.venv-interop/bin/python` at the workspace root. Panics (never skips) with
/// the setup command when neither exists: interop tests must run in CI.
pub fn interop_python() -> PathBuf {
    if let Ok(p) = std::env::var("DC_INTEROP_PYTHON") {
        let p = PathBuf::from(p);
        assert!(
            p.exists(),
            "DC_INTEROP_PYTHON={} does not exist",
            p.display()
        );
        return p;
    }
    let p = workspace_root().join(".venv-interop/bin/python");
    assert!(
        p.exists(),
        "the Python interop environment is missing: run scripts/setup-interop (scripts/test does it)"
    );
    p
}

/// Runs `tests/interop/<script>` with `env`, off the async threads, and panics
/// with its output unless it exits 0. Returns its stdout.
pub async fn run_interop(script: &str, env: Vec<(String, String)>) -> String {
    let python = interop_python();
    let script = workspace_root().join("tests/interop").join(script);
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .envs(env)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .expect("run python")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "interop script failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    stdout
}

/// Path of the default org's TEST-ONLY connected-app private key.
pub fn default_org_key() -> PathBuf {
    workspace_root().join("fixtures/default/host.key")
}

/// The gateway in front of an emulator, with a client for each.
pub struct StackEnv {
    pub emulator: Emulator,
    pub gateway: dc_gateway::Gateway,
    /// Client of the gateway (trusts its certificate).
    pub gw: TestClient,
    /// Client of the emulator (for its control and stats endpoints).
    pub emu: TestClient,
}

impl StackEnv {
    /// Starts an emulator with `emu_config` and, in front of it, a gateway
    /// configured with the default org's credentials plus `extra_toml`
    /// (appended to the configuration, e.g. `[[clients]]` sections).
    pub async fn start(emu_config: EmulatorConfig, extra_toml: &str) -> StackEnv {
        let emulator = EmulatorEnv::start(emu_config).await.emulator;
        let toml = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ncert_dir = \"{dir}\"\n\n[upstream]\nlogin_url = \"{login}\"\n\n\
             [credentials]\nclient_id = \"{client}\"\nusername = \"{user}\"\n\n{extra_toml}\n",
            dir = std::env::temp_dir().display(),
            login = emulator.base_url(),
            client = dc_gateway::embedded::CLIENT_ID,
            user = dc_gateway::embedded::USERNAME,
        );
        let secrets = dc_gateway::config::Secrets {
            private_key_pem: Some(dc_gateway::config::Secret::new(
                dc_gateway::embedded::PRIVATE_KEY_PEM,
            )),
            ..Default::default()
        };
        let mut config = dc_gateway::GatewayConfig::from_toml_str(&toml, Path::new("."), &secrets)
            .expect("valid gateway config");
        config.upstream.ca_pem = emulator.cert_pem().map(str::to_owned);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind gateway");
        let gateway = dc_gateway::Gateway::start(config, listener)
            .await
            .expect("gateway starts");
        let gw = TestClient::new(gateway.addr(), Some(gateway.cert_pem()));
        let emu = TestClient::new(emulator.addr(), emulator.cert_pem());
        StackEnv {
            emulator,
            gateway,
            gw,
            emu,
        }
    }

    /// Number of unified individuals in the emulator's data.
    pub async fn unified_count(&self) -> i64 {
        unified_count(&self.emulator).await
    }
}

/// Number of rows of `UnifiedIndividual__dlm` in an emulator.
pub async fn unified_count(emulator: &Emulator) -> i64 {
    emulator
        .state()
        .store
        .read(|conn| {
            conn.query_row("SELECT COUNT(*) FROM \"UnifiedIndividual__dlm\"", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .await
        .expect("store")
        .expect("count")
}
