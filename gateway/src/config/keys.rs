//! Every configuration key in one table: its TOML path, its flag, its
//! environment variable, its type, its default and one line of documentation.
//!
//! The table drives three things so they cannot drift apart: the `serve`
//! flags (`cli.rs` builds one flag per key), the `DCGW_*` environment
//! overrides (clap reads them), and the reference table in `docs/config.md`
//! (a test checks every key appears there). Precedence: flag, then
//! environment, then the file, then the default.

/// How a key's text value becomes a TOML value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Path,
    Int,
    Float,
    Bool,
}

/// One configuration key.
#[derive(Debug)]
pub struct Key {
    /// Dotted TOML path, e.g. `upstream.login_url`.
    pub name: &'static str,
    /// Long flag of `serve`, without the dashes.
    pub flag: &'static str,
    /// Environment variable.
    pub env: &'static str,
    pub kind: Kind,
    /// Default as written in the docs (empty: none).
    pub default: &'static str,
    pub doc: &'static str,
}

macro_rules! keys {
    ($( $name:literal, $flag:literal, $env:literal, $kind:ident, $default:literal, $doc:literal; )*) => {
        /// The keys that can be set in the file, by flag and by environment.
        pub const KEYS: &[Key] = &[ $( Key { name: $name, flag: $flag, env: $env, kind: Kind::$kind, default: $default, doc: $doc }, )* ];
    };
}

keys! {
    "server.listen", "listen", "DCGW_SERVER_LISTEN", Str, "127.0.0.1:8443",
        "Address the HTTPS listener binds. With no `[[clients]]`, only a loopback address is allowed.";
    "server.tls_cert", "tls-cert", "DCGW_SERVER_TLS_CERT", Path, "",
        "PEM certificate chain to serve. Without it a self-signed certificate for localhost/127.0.0.1/::1 is generated.";
    "server.tls_key", "tls-key", "DCGW_SERVER_TLS_KEY", Path, "",
        "PEM private key of `server.tls_cert`; must match it.";
    "server.cert_dir", "cert-dir", "DCGW_SERVER_CERT_DIR", Path, "(system temp dir)",
        "Where a generated certificate's PEM is written (`dc-gateway-PORT.pem`) so clients can trust it.";
    "server.public_host", "public-host", "DCGW_SERVER_PUBLIC_HOST", Str, "(bound address)",
        "host:port the OAuth facade advertises as `instance_url` (use it when clients reach the gateway by another name).";
    "server.handshake_timeout_secs", "handshake-timeout-secs", "DCGW_SERVER_HANDSHAKE_TIMEOUT_SECS", Int, "10",
        "Bound on a client's TLS handshake.";
    "server.header_read_timeout_secs", "header-read-timeout-secs", "DCGW_SERVER_HEADER_READ_TIMEOUT_SECS", Int, "10",
        "Bound on reading a request head (HTTP/1.1).";
    "server.shutdown_grace_secs", "shutdown-grace-secs", "DCGW_SERVER_SHUTDOWN_GRACE_SECS", Int, "10",
        "Bound on the drain of in-flight requests at shutdown.";
    "server.max_connections", "max-connections", "DCGW_SERVER_MAX_CONNECTIONS", Int, "1024",
        "Connections served at once; further connections wait in the accept queue.";
    "server.max_buffered_body_bytes", "max-buffered-body-bytes", "DCGW_SERVER_MAX_BUFFERED_BODY_BYTES", Int, "1048576",
        "Largest request body read into memory (query bodies checked against the policy, bodies kept to replay after a 401). Larger query bodies get 413; other large bodies stream without replay.";
    "upstream.login_url", "login-url", "DCGW_UPSTREAM_LOGIN_URL", Str, "https://login.salesforce.com",
        "Salesforce login URL (or My Domain). Must be https://. The JWT `aud` is this URL.";
    "upstream.ca_cert", "upstream-ca-cert", "DCGW_UPSTREAM_CA_CERT", Path, "",
        "Extra PEM CA trusted for upstream connections besides the webpki roots (e.g. the emulator's certificate).";
    "upstream.insecure_skip_verify", "upstream-insecure-skip-verify", "DCGW_UPSTREAM_INSECURE_SKIP_VERIFY", Bool, "false",
        "Do not verify upstream certificates. Logged loudly at start; never for production.";
    "upstream.connect_timeout_secs", "upstream-connect-timeout-secs", "DCGW_UPSTREAM_CONNECT_TIMEOUT_SECS", Int, "10",
        "Bound on connecting (TCP + TLS) to an upstream host.";
    "upstream.response_timeout_secs", "upstream-response-timeout-secs", "DCGW_UPSTREAM_RESPONSE_TIMEOUT_SECS", Int, "120",
        "Bound on waiting for an upstream response head.";
    "upstream.pool_idle_timeout_secs", "upstream-pool-idle-timeout-secs", "DCGW_UPSTREAM_POOL_IDLE_TIMEOUT_SECS", Int, "90",
        "How long an idle pooled upstream connection is kept.";
    "upstream.pool_max_idle_per_host", "upstream-pool-max-idle-per-host", "DCGW_UPSTREAM_POOL_MAX_IDLE_PER_HOST", Int, "32",
        "Idle upstream connections kept per host.";
    "credentials.flow", "flow", "DCGW_CREDENTIALS_FLOW", Str, "jwt_bearer",
        "How the gateway gets its core token: `jwt_bearer`, `client_credentials` or `refresh_token`.";
    "credentials.client_id", "client-id", "DCGW_CREDENTIALS_CLIENT_ID", Str, "",
        "Consumer key of the connected app (JWT `iss`).";
    "credentials.username", "username", "DCGW_CREDENTIALS_USERNAME", Str, "",
        "Integration user (JWT `sub`); `jwt_bearer` only.";
    "credentials.private_key_file", "private-key-file", "DCGW_CREDENTIALS_PRIVATE_KEY_FILE", Path, "",
        "PEM RSA private key that signs the JWT assertion. Or put the PEM itself in `DCGW_CREDENTIALS_PRIVATE_KEY`.";
    "credentials.certificate_file", "certificate-file", "DCGW_CREDENTIALS_CERTIFICATE_FILE", Path, "",
        "Optional: the certificate uploaded to the connected app; start-up checks the private key matches it.";
    "credentials.client_secret_file", "client-secret-file", "DCGW_CREDENTIALS_CLIENT_SECRET_FILE", Path, "",
        "File holding the consumer secret (`client_credentials`, `refresh_token`). Or `DCGW_CREDENTIALS_CLIENT_SECRET`.";
    "credentials.refresh_token_file", "refresh-token-file", "DCGW_CREDENTIALS_REFRESH_TOKEN_FILE", Path, "",
        "File holding the refresh token (`refresh_token` flow). Or `DCGW_CREDENTIALS_REFRESH_TOKEN`.";
    "credentials.dataspace", "dataspace", "DCGW_CREDENTIALS_DATASPACE", Str, "default",
        "Data space of the Data Cloud token used when a request names none.";
    "credentials.assertion_ttl_secs", "assertion-ttl-secs", "DCGW_CREDENTIALS_ASSERTION_TTL_SECS", Int, "170",
        "JWT assertion `exp` = now + this; at most 180 (Salesforce's 3 minutes).";
    "credentials.core_token_ttl_secs", "core-token-ttl-secs", "DCGW_CREDENTIALS_CORE_TOKEN_TTL_SECS", Int, "7200",
        "Assumed core token lifetime when the token response has no `expires_in` (Salesforce omits it; set it to the org's session timeout).";
    "credentials.refresh_fraction", "refresh-fraction", "DCGW_CREDENTIALS_REFRESH_FRACTION", Float, "0.8",
        "Tokens are refreshed in the background after this fraction of their lifetime (0 < f < 1).";
    "credentials.refresh_jitter", "refresh-jitter", "DCGW_CREDENTIALS_REFRESH_JITTER", Float, "0.1",
        "Random share (0 ≤ j < 1) taken off the refresh delay so replicas do not refresh together.";
    "credentials.refresh_min_secs", "refresh-min-secs", "DCGW_CREDENTIALS_REFRESH_MIN_SECS", Float, "1",
        "Lower clamp of the refresh delay (also the retry delay after a failed refresh).";
    "credentials.refresh_max_secs", "refresh-max-secs", "DCGW_CREDENTIALS_REFRESH_MAX_SECS", Float, "3600",
        "Upper clamp of the refresh delay.";
    "facade.token_ttl_secs", "facade-token-ttl-secs", "DCGW_FACADE_TOKEN_TTL_SECS", Int, "7200",
        "Lifetime of gateway-issued tokens (`/services/oauth2/token`, `/services/a360/token` on the gateway).";
    "cache.enabled", "cache-enabled", "DCGW_CACHE_ENABLED", Bool, "true",
        "Answer repeated read-only queries from memory.";
    "cache.ttl_secs", "cache-ttl-secs", "DCGW_CACHE_TTL_SECS", Int, "300",
        "How long a query answer is served from the cache.";
    "cache.max_bytes", "cache-max-bytes", "DCGW_CACHE_MAX_BYTES", Int, "268435456",
        "Bound of the query cache, in bytes of stored answers.";
    "cache.memo_max_bytes", "cache-memo-max-bytes", "DCGW_CACHE_MEMO_MAX_BYTES", Int, "16777216",
        "Bound of the raw-body → cache-key memo, in bytes.";
    "cache.max_result_bytes", "cache-max-result-bytes", "DCGW_CACHE_MAX_RESULT_BYTES", Int, "33554432",
        "Largest (multi-batch) query result fetched whole to be stored.";
    "cache.cursor_idle_secs", "cache-cursor-idle-secs", "DCGW_CACHE_CURSOR_IDLE_SECS", Int, "180",
        "A cached multi-batch result stays pageable this long after its last page was read.";
    "cache.cursor_ttl_secs", "cache-cursor-ttl-secs", "DCGW_CACHE_CURSOR_TTL_SECS", Int, "3600",
        "… and at most this long in total.";
    "cache.cursor_max_bytes", "cache-cursor-max-bytes", "DCGW_CACHE_CURSOR_MAX_BYTES", Int, "67108864",
        "Bound of the results held for paging, in bytes.";
    "ingest.max_records", "ingest-max-records", "DCGW_INGEST_MAX_RECORDS", Int, "50",
        "Records per streaming insert request sent upstream (the guide's 50).";
    "ingest.max_request_bytes", "ingest-max-request-bytes", "DCGW_INGEST_MAX_REQUEST_BYTES", Int, "200000",
        "Bytes per ingestion request body sent upstream (Data Cloud: < 200 KB).";
    "ingest.max_delete_ids", "ingest-max-delete-ids", "DCGW_INGEST_MAX_DELETE_IDS", Int, "200",
        "Ids per streaming delete request sent upstream.";
    "ingest.max_body_bytes", "ingest-max-body-bytes", "DCGW_INGEST_MAX_BODY_BYTES", Int, "33554432",
        "Largest ingestion body a client may send (buffered to be split); larger → 413.";
    "ingest.oversize", "ingest-oversize", "DCGW_INGEST_OVERSIZE", Str, "split",
        "`split` a request over the limits into compliant chunks (one aggregate answer), or `reject` it with 413.";
    "ingest.concurrency", "ingest-concurrency", "DCGW_INGEST_CONCURRENCY", Int, "4",
        "Chunks of one split request in flight at once.";
    "retry.max_attempts", "retry-max-attempts", "DCGW_RETRY_MAX_ATTEMPTS", Int, "3",
        "Tries of an upstream request, the first included (1 = never retry). Only idempotent requests are retried on 429/502/503/504/timeouts.";
    "retry.base_delay_ms", "retry-base-delay-ms", "DCGW_RETRY_BASE_DELAY_MS", Int, "100",
        "Cap of the first jittered backoff wait; doubles per retry.";
    "retry.max_delay_ms", "retry-max-delay-ms", "DCGW_RETRY_MAX_DELAY_MS", Int, "2000",
        "Cap of any single backoff wait (a longer `Retry-After` still wins).";
    "retry.max_total_ms", "retry-max-total-ms", "DCGW_RETRY_MAX_TOTAL_MS", Int, "10000",
        "Budget for all tries and waits of one request.";
    "ratelimit.requests_per_second", "ratelimit-requests-per-second", "DCGW_RATELIMIT_REQUESTS_PER_SECOND", Float, "0",
        "Sustained rate of upstream calls (0 = no limit), to keep the org under its API quota.";
    "ratelimit.burst", "ratelimit-burst", "DCGW_RATELIMIT_BURST", Int, "50",
        "Upstream calls allowed back to back after an idle period.";
    "ratelimit.max_wait_ms", "ratelimit-max-wait-ms", "DCGW_RATELIMIT_MAX_WAIT_MS", Int, "1000",
        "Longest a request waits for a slot before the gateway answers 429 itself.";
    "log.level", "log-level", "DCGW_LOG_LEVEL", Str, "info",
        "tracing filter (`RUST_LOG` syntax); `RUST_LOG` wins when set.";
    "log.format", "log-format", "DCGW_LOG_FORMAT", Str, "text",
        "`text` or `json` (one JSON object per line).";
}

/// Secrets that may come from the environment (never from a flag: flags show
/// in `ps`). Each has a `*_file` key as well.
pub const SECRET_ENV: &[(&str, &str)] = &[
    (
        "DCGW_CREDENTIALS_PRIVATE_KEY",
        "credentials.private_key_file",
    ),
    (
        "DCGW_CREDENTIALS_CLIENT_SECRET",
        "credentials.client_secret_file",
    ),
    (
        "DCGW_CREDENTIALS_REFRESH_TOKEN",
        "credentials.refresh_token_file",
    ),
];

/// The key named `name`.
pub fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_flags_and_envs_are_unique_and_consistent() {
        let mut seen = std::collections::HashSet::new();
        for k in KEYS {
            assert!(seen.insert(k.name), "duplicate key {}", k.name);
            assert!(seen.insert(k.flag), "duplicate flag {}", k.flag);
            let expected = format!("DCGW_{}", k.name.replace('.', "_").to_ascii_uppercase());
            assert_eq!(k.env, expected, "env of {}", k.name);
        }
    }
}
