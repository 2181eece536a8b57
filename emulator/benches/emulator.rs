//! Emulator benchmark (`cargo bench -p dc-emulator --bench emulator`):
//!
//! 1. latency of a point lookup by email and of a 10,000-row result, each
//!    fetched through HTTPS (`POST /api/v2/query`, one keep-alive TLS
//!    connection) and, in the same run, the same SQL run directly in rusqlite
//!    on the emulator's own database: the ratio is the emulator's overhead;
//! 2. start-up time of the release binary to a 200 from `/__emulator/health`
//!    with the default org;
//! 3. the binary's idle RSS.
//!
//! Prints a Markdown table for BENCHMARKS.md. No assertions: targets are read
//! off the table, never enforced by timed tests.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dc_emulator::testing::{start_logged_in, TestClient};
use dc_emulator::EmulatorConfig;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;

const LOOKUP_EMAIL_SQL: &str = "SELECT ssot__PartyId__c, ssot__EmailAddress__c FROM ssot__ContactPointEmail__dlm WHERE ssot__EmailAddress__c = '{email}'";
const BIG_SQL: &str = "SELECT i.ssot__Id__c, i.ssot__FirstName__c, i.ssot__LastName__c, e.ssot__EmailAddress__c FROM ssot__Individual__dlm i CROSS JOIN ssot__ContactPointEmail__dlm e ORDER BY i.ssot__Id__c, e.ssot__Id__c LIMIT 10000";
const BIG_SQL_SQLITE: &str = "SELECT i.\"ssot__Id__c\", i.\"ssot__FirstName__c\", i.\"ssot__LastName__c\", e.\"ssot__EmailAddress__c\" FROM \"ssot__Individual__dlm\" i CROSS JOIN \"ssot__ContactPointEmail__dlm\" e ORDER BY i.\"ssot__Id__c\", e.\"ssot__Id__c\" LIMIT 10000";
const LOOKUP_SQLITE: &str = "SELECT \"ssot__PartyId__c\", \"ssot__EmailAddress__c\" FROM \"ssot__ContactPointEmail__dlm\" WHERE \"ssot__EmailAddress__c\" = ?1";

/// One row of the 10,000-row result: id, first name, last name, email.
type BigRow = (String, Option<String>, Option<String>, Option<String>);

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("| measurement | p50 | p99 | mean | ratio (HTTPS / rusqlite, mean) |");
    println!("| --- | --- | --- | --- | --- |");
    rt.block_on(latency());
    startup_and_rss();
}

async fn latency() {
    let config = EmulatorConfig {
        query_batch_rows: 10_000,
        ..EmulatorConfig::default()
    };
    let (emu, dc) = start_logged_in(config).await.unwrap();
    let email: String = emu
        .state()
        .store
        .read(|c| {
            c.query_row(
                "SELECT \"ssot__EmailAddress__c\" FROM \"ssot__ContactPointEmail__dlm\" ORDER BY \"ssot__Id__c\" LIMIT 1 OFFSET 500",
                [],
                |r| r.get(0),
            )
        })
        .await
        .unwrap()
        .unwrap();
    let mut sender = dc_emulator::testing::keep_alive(emu.addr(), emu.cert_pem().unwrap())
        .await
        .unwrap();
    let lookup_body = Bytes::from(
        serde_json::json!({"sql": LOOKUP_EMAIL_SQL.replace("{email}", &email)}).to_string(),
    );
    let big_body = Bytes::from(serde_json::json!({"sql": BIG_SQL}).to_string());

    // Sanity: both answer what we think before timing.
    let (_, body) = post(&mut sender, &dc, lookup_body.clone()).await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1), "lookup: {v}");
    let (_, body) = post(&mut sender, &dc, big_body.clone()).await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["data"].as_array().map(Vec::len), Some(10_000));
    let big_bytes = body.len();

    let https_lookup = time_n(2000, &mut sender, &dc, &lookup_body).await;
    let https_big = time_n(60, &mut sender, &dc, &big_body).await;

    let email2 = email.clone();
    let direct_lookup = emu
        .state()
        .store
        .read(move |c| {
            direct(c, 2000, |c| {
                let mut st = c.prepare_cached(LOOKUP_SQLITE).unwrap();
                let rows: Vec<(String, String)> = st
                    .query_map([&email2], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                assert_eq!(rows.len(), 1);
            })
        })
        .await
        .unwrap();
    let direct_big = emu
        .state()
        .store
        .read(|c| {
            direct(c, 60, |c| {
                let mut st = c.prepare_cached(BIG_SQL_SQLITE).unwrap();
                let rows: Vec<BigRow> = st
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                assert_eq!(rows.len(), 10_000);
            })
        })
        .await
        .unwrap();

    row(
        "point lookup by email, HTTPS `POST /api/v2/query`",
        &https_lookup,
        Some(&direct_lookup),
    );
    row(
        "point lookup by email, rusqlite direct",
        &direct_lookup,
        None,
    );
    row(
        &format!(
            "10,000 rows ({} KB JSON), HTTPS `POST /api/v2/query`",
            big_bytes / 1024
        ),
        &https_big,
        Some(&direct_big),
    );
    row("10,000 rows, rusqlite direct", &direct_big, None);
    emu.shutdown().await;
}

async fn post(sender: &mut SendRequest<Full<Bytes>>, token: &str, body: Bytes) -> (u16, Bytes) {
    let req = http::Request::post("/api/v2/query")
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(body))
        .unwrap();
    // The previous response may still be finishing on the connection task.
    sender.ready().await.unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    (status, body)
}

/// `n` timed requests after `n / 10` warm-up ones, one at a time on one connection.
async fn time_n(
    n: usize,
    sender: &mut SendRequest<Full<Bytes>>,
    token: &str,
    body: &Bytes,
) -> Vec<Duration> {
    for _ in 0..n / 10 {
        post(sender, token, body.clone()).await;
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        post(sender, token, body.clone()).await;
        out.push(t.elapsed());
    }
    out
}

fn direct(
    conn: &rusqlite::Connection,
    n: usize,
    f: impl Fn(&rusqlite::Connection),
) -> Vec<Duration> {
    for _ in 0..n / 10 {
        f(conn);
    }
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f(conn);
            t.elapsed()
        })
        .collect()
}

fn stats(d: &[Duration]) -> (Duration, Duration, Duration) {
    let mut v = d.to_vec();
    v.sort();
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    let mean = v.iter().sum::<Duration>() / v.len() as u32;
    (p(0.5), p(0.99), mean)
}

fn row(name: &str, d: &[Duration], base: Option<&[Duration]>) {
    let (p50, p99, mean) = stats(d);
    let ratio = base
        .map(|b| format!("{:.1}×", mean.as_secs_f64() / stats(b).2.as_secs_f64()))
        .unwrap_or_default();
    println!("| {name} | {p50:.2?} | {p99:.2?} | {mean:.2?} | {ratio} |");
}

/// Start-up to a 200 health and idle RSS of the release binary, median of 10 starts.
fn startup_and_rss() {
    let bin = env!("CARGO_BIN_EXE_dc-emulator");
    let dir = std::env::temp_dir().join(format!("dcemu-bench-{}", std::process::id()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut startups = Vec::new();
    let mut rss_kb = Vec::new();
    for _ in 0..10 {
        let t0 = Instant::now();
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0", "--tls-dir"])
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().rsplit(':').next().unwrap().parse().unwrap();
        let pem = std::fs::read_to_string(dir.join(format!("dc-emulator-{port}.pem"))).unwrap();
        let client = TestClient::new(format!("127.0.0.1:{port}").parse().unwrap(), Some(&pem));
        let ok = rt.block_on(client.get("/__emulator/health", None)).unwrap();
        assert_eq!(ok.status, 200);
        startups.push(t0.elapsed());
        std::thread::sleep(Duration::from_millis(300));
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
        let rss = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap();
        rss_kb.push(rss);
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    let (p50, _, _) = stats(&startups);
    rss_kb.sort();
    println!("| start-up to 200 `/__emulator/health` (release binary, default org, median of 10) | {p50:.1?} | | | |");
    println!(
        "| idle RSS after start (median of 10) | {:.1} MB | | | |",
        rss_kb[rss_kb.len() / 2] as f64 / 1024.0
    );
    let _ = std::fs::remove_dir_all(dir);
}
