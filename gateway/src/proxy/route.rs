//! Classify: what a request is, from its method and path alone — which host
//! role it targets (tenant `/api`, core `/services/data`, the OAuth facade,
//! the gateway's own health routes), which operation it performs, and so
//! which error shape it gets. Pure functions, no I/O.

use http::Method;

/// What the request does, for policy, cache and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Submits SQL in a JSON body (`{"sql": …}`).
    Query,
    /// Continues a query (next batch, status, rows, cancel).
    QueryMore,
    /// Metadata and query-config reads.
    Metadata,
    /// Ingestion API (streaming or bulk).
    Ingest,
    /// Anything else on the host.
    Other,
}

/// The route of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Healthz,
    Readyz,
    /// `/services/oauth2/token` on the facade.
    OAuthToken,
    /// `/services/a360/token` on the facade.
    A360Token,
    /// `/services/oauth2/revoke` on the facade.
    Revoke,
    /// `/api/...` → the Data Cloud tenant endpoint.
    Tenant(Op),
    /// `/services/data/...` → the core instance.
    Core(Op),
    /// `GET /metrics` (Prometheus text).
    Metrics,
    /// `DELETE /__gateway/cache[?table=Name]`.
    CachePurge,
    NotFound,
}

/// Every route label, in `Route::ordinal` order (metrics registers them).
pub const LABELS: [&str; 19] = [
    "healthz",
    "readyz",
    "facade.token",
    "facade.a360",
    "facade.revoke",
    "tenant.query",
    "tenant.query_more",
    "tenant.metadata",
    "tenant.ingest",
    "tenant.other",
    "core.query",
    "core.query_more",
    "core.metadata",
    "core.ingest",
    "core.other",
    "metrics",
    "cache.purge",
    "not_found",
    "other",
];

/// The JSON error shape a route answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `{timestamp, error, message, …}` (tenant host, and the gateway's own routes).
    Tenant,
    /// `[{errorCode, message}]` (core host).
    Core,
    /// `{error, error_description}` (token endpoints).
    OAuth,
}

impl Route {
    /// Classifies a request.
    pub fn classify(method: &Method, path: &str) -> Route {
        let mut segs = path.trim_start_matches('/').split('/');
        match (segs.next(), segs.next()) {
            (Some("healthz"), None) => Route::Healthz,
            (Some("metrics"), None) => Route::Metrics,
            (Some("__gateway"), Some("cache")) if segs.next().is_none() => Route::CachePurge,
            (Some("readyz"), None) => Route::Readyz,
            (Some("api"), Some(_version)) => Route::Tenant(tenant_op(method, path)),
            (Some("services"), Some("oauth2")) => match segs.next() {
                Some("token") => Route::OAuthToken,
                Some("revoke") => Route::Revoke,
                _ => Route::NotFound,
            },
            (Some("services"), Some("a360")) => match segs.next() {
                Some("token") => Route::A360Token,
                _ => Route::NotFound,
            },
            (Some("services"), Some("data")) => Route::Core(core_op(method, path)),
            _ => Route::NotFound,
        }
    }

    /// Position in [`LABELS`].
    pub fn ordinal(&self) -> usize {
        let op = |op: &Op| match op {
            Op::Query => 0,
            Op::QueryMore => 1,
            Op::Metadata => 2,
            Op::Ingest => 3,
            Op::Other => 4,
        };
        match self {
            Route::Healthz => 0,
            Route::Readyz => 1,
            Route::OAuthToken => 2,
            Route::A360Token => 3,
            Route::Revoke => 4,
            Route::Tenant(o) => 5 + op(o),
            Route::Core(o) => 10 + op(o),
            Route::Metrics => 15,
            Route::CachePurge => 16,
            Route::NotFound => 17,
        }
    }

    /// Short name for the access log and metrics.
    pub fn label(&self) -> &'static str {
        LABELS[self.ordinal()]
    }

    /// Error shape of the route.
    pub fn shape(&self) -> Shape {
        match self {
            Route::Core(_) => Shape::Core,
            Route::OAuthToken | Route::A360Token | Route::Revoke => Shape::OAuth,
            _ => Shape::Tenant,
        }
    }

    /// Whether the request goes upstream (and so needs a client and a token).
    pub fn is_proxied(&self) -> bool {
        matches!(self, Route::Tenant(_) | Route::Core(_))
    }
}

/// Error shape for a raw path (used before classification succeeded).
pub fn shape_for_path(path: &str) -> Shape {
    Route::classify(&Method::GET, path).shape()
}

fn tenant_op(method: &Method, path: &str) -> Op {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        ["api", "v1" | "v2" | "v3", "query"] if method == Method::POST => Op::Query,
        ["api", "v2" | "v3", "query", _, ..] => Op::QueryMore,
        ["api", "v1", "query-config"] | ["api", "v1", "metadata", ..] => Op::Metadata,
        ["api", "v1", "profile", "metadata", ..] | ["api", "v1", "insight", "metadata", ..] => {
            Op::Metadata
        }
        ["api", "v1", "ingest", ..] => Op::Ingest,
        _ => Op::Other,
    }
}

fn core_op(method: &Method, path: &str) -> Op {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        ["services", "data", _v, "ssot", "query-sql" | "queryv2" | "query"]
            if method == Method::POST =>
        {
            Op::Query
        }
        ["services", "data", _v, "ssot", "query-sql" | "queryv2", _, ..] => Op::QueryMore,
        ["services", "data", _v, "ssot", "metadata" | "metadata-entities", ..] => Op::Metadata,
        ["services", "data", _v, "ssot", "data-graphs", "metadata", ..] => Op::Metadata,
        _ => Op::Other,
    }
}

/// The object a streaming ingestion path names:
/// `/api/v1/ingest/sources/{source}/{object}`.
pub fn ingest_object(path: &str) -> Option<&str> {
    let mut segs = path.trim_matches('/').split('/');
    match (
        segs.next(),
        segs.next(),
        segs.next(),
        segs.next(),
        segs.next(),
        segs.next(),
    ) {
        (Some("api"), Some("v1"), Some("ingest"), Some("sources"), Some(_), Some(object))
            if !object.is_empty() =>
        {
            Some(object)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_salesforce_paths() {
        let c = Route::classify;
        assert_eq!(c(&Method::POST, "/api/v2/query"), Route::Tenant(Op::Query));
        assert_eq!(
            c(&Method::GET, "/api/v2/query/abc"),
            Route::Tenant(Op::QueryMore)
        );
        assert_eq!(
            c(&Method::GET, "/api/v1/metadata"),
            Route::Tenant(Op::Metadata)
        );
        assert_eq!(
            c(&Method::POST, "/api/v1/ingest/sources/src/Obj"),
            Route::Tenant(Op::Ingest)
        );
        assert_eq!(
            c(&Method::POST, "/services/data/v64.0/ssot/query-sql"),
            Route::Core(Op::Query)
        );
        assert_eq!(
            c(&Method::GET, "/services/data/v64.0/ssot/query-sql/q1/rows"),
            Route::Core(Op::QueryMore)
        );
        assert_eq!(
            c(&Method::POST, "/services/oauth2/token"),
            Route::OAuthToken
        );
        assert_eq!(c(&Method::POST, "/services/a360/token"), Route::A360Token);
        assert_eq!(c(&Method::GET, "/services/oauth2/revoke"), Route::Revoke);
        assert_eq!(c(&Method::GET, "/healthz"), Route::Healthz);
        assert_eq!(c(&Method::GET, "/readyz"), Route::Readyz);
        assert_eq!(c(&Method::GET, "/"), Route::NotFound);
        assert_eq!(c(&Method::GET, "/api"), Route::NotFound);
        assert_eq!(c(&Method::GET, "/metrics"), Route::Metrics);
        assert_eq!(c(&Method::DELETE, "/__gateway/cache"), Route::CachePurge);
        assert_eq!(Route::Core(Op::QueryMore).label(), "core.query_more");
        assert_eq!(Route::NotFound.label(), "not_found");
        assert_eq!(shape_for_path("/services/data/v1/x"), Shape::Core);
    }

    #[test]
    fn ingest_objects() {
        assert_eq!(
            ingest_object("/api/v1/ingest/sources/web/Event"),
            Some("Event")
        );
        assert_eq!(ingest_object("/api/v1/ingest/jobs"), None);
    }
}
