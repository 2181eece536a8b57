//! V2's `arrowStream`: one batch of rows as a base64 Apache Arrow IPC stream,
//! sent when the client asks with `enable-arrow-stream: true` (what `cdp`'s
//! `get_pandas_dataframe` does: it decodes the string with
//! `pyarrow.ipc.open_stream`).
//!
//! The stream is a schema message, one record batch and the end marker. The
//! few flatbuffer tables the IPC format needs are laid out by the small writer
//! in `arrow/fb.rs` rather than pulling in the Arrow crates. Column types:
//! VARCHAR → Utf8, DECIMAL → Decimal128(18, 2), BIGINT → Int64, INTEGER →
//! Int32, DOUBLE → Float64, BOOLEAN → Bool, DATE → Date32, TIMESTAMP →
//! Timestamp(ms, "UTC"). Values that do not fit their type become nulls.

mod fb;

use base64::Engine;
use serde_json::Value;

use crate::model::DcType;
use crate::sql::Column;

use fb::{Field as F, Obj};

/// Message header union tags and metadata version (Arrow `Message.fbs`).
const HEADER_SCHEMA: u8 = 1;
const HEADER_RECORD_BATCH: u8 = 3;
const METADATA_V5: i16 = 4;

/// Base64 of the IPC stream for `rows` (each in column order).
pub fn stream_base64(columns: &[Column], rows: &[Vec<Value>]) -> String {
    base64::engine::general_purpose::STANDARD.encode(stream(columns, rows))
}

/// The IPC stream bytes.
pub fn stream(columns: &[Column], rows: &[Vec<Value>]) -> Vec<u8> {
    let mut out = Vec::new();
    let schema = Obj::table(vec![(
        1,
        F::Off(Obj::TableVec(columns.iter().map(field).collect())),
    )]);
    write_message(&mut out, HEADER_SCHEMA, schema, &[]);

    let mut body = Vec::new();
    let mut nodes = Vec::new();
    let mut buffers = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        let values: Vec<&Value> = rows
            .iter()
            .map(|r| r.get(i).unwrap_or(&Value::Null))
            .collect();
        let (null_count, bufs) = column_buffers(c.ty, &values);
        nodes.push((values.len() as i64, null_count as i64));
        for b in bufs {
            buffers.push((body.len() as i64, b.len() as i64));
            body.extend_from_slice(&b);
            pad8(&mut body);
        }
    }
    let batch = Obj::table(vec![
        (0, F::I64(rows.len() as i64)),
        (1, F::Off(Obj::structs(&nodes))),
        (2, F::Off(Obj::structs(&buffers))),
    ]);
    write_message(&mut out, HEADER_RECORD_BATCH, batch, &body);
    // End of stream: continuation marker and a zero length.
    out.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    out
}

/// One encapsulated message: marker, metadata length, `Message`, body.
fn write_message(out: &mut Vec<u8>, header_type: u8, header: Obj, body: &[u8]) {
    let message = Obj::table(vec![
        (0, F::I16(METADATA_V5)),
        (1, F::U8(header_type)),
        (2, F::Off(header)),
        (3, F::I64(body.len() as i64)),
    ]);
    let mut meta = fb::finish(message);
    // The 8-byte prefix plus the metadata must end on an 8-byte boundary.
    while meta.len() % 8 != 0 {
        meta.push(0);
    }
    out.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    out.extend_from_slice(&(meta.len() as i32).to_le_bytes());
    out.extend_from_slice(&meta);
    out.extend_from_slice(body);
}

/// The schema `Field` for a column.
fn field(c: &Column) -> Obj {
    // Type union tags from `Schema.fbs`.
    let (tag, ty) = match c.ty {
        DcType::Varchar => (5, Obj::table(vec![])),
        DcType::Boolean => (6, Obj::table(vec![])),
        DcType::Bigint => (2, Obj::table(vec![(0, F::I32(64)), (1, F::Bool(true))])),
        DcType::Integer => (2, Obj::table(vec![(0, F::I32(32)), (1, F::Bool(true))])),
        DcType::Double => (3, Obj::table(vec![(0, F::I16(2))])),
        DcType::Decimal => (
            7,
            Obj::table(vec![(0, F::I32(18)), (1, F::I32(2)), (2, F::I32(128))]),
        ),
        DcType::Date => (8, Obj::table(vec![(0, F::I16(0))])),
        DcType::Timestamp => (
            10,
            Obj::table(vec![(0, F::I16(1)), (1, F::Off(Obj::Str("UTC".into())))]),
        ),
    };
    Obj::table(vec![
        (0, F::Off(Obj::Str(c.name.clone()))),
        (1, F::Bool(true)),
        (2, F::U8(tag)),
        (3, F::Off(ty)),
        (5, F::Off(Obj::TableVec(Vec::new()))),
    ])
}

/// Null count and buffers (validity first) of one column.
fn column_buffers(ty: DcType, values: &[&Value]) -> (usize, Vec<Vec<u8>>) {
    match ty {
        DcType::Varchar => {
            let texts: Vec<Option<String>> = values.iter().map(|v| text(v)).collect();
            let (nulls, validity) = bitmap(texts.iter().map(Option::is_some));
            let mut offsets = Vec::with_capacity((texts.len() + 1) * 4);
            let mut data = Vec::new();
            offsets.extend_from_slice(&0i32.to_le_bytes());
            for t in &texts {
                data.extend_from_slice(t.as_deref().unwrap_or("").as_bytes());
                offsets.extend_from_slice(&(data.len() as i32).to_le_bytes());
            }
            (nulls, vec![validity, offsets, data])
        }
        DcType::Boolean => {
            let bools: Vec<Option<bool>> = values.iter().map(|v| boolean(v)).collect();
            let (nulls, validity) = bitmap(bools.iter().map(Option::is_some));
            let (_, data) = bitmap(bools.iter().map(|b| b.unwrap_or(false)));
            (nulls, vec![validity, data])
        }
        DcType::Bigint => fixed(values, |v| int(v).map(|i| i.to_le_bytes().to_vec()), 8),
        DcType::Integer => fixed(
            values,
            |v| {
                int(v)
                    .and_then(|i| i32::try_from(i).ok())
                    .map(|i| i.to_le_bytes().to_vec())
            },
            4,
        ),
        DcType::Double => fixed(values, |v| float(v).map(|f| f.to_le_bytes().to_vec()), 8),
        DcType::Decimal => fixed(
            values,
            |v| {
                float(v)
                    .filter(|f| f.abs() < 1e16)
                    .map(|f| ((f * 100.0).round() as i128).to_le_bytes().to_vec())
            },
            16,
        ),
        DcType::Date => fixed(
            values,
            |v| epoch_days(v).map(|d| d.to_le_bytes().to_vec()),
            4,
        ),
        DcType::Timestamp => fixed(
            values,
            |v| epoch_millis(v).map(|ms| ms.to_le_bytes().to_vec()),
            8,
        ),
    }
}

/// A fixed-width column: validity and values (zeros under nulls).
fn fixed(
    values: &[&Value],
    encode: impl Fn(&Value) -> Option<Vec<u8>>,
    width: usize,
) -> (usize, Vec<Vec<u8>>) {
    let encoded: Vec<Option<Vec<u8>>> = values.iter().map(|v| encode(v)).collect();
    let (nulls, validity) = bitmap(encoded.iter().map(Option::is_some));
    let mut data = Vec::with_capacity(values.len() * width);
    for e in &encoded {
        match e {
            Some(bytes) => data.extend_from_slice(bytes),
            None => data.extend(std::iter::repeat_n(0u8, width)),
        }
    }
    (nulls, vec![validity, data])
}

/// An LSB-first bitmap and the number of unset bits.
fn bitmap(bits: impl Iterator<Item = bool>) -> (usize, Vec<u8>) {
    let mut out = Vec::new();
    let mut unset = 0;
    for (i, bit) in bits.enumerate() {
        if i % 8 == 0 {
            out.push(0);
        }
        if bit {
            if let Some(last) = out.last_mut() {
                *last |= 1 << (i % 8);
            }
        } else {
            unset += 1;
        }
    }
    (unset, out)
}

fn pad8(buf: &mut Vec<u8>) {
    while buf.len() % 8 != 0 {
        buf.push(0);
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
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
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stream_framing() {
        let cols = vec![
            Column {
                name: "a".into(),
                ty: DcType::Varchar,
            },
            Column {
                name: "n".into(),
                ty: DcType::Bigint,
            },
        ];
        let rows = vec![vec![json!("x"), json!(1)], vec![Value::Null, json!(2)]];
        let s = stream(&cols, &rows);
        assert_eq!(&s[..4], &[0xff; 4]);
        let meta_len = i32::from_le_bytes([s[4], s[5], s[6], s[7]]) as usize;
        assert_eq!((8 + meta_len) % 8, 0);
        assert_eq!(&s[s.len() - 8..], &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        assert_eq!(s.len() % 8, 0);
    }

    #[test]
    fn bitmaps_are_lsb_first() {
        let (unset, bits) =
            bitmap([true, false, true, true, false, false, false, false, true].into_iter());
        assert_eq!(unset, 5);
        assert_eq!(bits, vec![0b0000_1101, 0b0000_0001]);
    }

    #[test]
    fn values_convert() {
        assert_eq!(epoch_days(&json!("1970-01-02")), Some(1));
        assert_eq!(epoch_millis(&json!("1970-01-01T00:00:01.5Z")), Some(1500));
        assert_eq!(int(&json!(4.0)), Some(4));
        assert_eq!(boolean(&json!(0)), Some(false));
    }

    /// The sample in `tests/data/arrow_sample.b64` was read back with
    /// `pyarrow.ipc.open_stream(...).read_all()` and passed
    /// `Table.validate(full=True)`: all eight column types, nulls in each, a
    /// non-ASCII string. Any change to the writer must be re-checked that way
    /// before the sample is regenerated.
    #[test]
    fn matches_the_pyarrow_checked_sample() {
        let cols: Vec<Column> = [
            ("name", DcType::Varchar),
            ("amt", DcType::Decimal),
            ("n", DcType::Bigint),
            ("i", DcType::Integer),
            ("x", DcType::Double),
            ("ok", DcType::Boolean),
            ("d", DcType::Date),
            ("ts", DcType::Timestamp),
        ]
        .iter()
        .map(|(n, t)| Column {
            name: n.to_string(),
            ty: *t,
        })
        .collect();
        let rows = vec![
            vec![
                json!("Andy"),
                json!(12.5),
                json!(3),
                json!(7),
                json!(0.25),
                json!(true),
                json!("1990-01-02"),
                json!("2021-09-16T16:26:36.120Z"),
            ],
            vec![
                Value::Null,
                json!("10"),
                Value::Null,
                json!(-1),
                Value::Null,
                json!(false),
                Value::Null,
                Value::Null,
            ],
            vec![
                json!("Zoë"),
                Value::Null,
                json!(-9),
                Value::Null,
                json!(1.5),
                Value::Null,
                json!("2024-02-29"),
                json!("2024-03-22 05:47:10"),
            ],
        ];
        let sample = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/arrow_sample.b64"
        ));
        assert_eq!(stream_base64(&cols, &rows), sample.trim());
    }
}
