//! Dates, timestamps and intervals as the SQL functions see them.
//!
//! The store keeps dates as `yyyy-MM-dd` text and timestamps as ISO-8601 UTC
//! text with milliseconds (`2024-03-22T05:47:10.000Z`); results use the same
//! spellings. Parsing is lenient about what clients type (`T` or space,
//! optional seconds and fraction, `Z`/`UTC`/`±HH[:MM]`), like PostgreSQL's
//! input functions, and everything is computed in UTC.

mod template;

pub(crate) use template::{parse_with, to_char};

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A parsed date or timestamp, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Moment {
    pub at: OffsetDateTime,
    /// The text was a bare date.
    pub date_only: bool,
}

/// Parses `yyyy-MM-dd` or a timestamp with optional time zone.
pub(crate) fn parse(text: &str) -> Option<Moment> {
    let s = text.trim();
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year: i32 = digits(s.get(0..4)?)?;
    let month: u8 = digits(s.get(5..7)?)?;
    let day: u8 = digits(s.get(8..10)?)?;
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    let rest = s.get(10..)?;
    if rest.is_empty() {
        return Some(Moment {
            at: date.midnight().assume_utc(),
            date_only: true,
        });
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (time, zone) = parse_time(rest)?;
    let offset = parse_zone(zone)?;
    let at = PrimitiveDateTime::new(date, time)
        .assume_offset(offset)
        .to_offset(UtcOffset::UTC);
    Some(Moment {
        at,
        date_only: false,
    })
}

pub(super) fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `HH:MM[:SS[.fraction]]` and what follows it.
fn parse_time(s: &str) -> Option<(Time, &str)> {
    let b = s.as_bytes();
    if b.len() < 5 || b[2] != b':' {
        return None;
    }
    let hour: u8 = digits(s.get(0..2)?)?;
    let minute: u8 = digits(s.get(3..5)?)?;
    let mut rest = s.get(5..)?;
    let mut second = 0u8;
    let mut nanos = 0u32;
    if let Some(r) = rest.strip_prefix(':') {
        second = digits(r.get(0..2)?)?;
        rest = r.get(2..)?;
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            let frac = &r[..n];
            let mut scaled = format!("{:0<9}", &frac[..n.min(9)]);
            scaled.truncate(9);
            nanos = if n == 0 { 0 } else { digits(&scaled)? };
            rest = &r[n..];
        }
    }
    Some((Time::from_hms_nano(hour, minute, second, nanos).ok()?, rest))
}

/// `""`, `Z`, `UTC`, `+HH`, `+HH:MM`, `+HHMM` (optionally after a space).
fn parse_zone(s: &str) -> Option<UtcOffset> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
        return Some(UtcOffset::UTC);
    }
    let sign: i8 = match s.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body = s[1..].replace(':', "");
    let (h, m) = match body.len() {
        2 => (digits::<i8>(&body)?, 0),
        4 => (digits::<i8>(&body[0..2])?, digits::<i8>(&body[2..4])?),
        _ => return None,
    };
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

/// `2024-03-22T05:47:10.000Z`.
pub(crate) fn format_timestamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!(
        "{}T{:02}:{:02}:{:02}.{:03}Z",
        format_date(at.date()),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// `2024-03-22`.
pub(crate) fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A PostgreSQL interval reduced to what UTC arithmetic needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Interval {
    pub months: i64,
    pub micros: i64,
}

impl Interval {
    pub fn negate(self) -> Interval {
        Interval {
            months: -self.months,
            micros: -self.micros,
        }
    }
}

/// Parses `'7 days'`, `'1 year 2 mons'`, `'-3 hours'`, `'01:30:00'`, or a bare
/// number with `unit` (`INTERVAL '1' DAY`).
pub(crate) fn parse_interval(text: &str, unit: Option<&str>) -> Option<Interval> {
    let mut total = Interval::default();
    if let Some(unit) = unit {
        let n: f64 = text.trim().parse().ok()?;
        add_unit(&mut total, n, unit)?;
        return Some(total);
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if w.contains(':') {
            let (neg, hms) = match w.strip_prefix('-') {
                Some(r) => (true, r),
                None => (false, w.strip_prefix('+').unwrap_or(w)),
            };
            let parts: Vec<f64> = hms
                .split(':')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            let secs = match parts.as_slice() {
                [h, m] => h * 3600.0 + m * 60.0,
                [h, m, s] => h * 3600.0 + m * 60.0 + s,
                _ => return None,
            };
            let micros = (secs * 1e6).round() as i64;
            total.micros += if neg { -micros } else { micros };
            i += 1;
            continue;
        }
        let n: f64 = w.parse().ok()?;
        let unit = words.get(i + 1)?;
        add_unit(&mut total, n, unit)?;
        i += 2;
    }
    (i > 0).then_some(total)
}

fn add_unit(total: &mut Interval, n: f64, unit: &str) -> Option<()> {
    let unit = unit.to_ascii_lowercase();
    let micros_per = match unit.as_str() {
        "microsecond" | "microseconds" | "us" | "usec" | "usecs" => 1.0,
        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" => 1e3,
        "second" | "seconds" | "sec" | "secs" | "s" => 1e6,
        "minute" | "minutes" | "min" | "mins" | "m" => 60e6,
        "hour" | "hours" | "hr" | "hrs" | "h" => 3600e6,
        "day" | "days" | "d" => 86_400e6,
        "week" | "weeks" | "w" => 7.0 * 86_400e6,
        "mon" | "mons" | "month" | "months" => {
            total.months += n as i64;
            return Some(());
        }
        "year" | "years" | "yr" | "yrs" | "y" => {
            total.months += (n * 12.0) as i64;
            return Some(());
        }
        _ => return None,
    };
    total.micros += (n * micros_per).round() as i64;
    Some(())
}

/// `at + interval`; month steps clamp to the month's last day, as in PostgreSQL.
pub(crate) fn add_interval(at: OffsetDateTime, iv: Interval) -> Option<OffsetDateTime> {
    let mut at = at;
    if iv.months != 0 {
        let index = at.year() as i64 * 12 + (u8::from(at.month()) as i64 - 1) + iv.months;
        let year = i32::try_from(index.div_euclid(12)).ok()?;
        let month = Month::try_from((index.rem_euclid(12) + 1) as u8).ok()?;
        let day = at.day().min(days_in_month(year, month));
        at = at.replace_date(Date::from_calendar_date(year, month, day).ok()?);
    }
    at.checked_add(Duration::microseconds(iv.micros))
}

fn days_in_month(year: i32, month: Month) -> u8 {
    time::util::days_in_month(month, year)
}

/// `date_trunc(unit, at)`.
pub(crate) fn trunc(unit: &str, at: OffsetDateTime) -> Option<OffsetDateTime> {
    let date = at.date();
    let ymd = |y: i32, m: u8, d: u8| -> Option<OffsetDateTime> {
        Some(
            Date::from_calendar_date(y, Month::try_from(m).ok()?, d)
                .ok()?
                .midnight()
                .assume_utc(),
        )
    };
    let hms = |h: u8, m: u8, s: u8, ns: u32| -> Option<OffsetDateTime> {
        Some(at.replace_time(Time::from_hms_nano(h, m, s, ns).ok()?))
    };
    match unit.to_ascii_lowercase().as_str() {
        "microseconds" | "microsecond" => {
            hms(at.hour(), at.minute(), at.second(), at.microsecond() * 1000)
        }
        "milliseconds" | "millisecond" => hms(
            at.hour(),
            at.minute(),
            at.second(),
            at.millisecond() as u32 * 1_000_000,
        ),
        "second" | "seconds" => hms(at.hour(), at.minute(), at.second(), 0),
        "minute" | "minutes" => hms(at.hour(), at.minute(), 0, 0),
        "hour" | "hours" => hms(at.hour(), 0, 0, 0),
        "day" | "days" => hms(0, 0, 0, 0),
        "week" | "weeks" => {
            let back = date.weekday().number_days_from_monday() as i64;
            Some((date - Duration::days(back)).midnight().assume_utc())
        }
        "month" | "months" => ymd(date.year(), date.month().into(), 1),
        "quarter" => ymd(date.year(), (u8::from(date.month()) - 1) / 3 * 3 + 1, 1),
        "year" | "years" => ymd(date.year(), 1, 1),
        "decade" => ymd(date.year().div_euclid(10) * 10, 1, 1),
        "century" => ymd((date.year() - 1).div_euclid(100) * 100 + 1, 1, 1),
        "millennium" => ymd((date.year() - 1).div_euclid(1000) * 1000 + 1, 1, 1),
        _ => None,
    }
}

/// A number from `EXTRACT`: whole where PostgreSQL's would be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Int(i64),
    Real(f64),
}

/// `EXTRACT(field FROM at)` / `date_part(field, at)`.
pub(crate) fn extract(field: &str, at: OffsetDateTime) -> Option<Number> {
    use Number::{Int, Real};
    let date = at.date();
    let seconds = at.second() as f64 + at.nanosecond() as f64 / 1e9;
    Some(match field.to_ascii_lowercase().as_str() {
        "year" | "years" => Int(date.year() as i64),
        "month" | "months" => Int(u8::from(date.month()) as i64),
        "day" | "days" => Int(date.day() as i64),
        "hour" | "hours" => Int(at.hour() as i64),
        "minute" | "minutes" => Int(at.minute() as i64),
        "second" | "seconds" => Real(seconds),
        "millisecond" | "milliseconds" => Real(seconds * 1e3),
        "microsecond" | "microseconds" => Int((seconds * 1e6).round() as i64),
        "dow" => Int(date.weekday().number_days_from_sunday() as i64),
        "isodow" => Int(date.weekday().number_from_monday() as i64),
        "doy" => Int(date.ordinal() as i64),
        "week" => Int(date.iso_week() as i64),
        "isoyear" => Int(date.to_iso_week_date().0 as i64),
        "quarter" => Int((u8::from(date.month()) as i64 - 1) / 3 + 1),
        "decade" => Int(date.year().div_euclid(10) as i64),
        "century" => Int(((date.year() - 1).div_euclid(100) + 1) as i64),
        "millennium" => Int(((date.year() - 1).div_euclid(1000) + 1) as i64),
        "epoch" => {
            // Through whole microseconds, so 1686891203.918 prints as such.
            let micros = at.unix_timestamp_nanos() / 1_000;
            if micros % 1_000_000 == 0 {
                Int(at.unix_timestamp())
            } else {
                Real(micros as f64 / 1e6)
            }
        }
        "timezone" | "timezone_hour" | "timezone_minute" => Int(0),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> OffsetDateTime {
        parse(s).expect(s).at
    }

    #[test]
    fn parses_what_clients_type() {
        let want = "2024-03-22T05:47:10.000Z";
        for s in [
            "2024-03-22T05:47:10.000Z",
            "2024-03-22 05:47:10",
            "2024-03-22 05:47:10 UTC",
            "2024-03-22T07:47:10+02:00",
            "2024-03-22T00:47:10.000-0500",
        ] {
            assert_eq!(format_timestamp(ts(s)), want, "{s}");
        }
        assert!(parse("2024-03-22").unwrap().date_only);
        assert_eq!(
            format_timestamp(ts("2024-03-22T05:47")),
            "2024-03-22T05:47:00.000Z"
        );
        assert_eq!(
            format_timestamp(ts("2024-03-22T05:47:10.1234Z")),
            "2024-03-22T05:47:10.123Z"
        );
        for bad in [
            "2024-13-01",
            "2024-02-30",
            "yesterday",
            "2024-03-22X",
            "2024-03-22T25:00",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn intervals() {
        let day = 86_400_000_000;
        assert_eq!(
            parse_interval("7 days", None),
            Some(Interval {
                months: 0,
                micros: 7 * day
            })
        );
        assert_eq!(
            parse_interval("1", Some("DAY")),
            Some(Interval {
                months: 0,
                micros: day
            })
        );
        assert_eq!(
            parse_interval("1 year 2 mons -3 hours", None),
            Some(Interval {
                months: 14,
                micros: -3 * 3_600_000_000
            })
        );
        assert_eq!(
            parse_interval("01:30:00", None),
            Some(Interval {
                months: 0,
                micros: 5_400_000_000
            })
        );
        assert_eq!(parse_interval("soon", None), None);
        let end = add_interval(
            ts("2024-01-31"),
            Interval {
                months: 1,
                micros: 0,
            },
        )
        .unwrap();
        assert_eq!(format_timestamp(end), "2024-02-29T00:00:00.000Z");
    }

    #[test]
    fn trunc_and_extract() {
        let at = ts("2024-05-15T13:45:30.250Z");
        let t = |u| format_timestamp(trunc(u, at).unwrap());
        assert_eq!(t("year"), "2024-01-01T00:00:00.000Z");
        assert_eq!(t("quarter"), "2024-04-01T00:00:00.000Z");
        assert_eq!(t("month"), "2024-05-01T00:00:00.000Z");
        assert_eq!(t("week"), "2024-05-13T00:00:00.000Z");
        assert_eq!(t("day"), "2024-05-15T00:00:00.000Z");
        assert_eq!(t("hour"), "2024-05-15T13:00:00.000Z");
        assert_eq!(t("MINUTE"), "2024-05-15T13:45:00.000Z");
        assert!(trunc("fortnight", at).is_none());
        assert_eq!(extract("year", at), Some(Number::Int(2024)));
        assert_eq!(extract("dow", at), Some(Number::Int(3)));
        assert_eq!(extract("second", at), Some(Number::Real(30.25)));
        assert_eq!(
            extract("epoch", ts("1970-01-02")),
            Some(Number::Int(86_400))
        );
    }
}
