//! The stream read back with `arrow-ipc`'s `StreamReader`: schema, types,
//! values and nulls for every column type, values that do not fit, empty
//! batches, and sameness with the sample that `pyarrow` validated.
use std::io::Cursor;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type, TimestampMillisecondType,
};
use arrow_array::Array;
use arrow_ipc::reader::StreamReader;
use arrow_schema::{DataType, TimeUnit};
use serde_json::json;

use super::*;

fn columns(spec: &[(&str, DcType)]) -> Vec<Column> {
    spec.iter()
        .map(|(n, t)| Column {
            name: n.to_string(),
            ty: *t,
        })
        .collect()
}

/// Every batch in `bytes`, read as a client would.
fn read(bytes: Vec<u8>) -> (Arc<Schema>, Vec<RecordBatch>) {
    let reader = StreamReader::try_new(Cursor::new(bytes), None).expect("stream header");
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .expect("record batches");
    (schema, batches)
}

/// The rows of `tests/data/arrow_sample.b64`: all eight column types, a null
/// in each, a non-ASCII string, numbers sent as text.
fn sample() -> (Vec<Column>, Vec<Vec<Value>>) {
    let cols = columns(&[
        ("name", DcType::Varchar),
        ("amt", DcType::Decimal),
        ("n", DcType::Bigint),
        ("i", DcType::Integer),
        ("x", DcType::Double),
        ("ok", DcType::Boolean),
        ("d", DcType::Date),
        ("ts", DcType::Timestamp),
    ]);
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
    (cols, rows)
}

#[test]
fn reads_back_schema_types_values_and_nulls() {
    let (cols, rows) = sample();
    let (schema, batches) = read(stream(&cols, &rows).expect("stream"));

    let types: Vec<(&str, &DataType, bool)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type(), f.is_nullable()))
        .collect();
    let utc = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    assert_eq!(
        types,
        vec![
            ("name", &DataType::Utf8, true),
            ("amt", &DataType::Decimal128(18, 2), true),
            ("n", &DataType::Int64, true),
            ("i", &DataType::Int32, true),
            ("x", &DataType::Float64, true),
            ("ok", &DataType::Boolean, true),
            ("d", &DataType::Date32, true),
            ("ts", &utc, true),
        ]
    );

    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!(b.num_rows(), 3);
    let name = b.column(0).as_string::<i32>();
    assert_eq!(
        name.iter().collect::<Vec<_>>(),
        [Some("Andy"), None, Some("Zoë")]
    );
    let amt = b.column(1).as_primitive::<Decimal128Type>();
    assert_eq!(
        amt.iter().collect::<Vec<_>>(),
        [Some(1250), Some(1000), None]
    );
    let n = b.column(2).as_primitive::<Int64Type>();
    assert_eq!(n.iter().collect::<Vec<_>>(), [Some(3), None, Some(-9)]);
    let i = b.column(3).as_primitive::<Int32Type>();
    assert_eq!(i.iter().collect::<Vec<_>>(), [Some(7), Some(-1), None]);
    let x = b.column(4).as_primitive::<Float64Type>();
    assert_eq!(x.iter().collect::<Vec<_>>(), [Some(0.25), None, Some(1.5)]);
    let ok = b.column(5).as_boolean();
    assert_eq!(
        ok.iter().collect::<Vec<_>>(),
        [Some(true), Some(false), None]
    );
    let d = b.column(6).as_primitive::<Date32Type>();
    // 1990-01-02 and 2024-02-29 as days since the epoch.
    assert_eq!(
        d.iter().collect::<Vec<_>>(),
        [Some(7306), None, Some(19782)]
    );
    let ts = b.column(7).as_primitive::<TimestampMillisecondType>();
    assert_eq!(
        ts.iter().collect::<Vec<_>>(),
        [Some(1_631_809_596_120), None, Some(1_711_086_430_000)]
    );
    assert!(b.columns().iter().all(|c| c.null_count() == 1));
}

/// `tests/data/arrow_sample.b64` came from the hand-written writer this crate
/// replaced, and `pyarrow.ipc.open_stream(...).read_all()` read it and passed
/// `Table.validate(full=True)`. The new stream's bytes differ (alignment,
/// layout) but must carry the very same schema and batch.
#[test]
fn carries_the_same_batch_as_the_pyarrow_checked_sample() {
    let pinned = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/arrow_sample.b64"
    ));
    let pinned = base64::engine::general_purpose::STANDARD
        .decode(pinned.trim())
        .expect("base64 sample");
    let (cols, rows) = sample();
    let ours = base64::engine::general_purpose::STANDARD
        .decode(stream_base64(&cols, &rows).expect("stream"))
        .expect("our base64");
    let (want_schema, want) = read(pinned);
    let (schema, got) = read(ours);
    assert_eq!(schema, want_schema);
    assert_eq!(got, want);
}

#[test]
fn values_that_do_not_fit_become_nulls() {
    let cols = columns(&[
        ("amt", DcType::Decimal),
        ("n", DcType::Bigint),
        ("i", DcType::Integer),
        ("x", DcType::Double),
        ("ok", DcType::Boolean),
        ("d", DcType::Date),
        ("ts", DcType::Timestamp),
    ]);
    let rows = vec![
        vec![
            json!(1e17),
            json!("seven"),
            json!(1_i64 << 40),
            json!("abc"),
            json!("maybe"),
            json!("02/29/2024"),
            json!("yesterday"),
        ],
        // A short row: the missing cells are nulls too.
        vec![json!("NaN")],
    ];
    let (_, batches) = read(stream(&cols, &rows).expect("stream"));
    let b = &batches[0];
    assert_eq!(b.num_rows(), 2);
    for (i, c) in b.columns().iter().enumerate() {
        assert_eq!(c.null_count(), 2, "column {i}");
    }
}

#[test]
fn empty_batches_keep_their_schema_and_row_count() {
    let cols = columns(&[("a", DcType::Varchar), ("n", DcType::Bigint)]);
    let (schema, batches) = read(stream(&cols, &[]).expect("stream"));
    assert_eq!(schema.fields().len(), 2);
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].num_rows(), 0);

    // No columns at all: the batch still says how many rows it has.
    let (schema, batches) = read(stream(&[], &[vec![], vec![]]).expect("stream"));
    assert!(schema.fields().is_empty());
    assert_eq!(batches[0].num_rows(), 2);
}

#[test]
fn stream_framing() {
    let (cols, rows) = sample();
    let s = stream(&cols, &rows).expect("stream");
    // Continuation marker first (not the pre-0.15 legacy framing), and the
    // end-of-stream marker last.
    assert_eq!(&s[..4], &[0xff; 4]);
    assert_eq!(&s[s.len() - 8..], &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
}

#[test]
fn values_convert() {
    assert_eq!(epoch_days(&json!("1970-01-02")), Some(1));
    assert_eq!(epoch_millis(&json!("1970-01-01T00:00:01.5Z")), Some(1500));
    assert_eq!(int(&json!(4.0)), Some(4));
    assert_eq!(boolean(&json!(0)), Some(false));
    assert_eq!(cents(&json!(0.125)), Some(13));
    assert_eq!(cents(&json!(f64::MAX)), None);
}
