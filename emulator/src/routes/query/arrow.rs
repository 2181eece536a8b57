//! V2's `arrowStream`: one batch of rows as a base64 Apache Arrow IPC stream,
//! sent when the client asks with `enable-arrow-stream: true` (what `cdp`'s
//! `get_pandas_dataframe` does: it decodes the string with
//! `pyarrow.ipc.open_stream`).
//!
//! The stream is a schema message, one record batch and the end-of-stream
//! marker, written by Apache Arrow's own `arrow-ipc` `StreamWriter` (no
//! compression) from `arrow-array` typed arrays. This module only decides the
//! column types and how JSON values become Arrow values: VARCHAR → Utf8,
//! DECIMAL → Decimal128(18, 2), BIGINT → Int64, INTEGER → Int32, DOUBLE →
//! Float64, BOOLEAN → Boolean, DATE → Date32, TIMESTAMP → Timestamp(ms,
//! "UTC"). Every field is nullable, and values that do not fit their type
//! become nulls rather than errors: the JSON `data` beside the stream still
//! carries them as the store returned them.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
    RecordBatch, RecordBatchOptions, StringArray, TimestampMillisecondArray,
};
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{ArrowError, Field, Schema};
use base64::Engine;
use serde_json::Value;

use crate::model::DcType;
use crate::sql::Column;

/// Data Cloud's NUMBER: DECIMAL(18, 2).
const DECIMAL_PRECISION: u8 = 18;
const DECIMAL_SCALE: i8 = 2;

/// Base64 of the IPC stream for `rows` (each in column order).
///
/// Errors only if Arrow refuses the batch we built, which the types here rule
/// out; callers answer a generic 500 and log the cause.
pub fn stream_base64(columns: &[Column], rows: &[Vec<Value>]) -> Result<String, ArrowError> {
    Ok(base64::engine::general_purpose::STANDARD.encode(stream(columns, rows)?))
}

/// The IPC stream bytes.
pub fn stream(columns: &[Column], rows: &[Vec<Value>]) -> Result<Vec<u8>, ArrowError> {
    let arrays = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let values = rows.iter().map(move |r| r.get(i).unwrap_or(&Value::Null));
            array(c.ty, values)
        })
        .collect::<Result<Vec<ArrayRef>, ArrowError>>()?;
    // The schema is read off the arrays, so the two cannot disagree.
    let fields: Vec<Field> = columns
        .iter()
        .zip(&arrays)
        .map(|(c, a)| Field::new(c.name.as_str(), a.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    // An explicit row count: a batch with no columns still has its rows.
    let options = RecordBatchOptions::new().with_row_count(Some(rows.len()));
    let batch = RecordBatch::try_new_with_options(Arc::clone(&schema), arrays, &options)?;

    let mut writer = StreamWriter::try_new(Vec::new(), &schema)?;
    writer.write(&batch)?;
    // `into_inner` finishes the stream (its end-of-stream marker) first.
    writer.into_inner()
}

/// One column of `ty` from its JSON values.
fn array<'a>(ty: DcType, values: impl Iterator<Item = &'a Value>) -> Result<ArrayRef, ArrowError> {
    Ok(match ty {
        DcType::Varchar => Arc::new(StringArray::from_iter(values.map(text))),
        DcType::Decimal => Arc::new(
            Decimal128Array::from_iter(values.map(cents))
                .with_precision_and_scale(DECIMAL_PRECISION, DECIMAL_SCALE)?,
        ),
        DcType::Bigint => Arc::new(Int64Array::from_iter(values.map(int))),
        DcType::Integer => Arc::new(Int32Array::from_iter(
            values.map(|v| int(v).and_then(|i| i32::try_from(i).ok())),
        )),
        DcType::Double => Arc::new(Float64Array::from_iter(values.map(float))),
        DcType::Boolean => Arc::new(BooleanArray::from_iter(values.map(boolean))),
        DcType::Date => Arc::new(Date32Array::from_iter(values.map(epoch_days))),
        DcType::Timestamp => Arc::new(
            TimestampMillisecondArray::from_iter(values.map(epoch_millis)).with_timezone("UTC"),
        ),
    })
}

fn text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        other => Some(Cow::Owned(other.to_string())),
    }
}

fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "t" | "1" => Some(true),
            "false" | "f" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A DECIMAL(18, 2) as its unscaled i128 (hundredths). Magnitudes of 10^16
/// and more (and NaN, infinities) would not fit 18 digits: null.
fn cents(v: &Value) -> Option<i128> {
    float(v)
        .filter(|f| f.abs() < 1e16)
        .map(|f| (f * 100.0).round() as i128)
}

fn epoch_days(v: &Value) -> Option<i32> {
    let s = v.as_str()?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(s.get(..10)?, &format).ok()?;
    Some(date.to_julian_day() - 2_440_588)
}

fn epoch_millis(v: &Value) -> Option<i64> {
    let t = super::encode::parse_timestamp(v.as_str()?)?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests;
