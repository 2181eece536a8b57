//! Persistence with `--db`: what the Ingestion API accepted survives a
//! restart, also a `kill -9`. The `dc-emulator` binary runs as a child
//! process on a database file in a temp directory; it is killed with
//! SIGKILL right after a 202, and the work it accepted — records already
//! applied, records still waiting out their processing delay, a closed bulk
//! job — is found again by the next emulator on the same file, which
//! applies the pending part once its (emulator-clock) time comes.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dc_emulator::testing::{login, TestClient, TestResponse};
use dc_emulator::EmulatorConfig;
use http::Method;
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};

use common::{start_with, test_config, CLIENT_ID, USER};

const LEADS: &str = "/api/v1/ingest/sources/Bridged/LeadProfile";
const JOBS: &str = "/api/v1/ingest/jobs";
const PATIENCE: Duration = Duration::from_secs(30);
const HOUR_MS: i64 = 3_600_000;

/// A `dc-emulator` child process and a client trusting its certificate.
struct Child9 {
    child: Child,
    client: TestClient,
    base_url: String,
}

impl Child9 {
    /// Starts the binary on `db`, writing its certificate into `dir`.
    async fn spawn(db: &Path, dir: &Path, extra: &[&str]) -> Child9 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dc-emulator"))
            .args(["--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .arg("--tls-dir")
            .arg(dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("dc-emulator starts");
        let stdout = child.stdout.take().expect("stdout");
        // The binary prints one line once it is serving: "… listening on https://127.0.0.1:PORT".
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await
        .expect("reader")
        .expect("read stdout");
        let base_url = line
            .trim()
            .rsplit(' ')
            .next()
            .filter(|u| u.starts_with("https://"))
            .unwrap_or_else(|| panic!("unexpected start line {line:?}"))
            .to_owned();
        let addr: SocketAddr = base_url["https://".len()..].parse().expect("address");
        let pem = std::fs::read_to_string(dir.join(format!("dc-emulator-{}.pem", addr.port())))
            .expect("certificate PEM");
        let client = TestClient::new(addr, Some(&pem));
        Child9 {
            child,
            client,
            base_url,
        }
    }

    async fn token(&self) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        login(&self.client, &self.base_url, CLIENT_ID, USER, now)
            .await
            .expect("login")
            .1
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        ct: &str,
        body: String,
    ) -> TestResponse {
        let auth = format!("Bearer {token}");
        self.client
            .send(
                method,
                path,
                &[("authorization", &auth), ("content-type", ct)],
                body,
            )
            .await
            .expect("request")
    }

    /// SIGKILL: no shutdown, no flush beyond what was committed.
    fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }
}

fn lead(id: &str) -> Value {
    json!({"lead_id": id, "first_name": "P", "last_name": "Q", "email": format!("{id}@example.com"),
           "phone": "", "channel": "web", "updated_at": "2026-04-19T10:00:00Z"})
}

/// One value of `sql` read straight from the database file.
fn scalar(db: &Path, sql: &str) -> Value {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open db");
    conn.query_row(sql, [], |r| {
        Ok(match r.get_ref(0)? {
            rusqlite::types::ValueRef::Integer(i) => json!(i),
            rusqlite::types::ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
            _ => Value::Null,
        })
    })
    .expect("query")
}

const LEADS_SQL: &str = "SELECT group_concat(lead_id__c, ',') FROM \
    (SELECT lead_id__c FROM Bridged_LeadProfile__dll WHERE lead_id__c LIKE 'p-%' ORDER BY 1)";

async fn poll(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dcemu-persist-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn accepted_ingestion_survives_kill_9_and_pending_work_resumes() {
    let dir = temp_dir();
    let db = dir.join("org.sqlite");

    // 1. No delay: a lead is applied, then the process is killed.
    let emu = Child9::spawn(&db, &dir, &[]).await;
    let t = emu.token().await;
    let resp = emu
        .send(
            Method::POST,
            LEADS,
            &t,
            "application/json",
            json!({"data": [lead("p-1")]}).to_string(),
        )
        .await;
    assert_eq!(resp.status, 202, "{}", resp.text());
    poll("p-1 applied", || scalar(&db, LEADS_SQL) == json!("p-1")).await;
    emu.kill9();

    // 2. An hour's delay: a lead and a closed bulk job are accepted, and the
    //    process is killed right after the last 202.
    let emu = Child9::spawn(&db, &dir, &["--ingest-delay-ms", "3600000"]).await;
    assert_eq!(
        scalar(&db, LEADS_SQL),
        json!("p-1"),
        "applied records survived"
    );
    let t = emu.token().await;
    let resp = emu
        .send(
            Method::POST,
            LEADS,
            &t,
            "application/json",
            json!({"data": [lead("p-2")]}).to_string(),
        )
        .await;
    assert_eq!(resp.status, 202, "{}", resp.text());
    let body = json!({"object": "LeadProfile", "sourceName": "Bridged", "operation": "upsert"})
        .to_string();
    let job = emu
        .send(Method::POST, JOBS, &t, "application/json", body)
        .await
        .json();
    let job_id = job["id"].as_str().expect("job id").to_owned();
    let csv =
        "lead_id,first_name,last_name,email,phone,channel,updated_at\np-3,R,S,,,web,\n".to_owned();
    let resp = emu
        .send(
            Method::PUT,
            &format!("{JOBS}/{job_id}/batches"),
            &t,
            "text/csv",
            csv,
        )
        .await;
    assert_eq!(resp.status, 202, "{}", resp.text());
    let close = json!({"state": "UploadComplete"}).to_string();
    let resp = emu
        .send(
            Method::PATCH,
            &format!("{JOBS}/{job_id}"),
            &t,
            "application/json",
            close,
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    emu.kill9();
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM __dc_ingest_queue"),
        json!(2),
        "both 202s were durably queued"
    );
    assert_eq!(
        scalar(&db, LEADS_SQL),
        json!("p-1"),
        "nothing pending was applied early"
    );

    // 3. Restart on the same file; once the clock passes the hour the queue
    //    drains into the DLO (and the job completes), with nothing reseeded.
    let env = start_with(EmulatorConfig {
        db: Some(db.clone()),
        ..test_config()
    })
    .await;
    let state = env.emu.state().clone();
    state.clock.advance_ms(HOUR_MS + 60_000);
    state.ingest.poke();
    poll("pending work applied", || {
        scalar(&db, LEADS_SQL) == json!("p-1,p-2,p-3")
    })
    .await;
    let t = env.dc_token(CLIENT_ID, USER).await;
    let job = env.get(&format!("{JOBS}/{job_id}"), Some(&t)).await.json();
    assert_eq!(job["state"], "JobComplete", "{job}");
    assert_eq!(job["numberRecordsProcessed"], 1);
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM __dc_ingest_queue"),
        json!(0)
    );
    let individuals = scalar(
        &db,
        "SELECT COUNT(*) FROM ssot__Individual__dlm WHERE ssot__Id__c LIKE 'p-%'",
    );
    assert_eq!(individuals, json!(3));
    env.emu.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
