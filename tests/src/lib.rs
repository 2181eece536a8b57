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
