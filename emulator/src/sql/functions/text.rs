//! Text functions: Unicode-aware `lower`/`upper` (SQLite's fold ASCII only),
//! and `left`, `right`, `lpad`, `rpad`, `split_part`, `initcap`, `reverse`,
//! `repeat`, `greatest`, `least` with PostgreSQL's rules.

use rusqlite::functions::Context;
use rusqlite::types::Value;
use rusqlite::Connection;

use super::{add, int, text, Fallible};

pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    add(conn, "lower", 1, |c| map_text(c, |s| s.to_lowercase()))?;
    add(conn, "upper", 1, |c| map_text(c, |s| s.to_uppercase()))?;
    add(conn, "dc_reverse", 1, |c| {
        map_text(c, |s| s.chars().rev().collect())
    })?;
    add(conn, "dc_initcap", 1, |c| map_text(c, initcap))?;
    add(conn, "dc_left", 2, |c| left_or_right(c, true))?;
    add(conn, "dc_right", 2, |c| left_or_right(c, false))?;
    add(conn, "dc_repeat", 2, |c| {
        let (Some(s), Some(n)) = (text(c, 0), int(c, 1)?) else {
            return Ok(Value::Null);
        };
        let n = n.max(0) as usize;
        if s.len().saturating_mul(n) > 10_000_000 {
            return Err("requested length too large".into());
        }
        Ok(Value::Text(s.repeat(n)))
    })?;
    add(conn, "dc_split_part", 3, |c| {
        let (Some(s), Some(d), Some(n)) = (text(c, 0), text(c, 1), int(c, 2)?) else {
            return Ok(Value::Null);
        };
        if n == 0 {
            return Err("field position must not be zero".into());
        }
        let parts: Vec<&str> = if d.is_empty() {
            vec![s.as_str()]
        } else {
            s.split(d.as_str()).collect()
        };
        let index = if n > 0 { n - 1 } else { parts.len() as i64 + n };
        let part = usize::try_from(index)
            .ok()
            .and_then(|i| parts.get(i))
            .copied()
            .unwrap_or("");
        Ok(Value::Text(part.to_string()))
    })?;
    for (name, left) in [("dc_lpad", true), ("dc_rpad", false)] {
        for n_args in [2, 3] {
            add(conn, name, n_args, move |c| pad(c, left))?;
        }
    }
    add(conn, "dc_greatest", -1, |c| {
        extreme(c, std::cmp::Ordering::Greater)
    })?;
    add(conn, "dc_least", -1, |c| {
        extreme(c, std::cmp::Ordering::Less)
    })?;
    Ok(())
}

fn map_text(c: &Context<'_>, f: impl Fn(&str) -> String) -> Fallible {
    Ok(text(c, 0).map_or(Value::Null, |s| Value::Text(f(&s))))
}

fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for ch in s.chars() {
        if start {
            out.extend(ch.to_uppercase());
        } else {
            out.extend(ch.to_lowercase());
        }
        start = !ch.is_alphanumeric();
    }
    out
}

/// `left`/`right`: the first/last `n` characters; negative `n` drops from the other end.
fn left_or_right(c: &Context<'_>, left: bool) -> Fallible {
    let (Some(s), Some(n)) = (text(c, 0), int(c, 1)?) else {
        return Ok(Value::Null);
    };
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len() as i64;
    let take = if n >= 0 { n.min(len) } else { (len + n).max(0) } as usize;
    let out: String = if left {
        chars[..take].iter().collect()
    } else {
        chars[chars.len() - take..].iter().collect()
    };
    Ok(Value::Text(out))
}

/// `lpad`/`rpad(s, len[, fill])`: pads with `fill` (default a space) or truncates to `len`.
fn pad(c: &Context<'_>, left: bool) -> Fallible {
    let (Some(s), Some(len)) = (text(c, 0), int(c, 1)?) else {
        return Ok(Value::Null);
    };
    let fill = if c.len() > 2 {
        text(c, 2)
    } else {
        Some(" ".into())
    };
    let Some(fill) = fill else {
        return Ok(Value::Null);
    };
    let len = len.clamp(0, 10_000_000) as usize;
    let mut chars: Vec<char> = s.chars().collect();
    if chars.len() >= len || fill.is_empty() {
        chars.truncate(len);
        return Ok(Value::Text(chars.into_iter().collect()));
    }
    let padding: String = fill.chars().cycle().take(len - chars.len()).collect();
    let body: String = chars.into_iter().collect();
    Ok(Value::Text(if left {
        padding + &body
    } else {
        body + &padding
    }))
}

/// `greatest`/`least`: NULLs are ignored, as in PostgreSQL.
fn extreme(c: &Context<'_>, want: std::cmp::Ordering) -> Fallible {
    let mut best: Option<Value> = None;
    for i in 0..c.len() {
        let v: Value = c.get_raw(i).into();
        if v == Value::Null {
            continue;
        }
        let better = match &best {
            None => true,
            Some(b) => compare(&v, b) == want,
        };
        if better {
            best = Some(v);
        }
    }
    Ok(best.unwrap_or(Value::Null))
}

/// SQLite's ordering of values: numbers before text, numbers numerically.
fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let num = |v: &Value| match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Real(f) => Some(*f),
        _ => None,
    };
    match (num(a), num(b), a, b) {
        (Some(x), Some(y), _, _) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Some(_), None, _, _) => Ordering::Less,
        (None, Some(_), _, _) => Ordering::Greater,
        (_, _, Value::Text(x), Value::Text(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}
