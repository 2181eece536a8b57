//! Forwarding: the client's own credentials never go upstream, request ids
//! go both ways, unknown paths get Salesforce-shaped errors, and HTTP/2
//! works on the listener.

use bytes::Bytes;
use dc_emulator::EmulatorConfig;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::common::{rows, start, SQL};

#[tokio::test]
async fn the_clients_authorization_is_replaced_and_request_ids_kept() {
    let env = start(EmulatorConfig::default(), "", "").await;
    let r = env
        .query_with(
            SQL,
            &[
                ("authorization", "Bearer not-a-salesforce-token"),
                ("x-request-id", "test-req-42"),
                ("connection", "x-hop"),
                ("x-hop", "1"),
            ],
        )
        .await;
    rows(&r);
    assert_eq!(r.header("x-request-id"), Some("test-req-42"));
    env.stop().await;
}

#[tokio::test]
async fn errors_come_in_the_shape_of_the_path() {
    let env = start(EmulatorConfig::default(), "", "").await;
    let r = env.gw.get("/nope", None).await.unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "Not Found");
    assert!(r.json()["timestamp"].is_string());

    // Upstream errors pass through unchanged (here the emulator's core shape).
    let r = env
        .gw
        .get("/services/data/v64.0/ssot/no-such-thing", None)
        .await
        .unwrap();
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.json()[0]["errorCode"].is_string(), "{}", r.text());

    // A bad SQL statement: the emulator's tenant error, passed through.
    let r = env.query("SELECT FROM WHERE").await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.json()["message"].is_string());

    let r = env
        .gw
        .send(
            http::Method::GET,
            "/services/oauth2/token",
            &[],
            Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["error"], "invalid_request");
    env.stop().await;
}

#[tokio::test]
async fn the_listener_speaks_http2() {
    let env = start(EmulatorConfig::default(), "", "").await;
    let mut tls =
        (*dc_emulator::tls::client_config_trusting(env.gateway.cert_pem()).unwrap()).clone();
    tls.alpn_protocols.clear();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http2()
        .build();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build(connector);
    let req = http::Request::post(format!("{}/api/v2/query", env.gateway.base_url()))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            serde_json::json!({"sql": SQL}).to_string(),
        )))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let j: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(j["data"].as_array().map(Vec::len), Some(5));
    env.stop().await;
}
