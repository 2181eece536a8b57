//! Regular expressions: `~`, `~*`, `!~`, `!~*`, `regexp_like`,
//! `regexp_replace`, `regexp_substr` and `SIMILAR TO`, on the `regex` crate
//! (PostgreSQL's syntax for everything but backreferences and lookaround).
//! A constant pattern is compiled once per statement (SQLite auxiliary data).

use std::sync::Arc;

use regex::{Regex, RegexBuilder};
use rusqlite::functions::Context;
use rusqlite::types::Value;
use rusqlite::Connection;

use super::{add, text};

/// Largest compiled program a pattern may produce.
const SIZE_LIMIT: usize = 1 << 20;

pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    for n in [2, 3] {
        add(conn, "dc_regex_match", n, |c| {
            let (Some(s), Some(re)) = (text(c, 0), compiled(c, 1, 2, Syntax::Posix)?) else {
                return Ok(Value::Null);
            };
            Ok(Value::Integer(re.is_match(&s) as i64))
        })?;
        add(conn, "dc_regexp_substr", n, |c| {
            let (Some(s), Some(re)) = (text(c, 0), compiled(c, 1, 2, Syntax::Posix)?) else {
                return Ok(Value::Null);
            };
            Ok(re
                .find(&s)
                .map_or(Value::Null, |m| Value::Text(m.as_str().to_string())))
        })?;
    }
    for n in [3, 4] {
        add(conn, "dc_regexp_replace", n, |c| {
            let (Some(s), Some(re), Some(with)) =
                (text(c, 0), compiled(c, 1, 3, Syntax::Posix)?, text(c, 2))
            else {
                return Ok(Value::Null);
            };
            let global = flags(c, 3).contains('g');
            let with = replacement(&with);
            let out = if global {
                re.replace_all(&s, with.as_str())
            } else {
                re.replace(&s, with.as_str())
            };
            Ok(Value::Text(out.into_owned()))
        })?;
    }
    add(conn, "dc_similar", 3, |c| {
        let (Some(s), Some(re)) = (text(c, 0), compiled(c, 1, 2, Syntax::Similar)?) else {
            return Ok(Value::Null);
        };
        Ok(Value::Integer(re.is_match(&s) as i64))
    })
}

#[derive(Clone, Copy)]
enum Syntax {
    /// PostgreSQL's regular expressions; argument `flags_at` holds flags (`i`, `g`, …).
    Posix,
    /// `SIMILAR TO`: argument `flags_at` holds the escape character.
    Similar,
}

fn flags(c: &Context<'_>, i: usize) -> String {
    if i < c.len() {
        text(c, i).unwrap_or_default()
    } else {
        String::new()
    }
}

/// The pattern in argument `at`, compiled (once per statement when constant).
fn compiled(
    c: &Context<'_>,
    at: usize,
    flags_at: usize,
    syntax: Syntax,
) -> Result<Option<Arc<Regex>>, String> {
    if text(c, at).is_none() {
        return Ok(None);
    }
    let extra = flags(c, flags_at);
    c.get_or_create_aux(at as i32, |v| -> Result<Regex, String> {
        let pattern =
            String::from_utf8_lossy(v.as_bytes().map_err(|e| e.to_string())?).into_owned();
        let (pattern, insensitive) = match syntax {
            Syntax::Posix => (pattern, extra.contains('i')),
            Syntax::Similar => (similar_to_regex(&pattern, extra.chars().next()), false),
        };
        RegexBuilder::new(&pattern)
            .case_insensitive(insensitive)
            .size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| format!("invalid regular expression: {e}"))
    })
    .map(Some)
    .map_err(|e| e.to_string())
}

/// PostgreSQL's `\1` and `\&` in a replacement, as the `regex` crate spells them.
fn replacement(with: &str) -> String {
    let mut out = String::with_capacity(with.len());
    let mut chars = with.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '$' => out.push_str("$$"),
            '\\' => match chars.next() {
                Some(d @ '0'..='9') => out.push_str(&format!("${{{d}}}")),
                Some('&') => out.push_str("${0}"),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

/// A `SIMILAR TO` pattern as an anchored regular expression: `%` is `.*`,
/// `_` is `.`, the escape character quotes the next one, regex
/// metacharacters SQL does not use are quoted.
fn similar_to_regex(pattern: &str, escape: Option<char>) -> String {
    let escape = escape.or(Some('\\'));
    let mut out = String::from("^(?s:");
    let mut chars = pattern.chars();
    while let Some(ch) = chars.next() {
        match ch {
            c if Some(c) == escape => {
                if let Some(next) = chars.next() {
                    out.push_str(&regex::escape(&next.to_string()));
                }
            }
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            '.' | '^' | '$' | '\\' => out.push_str(&regex::escape(&ch.to_string())),
            other => out.push(other),
        }
    }
    out.push_str(")$");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacements_and_similar_patterns() {
        assert_eq!(replacement(r"<\1>$\&"), "<${1}>$$${0}");
        assert_eq!(similar_to_regex("a%b_c", None), "^(?s:a.*b.c)$");
        assert_eq!(similar_to_regex("(x|y)%", None), "^(?s:(x|y).*)$");
        assert_eq!(similar_to_regex("100!%", Some('!')), "^(?s:100%)$");
        assert_eq!(similar_to_regex("a.b", None), "^(?s:a\\.b)$");
    }
}
