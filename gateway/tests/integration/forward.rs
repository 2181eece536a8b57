//! Forwarding: the client's own credentials never go upstream, request ids
//! go both ways, unknown paths get Salesforce-shaped errors, and HTTP/2
//! works on the listener; bodies larger than the gateway buffers stream
//! through whole, both ways.

use bytes::Bytes;
use dc_emulator::EmulatorConfig;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::common::{rows, start, start_full, SQL};

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

/// A bulk CSV upload 50 times `server.max_buffered_body_bytes` (a buffered
/// body that size would be refused) streams to the upstream intact, and the
/// large answer reading it back streams to the client.
#[tokio::test]
async fn bodies_larger_than_the_buffer_stream_through_whole() {
    use http::Method;
    use serde_json::json;
    use std::fmt::Write;

    let env = start_full(
        EmulatorConfig::default(),
        "max_buffered_body_bytes = 8192",
        "",
        "",
        "",
    )
    .await;
    let jobs = "/api/v1/ingest/jobs";
    let json_ct = [("content-type", "application/json")];
    let job = json!({"object": "EngagementEvent", "sourceName": "Bridged", "operation": "upsert"});
    let r = env
        .gw
        .send(Method::POST, jobs, &json_ct, job.to_string())
        .await
        .unwrap();
    assert!(r.status.is_success(), "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();

    let rows_sent = 5000;
    let mut csv = String::from(
        "event_id,customer_email,event_type,event_timestamp,conversation_id,channel\n",
    );
    for i in 0..rows_sent {
        writeln!(
            csv,
            "evt_{i:05},lead{i}@example.com,lead_qualified,2026-04-19T10:00:00Z,conv_{i:05},whatsapp"
        )
        .unwrap();
    }
    assert!(csv.len() > 50 * 8192, "{}", csv.len());
    let r = env
        .gw
        .send(
            Method::PUT,
            &format!("{jobs}/{id}/batches"),
            &[("content-type", "text/csv")],
            csv,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 202, "{}", r.text());
    let r = env
        .gw
        .send(
            Method::PATCH,
            &format!("{jobs}/{id}"),
            &json_ct,
            json!({"state": "UploadComplete"}).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let mut state = String::new();
    for _ in 0..200 {
        let r = env.gw.get(&format!("{jobs}/{id}"), None).await.unwrap();
        state = r.json()["state"].as_str().unwrap_or_default().to_owned();
        if state == "JobComplete" {
            assert_eq!(
                r.json()["numberRecordsProcessed"],
                rows_sent,
                "{}",
                r.text()
            );
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "JobComplete");

    // Every row back, in one answer far larger than the buffer (no-store:
    // straight from upstream, not through the cache).
    let r = env
        .query_with(
            "SELECT event_id__c, customer_email__c, conversation_id__c FROM Bridged_EngagementEvent__dll ORDER BY event_id__c",
            &[("cache-control", "no-store")],
        )
        .await;
    assert_eq!(r.header("x-cache"), Some("BYPASS"));
    assert!(r.body.len() > 8 * 8192, "{}", r.body.len());
    let data = rows(&r);
    assert_eq!(data.len(), 2000, "the first V2 batch");
    assert_eq!(data[0][0], "evt_00000");
    assert_eq!(data[1999][2], "conv_01999");
    env.stop().await;
}

/// gzip passes through untouched where the gateway only forwards, and a
/// client that accepts gzip (as `cdp` and every `requests` client do) still
/// gets its queries cached: the gateway asks upstream for identity there.
#[tokio::test]
async fn gzip_passes_through_and_does_not_defeat_the_cache() {
    use std::io::Read;

    let env = start(EmulatorConfig::default(), "", "").await;
    let gz = [("accept-encoding", "gzip, deflate")];
    let r = env
        .gw
        .send(http::Method::GET, "/api/v1/metadata", &gz, Bytes::new())
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-encoding"),
        Some("gzip"),
        "{:?}",
        r.headers
    );
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&r.body[..])
        .read_to_string(&mut plain)
        .expect("a gzip stream");
    let j: serde_json::Value = serde_json::from_str(&plain).unwrap();
    assert!(
        j["metadata"].as_array().is_some_and(|m| !m.is_empty()),
        "{j}"
    );
    // The same call without gzip comes back plain, byte for byte the same JSON.
    let r = env.gw.get("/api/v1/metadata", None).await.unwrap();
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.json(), j);

    let sql = "SELECT ssot__Id__c, ssot__FirstName__c FROM UnifiedIndividual__dlm LIMIT 100";
    let first = env.query_with(sql, &gz).await;
    assert_eq!(first.header("x-cache"), Some("MISS"));
    let second = env.query_with(sql, &gz).await;
    assert_eq!(second.header("x-cache"), Some("HIT"));
    assert_eq!(rows(&second).len(), 100);
    env.stop().await;
}
