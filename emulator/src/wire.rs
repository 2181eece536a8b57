//! HTTP plumbing shared by every route: the buffered request type, parameter
//! merging (query string + form body, as Salesforce accepts both), bearer
//! token extraction and JSON responses.
//!
//! The server reads each body fully (under a byte cap) before routing, so
//! handlers work on plain bytes and never see a half-read stream.

use std::collections::HashMap;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;
use serde::Serialize;

/// The response type of every handler.
pub type Resp = Response<Full<Bytes>>;

/// A fully read request.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: Method,
    /// Path without the query string, percent-decoding left to the route.
    pub path: String,
    /// Raw query string (without `?`), empty when absent.
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    /// Query-string parameters, first value wins.
    pub fn query_params(&self) -> HashMap<String, String> {
        parse_urlencoded(self.query.as_bytes())
    }

    /// One query-string parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// OAuth-style parameters: the query string merged with a
    /// `application/x-www-form-urlencoded` body; the body wins on conflict.
    /// (`salesforce-cdp-connector` sends everything in the query string with
    /// an empty body; every other client sends a form body.)
    pub fn oauth_params(&self) -> HashMap<String, String> {
        let mut params = self.query_params();
        if !self.body.is_empty() && !self.is_json() {
            for (k, v) in form_urlencoded::parse(&self.body) {
                params.insert(k.into_owned(), v.into_owned());
            }
        }
        params
    }

    /// Whether the body is declared as JSON.
    pub fn is_json(&self) -> bool {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("json"))
    }

    /// The bearer token of the `Authorization` header (`Bearer x` or `OAuth x`).
    pub fn bearer(&self) -> Option<&str> {
        let value = self.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth") {
            let token = token.trim();
            (!token.is_empty()).then_some(token)
        } else {
            None
        }
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Parses `a=1&b=2`, first value wins.
pub fn parse_urlencoded(input: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(input) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// A JSON response with the given status.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Resp {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = Response::new(Full::new(Bytes::from(bytes)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    resp
}

/// A 200 JSON response.
pub fn ok_json<T: Serialize + ?Sized>(body: &T) -> Resp {
    json_response(StatusCode::OK, body)
}
