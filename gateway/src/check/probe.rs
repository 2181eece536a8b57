//! The two tenant-host calls of `check`: the guide's test query
//! (`POST /api/v2/query`) and the optional test ingest of one EngagementEvent
//! (`POST /api/v1/ingest/sources/{source}/EngagementEvent`), both with the
//! Data Cloud token the exchange step obtained, through the gateway's own
//! upstream client (same TLS trust, same timeouts as `serve`).

use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::auth::Token;
use crate::body::Body;
use crate::proxy::upstream::{error_chain, Upstream, UpstreamError};

/// Largest answer `check` reads (one row, or an error body).
const MAX_ANSWER: usize = 1 << 20;

/// What a tenant endpoint answered.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The error message a client would show: the tenant shape's `message`,
    /// an OAuth `error_description`, a core-array `message`, or the start of
    /// the body.
    pub fn message(&self) -> String {
        let json = self.json();
        let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        json.as_ref()
            .and_then(|j| {
                field(j, "message")
                    .or_else(|| field(j, "error_description"))
                    .or_else(|| j.get(0).and_then(|e| field(e, "message")))
            })
            .unwrap_or_else(|| {
                let text = String::from_utf8_lossy(&self.body);
                let text = text.trim();
                match text.char_indices().nth(200) {
                    Some((i, _)) => format!("{}…", &text[..i]),
                    None => text.to_owned(),
                }
            })
    }
}

/// The tenant endpoint, reached with a Data Cloud token.
pub struct Tenant<'a> {
    pub upstream: &'a Upstream,
    pub token: &'a Token,
    /// Bound on reading an answer's body (the head is bounded by `upstream`).
    pub timeout: Duration,
}

impl Tenant<'_> {
    /// `POST https://{tenant}/api/v2/query` with `{"sql": sql}`.
    pub async fn query(&self, sql: &str) -> Result<Answer, UpstreamError> {
        let body = json!({ "sql": sql }).to_string();
        self.post_json("/api/v2/query", body).await
    }

    /// `POST https://{tenant}/api/v1/ingest/sources/{source}/EngagementEvent`
    /// with one record.
    pub async fn ingest(&self, source: &str, record: &Value) -> Result<Answer, UpstreamError> {
        let path = format!("/api/v1/ingest/sources/{source}/EngagementEvent");
        let body = json!({ "data": [record] }).to_string();
        self.post_json(&path, body).await
    }

    async fn post_json(&self, path: &str, body: String) -> Result<Answer, UpstreamError> {
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("https://{}{path}", self.token.authority))
            .header(header::AUTHORIZATION, self.token.bearer().clone())
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )
            .header(header::ACCEPT, HeaderValue::from_static("application/json"))
            .body(Body::full(body))
            .map_err(|e| UpstreamError::Request(error_chain(&e)))?;
        let resp = self.upstream.send(req).await?;
        let status = resp.status();
        let body = tokio::time::timeout(
            self.timeout,
            Limited::new(resp.into_body(), MAX_ANSWER).collect(),
        )
        .await
        .map_err(|_| UpstreamError::Timeout(self.timeout))?
        .map_err(|e| UpstreamError::Body(e.to_string()))?
        .to_bytes();
        Ok(Answer { status, body })
    }
}

/// The guide's Step 8.4 example record with a fresh `event_id` and the
/// current time, so repeated checks do not overwrite one another.
pub fn test_event() -> Value {
    let bytes: [u8; 8] = rand::random();
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    json!({
        "event_id": format!("evt_check_{id}"),
        "customer_email": "lead@example.com",
        "event_type": "lead_qualified",
        "event_timestamp": now.format(&Rfc3339).unwrap_or_default(),
        "conversation_id": "conv_67890",
        "channel": "whatsapp",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_from_every_error_shape() {
        let a = |s: &str| Answer {
            status: StatusCode::BAD_REQUEST,
            body: Bytes::copy_from_slice(s.as_bytes()),
        };
        assert_eq!(a(r#"{"error":"Forbidden","message":"no"}"#).message(), "no");
        assert_eq!(
            a(r#"[{"errorCode":"X","message":"core says"}]"#).message(),
            "core says"
        );
        assert_eq!(a(r#"{"error":"e","error_description":"d"}"#).message(), "d");
        assert_eq!(a("<html>").message(), "<html>");
        assert!(a(&"x".repeat(500)).message().ends_with('…'));
    }

    #[test]
    fn test_events_are_fresh() {
        let (a, b) = (test_event(), test_event());
        assert_ne!(a["event_id"], b["event_id"]);
        assert_eq!(a["event_type"], "lead_qualified");
        assert!(a["event_timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
