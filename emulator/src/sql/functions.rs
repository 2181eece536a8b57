//! Scalar functions SQLite lacks, registered on every connection: the targets
//! of the translation (`dc_cast`, `dc_date_trunc`, `dc_left`, …), PostgreSQL's
//! math functions, Unicode-aware `lower`/`upper` (SQLite's fold ASCII only),
//! and the `pg_catalog` helpers connectors call (`format_type`).
//!
//! Errors carry PostgreSQL's wording; SQLite reports them as the statement's
//! error and `exec` passes them on.

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};
use rusqlite::Connection;

use super::cast::{self, Target};
use super::datetime::{self, Moment, Number};
use super::pg_catalog;

mod aggregate;
mod regex;
mod text;

pub(super) type Fallible = Result<Value, String>;
/// A named `f64 -> f64` math function.
type Unary = (&'static str, fn(f64) -> f64);

/// Registers every function on `conn`.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    add(conn, "dc_cast", 3, |c| {
        let scale = int(c, 2)?.map(|s| s.clamp(0, 30) as u32);
        let target = Target::from_name(&text(c, 1).unwrap_or_default(), scale)
            .ok_or("unknown cast target")?;
        cast::cast(c.get_raw(0), target)
    })?;
    add(conn, "dc_date_trunc", 2, |c| {
        let (Some(unit), Some(m)) = (text(c, 0), moment(c, 1)?) else {
            return Ok(Value::Null);
        };
        let t = datetime::trunc(&unit, m.at).ok_or_else(|| {
            format!("unit \"{unit}\" not recognized for type timestamp with time zone")
        })?;
        Ok(Value::Text(datetime::format_timestamp(t)))
    })?;
    add(conn, "dc_extract", 2, |c| {
        let (Some(field), Some(m)) = (text(c, 0), moment(c, 1)?) else {
            return Ok(Value::Null);
        };
        match datetime::extract(&field, m.at) {
            Some(Number::Int(i)) => Ok(Value::Integer(i)),
            Some(Number::Real(f)) => Ok(Value::Real(f)),
            None => Err(format!(
                "unit \"{field}\" not recognized for type timestamp with time zone"
            )),
        }
    })?;
    add(conn, "dc_add_interval", 3, |c| {
        let Some(m) = moment(c, 0)? else {
            return Ok(Value::Null);
        };
        let iv = datetime::Interval {
            months: int(c, 1)?.unwrap_or(0),
            micros: int(c, 2)?.unwrap_or(0),
        };
        let at = datetime::add_interval(m.at, iv).ok_or("timestamp out of range")?;
        Ok(Value::Text(datetime::format_timestamp(at)))
    })?;
    add(conn, "dc_date_add_days", 2, |c| {
        let (Some(m), Some(n)) = (moment(c, 0)?, int(c, 1)?) else {
            return Ok(Value::Null);
        };
        let date =
            m.at.date()
                .checked_add(time::Duration::days(n))
                .ok_or("date out of range")?;
        Ok(Value::Text(datetime::format_date(date)))
    })?;
    add(conn, "dc_date_diff", 2, |c| {
        let (Some(a), Some(b)) = (moment(c, 0)?, moment(c, 1)?) else {
            return Ok(Value::Null);
        };
        Ok(Value::Integer((a.at.date() - b.at.date()).whole_days()))
    })?;
    add(conn, "dc_to_char", 2, |c| match c.get_raw(0) {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(i) => Ok(Value::Text(i.to_string())),
        ValueRef::Real(f) => Ok(Value::Text(cast::real_text(f))),
        _ => {
            let Some(m) = moment(c, 0)? else {
                return Ok(Value::Null);
            };
            Ok(Value::Text(datetime::to_char(
                m.at,
                &text(c, 1).unwrap_or_default(),
            )))
        }
    })?;
    add(conn, "dc_to_date", 2, |c| {
        parse_with(c, "date").map(|v| {
            v.map_or(Value::Null, |at| {
                Value::Text(datetime::format_date(at.date()))
            })
        })
    })?;
    add(conn, "dc_to_timestamp", 2, |c| {
        parse_with(c, "timestamp").map(|v| {
            v.map_or(Value::Null, |at| {
                Value::Text(datetime::format_timestamp(at))
            })
        })
    })?;
    add(conn, "dc_to_timestamp", 1, |c| {
        let Some(secs) = real(c, 0)? else {
            return Ok(Value::Null);
        };
        let at = time::OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9) as i128)
            .map_err(|_| "timestamp out of range")?;
        Ok(Value::Text(datetime::format_timestamp(at)))
    })?;
    text::register(conn)?;
    regex::register(conn)?;
    aggregate::register(conn)?;
    register_math(conn)?;
    add(conn, "dc_format_type", 2, |c| {
        Ok(match int(c, 0)? {
            Some(oid) => Value::Text(pg_catalog::format_type(oid, int(c, 1)?.unwrap_or(-1))),
            None => Value::Null,
        })
    })?;
    add(conn, "dc_null", -1, |_| Ok(Value::Null))?;
    add(conn, "dc_bool_text", 1, |c| {
        Ok(match c.get_raw(0) {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Text(if i != 0 { "true" } else { "false" }.into()),
            ValueRef::Real(f) => Value::Text(if f != 0.0 { "true" } else { "false" }.into()),
            other => Value::from(other),
        })
    })?;
    Ok(())
}

fn register_math(conn: &Connection) -> rusqlite::Result<()> {
    let unary: [Unary; 12] = [
        ("sqrt", f64::sqrt),
        ("exp", f64::exp),
        ("ln", f64::ln),
        ("log10", f64::log10),
        ("cbrt", f64::cbrt),
        ("degrees", f64::to_degrees),
        ("radians", f64::to_radians),
        ("sin", f64::sin),
        ("cos", f64::cos),
        ("tan", f64::tan),
        ("sign", f64::signum),
        ("log", f64::log10),
    ];
    for (name, f) in unary {
        add(conn, name, 1, move |c| {
            let Some(x) = real(c, 0)? else {
                return Ok(Value::Null);
            };
            if name == "sign" && x == 0.0 {
                return Ok(Value::Integer(0));
            }
            checked(f(x))
        })?;
    }
    for (name, f) in [
        ("ceil", f64::ceil as fn(f64) -> f64),
        ("ceiling", f64::ceil),
        ("floor", f64::floor),
        ("trunc", f64::trunc),
    ] {
        add(conn, name, 1, move |c| match c.get_raw(0) {
            ValueRef::Integer(i) => Ok(Value::Integer(i)),
            _ => real(c, 0)?.map_or(Ok(Value::Null), |x| checked(f(x))),
        })?;
    }
    add(conn, "trunc", 2, |c| {
        let (Some(x), Some(d)) = (real(c, 0)?, int(c, 1)?) else {
            return Ok(Value::Null);
        };
        let p = 10f64.powi(d.clamp(-300, 300) as i32);
        checked((x * p).trunc() / p)
    })?;
    for name in ["power", "pow"] {
        add(conn, name, 2, |c| {
            let (Some(x), Some(y)) = (real(c, 0)?, real(c, 1)?) else {
                return Ok(Value::Null);
            };
            checked(x.powf(y))
        })?;
    }
    add(conn, "log", 2, |c| {
        let (Some(b), Some(x)) = (real(c, 0)?, real(c, 1)?) else {
            return Ok(Value::Null);
        };
        checked(x.ln() / b.ln())
    })?;
    add(conn, "mod", 2, |c| match (c.get_raw(0), c.get_raw(1)) {
        (ValueRef::Null, _) | (_, ValueRef::Null) => Ok(Value::Null),
        (ValueRef::Integer(_), ValueRef::Integer(0)) => Err("division by zero".into()),
        (ValueRef::Integer(a), ValueRef::Integer(b)) => Ok(Value::Integer(a.wrapping_rem(b))),
        _ => {
            let (Some(a), Some(b)) = (real(c, 0)?, real(c, 1)?) else {
                return Ok(Value::Null);
            };
            if b == 0.0 {
                Err("division by zero".into())
            } else {
                checked(a % b)
            }
        }
    })?;
    add(conn, "pi", 0, |_| Ok(Value::Real(std::f64::consts::PI)))?;
    Ok(())
}

pub(super) fn add<F>(conn: &Connection, name: &str, n_args: i32, f: F) -> rusqlite::Result<()>
where
    F: Fn(&Context<'_>) -> Fallible + Send + 'static,
{
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function(name, n_args, flags, move |c| {
        f(c).map_err(|m| rusqlite::Error::UserFunctionError(m.into()))
    })
}

/// Argument `i` as text (numbers spelled out), `None` for NULL.
pub(super) fn text(c: &Context<'_>, i: usize) -> Option<String> {
    match c.get_raw(i) {
        ValueRef::Null => None,
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(f) => Some(cast::real_text(f)),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

pub(super) fn int(c: &Context<'_>, i: usize) -> Result<Option<i64>, String> {
    match cast::cast(c.get_raw(i), Target::Int)? {
        Value::Integer(n) => Ok(Some(n)),
        _ => Ok(None),
    }
}

pub(super) fn real(c: &Context<'_>, i: usize) -> Result<Option<f64>, String> {
    match cast::cast(c.get_raw(i), Target::Double)? {
        Value::Real(f) => Ok(Some(f)),
        _ => Ok(None),
    }
}

/// Argument `i` as a date or timestamp.
fn moment(c: &Context<'_>, i: usize) -> Result<Option<Moment>, String> {
    match text(c, i) {
        None => Ok(None),
        Some(t) => datetime::parse(&t).map(Some).ok_or_else(|| {
            format!("invalid input syntax for type timestamp with time zone: \"{t}\"")
        }),
    }
}

fn parse_with(c: &Context<'_>, ty: &str) -> Result<Option<time::OffsetDateTime>, String> {
    let (Some(s), Some(fmt)) = (text(c, 0), text(c, 1)) else {
        return Ok(None);
    };
    datetime::parse_with(&s, &fmt)
        .map(Some)
        .ok_or_else(|| format!("invalid value \"{s}\" for {ty} format \"{fmt}\""))
}

fn checked(f: f64) -> Fallible {
    if f.is_nan() {
        Err("cannot take the logarithm or root of a negative number".into())
    } else {
        Ok(Value::Real(f))
    }
}
