//! Logging: the tracing subscriber (text or JSON lines on stderr) and the
//! one access-log line per request (target `dc_gateway::access`) with route,
//! client, status, cache outcome and upstream time — never tokens, keys,
//! query strings or bodies.

use http::StatusCode;

use crate::config::{LogFormat, LogSettings};
use crate::proxy::context::Context;

/// Installs the global subscriber (`RUST_LOG` wins over `log.level`).
/// Returns quietly if one is already installed (tests, embedding).
pub fn init(settings: &LogSettings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: a log file or collector gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match settings.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The access-log line of one request.
pub fn access_log(ctx: &Context, status: StatusCode) {
    // Milliseconds with microsecond resolution (no float noise in the log).
    let ms = |d: std::time::Duration| d.as_micros() as f64 / 1000.0;
    let upstream_ms = ctx.upstream.time().map(ms);
    tracing::info!(
        target: "dc_gateway::access",
        request_id = ctx.request_id.to_str().unwrap_or("-"),
        method = %ctx.method,
        route = ctx.route.label(),
        client = ctx.client.as_deref().unwrap_or("-"),
        status = status.as_u16(),
        cache = ctx.cache.as_str(),
        upstream_ms,
        upstream_status = ctx.upstream.status(),
        retried = ctx.upstream.retried(),
        total_ms = ms(ctx.started.elapsed()),
        peer = %ctx.peer,
        "request"
    );
}
