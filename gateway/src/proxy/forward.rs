//! Forward: rewrite a client request for the upstream host and the upstream
//! response for the client.
//!
//! Hop-by-hop headers (RFC 9110 §7.6.1) are removed in both directions:
//! `Connection` and every header it lists, `Keep-Alive`, `TE`, `Trailer`,
//! `Transfer-Encoding`, `Upgrade`, `Proxy-*`. The client's `Authorization`
//! (and `x-api-key`) never go upstream; the gateway's token does. `Host` is
//! rebuilt from the upstream URI. Bodies and `Content-Encoding` pass through
//! untouched, so gzip stays gzip. `x-request-id` goes both ways.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::Response;
use hyper::body::Incoming;

use super::context::X_REQUEST_ID;
use crate::body::Body;

/// The API-key header clients may use instead of `Authorization`.
pub const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

/// Removes hop-by-hop headers, including those named by `Connection`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        KEEP_ALIVE,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ] {
        headers.remove(name);
    }
    // Any other Proxy-* header (e.g. Proxy-Connection).
    let proxy: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("proxy-"))
        .cloned()
        .collect();
    for name in proxy {
        headers.remove(name);
    }
}

/// The client's headers as they should go upstream (without the token).
pub fn upstream_headers(client: &HeaderMap, request_id: &HeaderValue) -> HeaderMap {
    let mut headers = client.clone();
    strip_hop_by_hop(&mut headers);
    headers.remove(header::HOST);
    headers.remove(header::AUTHORIZATION);
    headers.remove(X_API_KEY);
    headers.insert(X_REQUEST_ID, request_id.clone());
    headers
}

/// The upstream response as the client gets it: hop-by-hop headers removed,
/// body streamed, `x-request-id` set.
pub fn downstream_response(resp: Response<Incoming>, request_id: &HeaderValue) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.insert(X_REQUEST_ID, request_id.clone());
    Response::from_parts(parts, Body::Stream(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_hop_by_hop_and_credentials() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret-hop"),
        );
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        h.insert(header::TRAILER, HeaderValue::from_static("x"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(header::UPGRADE, HeaderValue::from_static("h2c"));
        h.insert("proxy-connection", HeaderValue::from_static("keep-alive"));
        h.insert(header::PROXY_AUTHORIZATION, HeaderValue::from_static("x"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer client"),
        );
        h.insert(X_API_KEY, HeaderValue::from_static("k"));
        h.insert(header::HOST, HeaderValue::from_static("gw"));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let out = upstream_headers(&h, &HeaderValue::from_static("rid"));
        let names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert_eq!(out[header::ACCEPT_ENCODING], "gzip");
        assert_eq!(out[header::CONTENT_TYPE], "application/json");
        assert_eq!(out[X_REQUEST_ID], "rid");
    }
}
