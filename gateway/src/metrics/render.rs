//! Rendering the metrics as Prometheus text (exposition format 0.0.4):
//! `# HELP` and `# TYPE` per family, one line per series, histograms as
//! cumulative `_bucket{le=…}` lines plus `_sum` and `_count`.

use std::fmt::Write;

use super::*;
use crate::cache::CacheStats;

impl Metrics {
    /// Everything, in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, cache: Option<&CacheStats>) -> String {
        let mut out = String::with_capacity(8 * 1024);
        self.render_requests(&mut out);
        if let Some(stats) = cache {
            render_cache(&mut out, stats);
        }
        family(
            &mut out,
            "dcgw_token_fetches_total",
            "counter",
            "Token fetches started, by token kind.",
        );
        for kind in TokenKind::ALL {
            sample(
                &mut out,
                "dcgw_token_fetches_total",
                &[("kind", kind.as_str())],
                get(&self.token_fetches[kind as usize]),
            );
        }
        family(
            &mut out,
            "dcgw_token_failures_total",
            "counter",
            "Token fetches that failed, by token kind and reason.",
        );
        for kind in TokenKind::ALL {
            for reason in TokenFailure::ALL {
                let value = get(&self.token_failures[kind as usize][reason as usize]);
                sample(
                    &mut out,
                    "dcgw_token_failures_total",
                    &[("kind", kind.as_str()), ("reason", reason.as_str())],
                    value,
                );
            }
        }
        family(
            &mut out,
            "dcgw_upstream_retries_total",
            "counter",
            "Upstream requests retried, by reason.",
        );
        for reason in RetryReason::ALL {
            sample(
                &mut out,
                "dcgw_upstream_retries_total",
                &[("reason", reason.as_str())],
                get(&self.retries[reason as usize]),
            );
        }
        family(
            &mut out,
            "dcgw_ingest_chunks_total",
            "counter",
            "Chunks sent for split ingestion requests, by outcome.",
        );
        for (i, outcome) in CHUNK_OUTCOMES.iter().enumerate() {
            sample(
                &mut out,
                "dcgw_ingest_chunks_total",
                &[("outcome", outcome.as_str())],
                get(&self.chunks[i]),
            );
        }
        family(
            &mut out,
            "dcgw_ratelimit_waits_total",
            "counter",
            "Upstream calls that waited for the rate limiter.",
        );
        sample(
            &mut out,
            "dcgw_ratelimit_waits_total",
            &[],
            get(&self.ratelimit_waits),
        );
        family(
            &mut out,
            "dcgw_ratelimit_wait_seconds_total",
            "counter",
            "Total time spent waiting for the rate limiter.",
        );
        let _ = writeln!(
            out,
            "dcgw_ratelimit_wait_seconds_total {}",
            seconds(get(&self.ratelimit_wait_ns))
        );
        family(
            &mut out,
            "dcgw_ratelimit_rejections_total",
            "counter",
            "Requests answered 429 by the gateway because the wait was too long.",
        );
        sample(
            &mut out,
            "dcgw_ratelimit_rejections_total",
            &[],
            get(&self.ratelimit_rejections),
        );
        out
    }

    fn render_requests(&self, out: &mut String) {
        family(
            out,
            "dcgw_requests_total",
            "counter",
            "Requests answered, by route and status.",
        );
        for (name, series) in self.route_names.iter().zip(self.routes.iter()) {
            for (slot, counter) in series.by_status.iter().enumerate() {
                let value = get(counter);
                if value > 0 {
                    let status = (slot + 100).to_string();
                    sample(
                        out,
                        "dcgw_requests_total",
                        &[("route", name), ("status", &status)],
                        value,
                    );
                }
            }
        }
        family(
            out,
            "dcgw_request_duration_seconds",
            "histogram",
            "Time from request head to response head, by route.",
        );
        for (name, series) in self.route_names.iter().zip(self.routes.iter()) {
            let mut cumulative = 0;
            for (i, counter) in series.buckets.iter().enumerate() {
                cumulative += get(counter);
                let le = LATENCY_BUCKETS
                    .get(i)
                    .map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
                sample(
                    out,
                    "dcgw_request_duration_seconds_bucket",
                    &[("route", name), ("le", &le)],
                    cumulative,
                );
            }
            let _ = writeln!(
                out,
                "dcgw_request_duration_seconds_sum{{route=\"{}\"}} {}",
                escape(name),
                seconds(get(&series.latency_sum_ns))
            );
            sample(
                out,
                "dcgw_request_duration_seconds_count",
                &[("route", name)],
                cumulative,
            );
        }
    }
}

fn render_cache(out: &mut String, stats: &CacheStats) {
    let counters: [(&str, &str, u64); 9] = [
        (
            "dcgw_cache_hits_total",
            "Query requests answered from the cache (coalesced waiters included).",
            stats.hits,
        ),
        (
            "dcgw_cache_misses_total",
            "Query requests that went upstream to fill the cache.",
            stats.misses,
        ),
        (
            "dcgw_cache_bypasses_total",
            "Query requests that bypassed the cache (no-store, no-cache, uncacheable, disabled).",
            stats.bypasses,
        ),
        (
            "dcgw_cache_coalesced_total",
            "Requests that waited for an identical in-flight miss instead of calling upstream.",
            stats.coalesced,
        ),
        (
            "dcgw_cache_evictions_total",
            "Entries evicted to stay under the byte bound.",
            stats.evictions,
        ),
        (
            "dcgw_cache_expirations_total",
            "Entries dropped when their TTL passed.",
            stats.expirations,
        ),
        (
            "dcgw_cache_not_stored_total",
            "Upstream answers served but not stored (errors, too large, incomplete).",
            stats.not_stored,
        ),
        ("dcgw_cache_purges_total", "Purge requests.", stats.purges),
        (
            "dcgw_cache_pages_served_total",
            "Next-batch requests answered from cached multi-batch results.",
            stats.pages_served,
        ),
    ];
    for (name, help, value) in counters {
        family(out, name, "counter", help);
        sample(out, name, &[], value);
    }
    let gauges: [(&str, &str, u64); 3] = [
        (
            "dcgw_cache_bytes",
            "Weighted size of the cache (body bytes plus overhead).",
            stats.bytes,
        ),
        ("dcgw_cache_entries", "Entries in the cache.", stats.entries),
        (
            "dcgw_cache_cursor_entries",
            "Multi-batch results held for clients paging through them.",
            stats.cursor_entries,
        ),
    ];
    for (name, help, value) in gauges {
        family(out, name, "gauge", help);
        sample(out, name, &[], value);
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (key, val)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{key}=\"{}\"", escape(val));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Label values escape `\`, `"` and newlines.
pub(super) fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}
