//! Execution: prepare the translated text, refuse it unless SQLite calls it
//! read-only, bind `:name` parameters, run under a time limit, then type each
//! column and encode values the way the Query APIs send them.

use std::time::{Duration, Instant};

use rusqlite::types::Value as Sql;
use rusqlite::{CachedStatement, Connection};
use serde_json::{Number, Value as Json};

use super::cast::{self, Target};
use super::resolve::OutCol;
use super::{datetime, Column, Plan, QueryResult, SqlError, SqlErrorKind, SqlParam};
use crate::model::DcType;

/// Longest a statement may run (a guard against runaway joins, not a clock
/// reading: it uses the monotonic `Instant`).
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// Most rows one statement may return.
const MAX_ROWS: usize = 5_000_000;

pub(crate) fn run(
    conn: &Connection,
    plan: &Plan,
    params: &[SqlParam],
) -> Result<QueryResult, SqlError> {
    let mut stmt = conn.prepare_cached(&plan.sqlite_sql).map_err(map_error)?;
    // Second guard below the parser: whatever got through, SQLite must agree
    // it does not write.
    if !stmt.readonly() {
        return Err(SqlError::new(
            SqlErrorKind::NotReadOnly,
            "The statement would modify the database: only read-only SELECT statements are allowed",
        ));
    }
    bind(&mut stmt, params)?;
    let width = stmt.column_count();
    let names: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();

    let deadline = Instant::now() + TIME_LIMIT;
    conn.progress_handler(10_000, Some(move || Instant::now() > deadline));
    let fetched = fetch(&mut stmt, width);
    conn.progress_handler(0, None::<fn() -> bool>);
    let raw = fetched?;

    let known = plan.columns.as_ref().filter(|c| c.len() == width);
    let columns: Vec<Column> = (0..width)
        .map(|i| {
            let (name, ty) = label(known.map(Vec::as_slice), i, &names[i]);
            Column {
                ty: ty.unwrap_or_else(|| infer(&raw, i)),
                name,
            }
        })
        .collect();
    let rows = raw
        .into_iter()
        .map(|row| {
            row.into_iter()
                .zip(&columns)
                .map(|(v, c)| encode(v, c.ty))
                .collect()
        })
        .collect();
    Ok(QueryResult { columns, rows })
}

/// Column `i`'s label and type: the plan's, unless SQLite reports another
/// name there (a `*` over a view whose SELECT orders columns differently from
/// its model), in which case SQLite's name wins and the type follows the name.
fn label(known: Option<&[OutCol]>, i: usize, sqlite_name: &str) -> (String, Option<DcType>) {
    // SQLite numbers duplicate names inside subqueries (`id:1`).
    let base = match sqlite_name.rsplit_once(':') {
        Some((b, n)) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => b,
        _ => sqlite_name,
    };
    match known {
        Some(cols)
            if [sqlite_name, base]
                .iter()
                .any(|n| cols[i].name.eq_ignore_ascii_case(n)) =>
        {
            (cols[i].name.clone(), cols[i].ty)
        }
        Some(cols) => (
            sqlite_name.to_string(),
            cols.iter()
                .find(|c| c.name.eq_ignore_ascii_case(base))
                .and_then(|c| c.ty),
        ),
        None => (sqlite_name.to_string(), None),
    }
}

fn fetch(stmt: &mut CachedStatement<'_>, width: usize) -> Result<Vec<Vec<Sql>>, SqlError> {
    let mut out = Vec::new();
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next().map_err(map_error)? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(Sql::from(row.get_ref(i).map_err(map_error)?));
        }
        out.push(values);
        if out.len() > MAX_ROWS {
            return Err(SqlError::new(
                SqlErrorKind::Execution,
                format!("The result has more than {MAX_ROWS} rows; add a LIMIT"),
            ));
        }
    }
    Ok(out)
}

/// Binds every placeholder: `:name` (also `@name`, `$name`) by name, `$n` and
/// `?` by position.
fn bind(stmt: &mut CachedStatement<'_>, params: &[SqlParam]) -> Result<(), SqlError> {
    let mut next_positional = 0;
    for i in 1..=stmt.parameter_count() {
        let name = stmt.parameter_name(i).map(str::to_string);
        let param = match name.as_deref() {
            Some(n) if n.len() > 1 => {
                let key = &n[1..];
                let named = |exact: bool| {
                    params.iter().find(|p| {
                        let pn = p.name.trim_start_matches([':', '@', '$']);
                        if exact {
                            pn == key
                        } else {
                            pn.eq_ignore_ascii_case(key)
                        }
                    })
                };
                let positional = key
                    .parse::<usize>()
                    .ok()
                    .and_then(|k| params.get(k.checked_sub(1)?));
                named(true)
                    .or_else(|| named(false))
                    .or(positional)
                    .ok_or_else(|| {
                        SqlError::new(
                            SqlErrorKind::Parameter,
                            format!("No value was given for parameter {n}"),
                        )
                    })?
            }
            _ => {
                next_positional += 1;
                params.get(next_positional - 1).ok_or_else(|| {
                    SqlError::new(
                        SqlErrorKind::Parameter,
                        format!("No value was given for positional parameter {next_positional}"),
                    )
                })?
            }
        };
        let value = param_value(param)?;
        stmt.raw_bind_parameter(i, value).map_err(map_error)?;
    }
    Ok(())
}

/// A parameter's value as SQLite stores that type.
fn param_value(p: &SqlParam) -> Result<Sql, SqlError> {
    let bad = |why: &str| {
        SqlError::new(
            SqlErrorKind::Parameter,
            format!("Parameter :{} {why}", p.name.trim_start_matches(':')),
        )
    };
    if p.value.is_null() {
        return Ok(Sql::Null);
    }
    let as_text = || match &p.value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    let target = match p.ty.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => {
            return match &p.value {
                Json::String(s) => Ok(Sql::Text(s.clone())),
                Json::Bool(b) => Ok(Sql::Integer(*b as i64)),
                Json::Number(n) => Ok(number(n)),
                _ => Err(bad("must be a string, number, boolean or null")),
            }
        }
        Some("varchar" | "text" | "char" | "string") => return Ok(Sql::Text(as_text())),
        Some(
            "numeric" | "decimal" | "bigint" | "integer" | "int" | "smallint" | "double" | "float"
            | "real",
        ) => {
            if let Json::Number(n) = &p.value {
                return Ok(number(n));
            }
            Target::Numeric(None)
        }
        Some("boolean" | "bool") => {
            if let Json::Bool(b) = &p.value {
                return Ok(Sql::Integer(*b as i64));
            }
            Target::Bool
        }
        Some("timestamptz" | "timestamp" | "timestamp with time zone") => Target::Timestamp,
        Some("date") => Target::Date,
        Some(other) => return Err(bad(&format!("has an unsupported type {other}"))),
    };
    let text = Sql::Text(as_text());
    cast::cast((&text).into(), target).map_err(|m| bad(&format!("is invalid: {m}")))
}

fn number(n: &Number) -> Sql {
    match n.as_i64() {
        Some(i) => Sql::Integer(i),
        None => Sql::Real(n.as_f64().unwrap_or(0.0)),
    }
}

/// The type of a column the query did not type, from its stored values.
fn infer(rows: &[Vec<Sql>], i: usize) -> DcType {
    let (mut real, mut int) = (false, false);
    for row in rows {
        match row.get(i) {
            Some(Sql::Text(_) | Sql::Blob(_)) => return DcType::Varchar,
            Some(Sql::Real(_)) => real = true,
            Some(Sql::Integer(_)) => int = true,
            _ => {}
        }
    }
    match (real, int) {
        (true, _) => DcType::Double,
        (false, true) => DcType::Bigint,
        _ => DcType::Varchar,
    }
}

/// A stored value as the APIs send a column of type `ty`.
fn encode(v: Sql, ty: DcType) -> Json {
    let float =
        |f: f64| Number::from_f64(f).map_or_else(|| Json::String(cast::real_text(f)), Json::Number);
    match (ty, v) {
        (_, Sql::Null) => Json::Null,
        (DcType::Boolean, Sql::Integer(i)) => Json::Bool(i != 0),
        (DcType::Boolean, Sql::Real(f)) => Json::Bool(f != 0.0),
        (DcType::Boolean, Sql::Text(t)) => cast::parse_bool(&t).map_or(Json::String(t), Json::Bool),
        (DcType::Varchar, Sql::Integer(i)) => Json::String(i.to_string()),
        (DcType::Varchar, Sql::Real(f)) => Json::String(cast::real_text(f)),
        (DcType::Date, Sql::Text(t)) => {
            Json::String(datetime::parse(&t).map_or(t, |m| datetime::format_date(m.at.date())))
        }
        (DcType::Timestamp, Sql::Text(t)) => {
            Json::String(datetime::parse(&t).map_or(t, |m| datetime::format_timestamp(m.at)))
        }
        (_, Sql::Integer(i)) => Json::from(i),
        (DcType::Bigint | DcType::Integer, Sql::Real(f))
            if f.fract() == 0.0 && f.abs() < 9.0e15 =>
        {
            Json::from(f as i64)
        }
        (_, Sql::Real(f)) => float(f),
        (DcType::Bigint | DcType::Integer | DcType::Decimal | DcType::Double, Sql::Text(t)) => {
            match t.trim().parse::<i64>() {
                Ok(i) => Json::from(i),
                Err(_) => t.trim().parse::<f64>().map_or(Json::String(t), float),
            }
        }
        (_, Sql::Text(t)) => Json::String(t),
        (_, Sql::Blob(b)) => Json::String(b.iter().map(|x| format!("{x:02x}")).collect()),
    }
}

/// SQLite's complaint as a client-facing error.
fn map_error(e: rusqlite::Error) -> SqlError {
    let message = match &e {
        rusqlite::Error::SqliteFailure(_, Some(m)) => m.clone(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
    };
    let kind_of = |prefix: &str| message.strip_prefix(prefix).map(str::trim);
    if let Some(col) = kind_of("no such column:") {
        return SqlError::new(
            SqlErrorKind::UnknownColumn,
            format!("column \"{col}\" does not exist"),
        );
    }
    if let Some(table) = kind_of("no such table:") {
        return SqlError::new(
            SqlErrorKind::UnknownTable,
            format!("table \"{table}\" does not exist"),
        );
    }
    if let Some(f) = kind_of("no such function:") {
        return SqlError::new(
            SqlErrorKind::Unsupported,
            format!("function {f} does not exist"),
        );
    }
    if let Some(col) = kind_of("ambiguous column name:") {
        return SqlError::new(
            SqlErrorKind::Execution,
            format!("column reference \"{col}\" is ambiguous"),
        );
    }
    if message == "interrupted" {
        return SqlError::new(
            SqlErrorKind::Execution,
            "canceling statement due to statement timeout",
        );
    }
    if message.contains("readonly") || message.contains("not authorized") {
        return SqlError::new(
            SqlErrorKind::NotReadOnly,
            format!("The statement was refused: {message}"),
        );
    }
    if message.contains("syntax error") || message.contains("not supported") {
        return SqlError::new(
            SqlErrorKind::Unsupported,
            format!("The statement uses SQL the emulator cannot run ({message})"),
        );
    }
    SqlError::new(SqlErrorKind::Execution, message)
}
