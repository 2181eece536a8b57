//! What may be cached: pure functions over paths, request headers and upstream
//! responses. Nothing here touches the cache itself, so every rule is unit
//! tested on its own.
//!
//! Rules: only the query endpoints are cacheable ([`QueryEndpoint`]); a
//! request's `Cache-Control: no-store` skips the cache entirely and
//! `no-cache` (or `max-age=0`, or `Pragma: no-cache`) fetches fresh and
//! stores the fresh answer ([`RequestDirective`]); only a `200`, unencoded,
//! complete answer is stored ([`storability`]). "Complete" depends on the API:
//! V1 answers are single-shot; V2/`queryv2` answers with `done:false` are
//! complete only after the remaining batches were fetched (see `pages.rs`);
//! a `query-sql` answer is stored only when it already holds every row, since
//! its follow-up `…/{queryId}/rows` calls are passed through, not cached.

use http::header::{CACHE_CONTROL, CONTENT_ENCODING, PRAGMA};
use http::{HeaderMap, StatusCode};

/// A cacheable query endpoint (always a `POST`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryEndpoint {
    /// `POST /api/v1/query` on the tenant host.
    TenantV1,
    /// `POST /api/v2/query` on the tenant host (paged by `nextBatchId`).
    TenantV2,
    /// `POST /services/data/vNN.N/ssot/query` on the core host.
    ConnectV1,
    /// `POST /services/data/vNN.N/ssot/queryv2` on the core host (paged by `nextBatchId`).
    ConnectV2,
    /// `POST /services/data/vNN.N/ssot/query-sql` on the core host.
    QuerySql,
}

impl QueryEndpoint {
    /// Classifies a request path (without query string). Returns the endpoint and
    /// its API version (`"v1"`, `"v2"` or the Connect version such as `"v64.0"`).
    pub fn classify(path: &str) -> Option<(Self, &str)> {
        match path {
            "/api/v1/query" => return Some((Self::TenantV1, "v1")),
            "/api/v2/query" => return Some((Self::TenantV2, "v2")),
            _ => {}
        }
        let (version, resource) = connect_parts(path)?;
        let endpoint = match resource {
            "ssot/query" => Self::ConnectV1,
            "ssot/queryv2" => Self::ConnectV2,
            "ssot/query-sql" => Self::QuerySql,
            _ => return None,
        };
        Some((endpoint, version))
    }

    /// Recognises a next-batch `GET` path: `/api/v2/query/{id}` or
    /// `/services/data/vNN.N/ssot/queryv2/{id}`. Returns the endpoint the batch
    /// belongs to and the (still percent-encoded) batch id.
    pub fn next_batch_path(path: &str) -> Option<(Self, &str)> {
        if let Some(id) = path.strip_prefix("/api/v2/query/") {
            return (!id.is_empty() && !id.contains('/')).then_some((Self::TenantV2, id));
        }
        let (_, resource) = connect_parts(path)?;
        let id = resource.strip_prefix("ssot/queryv2/")?;
        (!id.is_empty() && !id.contains('/')).then_some((Self::ConnectV2, id))
    }

    /// Whether answers come in batches linked by `nextBatchId`.
    pub fn is_paged(self) -> bool {
        matches!(self, Self::TenantV2 | Self::ConnectV2)
    }

    /// Stable name, used in keys, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TenantV1 => "api-v1-query",
            Self::TenantV2 => "api-v2-query",
            Self::ConnectV1 => "ssot-query",
            Self::ConnectV2 => "ssot-queryv2",
            Self::QuerySql => "ssot-query-sql",
        }
    }
}

/// Splits `/services/data/vNN.N/<resource>` into (`vNN.N`, `<resource>`).
fn connect_parts(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/services/data/")?;
    let (version, resource) = rest.split_once('/')?;
    let digits = version.strip_prefix('v')?;
    let valid = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    valid.then_some((version, resource))
}

/// What the client asked of the cache through request headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestDirective {
    /// Read the cache, fill it on a miss.
    Normal,
    /// `no-cache`: skip the read, fetch upstream, store the fresh answer.
    Refresh,
    /// `no-store`: neither read nor write.
    NoStore,
}

/// Reads `Cache-Control` (and `Pragma: no-cache` when there is no
/// `Cache-Control`, as HTTP/1.0 clients send it).
pub fn request_directive(headers: &HeaderMap) -> RequestDirective {
    let mut directive = RequestDirective::Normal;
    let mut saw_cache_control = false;
    for value in headers.get_all(CACHE_CONTROL) {
        saw_cache_control = true;
        let Ok(text) = value.to_str() else { continue };
        for token in text.split(',') {
            let token = token.trim();
            if token.eq_ignore_ascii_case("no-store") {
                return RequestDirective::NoStore;
            }
            if token.eq_ignore_ascii_case("no-cache") || token.eq_ignore_ascii_case("max-age=0") {
                directive = RequestDirective::Refresh;
            }
        }
    }
    if !saw_cache_control {
        let pragma_no_cache = headers.get_all(PRAGMA).iter().any(|v| {
            v.to_str().is_ok_and(|t| {
                t.split(',')
                    .any(|p| p.trim().eq_ignore_ascii_case("no-cache"))
            })
        });
        if pragma_no_cache {
            directive = RequestDirective::Refresh;
        }
    }
    directive
}

/// Whether the request asks for Arrow batches (`enable-arrow-stream: true`),
/// which changes the answer's shape and so is part of the key.
pub fn wants_arrow(headers: &HeaderMap) -> bool {
    headers
        .get("enable-arrow-stream")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Why a request or answer bypassed the cache (for logs and debugging).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BypassReason {
    Disabled,
    NoStore,
    /// `no-cache`: fetched fresh (and stored when storable).
    Refresh,
    BodyNotJson,
    NoSql,
    SqlUnparsable,
    NotSingleStatement,
    NotReadOnly,
}

impl BypassReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => "cache disabled",
            Self::NoStore => "no-store",
            Self::Refresh => "no-cache refresh",
            Self::BodyNotJson => "body is not a JSON object",
            Self::NoSql => "body has no string sql",
            Self::SqlUnparsable => "sql does not parse",
            Self::NotSingleStatement => "not exactly one statement",
            Self::NotReadOnly => "not a read-only query",
        }
    }
}

/// Whether an upstream answer may be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storability {
    /// Store as is.
    Complete,
    /// A first batch with `done:false`: store only after fetching the rest,
    /// starting with this upstream `nextBatchId`.
    MoreBatches(String),
    /// Pass through without storing.
    No(&'static str),
}

/// Decides whether an upstream answer to `endpoint` may be stored.
pub fn storability(
    endpoint: QueryEndpoint,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Storability {
    if status != StatusCode::OK {
        return Storability::No("status is not 200");
    }
    let encoded = headers
        .get(CONTENT_ENCODING)
        .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"));
    if encoded {
        return Storability::No("content-encoded answer");
    }
    let no_store = headers.get_all(CACHE_CONTROL).iter().any(|v| {
        v.to_str().is_ok_and(|t| {
            t.split(',').any(|p| {
                let p = p.trim();
                p.eq_ignore_ascii_case("no-store") || p.eq_ignore_ascii_case("private")
            })
        })
    });
    if no_store {
        return Storability::No("upstream said no-store");
    }
    match endpoint {
        QueryEndpoint::TenantV1 | QueryEndpoint::ConnectV1 => Storability::Complete,
        QueryEndpoint::TenantV2 | QueryEndpoint::ConnectV2 => batch_storability(body),
        QueryEndpoint::QuerySql => query_sql_storability(body),
    }
}

/// The two members of a V2 answer that decide whether it is complete. Read
/// without building the answer as a `serde_json::Value`: the rows (most of
/// the bytes) are skipped, not allocated — this runs on every miss.
#[derive(serde::Deserialize)]
struct BatchHead<'a> {
    #[serde(borrow, default)]
    done: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default, rename = "nextBatchId")]
    next_batch_id: Option<&'a serde_json::value::RawValue>,
}

fn batch_storability(body: &[u8]) -> Storability {
    let is_object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let head = match serde_json::from_slice::<BatchHead<'_>>(body) {
        Ok(head) if is_object => head,
        _ => return Storability::No("answer is not a JSON object"),
    };
    match head.done.map(|raw| raw.get()) {
        Some("true") => Storability::Complete,
        Some("false") => {
            let id = head
                .next_batch_id
                .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok());
            match id {
                Some(id) if !id.is_empty() => Storability::MoreBatches(id),
                _ => Storability::No("done:false without nextBatchId"),
            }
        }
        _ => Storability::No("answer has no boolean done"),
    }
}

fn query_sql_storability(body: &[u8]) -> Storability {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Storability::No("answer is not JSON");
    };
    let status = &value["status"];
    let finished = status["completionStatus"].as_str().is_some_and(|s| {
        let s = s.to_ascii_uppercase().replace('_', "");
        s == "RESULTSPRODUCED" || s == "FINISHED"
    });
    if !finished {
        return Storability::No("query-sql result not finished");
    }
    let total = status["rowCount"].as_u64();
    let returned = value["returnedRows"]
        .as_u64()
        .or_else(|| value["data"].as_array().map(|rows| rows.len() as u64));
    match (total, returned) {
        (Some(total), Some(returned)) if returned >= total => Storability::Complete,
        _ => Storability::No("query-sql result needs more row pages"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn classifies_query_paths() {
        assert_eq!(
            QueryEndpoint::classify("/api/v2/query"),
            Some((QueryEndpoint::TenantV2, "v2"))
        );
        assert_eq!(
            QueryEndpoint::classify("/api/v1/query"),
            Some((QueryEndpoint::TenantV1, "v1"))
        );
        assert_eq!(
            QueryEndpoint::classify("/services/data/v64.0/ssot/query-sql"),
            Some((QueryEndpoint::QuerySql, "v64.0"))
        );
        assert_eq!(
            QueryEndpoint::classify("/services/data/v60.0/ssot/queryv2"),
            Some((QueryEndpoint::ConnectV2, "v60.0"))
        );
        assert_eq!(
            QueryEndpoint::classify("/services/data/x/ssot/queryv2"),
            None
        );
        assert_eq!(QueryEndpoint::classify("/api/v1/metadata"), None);
        assert_eq!(
            QueryEndpoint::next_batch_path("/api/v2/query/abc-1"),
            Some((QueryEndpoint::TenantV2, "abc-1"))
        );
        assert_eq!(
            QueryEndpoint::next_batch_path("/services/data/v61.0/ssot/queryv2/xyz"),
            Some((QueryEndpoint::ConnectV2, "xyz"))
        );
        assert_eq!(QueryEndpoint::next_batch_path("/api/v2/query/"), None);
        assert_eq!(QueryEndpoint::next_batch_path("/api/v2/query/a/b"), None);
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn reads_request_directives() {
        assert_eq!(request_directive(&headers(&[])), RequestDirective::Normal);
        assert_eq!(
            request_directive(&headers(&[("cache-control", "No-Cache")])),
            RequestDirective::Refresh
        );
        assert_eq!(
            request_directive(&headers(&[("cache-control", "max-age=0")])),
            RequestDirective::Refresh
        );
        assert_eq!(
            request_directive(&headers(&[("cache-control", "no-cache, no-store")])),
            RequestDirective::NoStore
        );
        assert_eq!(
            request_directive(&headers(&[("pragma", "no-cache")])),
            RequestDirective::Refresh
        );
        assert_eq!(
            request_directive(&headers(&[
                ("cache-control", "max-age=60"),
                ("pragma", "no-cache")
            ])),
            RequestDirective::Normal
        );
        assert!(wants_arrow(&headers(&[("enable-arrow-stream", "TRUE")])));
        assert!(!wants_arrow(&headers(&[("enable-arrow-stream", "false")])));
    }

    #[test]
    fn stores_only_complete_200_answers() {
        let ok = StatusCode::OK;
        let none = HeaderMap::new();
        let v2_done = br#"{"data":[],"done":true,"nextBatchId":""}"#;
        let v2_more = br#"{"data":[],"done":false,"nextBatchId":"b1"}"#;
        let ep = QueryEndpoint::TenantV2;
        assert_eq!(storability(ep, ok, &none, v2_done), Storability::Complete);
        assert_eq!(
            storability(ep, ok, &none, v2_more),
            Storability::MoreBatches("b1".into())
        );
        assert!(matches!(
            storability(ep, StatusCode::BAD_REQUEST, &none, v2_done),
            Storability::No(_)
        ));
        let gz = headers(&[("content-encoding", "gzip")]);
        assert!(matches!(
            storability(ep, ok, &gz, v2_done),
            Storability::No(_)
        ));
        let private = headers(&[("cache-control", "private")]);
        assert!(matches!(
            storability(ep, ok, &private, v2_done),
            Storability::No(_)
        ));
        assert!(matches!(
            storability(ep, ok, &none, b"{}"),
            Storability::No(_)
        ));
        assert!(matches!(
            storability(ep, ok, &none, br#"{"done":false}"#),
            Storability::No(_)
        ));
        assert_eq!(
            storability(QueryEndpoint::TenantV1, ok, &none, b"anything"),
            Storability::Complete
        );
        // Shapes the head-only parser must not misread.
        for body in [
            &br#"[true,"b1"]"#[..],
            br#"{"done":"true","nextBatchId":""}"#,
            br#"{"done":false,"nextBatchId":7}"#,
            br#"{"done":false,"nextBatchId":null}"#,
            br#"{"done":true} trailing"#,
            b"not json",
        ] {
            assert!(
                matches!(storability(ep, ok, &none, body), Storability::No(_)),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(
            storability(
                ep,
                ok,
                &none,
                br#" {"nextBatchId":"a\/b","rows":[{"x":[1,{"done":true}]}],"done":false}"#
            ),
            Storability::MoreBatches("a/b".into()),
            "escapes decoded, nested members ignored, order free"
        );
    }

    #[test]
    fn query_sql_is_stored_only_when_all_rows_are_in() {
        let ep = QueryEndpoint::QuerySql;
        let ok = StatusCode::OK;
        let none = HeaderMap::new();
        let all = br#"{"data":[[1],[2]],"returnedRows":2,"status":{"completionStatus":"ResultsProduced","rowCount":2}}"#;
        let part = br#"{"data":[[1]],"returnedRows":1,"status":{"completionStatus":"RESULTS_PRODUCED","rowCount":2}}"#;
        let running =
            br#"{"data":[],"returnedRows":0,"status":{"completionStatus":"Running","rowCount":0}}"#;
        assert_eq!(storability(ep, ok, &none, all), Storability::Complete);
        assert!(matches!(
            storability(ep, ok, &none, part),
            Storability::No(_)
        ));
        assert!(matches!(
            storability(ep, ok, &none, running),
            Storability::No(_)
        ));
    }
}
