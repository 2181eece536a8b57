//! Validation of the pipeline components' sections: `[cache]`, `[ingest]`,
//! `[retry]`, `[ratelimit]` → the settings types each component defines.

use std::time::Duration;

use super::raw::RawConfig;
use super::{Components, ConfigError};
use crate::cache::CacheConfig;
use crate::ingest::{IngestLimits, OversizePolicy};
use crate::ratelimit::RateLimitConfig;
use crate::retry::RetryPolicy;

fn positive(key: &str, v: Option<u64>, default: u64) -> Result<u64, ConfigError> {
    let v = v.unwrap_or(default);
    if v == 0 {
        return Err(ConfigError::invalid(key, "must be at least 1"));
    }
    Ok(v)
}

fn usize_of(key: &str, v: Option<u64>, default: usize) -> Result<usize, ConfigError> {
    let v = positive(key, v, default as u64)?;
    usize::try_from(v).map_err(|_| ConfigError::invalid(key, "too large"))
}

/// Raw sections → component settings.
pub fn validate(raw: &RawConfig) -> Result<Components, ConfigError> {
    let c = &raw.cache;
    let d = CacheConfig::default();
    let cache = CacheConfig {
        enabled: c.enabled.unwrap_or(d.enabled),
        ttl: Duration::from_secs(positive("cache.ttl_secs", c.ttl_secs, d.ttl.as_secs())?),
        max_bytes: positive("cache.max_bytes", c.max_bytes, d.max_bytes)?,
        memo_max_bytes: positive("cache.memo_max_bytes", c.memo_max_bytes, d.memo_max_bytes)?,
        max_result_bytes: usize_of(
            "cache.max_result_bytes",
            c.max_result_bytes,
            d.max_result_bytes,
        )?,
        cursor_idle: Duration::from_secs(positive(
            "cache.cursor_idle_secs",
            c.cursor_idle_secs,
            d.cursor_idle.as_secs(),
        )?),
        cursor_ttl: Duration::from_secs(positive(
            "cache.cursor_ttl_secs",
            c.cursor_ttl_secs,
            d.cursor_ttl.as_secs(),
        )?),
        cursor_max_bytes: positive(
            "cache.cursor_max_bytes",
            c.cursor_max_bytes,
            d.cursor_max_bytes,
        )?,
    };

    let i = &raw.ingest;
    let d = IngestLimits::default();
    let ingest = IngestLimits {
        max_records: usize_of("ingest.max_records", i.max_records, d.max_records)?,
        max_request_bytes: usize_of(
            "ingest.max_request_bytes",
            i.max_request_bytes,
            d.max_request_bytes,
        )?,
        max_delete_ids: usize_of("ingest.max_delete_ids", i.max_delete_ids, d.max_delete_ids)?,
        max_body_bytes: usize_of("ingest.max_body_bytes", i.max_body_bytes, d.max_body_bytes)?,
        policy: match i.oversize.as_deref().unwrap_or("split") {
            "split" => OversizePolicy::Split,
            "reject" => OversizePolicy::Reject,
            other => {
                return Err(ConfigError::invalid(
                    "ingest.oversize",
                    format!("expected \"split\" or \"reject\", got {other:?}"),
                ))
            }
        },
        concurrency: usize_of("ingest.concurrency", i.concurrency, d.concurrency)?,
        retry: d.retry,
    };

    let r = &raw.retry;
    let d = RetryPolicy::default();
    let ms = |key: &str, v: Option<u64>, default: Duration| {
        positive(key, v, default.as_millis() as u64).map(Duration::from_millis)
    };
    let attempts = positive(
        "retry.max_attempts",
        r.max_attempts,
        u64::from(d.max_attempts),
    )?;
    let retry = RetryPolicy {
        max_attempts: u32::try_from(attempts.min(100)).unwrap_or(100),
        base_delay: ms("retry.base_delay_ms", r.base_delay_ms, d.base_delay)?,
        max_delay: ms("retry.max_delay_ms", r.max_delay_ms, d.max_delay)?,
        max_total: ms("retry.max_total_ms", r.max_total_ms, d.max_total)?,
        observer: None,
    };

    let l = &raw.ratelimit;
    let rps = l.requests_per_second.unwrap_or(0.0);
    if !(rps >= 0.0 && rps.is_finite()) {
        return Err(ConfigError::invalid(
            "ratelimit.requests_per_second",
            "must be a number ≥ 0 (0 = no limit)",
        ));
    }
    let ratelimit = if rps == 0.0 {
        None
    } else {
        let burst = positive("ratelimit.burst", l.burst, 50)?;
        Some(RateLimitConfig {
            requests_per_second: rps,
            burst: u32::try_from(burst).unwrap_or(u32::MAX),
            max_wait: Duration::from_millis(l.max_wait_ms.unwrap_or(1000)),
        })
    };
    Ok(Components {
        cache,
        ingest,
        retry,
        ratelimit,
    })
}
