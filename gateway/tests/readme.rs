//! The README's gateway walk-through, run as written: `dc-gateway serve
//! --emulator` (the README's "run" command), then the shell block (curl and
//! jq) and the Python block (Salesforce's `salesforce-cdp-connector`) marked
//! `<!-- README test -->`, with only the gateway's address and certificate
//! path swapped for this run's. The TOML excerpt must be lines of
//! `fixtures/gateway.example.toml`, which `tests/integration/config.rs`
//! validates. A README example that stops working fails here.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_dc-gateway");
/// What the README shows; replaced by this run's address and certificate.
const README_URL: &str = "https://127.0.0.1:8443";
const README_CERT: &str = "/tmp/dc-gateway-8443.pem";
const MARKER: &str = "<!-- README test";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .into()
}

fn readme() -> String {
    std::fs::read_to_string(workspace().join("README.md")).unwrap()
}

/// The fenced block of `lang` that follows a `<!-- README test` marker.
fn marked_block(readme: &str, lang: &str) -> String {
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if !line.starts_with(MARKER) {
            continue;
        }
        let fence = lines.next().unwrap_or_default();
        if fence != format!("```{lang}") {
            continue;
        }
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        return body.join("\n") + "\n";
    }
    panic!("README.md has no {lang} block after a {MARKER} marker");
}

/// The first fenced block of `lang` after the heading `heading`.
fn block_after(readme: &str, heading: &str, lang: &str) -> String {
    let start = readme.find(heading).expect("heading in README");
    let rest = &readme[start..];
    let open = format!("```{lang}\n");
    let from = rest.find(&open).expect("block after heading") + open.len();
    let len = rest[from..].find("```").expect("closed block");
    rest[from..from + len].to_owned()
}

/// `dc-gateway serve --emulator` on an ephemeral port; killed on drop.
struct Served {
    child: Child,
    url: String,
    cert: PathBuf,
    _dir: TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn serve_emulator() -> Served {
    let dir = std::env::temp_dir().join(format!("dc-gateway-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--emulator",
            "--listen",
            "127.0.0.1:0",
            "--cert-dir",
        ])
        .arg(&dir)
        .env("DCGW_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut served = Served {
        child,
        url: String::new(),
        cert: PathBuf::new(),
        _dir: TempDir(dir.clone()),
    };
    // Bounded: the process prints both URLs once it serves.
    let mut emulator_url = None;
    while served.url.is_empty() {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("serve --emulator printed its URLs");
        if let Some(url) = line.strip_prefix("dc-gateway listening on ") {
            served.url = url.to_owned();
        } else if let Some(url) = line.strip_prefix("dc-gateway: embedded emulator at ") {
            emulator_url = Some(url.to_owned());
        }
    }
    let emulator_url = emulator_url.expect("the embedded emulator's URL, printed first");
    assert!(
        emulator_url.starts_with("https://127.0.0.1:"),
        "{emulator_url}"
    );
    let port = served.url.rsplit(':').next().unwrap();
    served.cert = dir.join(format!("dc-gateway-{port}.pem"));
    assert!(served.cert.exists(), "{}", served.cert.display());
    served
}

fn localize(block: &str, served: &Served) -> String {
    assert!(block.contains(README_URL), "block names {README_URL}");
    block
        .replace(README_URL, &served.url)
        .replace(README_CERT, &served.cert.display().to_string())
}

fn run(mut cmd: Command) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.current_dir(workspace()).output().expect("run");
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    assert!(
        status.success(),
        "{status}\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&stderr)
    );
    stdout
}

/// The interop environment's Python (scripts/test sets `DC_INTEROP_PYTHON`);
/// panics rather than skips without it, like the other interop tests.
fn interop_python() -> PathBuf {
    let p = std::env::var_os("DC_INTEROP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv-interop/bin/python"));
    assert!(
        p.exists(),
        "the Python interop environment is missing ({}): run scripts/setup-interop (scripts/test does it)",
        p.display()
    );
    p
}

#[test]
fn readme_gateway_walkthrough_runs_as_written() {
    let readme = readme();
    let served = serve_emulator();

    let shell = localize(&marked_block(&readme, "sh"), &served);
    let mut bash = Command::new("bash");
    bash.args(["-euo", "pipefail", "-c", &shell]);
    let out = run(bash);
    let lower = out.to_ascii_lowercase();
    // Each curl's answer, in order.
    let expected = [
        "x-cache: miss",
        r#""data":[["#,
        "x-cache: hit",
        r#""rowcount":50"#,
        r#""first":0,"last":49,"outcome":"accepted""#,
        r#""first":50,"last":99,"outcome":"accepted""#,
        r#""first":100,"last":119,"outcome":"accepted""#,
        r#""records":120"#,
        "x-cache: bypass",
        r#""data":[[120]]"#,
        r#"{"purged":"unifiedindividual"}"#,
        r#"{"status":"up"}"#,
        r#"{"status":"ready"}"#,
        "dcgw_cache_hits_total 1",
        r#"dcgw_token_fetches_total{kind="data_cloud"} 1"#,
        r#"dcgw_ingest_chunks_total{outcome="accepted"} 3"#,
    ];
    let mut at = 0;
    for want in expected {
        match lower[at..].find(want) {
            Some(i) => at += i + want.len(),
            None => panic!("README walk-through: {want:?} missing after byte {at}:\n{out}"),
        }
    }

    let python = localize(&marked_block(&readme, "python"), &served);
    let mut py = Command::new(interop_python());
    py.args(["-c", &python])
        .env("REQUESTS_CA_BUNDLE", &served.cert)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = run(py);
    let mut lines = out.lines();
    let first = lines.next().unwrap_or_default();
    assert!(first.starts_with("['"), "first row printed: {out}");
    let count: usize = lines
        .next()
        .and_then(|l| l.strip_suffix(" unified profiles"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unified count printed: {out}"));
    // Every unified profile of the built-in org came back (one 2,000-row V2
    // batch here; tests/tests/interop_gateway.rs pages through small batches).
    assert!(count > 1_000, "{out}");
}

#[test]
fn readme_toml_excerpt_is_the_example_file() {
    let excerpt = block_after(&readme(), "## Use the gateway", "toml");
    let example =
        std::fs::read_to_string(workspace().join("fixtures/gateway.example.toml")).unwrap();
    // The example keeps its [[clients]] commented out; the excerpt shows them live.
    let example_lines: Vec<&str> = example.lines().collect();
    for line in excerpt.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            example_lines
                .iter()
                .any(|e| *e == line || e.strip_prefix("# ") == Some(line)),
            "README's TOML line is not in fixtures/gateway.example.toml: {line:?}"
        );
    }
}
