//! Result typing and type-directed coercion.
//!
//! [`type_of`] gives an expression its Data Cloud type where the query says
//! it: a column's catalog type, a cast's target, an aggregate's result, a
//! function's return type. `None` means "look at the values" (`exec` infers
//! from SQLite's storage classes then).
//!
//! [`coerce`] does what PostgreSQL's typed literals do and SQLite's text
//! comparison would not: `ts_col > '2024-01-01'` compares instants (the
//! literal becomes the stored timestamp spelling), `bool_col = 'true'` a
//! boolean, `date_col + 7` adds days, `date_col - date_col` counts them.

use sqlparser::ast::{BinaryOperator, DataType, Expr, UnaryOperator, Value};

use super::ast::{args, call, function_name, string, string_value};
use super::cast::{self, Target};
use super::resolve::Resolver;
use super::{SqlError, SqlErrorKind};
use crate::model::DcType;

/// The type two branches of a set operation share.
pub(super) fn unify(a: Option<DcType>, b: Option<DcType>) -> Option<DcType> {
    match (a, b) {
        (Some(a), Some(b)) if a == b => Some(a),
        (Some(a), None) | (None, Some(a)) => Some(a),
        (Some(a), Some(b)) if is_number(a) && is_number(b) => Some(wider(a, b)),
        _ => None,
    }
}

fn is_number(t: DcType) -> bool {
    matches!(
        t,
        DcType::Bigint | DcType::Integer | DcType::Decimal | DcType::Double
    )
}

fn is_integer(t: Option<DcType>) -> bool {
    matches!(t, Some(DcType::Bigint | DcType::Integer))
}

fn wider(a: DcType, b: DcType) -> DcType {
    use DcType::*;
    match (a, b) {
        (Double, _) | (_, Double) => Double,
        (Decimal, _) | (_, Decimal) => Decimal,
        (Bigint, _) | (_, Bigint) => Bigint,
        _ => Integer,
    }
}

/// The Data Cloud type a cast produces, and how the translation performs it.
pub(super) fn cast_target(data_type: &DataType) -> Option<(DcType, Target)> {
    use DataType as D;
    Some(match data_type {
        D::Varchar(_)
        | D::Text
        | D::String(_)
        | D::Char(_)
        | D::Character(_)
        | D::CharVarying(_)
        | D::CharacterVarying(_)
        | D::Nvarchar(_) => (DcType::Varchar, Target::Text),
        D::Int(_) | D::Integer(_) | D::Int4(_) | D::SmallInt(_) | D::Int2(_) | D::TinyInt(_) => {
            (DcType::Integer, Target::Int)
        }
        D::BigInt(_) | D::Int8(_) | D::Int64 => (DcType::Bigint, Target::Int),
        D::Numeric(info) | D::Decimal(info) | D::Dec(info) => {
            use sqlparser::ast::ExactNumberInfo as E;
            let scale = match info {
                E::PrecisionAndScale(_, s) => Some(*s as u32),
                E::Precision(_) => Some(0),
                E::None => None,
            };
            (DcType::Decimal, Target::Numeric(scale))
        }
        D::Double(_)
        | D::DoublePrecision
        | D::Float(_)
        | D::Float8
        | D::Float64
        | D::Real
        | D::Float4 => (DcType::Double, Target::Double),
        D::Boolean | D::Bool => (DcType::Boolean, Target::Bool),
        D::Date => (DcType::Date, Target::Date),
        D::Timestamp(_, _) | D::TimestampNtz | D::Datetime(_) => {
            (DcType::Timestamp, Target::Timestamp)
        }
        _ => return None,
    })
}

/// The Data Cloud type of `e`, when the query determines it.
pub(super) fn type_of(r: &Resolver<'_>, e: &Expr) -> Option<DcType> {
    use DcType::*;
    match e {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => r.column_type(e),
        Expr::Value(v) => match &v.value {
            Value::Boolean(_) => Some(Boolean),
            Value::Number(_, _) | Value::Null | Value::Placeholder(_) => None,
            _ => Some(Varchar),
        },
        Expr::TypedString(t) => cast_target(&t.data_type).map(|(ty, _)| ty),
        Expr::Cast { data_type, .. } => cast_target(data_type).map(|(ty, _)| ty),
        Expr::Nested(inner) => type_of(r, inner),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            ..
        } => Some(Boolean),
        Expr::UnaryOp { expr, .. } => type_of(r, expr),
        Expr::BinaryOp { left, op, right } => binary_type(r, left, op, right),
        Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsTrue(_)
        | Expr::IsNotTrue(_)
        | Expr::IsFalse(_)
        | Expr::IsNotFalse(_)
        | Expr::IsUnknown(_)
        | Expr::IsNotUnknown(_)
        | Expr::IsDistinctFrom(_, _)
        | Expr::IsNotDistinctFrom(_, _)
        | Expr::InList { .. }
        | Expr::InSubquery { .. }
        | Expr::Between { .. }
        | Expr::Like { .. }
        | Expr::ILike { .. }
        | Expr::SimilarTo { .. }
        | Expr::Exists { .. }
        | Expr::AnyOp { .. }
        | Expr::AllOp { .. } => Some(Boolean),
        Expr::Case {
            conditions,
            else_result,
            ..
        } => conditions
            .iter()
            .map(|c| &c.result)
            .chain(else_result.as_deref())
            .find_map(|x| type_of(r, x)),
        Expr::Function(f) => function_type(r, f),
        Expr::Extract { field, .. } => Some(extract_type(&field.to_string())),
        Expr::Substring { .. } | Expr::Trim { .. } | Expr::Overlay { .. } => Some(Varchar),
        Expr::Position { .. } => Some(Integer),
        Expr::Ceil { expr, .. } | Expr::Floor { expr, .. } => type_of(r, expr),
        Expr::AtTimeZone { .. } => Some(Timestamp),
        _ => None,
    }
}

fn extract_type(field: &str) -> DcType {
    match field.to_ascii_lowercase().as_str() {
        "second" | "seconds" | "millisecond" | "milliseconds" | "epoch" => DcType::Double,
        _ => DcType::Integer,
    }
}

fn binary_type(r: &Resolver<'_>, left: &Expr, op: &BinaryOperator, right: &Expr) -> Option<DcType> {
    use BinaryOperator as B;
    match op {
        B::Eq
        | B::NotEq
        | B::Lt
        | B::LtEq
        | B::Gt
        | B::GtEq
        | B::And
        | B::Or
        | B::Xor
        | B::PGRegexMatch
        | B::PGRegexIMatch
        | B::PGRegexNotMatch
        | B::PGRegexNotIMatch => Some(DcType::Boolean),
        B::StringConcat => Some(DcType::Varchar),
        B::Plus | B::Minus | B::Multiply | B::Divide | B::Modulo => {
            if matches!(right, Expr::Interval(_)) || matches!(left, Expr::Interval(_)) {
                return Some(DcType::Timestamp);
            }
            match (type_of(r, left)?, type_of(r, right)?) {
                (DcType::Timestamp, _) | (_, DcType::Timestamp) => Some(DcType::Timestamp),
                (a, b) if is_number(a) && is_number(b) => Some(wider(a, b)),
                _ => None,
            }
        }
        _ => None,
    }
}

fn function_type(r: &Resolver<'_>, f: &sqlparser::ast::Function) -> Option<DcType> {
    use DcType::*;
    let args = args(f).unwrap_or_default();
    let first = || args.first().and_then(|a| type_of(r, a));
    Some(match function_name(f).as_str() {
        "count" | "approx_count_distinct" | "row_number" | "rank" | "dense_rank" | "ntile" => {
            Bigint
        }
        "sum" => match first() {
            Some(Double) => Double,
            _ => Decimal,
        },
        "avg" => match first() {
            Some(Double) => Double,
            _ => Decimal,
        },
        "min" | "max" | "first_value" | "last_value" | "lag" | "lead" | "nth_value"
        | "any_value" | "abs" | "ceil" | "ceiling" | "floor" | "trunc" | "round" | "mod"
        | "sign" => return first(),
        "coalesce" | "nullif" | "greatest" | "least" | "ifnull" | "nvl" => {
            return args.iter().find_map(|a| type_of(r, a))
        }
        "lower" | "upper" | "concat" | "concat_ws" | "substr" | "substring" | "replace"
        | "trim" | "ltrim" | "rtrim" | "btrim" | "left" | "right" | "lpad" | "rpad"
        | "split_part" | "reverse" | "initcap" | "repeat" | "to_char" | "string_agg"
        | "group_concat" | "listagg" | "format_type" | "current_schema" | "current_database"
        | "current_catalog" | "version" | "pg_get_expr" | "regexp_replace" | "regexp_substr" => {
            Varchar
        }
        "length" | "char_length" | "character_length" | "strpos" | "instr" | "octet_length" => {
            Integer
        }
        "date_part" | "datepart" => {
            extract_type(args.first().and_then(|a| string_value(a)).unwrap_or(""))
        }
        "date_trunc"
        | "now"
        | "current_timestamp"
        | "localtimestamp"
        | "transaction_timestamp"
        | "statement_timestamp"
        | "clock_timestamp"
        | "to_timestamp" => Timestamp,
        "current_date" | "to_date" | "dc_date_add_days" => Date,
        "dc_date_diff" => Integer,
        "sqrt" | "power" | "pow" | "exp" | "ln" | "log" | "log10" | "pi" | "cbrt"
        | "percent_rank" | "cume_dist" | "random" | "stddev" | "stddev_samp" | "stddev_pop"
        | "variance" | "var_samp" | "var_pop" => Double,
        "bool_and" | "bool_or" | "every" | "regexp_like" => Boolean,
        _ => return None,
    })
}

/// Type-directed rewrites of one (already name-resolved) expression.
pub(super) fn coerce(r: &Resolver<'_>, e: &mut Expr) -> Result<(), SqlError> {
    use BinaryOperator as B;
    match e {
        Expr::BinaryOp { left, op, right } => match op {
            B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => {
                let (lt, rt) = (type_of(r, left), type_of(r, right));
                literal_as(rt, left)?;
                literal_as(lt, right)?;
                // A date compared with a timestamp is midnight of that day.
                if lt == Some(DcType::Date) && rt == Some(DcType::Timestamp) {
                    as_timestamp(left);
                } else if lt == Some(DcType::Timestamp) && rt == Some(DcType::Date) {
                    as_timestamp(right);
                }
            }
            B::Plus | B::Minus => {
                if let Some(rewritten) = date_arithmetic(r, left, op, right)? {
                    *e = rewritten;
                }
            }
            _ => {}
        },
        Expr::Between {
            expr, low, high, ..
        } => {
            let t = type_of(r, expr);
            literal_as(t, low)?;
            literal_as(t, high)?;
        }
        Expr::InList { expr, list, .. } => {
            let t = type_of(r, expr);
            for item in list {
                literal_as(t, item)?;
            }
        }
        // A boolean as text is `true`/`false` (SQLite keeps booleans as 0/1).
        Expr::Cast {
            expr, data_type, ..
        } if type_of(r, expr) == Some(DcType::Boolean)
            && cast_target(data_type).is_some_and(|(_, t)| t == Target::Text) =>
        {
            let inner = std::mem::replace(expr.as_mut(), Expr::value(Value::Null));
            **expr = call("dc_bool_text", vec![inner]);
        }
        _ => {}
    }
    Ok(())
}

fn as_timestamp(e: &mut Expr) {
    let inner = std::mem::replace(e, Expr::value(Value::Null));
    *e = call(
        "dc_cast",
        vec![inner, string("timestamp"), Expr::value(Value::Null)],
    );
}

/// Rewrites a string literal compared with a `ty` value into that type's spelling.
fn literal_as(ty: Option<DcType>, e: &mut Expr) -> Result<(), SqlError> {
    let target = match ty {
        Some(DcType::Timestamp) => Target::Timestamp,
        Some(DcType::Date) => Target::Date,
        Some(DcType::Boolean) => Target::Bool,
        _ => return Ok(()),
    };
    let Some(text) = string_value(e) else {
        return Ok(());
    };
    let value = rusqlite::types::Value::Text(text.to_string());
    let cast = cast::cast((&value).into(), target)
        .map_err(|m| SqlError::new(SqlErrorKind::Execution, m))?;
    *e = match cast {
        rusqlite::types::Value::Text(t) => string(t),
        rusqlite::types::Value::Integer(i) => Expr::value(Value::Boolean(i != 0)),
        _ => return Ok(()),
    };
    Ok(())
}

/// `date ± integer` → `dc_date_add_days`, `date - date` → `dc_date_diff`.
fn date_arithmetic(
    r: &Resolver<'_>,
    left: &mut Expr,
    op: &BinaryOperator,
    right: &mut Expr,
) -> Result<Option<Expr>, SqlError> {
    let (lt, rt) = (type_of(r, left), type_of(r, right));
    let integral = |t: Option<DcType>, e: &Expr| {
        is_integer(t)
            || matches!(e, Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if !n.contains(['.', 'e', 'E'])))
    };
    let minus = matches!(op, BinaryOperator::Minus);
    let take = |e: &mut Expr| std::mem::replace(e, Expr::value(Value::Null));
    Ok(match (lt, rt) {
        (Some(DcType::Date), Some(DcType::Date)) if minus => {
            Some(call("dc_date_diff", vec![take(left), take(right)]))
        }
        (Some(DcType::Date), _) if integral(rt, right) => {
            let days = take(right);
            let days = if minus {
                Expr::UnaryOp {
                    op: UnaryOperator::Minus,
                    expr: Box::new(Expr::Nested(Box::new(days))),
                }
            } else {
                days
            };
            Some(call("dc_date_add_days", vec![take(left), days]))
        }
        (_, Some(DcType::Date)) if !minus && integral(lt, left) => {
            Some(call("dc_date_add_days", vec![take(right), take(left)]))
        }
        (Some(DcType::Timestamp | DcType::Date), Some(DcType::Timestamp | DcType::Date))
            if minus =>
        {
            return Err(SqlError::new(
                SqlErrorKind::Unsupported,
                "Subtracting one timestamp from another is not supported (the result would be an \
                 interval); compare EXTRACT(EPOCH FROM …) values instead",
            ))
        }
        _ => None,
    })
}
