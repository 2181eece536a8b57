//! The server shell over real sockets: TLS with a generated certificate,
//! HTTP/1.1 and HTTP/2, health, error shapes for unknown paths, wrong methods
//! and oversize bodies, plain-HTTP mode, silent clients cut off after the
//! request-head timeout, and the binary's start line and graceful exit on
//! SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use bytes::Bytes;
use dc_emulator::testing::TestClient;
use dc_emulator::{Emulator, EmulatorConfig, TlsMode};
use http::{Method, StatusCode};
use tokio::net::TcpListener;

async fn start(config: EmulatorConfig) -> (Emulator, TestClient) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emu = Emulator::start(config, listener)
        .await
        .expect("emulator starts");
    let client = TestClient::new(emu.addr(), emu.cert_pem());
    (emu, client)
}

#[tokio::test]
async fn health_over_tls_with_generated_certificate() {
    let (emu, client) = start(EmulatorConfig::default()).await;
    assert!(emu.base_url().starts_with("https://127.0.0.1:"));
    let pem_file = std::fs::read_to_string(emu.cert_path().unwrap()).unwrap();
    assert_eq!(
        pem_file,
        emu.cert_pem().unwrap(),
        "the printed PEM file is the served certificate"
    );
    let resp = client.get("/__emulator/health", None).await.unwrap();
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.json()["status"], "UP");
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    emu.shutdown().await;
}

#[tokio::test]
async fn http2_is_negotiated_by_alpn() {
    let (emu, _) = start(EmulatorConfig::default()).await;
    let config = dc_emulator::tls::client_config_trusting(emu.cert_pem().unwrap()).unwrap();
    assert!(config.alpn_protocols.contains(&b"h2".to_vec()));
    let connector = tokio_rustls::TlsConnector::from(config);
    let tcp = tokio::net::TcpStream::connect(emu.addr()).await.unwrap();
    let tls = connector
        .connect(rustls_pki_types::ServerName::from(emu.addr().ip()), tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let req = http::Request::get(format!("https://{}/__emulator/health", emu.addr()))
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.version(), http::Version::HTTP_2);
    emu.shutdown().await;
}

#[tokio::test]
async fn tls_1_2_is_accepted() {
    let (emu, _) = start(EmulatorConfig::default()).await;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types::pem::PemObject::pem_slice_iter(emu.cert_pem().unwrap().as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS12])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(emu.addr()).await.unwrap();
    let tls = connector
        .connect(rustls_pki_types::ServerName::from(emu.addr().ip()), tcp)
        .await
        .unwrap();
    assert_eq!(
        tls.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn errors_take_the_shape_of_the_host_role() {
    let (emu, client) = start(EmulatorConfig::default()).await;

    let tenant = client.get("/api/v9/nothing", None).await.unwrap();
    assert_eq!(tenant.status, StatusCode::NOT_FOUND);
    assert_eq!(tenant.json()["error"], "Not Found");
    assert!(tenant.json()["timestamp"].is_string());

    let core = client
        .get("/services/data/v61.0/nothing", None)
        .await
        .unwrap();
    assert_eq!(core.status.as_u16() / 100, 4);
    assert!(
        core.json()[0]["errorCode"].is_string(),
        "core errors are arrays: {}",
        core.text()
    );

    let wrong = client.get("/services/oauth2/token", None).await.unwrap();
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(wrong.json()["error"].is_string() && wrong.json()["error_description"].is_string());

    let wrong_tenant = client.get("/api/v2/query", None).await.unwrap();
    assert_eq!(wrong_tenant.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        wrong_tenant.json()["message"],
        "Request method 'GET' not supported"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn oversize_bodies_are_refused_with_413() {
    let config = EmulatorConfig {
        max_body_bytes: 1024,
        ..EmulatorConfig::default()
    };
    let (emu, client) = start(config).await;
    let big = vec![b'x'; 4096];
    let resp = client
        .send(
            Method::POST,
            "/api/v2/query",
            &[("content-type", "application/json")],
            big,
        )
        .await
        .unwrap();
    assert_eq!(resp.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(resp.json()["error"], "Payload Too Large");
    // The server is still healthy afterwards.
    let ok = client.get("/__emulator/health", None).await.unwrap();
    assert_eq!(ok.status, StatusCode::OK);
    emu.shutdown().await;
}

#[tokio::test]
async fn plain_http_mode() {
    let config = EmulatorConfig {
        tls: TlsMode::Plain,
        ..EmulatorConfig::default()
    };
    let (emu, client) = start(config).await;
    assert!(emu.base_url().starts_with("http://127.0.0.1:"));
    assert!(emu.cert_pem().is_none());
    let resp = client.get("/__emulator/health", None).await.unwrap();
    assert_eq!(resp.status, StatusCode::OK);
    emu.shutdown().await;
}

/// A client that connects and never sends a byte (with TLS: after a full
/// handshake) is cut off after `header_read_timeout`.
#[tokio::test]
async fn silent_clients_are_cut_off_after_the_head_timeout() {
    use tokio::io::AsyncReadExt;
    for tls in [TlsMode::Generate { dir: None }, TlsMode::Plain] {
        let plain = matches!(tls, TlsMode::Plain);
        let config = EmulatorConfig {
            tls,
            header_read_timeout: std::time::Duration::from_secs(1),
            ..EmulatorConfig::default()
        };
        let (emu, _) = start(config).await;
        let tcp = tokio::net::TcpStream::connect(emu.addr()).await.unwrap();
        let started = std::time::Instant::now();
        let mut buf = [0u8; 64];
        let read = async {
            if plain {
                let mut tcp = tcp;
                loop {
                    if matches!(tcp.read(&mut buf).await, Ok(0) | Err(_)) {
                        return;
                    }
                }
            }
            let config = dc_emulator::tls::client_config_trusting(emu.cert_pem().unwrap()).unwrap();
            let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
            let mut s = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .expect("handshake");
            loop {
                if matches!(s.read(&mut buf).await, Ok(0) | Err(_)) {
                    return;
                }
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(5), read)
            .await
            .unwrap_or_else(|_| panic!("plain={plain}: connection held past 5 s"));
        assert!(started.elapsed() >= std::time::Duration::from_millis(900));
        emu.shutdown().await;
    }
}

#[test]
fn binary_prints_its_url_and_exits_zero_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("dcemu-bin-test-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_dc-emulator"))
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
    assert!(
        line.starts_with("dc-emulator listening on https://127.0.0.1:"),
        "{line}"
    );
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let pem = std::fs::read_to_string(dir.join(format!("dc-emulator-{port}.pem"))).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        let client = TestClient::new(format!("127.0.0.1:{port}").parse().unwrap(), Some(&pem));
        client.get("/__emulator/health", None).await.unwrap().status
    });
    assert_eq!(status, StatusCode::OK);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit status {exit:?}");
    let _ = std::fs::remove_dir_all(dir);
}
