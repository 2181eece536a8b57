//! Gateway latency and memory benchmark (`cargo bench -p dc-gateway --bench gateway`).
//!
//! The emulator runs in this process; the release `dc-gateway` binary runs as a
//! child process in front of it, so its RSS is its own. One keep-alive TLS
//! connection per target, requests one at a time (latency, not throughput —
//! throughput and CPU per request against nginx come from `bench/gateway-peers.sh`):
//!
//! - emulator direct: `POST /api/v2/query` with a Data Cloud token;
//! - gateway miss: the same queries through the gateway, each SQL unique, so
//!   every request parses, keys, forwards, stores (the miss path);
//! - gateway hit: one SQL repeated (the cache-hit path);
//!
//! then the cache is filled to 10,000 entries and the gateway's RSS is read.
//! Prints Markdown rows; asserts nothing about speed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dc_emulator::testing::{start_logged_in, TestClient, DEFAULT_CLIENT_ID, DEFAULT_USERNAME};
use dc_emulator::EmulatorConfig;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;

const N: usize = 2000;
const CACHED_ENTRIES: usize = 10_000;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

/// A query unique per `n` (a different literal, not a comment: the cache key
/// ignores comments and whitespace).
fn sql(n: usize) -> String {
    format!(
        "SELECT ssot__Id__c, ssot__FirstName__c, ssot__LastName__c FROM UnifiedIndividual__dlm \
         WHERE ssot__Id__c <> 'bench-{n}' ORDER BY ssot__Id__c LIMIT 20 OFFSET {}",
        n % 1000
    )
}

async fn run() {
    let (emu, dc) = start_logged_in(EmulatorConfig::default()).await.unwrap();

    let dir = std::env::temp_dir().join(format!("dcgw-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("emulator.pem");
    std::fs::write(&ca, emu.cert_pem().unwrap()).unwrap();
    let key = dir.join("host.key");
    std::fs::write(&key, dc_emulator::testing::DEFAULT_APP_KEY_PEM).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dc-gateway"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--login-url",
            emu.base_url(),
        ])
        .arg("--upstream-ca-cert")
        .arg(&ca)
        .arg("--private-key-file")
        .arg(&key)
        .args([
            "--client-id",
            DEFAULT_CLIENT_ID,
            "--username",
            DEFAULT_USERNAME,
        ])
        .arg("--cert-dir")
        .arg(&dir)
        .args(["--cache-max-bytes", "1073741824"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    while !line.contains("listening on") {
        line.clear();
        out.read_line(&mut line).unwrap();
    }
    let port: u16 = line.trim().rsplit(':').next().unwrap().parse().unwrap();
    let gw_pem = std::fs::read_to_string(dir.join(format!("dc-gateway-{port}.pem"))).unwrap();
    let gw_addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();

    let mut direct = dc_emulator::testing::keep_alive(emu.addr(), emu.cert_pem().unwrap())
        .await
        .unwrap();
    let mut gw = dc_emulator::testing::keep_alive(gw_addr, &gw_pem)
        .await
        .unwrap();

    // Warm up both (and let the gateway log in).
    for i in 0..200 {
        post(&mut direct, Some(&dc), &sql(1_000_000 + i)).await;
        post(&mut gw, None, &sql(2_000_000 + i)).await;
    }
    let mut t_direct = Vec::with_capacity(N);
    let mut t_miss = Vec::with_capacity(N);
    for i in 0..N {
        let q = sql(3_000_000 + i);
        let t = Instant::now();
        post(&mut direct, Some(&dc), &q).await;
        t_direct.push(t.elapsed());
        let q = sql(4_000_000 + i);
        let t = Instant::now();
        let cache = post(&mut gw, None, &q).await;
        t_miss.push(t.elapsed());
        assert_eq!(cache.as_deref(), Some("MISS"));
    }
    let hit_sql = sql(5_000_000);
    post(&mut gw, None, &hit_sql).await;
    let mut t_hit = Vec::with_capacity(N);
    for _ in 0..N {
        let t = Instant::now();
        let cache = post(&mut gw, None, &hit_sql).await;
        t_hit.push(t.elapsed());
        assert_eq!(cache.as_deref(), Some("HIT"));
    }

    println!("| path (one keep-alive TLS connection, sequential) | p50 | p99 | mean |");
    println!("| --- | --- | --- | --- |");
    row("emulator direct, unique SQL", &t_direct);
    row("through the gateway, cache miss (unique SQL)", &t_miss);
    row("through the gateway, cache hit", &t_hit);
    let (d50, _, _) = stats(&t_direct);
    let (m50, _, _) = stats(&t_miss);
    println!(
        "| **miss path added by the gateway (p50 difference)** | {:.3} ms | | |",
        (m50.as_secs_f64() - d50.as_secs_f64()) * 1e3
    );

    // Fill the cache up to 10,000 entries (8 connections in parallel), then
    // read RSS: the target is stated for 10,000 cached answers.
    let rss_before = rss_kb(child.id());
    let (before, _) = cache_gauges(gw_addr, &gw_pem).await;
    let missing = CACHED_ENTRIES.saturating_sub(before as usize);
    let mut tasks = Vec::new();
    for c in 0..8 {
        let pem = gw_pem.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = dc_emulator::testing::keep_alive(gw_addr, &pem)
                .await
                .unwrap();
            for i in (c..missing).step_by(8) {
                post(&mut s, None, &sql(6_000_000 + i)).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (entries, bytes) = cache_gauges(gw_addr, &gw_pem).await;
    let rss_after = rss_kb(child.id());
    println!(
        "| gateway RSS after warm-up ({before} cached answers) | {:.1} MB | | |",
        rss_before as f64 / 1024.0
    );
    println!(
        "| gateway RSS with {entries} cached answers ({:.1} MB weighed by the cache, {:.0} B per entry) | {:.1} MB | | |",
        bytes / 1048576.0,
        bytes / entries.max(1.0),
        rss_after as f64 / 1024.0
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(dir);
    emu.shutdown().await;
}

/// `dcgw_cache_entries` and `dcgw_cache_bytes` from the gateway's `/metrics`.
async fn cache_gauges(addr: std::net::SocketAddr, pem: &str) -> (f64, f64) {
    let metrics = TestClient::new(addr, Some(pem))
        .get("/metrics", None)
        .await
        .unwrap()
        .text();
    let gauge = |name: &str| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (gauge("dcgw_cache_entries "), gauge("dcgw_cache_bytes "))
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// POSTs one query; returns the `x-cache` header.
async fn post(
    sender: &mut SendRequest<Full<Bytes>>,
    token: Option<&str>,
    sql: &str,
) -> Option<String> {
    let mut req = http::Request::post("/api/v2/query")
        .header("host", "127.0.0.1")
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let body = Bytes::from(serde_json::json!({ "sql": sql }).to_string());
    // The previous response may still be finishing on the connection task.
    sender.ready().await.unwrap();
    let resp = sender
        .send_request(req.body(Full::new(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let cache = resp
        .headers()
        .get("x-cache")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    cache
}

fn stats(d: &[Duration]) -> (Duration, Duration, Duration) {
    let mut v = d.to_vec();
    v.sort();
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    (p(0.5), p(0.99), v.iter().sum::<Duration>() / v.len() as u32)
}

fn row(name: &str, d: &[Duration]) {
    let (p50, p99, mean) = stats(d);
    println!("| {name} | {p50:.2?} | {p99:.2?} | {mean:.2?} |");
}
