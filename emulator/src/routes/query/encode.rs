//! Result encoding: a `QueryResult` (typed columns, JSON-ish rows from the SQL
//! layer) rendered as each query API puts it on the wire.
//!
//! * V1/V2 (tenant host and Connect `ssot/query[v2]`): `metadata` is a map keyed
//!   by column label with `type`/`placeInOrder`/`typeCode`; V2 `data` holds
//!   arrays, V1 `data` objects keyed by label. Values follow reference §4.4:
//!   `DECIMAL` and timestamps as strings (the connectors convert those
//!   strings themselves, matching type names case-sensitively), `BOOLEAN` as a
//!   JSON boolean, integer and double types as numbers.
//! * Connect `query-sql`: `metadata` is a list of `{name, type, nullable, …}`
//!   and every number is a JSON number (`dc2` converts by `type`/`scale`).
//!
//! The functions are pure so the shapes are unit-tested without a database.

use std::collections::HashSet;
use std::ops::Range;

use serde_json::{json, Map, Number, Value};
use time::OffsetDateTime;

use crate::clock::{format_iso_micros, parse_rfc3339};
use crate::model::DcType;
use crate::sql::{Column, QueryResult};

/// Precision and scale Data Cloud gives its `NUMBER` (DECIMAL) fields.
const DECIMAL_PRECISION: u32 = 18;
const DECIMAL_SCALE: u32 = 2;

/// Column labels as keys: V1/V2 key `metadata` (and V1 rows) by label, so two
/// columns with the same label (`SELECT a, a`) would collide and a client
/// would see fewer columns than each row holds. Later duplicates get `_1`,
/// `_2`, … appended [inferred: the real service's behaviour is unrecorded].
pub fn labels(columns: &[Column]) -> Vec<String> {
    let mut used: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(columns.len());
    for c in columns {
        let mut label = c.name.clone();
        let mut n = 0;
        while !used.insert(label.clone()) {
            n += 1;
            label = format!("{}_{n}", c.name);
        }
        out.push(label);
    }
    out
}

/// V1/V2 `metadata`: `{label: {type, placeInOrder, typeCode}}`.
pub fn v2_metadata(columns: &[Column], labels: &[String]) -> Value {
    let mut map = Map::new();
    for (i, (c, label)) in columns.iter().zip(labels).enumerate() {
        map.insert(
            label.clone(),
            json!({"type": c.ty.v2_name(), "placeInOrder": i, "typeCode": c.ty.type_code()}),
        );
    }
    Value::Object(map)
}

/// V2 `data` for `range` of the rows: arrays in column order.
pub fn v2_rows(result: &QueryResult, range: Range<usize>) -> Vec<Value> {
    rows_in(result, range)
        .iter()
        .map(|row| {
            Value::Array(
                result
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| v2_value(c.ty, row.get(i).unwrap_or(&Value::Null)))
                    .collect(),
            )
        })
        .collect()
}

/// V1 `data` for `range` of the rows: objects keyed by label.
pub fn v1_rows(result: &QueryResult, labels: &[String], range: Range<usize>) -> Vec<Value> {
    rows_in(result, range)
        .iter()
        .map(|row| {
            let mut obj = Map::new();
            for (i, (c, label)) in result.columns.iter().zip(labels).enumerate() {
                obj.insert(
                    label.clone(),
                    v2_value(c.ty, row.get(i).unwrap_or(&Value::Null)),
                );
            }
            Value::Object(obj)
        })
        .collect()
}

/// Connect `query-sql` `metadata`: a list in column order.
pub fn connect_metadata(columns: &[Column]) -> Value {
    Value::Array(
        columns
            .iter()
            .map(|c| {
                let mut item =
                    json!({"name": c.name, "type": c.ty.connect_name(), "nullable": true});
                if c.ty == DcType::Decimal {
                    item["precision"] = json!(DECIMAL_PRECISION);
                    item["scale"] = json!(DECIMAL_SCALE);
                }
                item
            })
            .collect(),
    )
}

/// Connect `query-sql` `data` for `range` of the rows.
pub fn connect_rows(result: &QueryResult, range: Range<usize>) -> Vec<Value> {
    rows_in(result, range)
        .iter()
        .map(|row| {
            Value::Array(
                result
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| connect_value(c.ty, row.get(i).unwrap_or(&Value::Null)))
                    .collect(),
            )
        })
        .collect()
}

fn rows_in(result: &QueryResult, range: Range<usize>) -> &[Vec<Value>] {
    let end = range.end.min(result.rows.len());
    let start = range.start.min(end);
    &result.rows[start..end]
}

/// One V1/V2 value.
pub fn v2_value(ty: DcType, v: &Value) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    match ty {
        DcType::Varchar | DcType::Date => as_text(v),
        DcType::Decimal => match v {
            Value::Number(n) => Value::String(decimal_text(n)),
            other => as_text(other),
        },
        DcType::Bigint | DcType::Integer => as_integer(v),
        DcType::Double => as_number(v),
        DcType::Boolean => as_bool(v),
        DcType::Timestamp => match v.as_str().and_then(parse_timestamp) {
            Some(t) => Value::String(format_v2_timestamp(t)),
            None => as_text(v),
        },
    }
}

/// One Connect `query-sql` value.
pub fn connect_value(ty: DcType, v: &Value) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    match ty {
        DcType::Varchar | DcType::Date => as_text(v),
        DcType::Decimal | DcType::Double => as_number(v),
        DcType::Bigint | DcType::Integer => as_integer(v),
        DcType::Boolean => as_bool(v),
        DcType::Timestamp => match v.as_str() {
            // Already ISO-8601 with an offset: keep the SQL layer's precision.
            Some(s) if parse_rfc3339(s).is_some() => v.clone(),
            Some(s) => match parse_timestamp(s) {
                Some(t) => Value::String(format_iso_micros(t)),
                None => v.clone(),
            },
            None => as_text(v),
        },
    }
}

/// A DECIMAL as text: integral values without a fraction (`"10"`, as in
/// Salesforce's samples, not `"10.0"`), others in their shortest form.
fn decimal_text(n: &Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        _ => n.to_string(),
    }
}

/// `2024-03-22 05:47:10.000 UTC`, the newer of the two timestamp spellings in
/// Salesforce's V2 samples (reference §4.4).
pub fn format_v2_timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} UTC",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Parses RFC 3339, or SQLite's `yyyy-MM-dd HH:MM:SS[.fff]` (taken as UTC).
pub fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    if let Some(t) = parse_rfc3339(s) {
        return Some(t);
    }
    let s = s.trim();
    if s.len() < 19 || !s.is_char_boundary(10) {
        return None;
    }
    let (date, rest) = s.split_at(10);
    let rest = rest.strip_prefix([' ', 'T'])?;
    let has_zone = rest.ends_with('Z') || rest.get(8..).is_some_and(|t| t.contains(['+', '-']));
    let candidate = if has_zone {
        format!("{date}T{rest}")
    } else {
        format!("{date}T{rest}Z")
    };
    parse_rfc3339(&candidate)
}

fn as_text(v: &Value) -> Value {
    match v {
        Value::String(_) => v.clone(),
        other => Value::String(other.to_string()),
    }
}

fn as_number(v: &Value) -> Value {
    match v {
        Value::Number(_) => v.clone(),
        Value::Bool(b) => json!(u8::from(*b)),
        Value::String(s) => number_from_str(s).unwrap_or_else(|| v.clone()),
        _ => v.clone(),
    }
}

fn as_integer(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => json!(f as i64),
            _ => v.clone(),
        },
        other => as_number(other),
    }
}

fn as_bool(v: &Value) -> Value {
    match v {
        Value::Bool(_) => v.clone(),
        Value::Number(n) => Value::Bool(n.as_f64().is_some_and(|f| f != 0.0)),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "t" | "1" => Value::Bool(true),
            "false" | "f" | "0" => Value::Bool(false),
            _ => v.clone(),
        },
        _ => v.clone(),
    }
}

fn number_from_str(s: &str) -> Option<Value> {
    let s = s.trim();
    if let Ok(i) = s.parse::<i64>() {
        return Some(json!(i));
    }
    s.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, ty: DcType) -> Column {
        Column {
            name: name.into(),
            ty,
        }
    }

    fn sample() -> QueryResult {
        QueryResult {
            columns: vec![
                col("ssot__FirstName__c", DcType::Varchar),
                col("amount__c", DcType::Decimal),
                col("n", DcType::Bigint),
                col("ok", DcType::Boolean),
                col("ts", DcType::Timestamp),
                col("d", DcType::Date),
                col("x", DcType::Double),
            ],
            rows: vec![
                vec![
                    json!("Andy"),
                    json!(12.5),
                    json!(3),
                    json!(true),
                    json!("2021-09-16T16:26:36.120Z"),
                    json!("1990-01-02"),
                    json!(0.25),
                ],
                vec![
                    Value::Null,
                    json!(10),
                    json!(4.0),
                    json!(0),
                    json!("2021-09-16 16:26:36"),
                    Value::Null,
                    json!("1.5"),
                ],
            ],
        }
    }

    #[test]
    fn v2_values_follow_reference() {
        let r = sample();
        let rows = v2_rows(&r, 0..10);
        assert_eq!(
            rows[0],
            json!([
                "Andy",
                "12.5",
                3,
                true,
                "2021-09-16 16:26:36.120 UTC",
                "1990-01-02",
                0.25
            ])
        );
        assert_eq!(
            rows[1],
            json!([
                null,
                "10",
                4,
                false,
                "2021-09-16 16:26:36.000 UTC",
                null,
                1.5
            ])
        );
    }

    #[test]
    fn v2_metadata_is_a_map_with_dense_order() {
        let r = sample();
        let l = labels(&r.columns);
        let m = v2_metadata(&r.columns, &l);
        assert_eq!(
            m["ssot__FirstName__c"],
            json!({"type": "VARCHAR", "placeInOrder": 0, "typeCode": 12})
        );
        assert_eq!(m["amount__c"]["type"], "DECIMAL");
        assert_eq!(m["x"]["placeInOrder"], 6);
        assert_eq!(m.as_object().map(|o| o.len()), Some(7));
    }

    #[test]
    fn duplicate_labels_stay_distinct() {
        let cols = vec![
            col("a", DcType::Varchar),
            col("a", DcType::Varchar),
            col("a_1", DcType::Varchar),
        ];
        assert_eq!(labels(&cols), vec!["a", "a_1", "a_1_1"]);
    }

    #[test]
    fn v1_rows_are_objects() {
        let r = sample();
        let l = labels(&r.columns);
        let rows = v1_rows(&r, &l, 1..2);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["amount__c"], "10");
        assert_eq!(rows[0]["ssot__FirstName__c"], Value::Null);
    }

    #[test]
    fn connect_values_are_numbers() {
        let r = sample();
        let rows = connect_rows(&r, 0..2);
        assert_eq!(rows[0][1], json!(12.5));
        assert_eq!(rows[0][4], json!("2021-09-16T16:26:36.120Z"));
        assert_eq!(rows[1][1], json!(10));
        assert_eq!(rows[1][3], json!(false));
        assert_eq!(rows[1][4], json!("2021-09-16T16:26:36.000000Z"));
        let m = connect_metadata(&r.columns);
        assert_eq!(
            m[1],
            json!({"name": "amount__c", "type": "Numeric", "nullable": true, "precision": 18, "scale": 2})
        );
        assert_eq!(m[3]["type"], "Bool");
    }

    #[test]
    fn ranges_are_clamped() {
        let r = sample();
        assert!(v2_rows(&r, 5..9).is_empty());
        assert_eq!(v2_rows(&r, 1..9).len(), 1);
    }
}
