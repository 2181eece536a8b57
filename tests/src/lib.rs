//! End-to-end test harness: starts the emulator (and, where a test needs it,
//! the gateway in front of it) in-process on ephemeral ports over real TLS,
//! and runs the pinned Python client libraries against them.
//!
//! Every scenario module under `tests/tests/` builds on [`TestEnv`].

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dc_emulator::testing::{TestClient, TestResponse};
use dc_emulator::{Emulator, EmulatorConfig};
use hyper::Method;
use serde_json::{json, Value};
use tokio::net::TcpListener;

mod fixtures;

pub use fixtures::{org_with_lead_scores, TempOrg};

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

    /// A test-control API call on the emulator (`/__emulator/…`); panics
    /// unless it answers 2xx, and returns its JSON body.
    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let resp = match body {
            Some(b) => {
                let headers = [("content-type", "application/json")];
                self.emu.send(method, path, &headers, b.to_string()).await
            }
            None => self.emu.send(method, path, &[], bytes::Bytes::new()).await,
        }
        .expect("control API reachable");
        assert!(
            resp.status.is_success(),
            "{path}: {} {}",
            resp.status,
            resp.text()
        );
        resp.json()
    }

    /// Adds a fault rule at the emulator; returns its id.
    pub async fn add_fault(&self, rule: Value) -> u64 {
        let added = self
            .control(Method::POST, "/__emulator/faults", Some(rule))
            .await;
        added["id"].as_u64().expect("rule id")
    }

    /// The emulator's journal entries matching `filter` (a query string such
    /// as `method=POST&path=/api/v1/ingest*`), oldest first.
    pub async fn journal(&self, filter: &str) -> Vec<Value> {
        let listing = self
            .control(Method::GET, &format!("/__emulator/journal?{filter}"), None)
            .await;
        listing["entries"].as_array().cloned().unwrap_or_default()
    }

    /// Forgets every journal entry so far.
    pub async fn clear_journal(&self) {
        self.control(Method::DELETE, "/__emulator/journal", None)
            .await;
    }

    /// Moves the emulator clock forward (tokens, cursors, rate-limit windows
    /// and ingestion delays all follow it).
    pub async fn advance_clock(&self, ms: i64) {
        self.control(
            Method::POST,
            "/__emulator/clock",
            Some(json!({ "advanceMs": ms })),
        )
        .await;
    }

    /// `POST /api/v2/query` through the gateway, as an app does: no
    /// credentials, optional extra headers (e.g. `cache-control`).
    pub async fn query(&self, sql: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        let body = json!({ "sql": sql }).to_string();
        self.gw
            .send(Method::POST, "/api/v2/query", &all, body)
            .await
            .expect("gateway reachable")
    }

    /// The next batch of a Query V2 result through the gateway.
    pub async fn next_batch(&self, batch_id: &str) -> TestResponse {
        self.gw
            .get(&format!("/api/v2/query/{batch_id}"), None)
            .await
            .expect("gateway reachable")
    }

    /// Streams `records` into `Bridged`'s `object` through the gateway
    /// (`POST /api/v1/ingest/sources/Bridged/{object}`, body `{"data": […]}`).
    pub async fn ingest(&self, object: &str, records: &[Value]) -> TestResponse {
        self.gw
            .post_json(
                &format!("/api/v1/ingest/sources/Bridged/{object}"),
                None,
                &json!({ "data": records }),
            )
            .await
            .expect("gateway reachable")
    }

    /// `SELECT COUNT(*)…` (or any single integer) run directly on the
    /// emulator's store: what landed, independent of any cache.
    pub async fn store_count(&self, sql: &str) -> i64 {
        let sql = sql.to_owned();
        self.emulator
            .state()
            .store
            .read(move |conn| conn.query_row(&sql, [], |r| r.get::<_, i64>(0)))
            .await
            .expect("store")
            .unwrap_or_else(|e| panic!("test SQL failed: {e}"))
    }

    /// The first column of every row of `sql`, as text, run on the store.
    pub async fn store_strings(&self, sql: &str) -> Vec<String> {
        let sql = sql.to_owned();
        self.emulator
            .state()
            .store
            .read(move |conn| {
                let mut stmt = conn.prepare(&sql)?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                rows.collect::<Result<Vec<_>, _>>()
            })
            .await
            .expect("store")
            .unwrap_or_else(|e| panic!("test SQL failed: {e}"))
    }

    /// Waits until the emulator's ingestion queue is empty: every accepted
    /// record has been applied (or refused) by the processor.
    pub async fn wait_applied(&self) {
        let state = self.emulator.state();
        wait_for("the ingestion queue to drain", || async {
            let n = dc_emulator::ingest::queue::pending(state)
                .await
                .expect("store");
            (n == 0).then_some(())
        })
        .await;
    }

    /// Records the emulator's processor has applied since it started.
    pub fn records_applied(&self) -> u64 {
        self.emulator
            .state()
            .ingest
            .records_applied
            .load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// How long [`wait_for`] polls before failing the test. It bounds a hang on
/// asynchronous work (the ingestion processor, a retry); it is not a timing
/// assertion, so it is generous for stalled CI machines.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Polls `probe` every 20 ms until it returns `Some`; panics naming `what`
/// after [`PATIENCE`].
pub async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(start.elapsed() < PATIENCE, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
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
