//! The emulator's clock: real time plus an offset, or pinned.
//!
//! Tokens, JWT checks, cursors and (later) ingestion delays all ask this clock,
//! never `SystemTime` directly, so a test can advance or pin time and see
//! expiry happen without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Sentinel meaning "not pinned".
const UNPINNED: i64 = i64::MIN;

/// A shareable, controllable clock. Cloning shares the same time.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    inner: Arc<ClockInner>,
}

#[derive(Debug)]
struct ClockInner {
    /// Milliseconds added to the real time.
    offset_ms: AtomicI64,
    /// Unix milliseconds the clock is pinned at, or `UNPINNED`.
    pinned_ms: AtomicI64,
}

impl Default for ClockInner {
    fn default() -> Self {
        ClockInner {
            offset_ms: AtomicI64::new(0),
            pinned_ms: AtomicI64::new(UNPINNED),
        }
    }
}

impl Clock {
    /// Current time in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        let pinned = self.inner.pinned_ms.load(Ordering::Relaxed);
        if pinned != UNPINNED {
            return pinned;
        }
        let real = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        real as i64 + self.inner.offset_ms.load(Ordering::Relaxed)
    }

    /// Current time in Unix seconds.
    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Current time as a date-time.
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(self.now_ms() as i128 * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Moves time forward (or back, with a negative value).
    pub fn advance_ms(&self, delta: i64) {
        let pinned = self.inner.pinned_ms.load(Ordering::Relaxed);
        if pinned != UNPINNED {
            self.inner
                .pinned_ms
                .store(pinned + delta, Ordering::Relaxed);
        } else {
            self.inner.offset_ms.fetch_add(delta, Ordering::Relaxed);
        }
    }

    /// Stops the clock at `unix_ms`.
    pub fn pin_ms(&self, unix_ms: i64) {
        self.inner.pinned_ms.store(unix_ms, Ordering::Relaxed);
    }

    /// Lets the clock run again from where it stands.
    pub fn unpin(&self) {
        let pinned = self.inner.pinned_ms.swap(UNPINNED, Ordering::Relaxed);
        if pinned != UNPINNED {
            let real = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
            self.inner.offset_ms.store(pinned - real, Ordering::Relaxed);
        }
    }

    /// Back to real time: unpinned, no offset.
    pub fn reset(&self) {
        self.inner.pinned_ms.store(UNPINNED, Ordering::Relaxed);
        self.inner.offset_ms.store(0, Ordering::Relaxed);
    }

    /// Milliseconds the clock runs ahead of real time (meaningful when unpinned).
    pub fn offset_ms(&self) -> i64 {
        self.inner.offset_ms.load(Ordering::Relaxed)
    }

    /// Whether the clock is pinned.
    pub fn is_pinned(&self) -> bool {
        self.inner.pinned_ms.load(Ordering::Relaxed) != UNPINNED
    }
}

/// `2021-01-08T11:53:29.668+0000`: the tenant error `timestamp` format.
pub fn format_spring(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// `2022-03-07T19:57:19.374525Z`: query `startTime`/`endTime` (ISO-8601 UTC, fraction, `Z`).
pub fn format_iso_micros(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// `2021-04-05T13:35:31.000Z`: millisecond ISO-8601 UTC.
pub fn format_iso_millis(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Parses an RFC 3339 timestamp.
pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_and_pin() {
        let c = Clock::default();
        let t0 = c.now_ms();
        c.advance_ms(3_600_000);
        assert!(c.now_ms() >= t0 + 3_600_000);
        c.pin_ms(1_000_000);
        assert_eq!(c.now_ms(), 1_000_000);
        c.advance_ms(500);
        assert_eq!(c.now_ms(), 1_000_500);
        c.unpin();
        assert!(!c.is_pinned());
        assert!((c.now_ms() - 1_000_500).abs() < 1_000);
    }

    #[test]
    fn formats() {
        let t = OffsetDateTime::from_unix_timestamp(1_610_106_809).unwrap();
        assert_eq!(format_spring(t), "2021-01-08T11:53:29.000+0000");
        assert_eq!(format_iso_millis(t), "2021-01-08T11:53:29.000Z");
    }
}
