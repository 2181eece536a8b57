//! `to_char`/`to_date`/`to_timestamp` templates: the common PostgreSQL
//! patterns (`YYYY`, `MM`, `DD`, `HH24`, `MI`, `SS`, `MS`, `Mon`, `Day`, `AM`,
//! `FM`, `"quoted text"`, …), in UTC.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, Weekday};

use super::digits;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

/// Template patterns of `to_char`/`to_date`, longest first so `YYYY` wins over `YY`.
const PATTERNS: &[&str] = &[
    "FM", "YYYY", "HH24", "HH12", "MONTH", "Month", "month", "DAY", "Day", "day", "MON", "Mon",
    "mon", "DDD", "YY", "MM", "DD", "HH", "MI", "SS", "MS", "US", "DY", "Dy", "dy", "AM", "PM",
    "am", "pm", "Q", "D", "TZ", "tz", "OF",
];

/// Splits a template into patterns and literal text (`"…"` quotes literals).
fn tokens(fmt: &str) -> Vec<Result<&'static str, String>> {
    let mut out = Vec::new();
    let mut rest = fmt;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('"') {
            let (lit, after) = r.split_once('"').unwrap_or((r, ""));
            out.push(Err(lit.to_string()));
            rest = after;
        } else if let Some(p) = PATTERNS.iter().find(|p| rest.starts_with(**p)) {
            out.push(Ok(*p));
            rest = &rest[p.len()..];
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(Err(c.to_string()));
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// A month or day name in the pattern's case; full names pad to 9 characters
/// unless fill mode (`FM`) is on, as PostgreSQL does.
fn cased(name: &str, pattern: &str, fill: bool) -> String {
    let short = pattern.len() <= 3 && !pattern.eq_ignore_ascii_case("day");
    let name = if short {
        name[..3].to_string()
    } else if fill {
        name.to_string()
    } else {
        format!("{name:<9}")
    };
    match pattern {
        p if p.chars().all(|c| c.is_ascii_uppercase()) => name.to_ascii_uppercase(),
        p if p.chars().all(|c| c.is_ascii_lowercase()) => name.to_ascii_lowercase(),
        _ => name.to_string(),
    }
}

/// `to_char(timestamp, template)` for the common template patterns.
pub(crate) fn to_char(at: OffsetDateTime, fmt: &str) -> String {
    let date = at.date();
    let hour12 = match at.hour() % 12 {
        0 => 12,
        h => h,
    };
    let mut out = String::new();
    let mut fill = false;
    for token in tokens(fmt) {
        let piece = match token {
            Err(lit) => lit,
            Ok("FM") => {
                fill = true;
                continue;
            }
            Ok(p) => match p {
                "YYYY" => format!("{:04}", date.year()),
                "YY" => format!("{:02}", date.year().rem_euclid(100)),
                "MM" => format!("{:02}", u8::from(date.month())),
                "DD" => format!("{:02}", date.day()),
                "DDD" => format!("{:03}", date.ordinal()),
                "HH24" => format!("{:02}", at.hour()),
                "HH12" | "HH" => format!("{hour12:02}"),
                "MI" => format!("{:02}", at.minute()),
                "SS" => format!("{:02}", at.second()),
                "MS" => format!("{:03}", at.millisecond()),
                "US" => format!("{:06}", at.microsecond()),
                "Q" => ((u8::from(date.month()) - 1) / 3 + 1).to_string(),
                "D" => (date.weekday().number_days_from_sunday() + 1).to_string(),
                "AM" | "PM" => if at.hour() < 12 { "AM" } else { "PM" }.to_string(),
                "am" | "pm" => if at.hour() < 12 { "am" } else { "pm" }.to_string(),
                "TZ" => "UTC".into(),
                "tz" => "utc".into(),
                "OF" => "+00".into(),
                month
                    if month.eq_ignore_ascii_case("month") || month.eq_ignore_ascii_case("mon") =>
                {
                    cased(MONTHS[u8::from(date.month()) as usize - 1], month, fill)
                }
                day => cased(weekday_name(date.weekday()), day, fill),
            },
        };
        fill = false;
        out.push_str(&piece);
    }
    out
}

/// `to_date`/`to_timestamp(text, template)` for numeric fields and month names.
pub(crate) fn parse_with(text: &str, fmt: &str) -> Option<OffsetDateTime> {
    let (mut year, mut month, mut day) = (1i32, 1u8, 1u8);
    let (mut hour, mut minute, mut second, mut millis) = (0u8, 0u8, 0u8, 0u32);
    let mut pm = None;
    let mut rest = text.trim_start();
    let number = |rest: &mut &str, max: usize| -> Option<i64> {
        let n = rest
            .bytes()
            .take(max)
            .take_while(u8::is_ascii_digit)
            .count();
        let v = digits(&rest[..n]);
        *rest = &rest[n..];
        v
    };
    for token in tokens(fmt) {
        match token {
            Err(lit) => {
                // Separators match loosely, as in PostgreSQL.
                let skip = rest.chars().next().map_or(0, |c| {
                    if lit.trim().is_empty() || !c.is_ascii_alphanumeric() {
                        c.len_utf8()
                    } else {
                        0
                    }
                });
                rest = &rest[skip..];
            }
            Ok("FM") => {}
            Ok("YYYY") => year = number(&mut rest, 4)? as i32,
            Ok("YY") => year = 2000 + number(&mut rest, 2)? as i32,
            Ok("MM") => month = number(&mut rest, 2)? as u8,
            Ok("DD") => day = number(&mut rest, 2)? as u8,
            Ok("HH24") | Ok("HH12") | Ok("HH") => hour = number(&mut rest, 2)? as u8,
            Ok("MI") => minute = number(&mut rest, 2)? as u8,
            Ok("SS") => second = number(&mut rest, 2)? as u8,
            Ok("MS") => millis = number(&mut rest, 3)? as u32,
            Ok("AM") | Ok("PM") | Ok("am") | Ok("pm") => {
                let word = rest.get(..2)?;
                pm = Some(word.eq_ignore_ascii_case("pm"));
                rest = &rest[2..];
            }
            Ok(p) if p.eq_ignore_ascii_case("mon") || p.eq_ignore_ascii_case("month") => {
                let starts = |name: &str, n: usize| {
                    rest.get(..n)
                        .is_some_and(|head| head.eq_ignore_ascii_case(&name[..n]))
                };
                let index = MONTHS.iter().position(|m| starts(m, 3))?;
                month = index as u8 + 1;
                let name = MONTHS[index];
                let long = p.len() > 3 && starts(name, name.len());
                rest = &rest[if long { name.len() } else { 3 }..];
            }
            Ok(_) => return None,
        }
    }
    if let Some(pm) = pm {
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    let time = Time::from_hms_milli(hour, minute, second, millis as u16).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> OffsetDateTime {
        super::super::parse(s).expect(s).at
    }

    #[test]
    fn odd_input_never_panics() {
        for text in [
            "2024-01-0é",
            "é024-01-01",
            "2024-01-01Té0:00",
            "2024-01-01 10:0é",
            "",
            "ééééééééééé",
        ] {
            let _ = super::super::parse(text);
            let _ = parse_with(text, "YYYY-MM-DD HH24:MI");
            let _ = parse_with(text, "Month DD YYYY");
            let _ = super::super::parse_interval(text, None);
        }
        assert_eq!(parse_with("Mä 01 2024", "Mon DD YYYY"), None);
    }

    #[test]
    fn templates() {
        let at = ts("2024-05-05T13:04:09Z");
        assert_eq!(to_char(at, "YYYY-MM-DD HH24:MI:SS"), "2024-05-05 13:04:09");
        assert_eq!(
            to_char(at, "Dy, DD Mon YYYY HH12 AM"),
            "Sun, 05 May 2024 01 PM"
        );
        assert_eq!(to_char(at, "FMMonth"), "May");
        assert_eq!(to_char(at, "Month|"), "May      |");
        assert_eq!(to_char(at, "\"Q\"Q"), "Q2");
        let p = |s, f| parse_with(s, f).map(super::super::format_timestamp);
        assert_eq!(
            p("05/03/2024", "DD/MM/YYYY").as_deref(),
            Some("2024-03-05T00:00:00.000Z")
        );
        assert_eq!(
            p("2024-Mar-05 1:30 PM", "YYYY-Mon-DD HH:MI AM").as_deref(),
            Some("2024-03-05T13:30:00.000Z")
        );
        assert_eq!(
            p("20240305", "YYYYMMDD").as_deref(),
            Some("2024-03-05T00:00:00.000Z")
        );
        assert_eq!(p("2024-02-31", "YYYY-MM-DD"), None);
    }
}
