//! Expression rewrites, applied bottom-up (children are already SQLite).

use sqlparser::ast::{
    BinaryOperator, CeilFloorKind, DuplicateTreatment, Expr, Function, FunctionArgumentClause,
    FunctionArguments, Ident, ObjectName, TrimWhereField, UnaryOperator, Value, WindowType,
};

use super::{postgres_null_order, Translator};
use crate::sql::ast::{args, call, function_name, null, number, string, string_value};
use crate::sql::cast::{self, Target};
use crate::sql::datetime::{self, Interval};
use crate::sql::resolve::unsupported;
use crate::sql::typing::cast_target;
use crate::sql::{SqlError, SqlErrorKind};

/// Takes `e` out, leaving NULL behind.
fn take(e: &mut Expr) -> Expr {
    std::mem::replace(e, null())
}

pub(super) fn rewrite(t: &mut Translator, e: &mut Expr) -> Result<(), SqlError> {
    let new = match e {
        Expr::Cast {
            expr,
            data_type,
            format,
            ..
        } => {
            if format.is_some() {
                return Err(unsupported("CAST … FORMAT"));
            }
            let (_, target) = cast_target(data_type)
                .ok_or_else(|| unsupported(format!("Casting to {data_type}")))?;
            cast_call(take(expr), target)
        }
        Expr::TypedString(ts) => {
            let (_, target) = cast_target(&ts.data_type)
                .ok_or_else(|| unsupported(format!("A {} literal", ts.data_type)))?;
            let text = ts.value.value.clone().into_string().unwrap_or_default();
            constant(&text, target)?
        }
        Expr::ILike {
            negated,
            expr,
            pattern,
            escape_char,
            any,
        } => {
            if *any {
                return Err(unsupported("ILIKE ANY"));
            }
            Expr::Like {
                negated: *negated,
                any: false,
                expr: Box::new(call("lower", vec![take(expr)])),
                pattern: Box::new(call("lower", vec![take(pattern)])),
                escape_char: Some(
                    escape_char
                        .take()
                        .unwrap_or(Value::SingleQuotedString("\\".into())),
                ),
            }
        }
        Expr::Like {
            escape_char, any, ..
        } => {
            if *any {
                return Err(unsupported("LIKE ANY"));
            }
            // PostgreSQL's LIKE escapes with a backslash unless told otherwise.
            if escape_char.is_none() {
                *escape_char = Some(Value::SingleQuotedString("\\".into()));
            }
            return Ok(());
        }
        Expr::SimilarTo {
            negated,
            expr,
            pattern,
            escape_char,
        } => {
            let escape = match escape_char.take() {
                Some(Value::SingleQuotedString(e)) => string(e),
                Some(_) => return Err(unsupported("This ESCAPE value")),
                None => string("\\"),
            };
            let matched = call("dc_similar", vec![take(expr), take(pattern), escape]);
            negate_if(*negated, matched)
        }
        Expr::RLike { .. } => return Err(unsupported("RLIKE/REGEXP")),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::Plus | BinaryOperator::Minus => {
                let minus = matches!(op, BinaryOperator::Minus);
                let new = match (interval_of(left)?, interval_of(right)?) {
                    (None, Some(iv)) => {
                        add_interval(take(left), if minus { iv.negate() } else { iv })
                    }
                    (Some(iv), None) if !minus => add_interval(take(right), iv),
                    (Some(_), _) => return Err(unsupported("Interval arithmetic on intervals")),
                    (None, None) => return Ok(()),
                };
                t.loose_intervals -= 1;
                new
            }
            BinaryOperator::PGExp => call("power", vec![take(left), take(right)]),
            BinaryOperator::PGRegexMatch
            | BinaryOperator::PGRegexIMatch
            | BinaryOperator::PGRegexNotMatch
            | BinaryOperator::PGRegexNotIMatch => {
                let insensitive = matches!(
                    op,
                    BinaryOperator::PGRegexIMatch | BinaryOperator::PGRegexNotIMatch
                );
                let negated = matches!(
                    op,
                    BinaryOperator::PGRegexNotMatch | BinaryOperator::PGRegexNotIMatch
                );
                let flags = string(if insensitive { "i" } else { "" });
                negate_if(
                    negated,
                    call("dc_regex_match", vec![take(left), take(right), flags]),
                )
            }
            _ => return Ok(()),
        },
        Expr::UnaryOp { op, expr } => match op {
            UnaryOperator::PGSquareRoot => call("sqrt", vec![take(expr)]),
            UnaryOperator::PGAbs => call("abs", vec![take(expr)]),
            _ => return Ok(()),
        },
        Expr::Interval(_) => {
            // Fine only as an operand of + or -, which consumes it (below).
            t.loose_intervals += 1;
            return Ok(());
        }
        Expr::Extract { field, expr, .. } => {
            call("dc_extract", vec![string(field.to_string()), take(expr)])
        }
        Expr::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            let mut a = vec![take(expr), substring_from.take().map_or(number(1), |b| *b)];
            a.extend(substring_for.take().map(|b| *b));
            call("substr", a)
        }
        Expr::Position { expr, r#in } => call("instr", vec![take(r#in), take(expr)]),
        Expr::Trim {
            expr,
            trim_where,
            trim_what,
            trim_characters,
        } => {
            let name = match trim_where {
                Some(TrimWhereField::Leading) => "ltrim",
                Some(TrimWhereField::Trailing) => "rtrim",
                _ => "trim",
            };
            let mut a = vec![take(expr)];
            a.extend(trim_what.take().map(|b| *b));
            a.extend(trim_characters.take().into_iter().flatten().take(1));
            call(name, a)
        }
        Expr::Ceil { expr, field } => ceil_or_floor("ceil", take(expr), field)?,
        Expr::Floor { expr, field } => ceil_or_floor("floor", take(expr), field)?,
        Expr::IsUnknown(x) => Expr::IsNull(Box::new(take(x))),
        Expr::IsNotUnknown(x) => Expr::IsNotNull(Box::new(take(x))),
        Expr::AtTimeZone {
            timestamp,
            time_zone,
        } => {
            let zone = string_value(time_zone)
                .unwrap_or_default()
                .to_ascii_uppercase();
            if !matches!(
                zone.as_str(),
                "UTC" | "GMT" | "Z" | "+00" | "+00:00" | "ETC/UTC"
            ) {
                return Err(unsupported("AT TIME ZONE other than 'UTC'"));
            }
            take(timestamp)
        }
        Expr::AnyOp {
            left,
            compare_op,
            right,
            ..
        } => match (compare_op, right.as_mut()) {
            (BinaryOperator::Eq, Expr::Subquery(q)) => Expr::InSubquery {
                expr: Box::new(take(left)),
                subquery: q.clone(),
                negated: false,
            },
            _ => return Err(unsupported("ANY/SOME other than = ANY (subquery)")),
        },
        Expr::AllOp {
            left,
            compare_op,
            right,
        } => match (compare_op, right.as_mut()) {
            (BinaryOperator::NotEq, Expr::Subquery(q)) => Expr::InSubquery {
                expr: Box::new(take(left)),
                subquery: q.clone(),
                negated: true,
            },
            _ => return Err(unsupported("ALL other than <> ALL (subquery)")),
        },
        Expr::Function(f) => match function(t, f)? {
            Some(new) => new,
            None => return Ok(()),
        },
        Expr::Array(_) | Expr::Map(_) | Expr::Struct { .. } | Expr::Dictionary(_) => {
            return Err(unsupported("Array, map and struct values"))
        }
        Expr::JsonAccess { .. } | Expr::CompoundFieldAccess { .. } => {
            return Err(unsupported("Field and element access"))
        }
        Expr::GroupingSets(_) | Expr::Cube(_) | Expr::Rollup(_) => {
            return Err(unsupported("GROUPING SETS, CUBE and ROLLUP"))
        }
        Expr::Collate { .. } => return Err(unsupported("COLLATE")),
        _ => return Ok(()),
    };
    *e = new;
    Ok(())
}

fn negate_if(negated: bool, e: Expr) -> Expr {
    if negated {
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr: Box::new(e),
        }
    } else {
        e
    }
}

fn ceil_or_floor(name: &str, inner: Expr, field: &CeilFloorKind) -> Result<Expr, SqlError> {
    if !matches!(
        field,
        CeilFloorKind::DateTimeField(sqlparser::ast::DateTimeField::NoDateTime)
    ) {
        return Err(unsupported("CEIL/FLOOR with a unit or scale"));
    }
    Ok(call(name, vec![inner]))
}

fn cast_call(inner: Expr, target: Target) -> Expr {
    let scale = match target {
        Target::Numeric(Some(s)) => number(s),
        _ => null(),
    };
    call("dc_cast", vec![inner, string(target.name()), scale])
}

/// A typed literal (`DATE '2024-01-01'`), converted now.
fn constant(text: &str, target: Target) -> Result<Expr, SqlError> {
    let value = rusqlite::types::Value::Text(text.to_string());
    match cast::cast((&value).into(), target)
        .map_err(|m| SqlError::new(SqlErrorKind::Execution, m))?
    {
        rusqlite::types::Value::Text(t) => Ok(string(t)),
        rusqlite::types::Value::Integer(i) if target == Target::Bool => {
            Ok(Expr::value(Value::Boolean(i != 0)))
        }
        rusqlite::types::Value::Integer(i) => Ok(number(i)),
        rusqlite::types::Value::Real(f) => Ok(number(f)),
        _ => Ok(null()),
    }
}

/// The interval `e` denotes, if it is an `INTERVAL` literal.
fn interval_of(e: &Expr) -> Result<Option<Interval>, SqlError> {
    let Expr::Interval(iv) = e else {
        return Ok(None);
    };
    if iv.last_field.is_some() {
        return Err(unsupported("INTERVAL … TO …"));
    }
    let text = match iv.value.as_ref() {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.clone(),
            _ => string_value(&iv.value)
                .map(str::to_string)
                .unwrap_or_default(),
        },
        other => string_value(other).map(str::to_string).unwrap_or_default(),
    };
    let unit = iv.leading_field.as_ref().map(|f| f.to_string());
    datetime::parse_interval(&text, unit.as_deref())
        .map(Some)
        .ok_or_else(|| {
            SqlError::new(
                SqlErrorKind::Execution,
                format!("invalid input syntax for type interval: \"{text}\""),
            )
        })
}

fn add_interval(at: Expr, iv: Interval) -> Expr {
    call(
        "dc_add_interval",
        vec![at, number(iv.months), number(iv.micros)],
    )
}

fn rename(f: &mut Function, name: &str) {
    f.name = ObjectName::from(vec![Ident::new(name)]);
}

/// Function calls: constants from the clock, renamed equivalents, our own
/// implementations. `None`: leave the call as it is.
fn function(t: &mut Translator, f: &mut Function) -> Result<Option<Expr>, SqlError> {
    let name = function_name(f);
    if let Some(WindowType::WindowSpec(spec)) = &mut f.over {
        postgres_null_order(&mut spec.order_by);
    }
    if let FunctionArguments::List(list) = &mut f.args {
        for clause in &mut list.clauses {
            if let FunctionArgumentClause::OrderBy(items) = clause {
                postgres_null_order(items);
            }
        }
    }
    if !f.within_group.is_empty() {
        return Err(unsupported(format!("{name}(…) WITHIN GROUP")));
    }
    let now = || {
        time::OffsetDateTime::from_unix_timestamp_nanos(t.now_ms as i128 * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    };
    let renamed = match name.as_str() {
        "now"
        | "current_timestamp"
        | "localtimestamp"
        | "transaction_timestamp"
        | "statement_timestamp"
        | "clock_timestamp"
        | "getdate"
        | "sysdate" => {
            t.uses_clock = true;
            return Ok(Some(string(datetime::format_timestamp(now()))));
        }
        "current_date" => {
            t.uses_clock = true;
            return Ok(Some(string(datetime::format_date(now().date()))));
        }
        "current_time" | "localtime" => {
            t.uses_clock = true;
            let at = now();
            return Ok(Some(string(format!(
                "{:02}:{:02}:{:02}",
                at.hour(),
                at.minute(),
                at.second()
            ))));
        }
        "current_schema" => return Ok(Some(string("public"))),
        "current_database" | "current_catalog" => return Ok(Some(string("default"))),
        "version" => {
            return Ok(Some(string(
                "PostgreSQL 14.0 (Salesforce Data Cloud emulator, Hyper dialect)",
            )))
        }
        "approx_count_distinct" => {
            if let FunctionArguments::List(list) = &mut f.args {
                list.duplicate_treatment = Some(DuplicateTreatment::Distinct);
            }
            "count"
        }
        "date_trunc" => "dc_date_trunc",
        "date_part" | "datepart" => "dc_extract",
        "to_char" => "dc_to_char",
        "to_date" => "dc_to_date",
        "to_timestamp" => "dc_to_timestamp",
        "left" => "dc_left",
        "right" => "dc_right",
        "split_part" => "dc_split_part",
        "lpad" => "dc_lpad",
        "rpad" => "dc_rpad",
        "reverse" => "dc_reverse",
        "initcap" => "dc_initcap",
        "repeat" => "dc_repeat",
        "greatest" => "dc_greatest",
        "least" => "dc_least",
        "strpos" => "instr",
        "char_length" | "character_length" | "len" => "length",
        "btrim" => "trim",
        "nvl" => "ifnull",
        "string_agg" | "listagg" => "group_concat",
        "bool_and" | "every" => "min",
        "bool_or" => "max",
        "format_type" => "dc_format_type",
        "pg_get_expr" => "dc_null",
        "substring" => "substr",
        "regexp_like" => "dc_regex_match",
        "regexp_replace" => "dc_regexp_replace",
        "regexp_substr" => "dc_regexp_substr",
        "ceiling" => "ceil",
        _ => {
            // `pg_catalog.lower(x)` and the like: SQLite cannot parse qualified calls.
            if f.name.0.len() > 1 {
                let plain = name.clone();
                rename(f, &plain);
            }
            if name == "random" && args(f).is_some_and(|a| a.is_empty()) {
                // PostgreSQL's random() is a double in [0, 1).
                return Ok(Some(call(
                    "abs",
                    vec![Expr::BinaryOp {
                        left: Box::new(call("random", vec![])),
                        op: BinaryOperator::Divide,
                        right: Box::new(number("9223372036854775808.0")),
                    }],
                )));
            }
            return Ok(None);
        }
    };
    rename(f, renamed);
    Ok(None)
}
