//! Fixture rows into tables: CSV (or JSON Lines) text converted per column
//! type, inserted with one prepared statement per object.
//!
//! Conversions follow the model, not the text: `true`/`false` become 1/0,
//! numbers become INTEGER or REAL, dates stay `yyyy-MM-dd` text and
//! timestamps become ISO-8601 UTC text with milliseconds
//! (`2024-03-22T05:47:10.000Z`) so that text order is time order. An empty
//! CSV cell (or JSON `null`, or a missing JSON key) is NULL. A value that does
//! not fit its type stops the start with the object, line and field.

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{params_from_iter, Connection};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::model::{DcType, FieldDef, ObjectDef};
use crate::org::TableRows;

use super::StoreError;

/// Inserts the rows of one object; returns how many.
pub(crate) fn seed(
    conn: &Connection,
    object: &ObjectDef,
    rows: &TableRows,
) -> Result<usize, StoreError> {
    let fail = |line: u64, field: Option<&str>, message: String| StoreError::Seed {
        object: object.name.clone(),
        message: match field {
            Some(f) => format!("line {line}, field {f}: {message}"),
            None => format!("line {line}: {message}"),
        },
    };
    if rows.format == "jsonl" {
        return seed_jsonl(conn, object, rows, fail);
    }
    let mut reader = csv::ReaderBuilder::new().from_reader(rows.content.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| fail(1, None, e.to_string()))?
        .clone();
    let fields = header
        .iter()
        .map(|h| {
            object
                .field(h)
                .ok_or_else(|| fail(1, None, format!("unknown field `{h}`")))
        })
        .collect::<Result<Vec<&FieldDef>, _>>()?;
    let mut insert = conn.prepare(&insert_sql(object, &fields))?;
    let mut count = 0;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Err(fail(line, None, e.to_string()));
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        let values = record
            .iter()
            .zip(&fields)
            .map(|(cell, field)| {
                borrowed_value(field.ty, cell).map_err(|m| fail(line, Some(&field.name), m))
            })
            .collect::<Result<Vec<_>, _>>()?;
        insert
            .execute(params_from_iter(values.iter()))
            .map_err(|e| fail(line, None, e.to_string()))?;
        count += 1;
    }
    Ok(count)
}

fn seed_jsonl(
    conn: &Connection,
    object: &ObjectDef,
    rows: &TableRows,
    fail: impl Fn(u64, Option<&str>, String) -> StoreError,
) -> Result<usize, StoreError> {
    let fields: Vec<&FieldDef> = object.fields.iter().collect();
    let mut insert = conn.prepare(&insert_sql(object, &fields))?;
    let mut count = 0;
    for (n, text) in rows.content.lines().enumerate() {
        let line = n as u64 + 1;
        if text.trim().is_empty() {
            continue;
        }
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| fail(line, None, e.to_string()))?;
        if let Some(k) = map.keys().find(|k| object.field(k).is_none()) {
            return Err(fail(line, None, format!("unknown field `{k}`")));
        }
        let mut values = vec![Value::Null; fields.len()];
        for (key, json) in &map {
            let Some(i) = fields.iter().position(|f| f.name.eq_ignore_ascii_case(key)) else {
                continue;
            };
            let field = fields[i];
            values[i] = json_value(field.ty, json).map_err(|m| fail(line, Some(&field.name), m))?;
        }
        insert
            .execute(params_from_iter(values.iter()))
            .map_err(|e| fail(line, None, e.to_string()))?;
        count += 1;
    }
    Ok(count)
}

/// Inserts rows given as JSON objects (`POST /__emulator/rows`); every
/// error names the row (`rows[3]`) and, for a value, the field.
pub(crate) fn insert_json(
    conn: &Connection,
    object: &ObjectDef,
    rows: &[serde_json::Map<String, serde_json::Value>],
    replace: bool,
) -> Result<usize, StoreError> {
    let fail = |i: usize, message: String| StoreError::Seed {
        object: object.name.clone(),
        message: format!("rows[{i}]: {message}"),
    };
    let fields: Vec<&FieldDef> = object.fields.iter().collect();
    let mut sql = insert_sql(object, &fields);
    if replace {
        sql = sql.replacen("INSERT", "INSERT OR REPLACE", 1);
    }
    let mut insert = conn.prepare(&sql)?;
    for (i, map) in rows.iter().enumerate() {
        let mut values = vec![Value::Null; fields.len()];
        for (key, json) in map {
            let Some(at) = fields.iter().position(|f| f.name.eq_ignore_ascii_case(key)) else {
                return Err(fail(i, format!("unknown field `{key}`")));
            };
            values[at] = json_value(fields[at].ty, json)
                .map_err(|m| fail(i, format!("field {}: {m}", fields[at].name)))?;
        }
        insert
            .execute(params_from_iter(values.iter()))
            .map_err(|e| fail(i, e.to_string()))?;
    }
    Ok(rows.len())
}

fn insert_sql(object: &ObjectDef, fields: &[&FieldDef]) -> String {
    let columns: Vec<String> = fields.iter().map(|f| format!("\"{}\"", f.name)).collect();
    let marks: Vec<String> = (1..=fields.len()).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO \"{}\" ({}) VALUES ({})",
        object.name,
        columns.join(", "),
        marks.join(", ")
    )
}

/// [`text_value`] without copying text that is stored as written.
fn borrowed_value(ty: DcType, text: &str) -> Result<ToSqlOutput<'_>, String> {
    let as_is = !text.is_empty()
        && match ty {
            DcType::Varchar => true,
            DcType::Date => is_canonical_date(text),
            DcType::Timestamp => is_canonical_timestamp(text),
            _ => false,
        };
    if as_is {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())))
    } else {
        text_value(ty, text).map(ToSqlOutput::Owned)
    }
}

/// The SQLite value of a text cell of type `ty`.
pub(crate) fn text_value(ty: DcType, text: &str) -> Result<Value, String> {
    if text.is_empty() {
        return Ok(Value::Null);
    }
    let bad = |what: &str| format!("`{text}` is not {what}");
    Ok(match ty {
        DcType::Varchar => Value::Text(text.to_owned()),
        DcType::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Value::Integer(1),
            "false" | "0" => Value::Integer(0),
            _ => return Err(bad("a BOOLEAN (true or false)")),
        },
        DcType::Bigint => Value::Integer(text.trim().parse().map_err(|_| bad("a BIGINT"))?),
        DcType::Integer => {
            let v: i32 = text.trim().parse().map_err(|_| bad("an INTEGER"))?;
            Value::Integer(v.into())
        }
        DcType::Decimal | DcType::Double => match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Value::Real(v),
            _ => return Err(bad("a number")),
        },
        DcType::Date if is_canonical_date(text) => Value::Text(text.to_owned()),
        DcType::Timestamp if is_canonical_timestamp(text) => Value::Text(text.to_owned()),
        DcType::Date => {
            let date = Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
                .map_err(|_| bad("a DATE (yyyy-MM-dd)"))?;
            Value::Text(date.to_string())
        }
        DcType::Timestamp => {
            let t = OffsetDateTime::parse(text.trim(), &Rfc3339)
                .map_err(|_| bad("a TIMESTAMP (ISO-8601 like 2024-03-22T05:47:10.000Z)"))?;
            Value::Text(utc_millis(t))
        }
    })
}

fn json_value(ty: DcType, json: &serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as J;
    match (json, ty) {
        (J::Null, _) => Ok(Value::Null),
        (J::String(s), _) => text_value(ty, s),
        (J::Bool(b), DcType::Boolean) => Ok(Value::Integer((*b).into())),
        (J::Number(n), DcType::Varchar) => Ok(Value::Text(n.to_string())),
        (J::Number(n), DcType::Decimal | DcType::Double | DcType::Bigint | DcType::Integer) => {
            text_value(ty, &n.to_string())
        }
        (other, _) => Err(format!("`{other}` is not a {}", ty.v2_name())),
    }
}

/// Whether `text` is a valid `yyyy-MM-dd` date. A fast path: fixture files
/// hold thousands of dates already in stored form, and the general parser is
/// slow in debug builds, which tests and `cargo run` use.
fn is_canonical_date(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(y), Some(m), Some(d)) = (digits(&b[0..4]), digits(&b[5..7]), digits(&b[8..10]))
    else {
        return false;
    };
    let Ok(month) = time::Month::try_from(m as u8) else {
        return false;
    };
    d >= 1 && d <= u32::from(time::util::days_in_month(month, y as i32))
}

/// Whether `text` is already in stored timestamp form
/// (`2024-03-22T05:47:10.000Z`) and valid; see [`is_canonical_date`].
fn is_canonical_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 24
        && is_canonical_date(&text[..10])
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z'
        && digits(&b[11..13]).is_some_and(|h| h < 24)
        && digits(&b[14..16]).is_some_and(|m| m < 60)
        && digits(&b[17..19]).is_some_and(|s| s < 60)
        && digits(&b[20..23]).is_some()
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// `2024-03-22T05:47:10.000Z`: the stored form of every timestamp.
pub fn utc_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_convert_per_type() {
        assert_eq!(text_value(DcType::Boolean, "true"), Ok(Value::Integer(1)));
        assert_eq!(text_value(DcType::Boolean, "FALSE"), Ok(Value::Integer(0)));
        assert_eq!(text_value(DcType::Bigint, "42"), Ok(Value::Integer(42)));
        assert_eq!(
            text_value(DcType::Decimal, "100.50"),
            Ok(Value::Real(100.5))
        );
        assert_eq!(text_value(DcType::Varchar, ""), Ok(Value::Null));
        assert_eq!(
            text_value(DcType::Timestamp, "2024-03-22T07:47:10+02:00"),
            Ok(Value::Text("2024-03-22T05:47:10.000Z".into()))
        );
        assert_eq!(
            text_value(DcType::Date, "2024-02-29"),
            Ok(Value::Text("2024-02-29".into()))
        );
        assert!(text_value(DcType::Date, "2023-02-29").is_err());
        assert!(text_value(DcType::Date, "2023-13-01").is_err());
        assert!(text_value(DcType::Timestamp, "2024-03-22T24:47:10.000Z").is_err());
        assert!(text_value(DcType::Timestamp, "2024-02-30T05:47:10.000Z").is_err());
        assert_eq!(
            text_value(DcType::Timestamp, "2024-03-22T05:47:10.123Z"),
            Ok(Value::Text("2024-03-22T05:47:10.123Z".into()))
        );
        assert!(text_value(DcType::Boolean, "yes").is_err());
        assert!(text_value(DcType::Integer, "9999999999").is_err());
    }
}
