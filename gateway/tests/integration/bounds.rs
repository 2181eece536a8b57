//! The listener and the upstream side under stress: TLS versions and ALPN,
//! every bounded wait (client handshake, request head, silent upstream,
//! slow upstream answer), graceful shutdown (in-flight requests finish, the
//! drain is cut off after the grace period), and upstream certificates that
//! are verified unless a flag says otherwise.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dc_emulator::testing::TestResponse;
use dc_emulator::EmulatorConfig;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;

use super::common::{
    config_full, rows, start, start_emulator, start_full, start_gateway, Env, SQL,
};

/// A TLS client trusting the gateway, offering `alpn` and only `versions`.
fn connector(
    env: &Env,
    alpn: &[&[u8]],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(env.gateway.cert_pem().as_bytes())
    {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
}

async fn tls(
    env: &Env,
    alpn: &[&[u8]],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = TcpStream::connect(env.gateway.addr()).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    connector(env, alpn, versions)
        .connect(name, tcp)
        .await
        .expect("TLS handshake with the gateway")
}

/// Reads until the peer closes; the time it took (bounded by `limit`).
async fn closed_within<R: AsyncReadExt + Unpin>(stream: &mut R, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let outcome = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(
        outcome.is_ok(),
        "the gateway kept the connection open past {limit:?}"
    );
    started.elapsed()
}

#[tokio::test]
async fn tls_12_and_13_with_alpn_h2_and_http11() {
    let env = start(EmulatorConfig::default(), "", "").await;
    use rustls::version::{TLS12, TLS13};

    let s = tls(&env, &[b"h2", b"http/1.1"], &[&TLS13, &TLS12]).await;
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(
        s.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );

    let mut s = tls(&env, &[b"http/1.1"], &[&TLS12]).await;
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(
        s.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // rustls implements nothing older than TLS 1.2: there is no older
    // version for the listener to accept.
    env.stop().await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_handshake_is_cut_off() {
    let server = "handshake_timeout_secs = 1";
    let env = start_full(EmulatorConfig::default(), server, "", "", "").await;
    let mut tcp = TcpStream::connect(env.gateway.addr()).await.unwrap();
    let took = closed_within(&mut tcp, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(900), "closed after {took:?}");
    env.stop().await;
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_cut_off() {
    let server = "header_read_timeout_secs = 1";
    let env = start_full(EmulatorConfig::default(), server, "", "", "").await;
    use rustls::version::{TLS12, TLS13};

    // Half a head.
    let mut s = tls(&env, &[b"http/1.1"], &[&TLS13, &TLS12]).await;
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: local")
        .await
        .unwrap();
    closed_within(&mut s, Duration::from_secs(5)).await;

    // No byte at all after the handshake, with and without ALPN.
    for alpn in [&[&b"http/1.1"[..]][..], &[]] {
        let mut s = tls(&env, alpn, &[&TLS13, &TLS12]).await;
        closed_within(&mut s, Duration::from_secs(5)).await;
    }

    // The listener still serves.
    rows(&env.query(SQL).await);
    env.stop().await;
}

/// 1-second upstream bounds and one try per request.
const IMPATIENT: &str = "connect_timeout_secs = 1\nresponse_timeout_secs = 1";
const ONE_TRY: &str = "[retry]\nmax_attempts = 1";

#[tokio::test]
async fn a_silent_upstream_fails_the_login_within_its_bounds() {
    // Accepts TCP connections and never says a word (not even TLS).
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((c, _)) = silent.accept().await {
            conns.push(c);
        }
    });
    let emulator = start_emulator(EmulatorConfig::default()).await;
    let config = config_full(
        &format!("https://{silent_addr}"),
        "",
        IMPATIENT,
        "",
        ONE_TRY,
    );
    let env = start_gateway(emulator, config).await;

    let started = Instant::now();
    let r = env.query(SQL).await;
    let took = started.elapsed();
    assert_eq!(r.status, 502, "{}", r.text());
    let j = r.json();
    assert!(
        j.to_string().contains("jwt_bearer"),
        "names the failing step: {j}"
    );
    assert!(took < Duration::from_secs(4), "took {took:?}");
    let r = env.gw.get("/readyz", None).await.unwrap();
    assert_eq!(r.status, 503);
    let metrics = env.gw.get("/metrics", None).await.unwrap().text();
    let timeouts: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix(r#"dcgw_token_failures_total{kind="core",reason="timeout"} "#))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(timeouts >= 1, "{metrics}");
    held.abort();
    env.stop().await;
}

#[tokio::test]
async fn a_slow_upstream_answer_is_a_504_after_the_response_timeout() {
    let env = start_full(EmulatorConfig::default(), "", IMPATIENT, "", ONE_TRY).await;
    env.wait_ready().await;
    env.add_fault(
        json!({"method": "POST", "path": "/api/v2/query", "action": {"latencyMs": 4000}}),
    )
    .await;
    let started = Instant::now();
    let r = env.query(SQL).await;
    let took = started.elapsed();
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(
        r.json()["message"].is_string(),
        "tenant shape: {}",
        r.text()
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    env.stop().await;
}

/// A gateway (`server_extra` in `[server]`) whose upstream takes `latency_ms`
/// per query, shut down 300 ms into one query: how long the shutdown took,
/// the in-flight request, where the gateway listened, and the emulator.
async fn shut_down_mid_query(
    server_extra: &str,
    latency_ms: u64,
) -> (
    Duration,
    tokio::task::JoinHandle<std::io::Result<TestResponse>>,
    std::net::SocketAddr,
    dc_emulator::Emulator,
) {
    let env = start_full(EmulatorConfig::default(), server_extra, "", "", "").await;
    env.wait_ready().await;
    env.add_fault(
        json!({"method": "POST", "path": "/api/v2/query", "action": {"latencyMs": latency_ms}}),
    )
    .await;
    let Env {
        emulator,
        gateway,
        gw,
        ..
    } = env;
    let addr = gateway.addr();
    let body = json!({ "sql": SQL }).to_string();
    let in_flight = tokio::spawn(async move {
        gw.send(
            http::Method::POST,
            "/api/v2/query",
            &[("content-type", "application/json")],
            body,
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    gateway.shutdown().await;
    (started.elapsed(), in_flight, addr, emulator)
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish_then_stops_listening() {
    let (drained, in_flight, addr, emulator) = shut_down_mid_query("", 1000).await;
    let r = in_flight
        .await
        .unwrap()
        .expect("the in-flight request got its answer");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        drained >= Duration::from_millis(500),
        "drained in {drained:?}"
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still listening after shutdown"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_shutdown_drain_is_cut_off_after_the_grace_period() {
    let (took, stuck, _, emulator) = shut_down_mid_query("shutdown_grace_secs = 1", 20_000).await;
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "shutdown took {took:?}"
    );
    stuck.abort();
    emulator.shutdown().await;
}

#[tokio::test]
async fn upstream_certificates_are_verified_unless_a_flag_says_otherwise() {
    // No extra CA: the emulator's self-signed certificate is not trusted.
    let emulator = start_emulator(EmulatorConfig::default()).await;
    let config = config_full(emulator.base_url(), "", IMPATIENT, "", ONE_TRY);
    let env = start_gateway(emulator, config).await;
    let r = env.query(SQL).await;
    assert_eq!(r.status, 502, "{}", r.text());
    let text = r.text();
    assert!(text.contains("jwt_bearer"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("certificate"),
        "says why: {text}"
    );
    assert_eq!(
        env.count("tokenRequests").await,
        0,
        "no request got through"
    );
    let Env {
        emulator, gateway, ..
    } = env;
    gateway.shutdown().await;

    // insecure_skip_verify: the same upstream works (and is logged loudly).
    let upstream = format!("{IMPATIENT}\ninsecure_skip_verify = true");
    let config = config_full(emulator.base_url(), "", &upstream, "", ONE_TRY);
    assert!(config.upstream.insecure_skip_verify);
    let env = start_gateway(emulator, config).await;
    rows(&env.query(SQL).await);
    env.stop().await;
}
