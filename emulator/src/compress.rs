//! gzip of responses for clients that accept it, as Salesforce does (the
//! `cdp` connector sends `Accept-Encoding: gzip` on every call). Small bodies
//! (under [`MIN_BYTES`]) and bodies already encoded stay as they are; a
//! compressed answer says `Content-Encoding: gzip` and `Vary: Accept-Encoding`.

use bytes::Bytes;
use http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, VARY};
use http::{HeaderMap, HeaderValue, Response};
use http_body_util::{BodyExt, Full};
use std::io::Write;

use crate::wire::Resp;

/// Bodies shorter than this are not worth a gzip header and a CPU pass.
pub const MIN_BYTES: usize = 1024;

/// Whether `Accept-Encoding` lists `gzip` (or `x-gzip`, or `*`) with a
/// non-zero quality.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let q_zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    == Some(0.0)
            });
            !q_zero
                && (coding.eq_ignore_ascii_case("gzip")
                    || coding.eq_ignore_ascii_case("x-gzip")
                    || coding == "*")
        })
}

/// `resp` gzipped when it is large enough and not already encoded.
pub async fn gzip(resp: Resp) -> Resp {
    if resp.headers().contains_key(CONTENT_ENCODING) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    // A Full body is ready at once; this never waits.
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    if bytes.len() < MIN_BYTES {
        return Response::from_parts(parts, Full::new(bytes));
    }
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::fast(),
    );
    let compressed = match encoder.write_all(&bytes).and_then(|()| encoder.finish()) {
        Ok(c) => c,
        // Writing to a Vec does not fail; if it ever did, send it plain.
        Err(_) => return Response::from_parts(parts, Full::new(bytes)),
    };
    parts
        .headers
        .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    parts
        .headers
        .append(VARY, HeaderValue::from_static("Accept-Encoding"));
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Full::new(Bytes::from(compressed)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        m
    }

    #[test]
    fn reads_accept_encoding() {
        assert!(accepts_gzip(&h("gzip")));
        assert!(accepts_gzip(&h("gzip, deflate")));
        assert!(accepts_gzip(&h("deflate, GZIP;q=0.5")));
        assert!(accepts_gzip(&h("*")));
        assert!(!accepts_gzip(&h("gzip;q=0")));
        assert!(!accepts_gzip(&h("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[tokio::test]
    async fn large_bodies_are_gzipped_small_ones_kept() {
        let big = "x".repeat(5000);
        let resp = gzip(Response::new(Full::new(Bytes::from(big.clone())))).await;
        assert_eq!(resp.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(resp.headers()[VARY], "Accept-Encoding");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(body.len() < 200);
        let mut plain = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, big);

        let resp = gzip(Response::new(Full::new(Bytes::from_static(b"{}")))).await;
        assert!(!resp.headers().contains_key(CONTENT_ENCODING));
    }
}
