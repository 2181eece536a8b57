//! Records against their schema object: JSON records of the streaming API
//! and CSV cells of bulk jobs become [`Record`]s, or a list of problems
//! naming the field.
//!
//! Streaming rules (Salesforce's): every schema field must be present in
//! every record (a blank value — `null` or `""` — stands for "no data"), no
//! other field may be, and each value must fit its type: JSON strings for
//! text and the string formats, JSON numbers for numbers, JSON booleans for
//! booleans. Formats are checked: `email` (one `@`, a dotted domain),
//! `date` (`yyyy-MM-dd`), `date-time` (ISO-8601 with a zone, with or without
//! fractional seconds), `phone` (digits with `+ - ( ) .` and spaces, 7 to 15
//! digits) and `url` (`http`/`https` with a host). The phone and URL rules
//! are the emulator's reading; Salesforce documents neither.
//!
//! A record keeps each value's text form (`None` for blank): numbers as
//! written, booleans `true`/`false`, date-times normalized to UTC
//! milliseconds (`2026-04-19T10:00:00.000Z`), the form the store keeps.

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use super::{FieldKind, SchemaObject};

/// A validated record: per schema field (in schema order), its text form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record(pub Vec<Option<String>>);

impl Record {
    /// The text of field `index`, `None` when blank.
    pub fn get(&self, index: usize) -> Option<&str> {
        self.0.get(index).and_then(|v| v.as_deref())
    }

    /// The record as a JSON object of text values (the queue's form).
    pub fn to_json(&self, object: &SchemaObject) -> Value {
        let map: Map<String, Value> = object
            .fields
            .iter()
            .zip(&self.0)
            .map(|(f, v)| {
                let v = v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()));
                (f.name.clone(), v)
            })
            .collect();
        Value::Object(map)
    }

    /// Reads the queue's form back: missing or non-text values are blank.
    pub fn from_json(object: &SchemaObject, value: &Value) -> Record {
        Record(
            object
                .fields
                .iter()
                .map(|f| {
                    value
                        .get(&f.name)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect(),
        )
    }
}

/// One thing wrong with a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field at fault (`None`: the record as a whole).
    pub field: Option<String>,
    pub message: String,
}

fn problem(field: Option<&str>, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field: field.map(str::to_owned),
        message: message.into(),
    }
}

/// Validates one JSON record of a streaming request.
pub fn json_record(object: &SchemaObject, value: &Value) -> Result<Record, Vec<FieldProblem>> {
    let Some(map) = value.as_object() else {
        return Err(vec![problem(
            None,
            format!("a record must be a JSON object, not {}", json_kind(value)),
        )]);
    };
    let mut problems = Vec::new();
    let mut values = Vec::with_capacity(object.fields.len());
    for field in &object.fields {
        match map.get(&field.name) {
            None => {
                problems.push(problem(
                    Some(&field.name),
                    "missing: every field of the schema must be present (send null or \"\" for no data)",
                ));
                values.push(None);
            }
            Some(v) => match json_value(field.kind, v) {
                Ok(text) => values.push(text),
                Err(m) => {
                    problems.push(problem(Some(&field.name), m));
                    values.push(None);
                }
            },
        }
    }
    for key in map.keys() {
        if object.index_of(key).is_none() {
            let hint = object
                .fields
                .iter()
                .find(|f| {
                    f.name.eq_ignore_ascii_case(key)
                        || crate::ingest::dlo_field_name(&f.name) == *key
                })
                .map(|f| format!(" (did you mean `{}`?)", f.name))
                .unwrap_or_default();
            problems.push(problem(
                Some(key),
                format!(
                    "unknown field: not in the schema of `{}`{hint}",
                    object.name
                ),
            ));
        }
    }
    if problems.is_empty() {
        Ok(Record(values))
    } else {
        Err(problems)
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The text form of a JSON value of a field of `kind`.
fn json_value(kind: FieldKind, v: &Value) -> Result<Option<String>, String> {
    let expected = |what: &str| format!("expected {what}, got {}", json_kind(v));
    match (kind, v) {
        (_, Value::Null) => Ok(None),
        (_, Value::String(s)) if s.is_empty() => Ok(None),
        (FieldKind::Number | FieldKind::Percent, Value::Number(n)) => match n.as_f64() {
            Some(f) if f.is_finite() => Ok(Some(n.to_string())),
            _ => Err(format!("`{n}` is not a finite number")),
        },
        (FieldKind::Integer, Value::Number(n)) => {
            if n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0) {
                Ok(Some(n.to_string()))
            } else {
                Err(format!("`{n}` is not a whole number"))
            }
        }
        (FieldKind::Number | FieldKind::Percent | FieldKind::Integer, _) => {
            Err(expected("a JSON number"))
        }
        (FieldKind::Boolean, Value::Bool(b)) => Ok(Some(b.to_string())),
        (FieldKind::Boolean, _) => Err(expected("a JSON boolean (true or false)")),
        (_, Value::String(s)) => text_value(kind, s),
        (_, _) => Err(expected("a JSON string")),
    }
}

/// The text form of a value written as text (a CSV cell, or a JSON string
/// of a text-like field); `""` is blank.
pub fn text_value(kind: FieldKind, text: &str) -> Result<Option<String>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let ok = || Ok(Some(text.to_owned()));
    match kind {
        FieldKind::Text => ok(),
        FieldKind::Number | FieldKind::Percent => match text.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Some(text.trim().to_owned())),
            _ => Err(format!("`{text}` is not a number")),
        },
        FieldKind::Integer => match text.trim().parse::<f64>() {
            Ok(f) if f.is_finite() && f.fract() == 0.0 => Ok(Some(text.trim().to_owned())),
            _ => Err(format!("`{text}` is not a whole number")),
        },
        FieldKind::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Some("true".into())),
            "false" => Ok(Some("false".into())),
            _ => Err(format!("`{text}` is not a boolean (true or false)")),
        },
        FieldKind::Email if is_email(text) => ok(),
        FieldKind::Email => Err(format!("`{text}` is not a valid email address")),
        FieldKind::Phone if is_phone(text) => ok(),
        FieldKind::Phone => Err(format!(
            "`{text}` is not a valid phone number (digits with + - ( ) . and spaces, 7 to 15 digits)"
        )),
        FieldKind::Url if is_url(text) => ok(),
        FieldKind::Url => Err(format!("`{text}` is not a valid URL (http:// or https:// and a host)")),
        FieldKind::Date => Date::parse(text, format_description!("[year]-[month]-[day]"))
            .map(|_| Some(text.to_owned()))
            .map_err(|_| format!("`{text}` is not a date (yyyy-MM-dd)")),
        FieldKind::DateTime => OffsetDateTime::parse(text, &Rfc3339)
            .map(|t| Some(crate::store::utc_millis(t)))
            .map_err(|_| {
                format!(
                    "`{text}` is not a date-time (ISO-8601 with a zone, e.g. 2021-07-05T09:31:44.457Z)"
                )
            }),
    }
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let labels: Vec<&str> = domain.split('.').collect();
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
        && labels.len() >= 2
        && labels.iter().all(|l| label_ok(l))
        && labels
            .last()
            .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()))
}

fn is_phone(s: &str) -> bool {
    let body = s.trim();
    let body = body.strip_prefix('+').unwrap_or(body);
    let digits = body.chars().filter(char::is_ascii_digit).count();
    body.chars()
        .all(|c| c.is_ascii_digit() || " -().".contains(c))
        && (7..=15).contains(&digits)
}

fn is_url(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let Some(rest) = rest else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    !host.is_empty() && !s.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::SchemaField;
    use serde_json::json;

    fn object() -> SchemaObject {
        let f = |name: &str, kind| SchemaField {
            name: name.into(),
            kind,
        };
        SchemaObject {
            name: "Lead".into(),
            fields: vec![
                f("id", FieldKind::Text),
                f("email", FieldKind::Email),
                f("score", FieldKind::Number),
                f("vip", FieldKind::Boolean),
                f("at", FieldKind::DateTime),
            ],
        }
    }

    #[test]
    fn a_good_record_keeps_text_forms() {
        let r = json_record(
            &object(),
            &json!({"id": "a", "email": "x@example.com", "score": 1.5, "vip": true, "at": "2026-04-19T12:00:00+02:00"}),
        )
        .unwrap();
        assert_eq!(
            r.0,
            [
                Some("a".into()),
                Some("x@example.com".into()),
                Some("1.5".into()),
                Some("true".into()),
                Some("2026-04-19T10:00:00.000Z".into())
            ]
        );
        assert_eq!(Record::from_json(&object(), &r.to_json(&object())), r);
    }

    #[test]
    fn problems_name_fields() {
        let errs = json_record(
            &object(),
            &json!({"id": "a", "email": "nope", "score": "1", "vip": null, "extra": 1}),
        )
        .unwrap_err();
        let named: Vec<_> = errs.iter().map(|p| p.field.clone().unwrap()).collect();
        assert_eq!(named, ["email", "score", "at", "extra"]);
        assert!(errs[2].message.starts_with("missing"));
        assert!(json_record(&object(), &json!([1])).is_err());
    }

    #[test]
    fn formats() {
        for ok in ["a.b+c@example.co.uk", "x@y.io"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in ["@x.io", "a@b", "a b@x.io", "a@@x.io", "a@x..io", "a@x.i0"] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(is_phone("+1 (415) 555-0142"));
        assert!(is_phone("07700 900123"));
        assert!(!is_phone("whatsapp:+14155550142"));
        assert!(!is_phone("12345"));
        assert!(is_url("https://example.com/a?b"));
        assert!(!is_url("example.com"));
        assert!(text_value(FieldKind::Date, "2024-02-30").is_err());
        assert!(text_value(FieldKind::DateTime, "2020-04-27T02:48:33Z").is_ok());
        assert!(text_value(FieldKind::DateTime, "2020-04-27 02:48:33").is_err());
        assert_eq!(
            text_value(FieldKind::Boolean, "TRUE"),
            Ok(Some("true".into()))
        );
        assert!(text_value(FieldKind::Integer, "1.5").is_err());
    }
}
