//! Casts between SQLite values with PostgreSQL's rules: numbers round (not
//! truncate) into integers, text must be a valid literal of the target type
//! (`invalid input syntax for type …` otherwise), booleans accept `t`/`yes`/…,
//! dates and timestamps come out in the store's text formats.
//!
//! Shared by the `dc_cast` SQL function, literal coercion in the resolver and
//! parameter binding.

use rusqlite::types::{Value, ValueRef};

use super::datetime;

/// What a cast produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Int,
    /// `numeric(p,s)`: rounds to `s` digits when given.
    Numeric(Option<u32>),
    Double,
    Bool,
    Date,
    Timestamp,
    Text,
}

impl Target {
    /// The name `dc_cast` receives.
    pub fn name(self) -> &'static str {
        match self {
            Target::Int => "int",
            Target::Numeric(_) => "numeric",
            Target::Double => "double",
            Target::Bool => "bool",
            Target::Date => "date",
            Target::Timestamp => "timestamp",
            Target::Text => "text",
        }
    }

    pub fn from_name(name: &str, scale: Option<u32>) -> Option<Target> {
        Some(match name {
            "int" => Target::Int,
            "numeric" => Target::Numeric(scale),
            "double" => Target::Double,
            "bool" => Target::Bool,
            "date" => Target::Date,
            "timestamp" => Target::Timestamp,
            "text" => Target::Text,
            _ => return None,
        })
    }

    /// PostgreSQL's name of the type, for error messages.
    fn pg(self) -> &'static str {
        match self {
            Target::Int => "bigint",
            Target::Numeric(_) => "numeric",
            Target::Double => "double precision",
            Target::Bool => "boolean",
            Target::Date => "date",
            Target::Timestamp => "timestamp with time zone",
            Target::Text => "text",
        }
    }
}

/// Casts `value` to `target`; the error is PostgreSQL's message.
pub(crate) fn cast(value: ValueRef<'_>, target: Target) -> Result<Value, String> {
    let invalid =
        |shown: &str| format!("invalid input syntax for type {}: \"{shown}\"", target.pg());
    let text = match value {
        ValueRef::Null => return Ok(Value::Null),
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(_) => return Err(format!("cannot cast binary data to {}", target.pg())),
        _ => None,
    };
    Ok(match (target, value, text) {
        (Target::Text, ValueRef::Integer(i), _) => Value::Text(i.to_string()),
        (Target::Text, ValueRef::Real(f), _) => Value::Text(real_text(f)),
        (Target::Text, _, Some(t)) => Value::Text(t),

        (Target::Int, ValueRef::Integer(i), _) => Value::Integer(i),
        (Target::Int, ValueRef::Real(f), _) => {
            Value::Integer(round_int(f).ok_or("bigint out of range")?)
        }
        (Target::Int, _, Some(t)) => Value::Integer(t.trim().parse().map_err(|_| invalid(&t))?),

        (Target::Numeric(scale), ValueRef::Integer(i), _) => numeric(i as f64, scale),
        (Target::Numeric(scale), ValueRef::Real(f), _) => numeric(f, scale),
        (Target::Numeric(scale), _, Some(t)) => {
            numeric(parse_number(&t).ok_or_else(|| invalid(&t))?, scale)
        }

        (Target::Double, ValueRef::Integer(i), _) => Value::Real(i as f64),
        (Target::Double, ValueRef::Real(f), _) => Value::Real(f),
        (Target::Double, _, Some(t)) => Value::Real(parse_number(&t).ok_or_else(|| invalid(&t))?),

        (Target::Bool, ValueRef::Integer(i), _) => Value::Integer((i != 0) as i64),
        (Target::Bool, ValueRef::Real(f), _) => Value::Integer((f != 0.0) as i64),
        (Target::Bool, _, Some(t)) => {
            Value::Integer(parse_bool(&t).ok_or_else(|| invalid(&t))? as i64)
        }

        (Target::Date, _, Some(t)) => {
            let m = datetime::parse(&t).ok_or_else(|| invalid(&t))?;
            Value::Text(datetime::format_date(m.at.date()))
        }
        (Target::Timestamp, _, Some(t)) => {
            let m = datetime::parse(&t).ok_or_else(|| invalid(&t))?;
            Value::Text(datetime::format_timestamp(m.at))
        }
        (target, _, _) => return Err(format!("cannot cast a number to {}", target.pg())),
    })
}

/// PostgreSQL's boolean input spellings.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => Some(true),
        "f" | "false" | "n" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    match t.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "infinity" | "+infinity" => Some(f64::INFINITY),
        "-infinity" => Some(f64::NEG_INFINITY),
        _ if t
            .bytes()
            .all(|c| c.is_ascii_digit() || b"+-.eE".contains(&c)) =>
        {
            t.parse().ok()
        }
        _ => None,
    }
}

/// Rounds half away from zero, as PostgreSQL's numeric-to-integer casts do.
fn round_int(f: f64) -> Option<i64> {
    let r = f.round();
    (r.is_finite() && r >= i64::MIN as f64 && r <= i64::MAX as f64).then_some(r as i64)
}

/// A numeric value: rounded to `scale`, kept integral when it is whole and
/// unscaled (so `CAST(3 AS numeric)` stays `3`).
fn numeric(f: f64, scale: Option<u32>) -> Value {
    match scale {
        Some(0) => round_int(f).map_or(Value::Real(f), Value::Integer),
        Some(s) => {
            let p = 10f64.powi(s as i32);
            Value::Real((f * p).round() / p)
        }
        None if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::Integer(f as i64),
        None => Value::Real(f),
    }
}

/// A double as PostgreSQL prints it (`5`, `12.5`, `1e+20`).
pub(crate) fn real_text(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if f.abs() >= 1e15 && f.fract() == 0.0 {
        format!("{f:e}").replace('e', "e+")
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(v: Value, t: Target) -> Result<Value, String> {
        cast(ValueRef::from(&v), t)
    }

    #[test]
    fn numbers() {
        assert_eq!(c(Value::Real(2.5), Target::Int), Ok(Value::Integer(3)));
        assert_eq!(c(Value::Real(-2.5), Target::Int), Ok(Value::Integer(-3)));
        assert_eq!(
            c(Value::Text(" 42 ".into()), Target::Int),
            Ok(Value::Integer(42))
        );
        assert!(c(Value::Text("4x".into()), Target::Int)
            .unwrap_err()
            .contains("invalid input syntax for type bigint"));
        assert_eq!(
            c(Value::Real(1.005), Target::Numeric(Some(1))),
            Ok(Value::Real(1.0))
        );
        assert_eq!(
            c(Value::Text("12.345".into()), Target::Numeric(Some(2))),
            Ok(Value::Real(12.35))
        );
        assert_eq!(
            c(Value::Integer(3), Target::Numeric(None)),
            Ok(Value::Integer(3))
        );
        assert_eq!(c(Value::Integer(3), Target::Double), Ok(Value::Real(3.0)));
        assert_eq!(
            c(Value::Real(5.0), Target::Text),
            Ok(Value::Text("5".into()))
        );
    }

    #[test]
    fn booleans_dates_timestamps() {
        assert_eq!(
            c(Value::Text("yes".into()), Target::Bool),
            Ok(Value::Integer(1))
        );
        assert_eq!(
            c(Value::Text("f".into()), Target::Bool),
            Ok(Value::Integer(0))
        );
        assert!(c(Value::Text("maybe".into()), Target::Bool).is_err());
        assert_eq!(
            c(Value::Text("2024-03-22T05:47:10.000Z".into()), Target::Date),
            Ok(Value::Text("2024-03-22".into()))
        );
        assert_eq!(
            c(Value::Text("2024-03-22".into()), Target::Timestamp),
            Ok(Value::Text("2024-03-22T00:00:00.000Z".into()))
        );
        assert!(c(Value::Text("soon".into()), Target::Date)
            .unwrap_err()
            .contains("type date"));
        assert!(c(Value::Integer(1), Target::Date).is_err());
        assert_eq!(c(Value::Null, Target::Date), Ok(Value::Null));
    }
}
