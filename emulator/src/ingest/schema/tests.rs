//! Schema-file rules, each error naming object, field and line.
use super::*;

const GUIDE: &str = "openapi: 3.0.3
components:
  schemas:
    EngagementEvent:
      type: object
      properties:
        event_id:
          type: string
        customer_email:
          type: string
          format: email
        event_timestamp:
          type: string
          format: date-time
";

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn the_guides_schema_parses() {
    let objects = parse(GUIDE).unwrap();
    assert_eq!(objects.len(), 1);
    let o = &objects[0];
    assert_eq!(o.name, "EngagementEvent");
    let kinds: Vec<_> = o.fields.iter().map(|f| (f.name.as_str(), f.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("event_id", FieldKind::Text),
            ("customer_email", FieldKind::Email),
            ("event_timestamp", FieldKind::DateTime)
        ]
    );
}

#[test]
fn errors_name_object_field_and_line() {
    let bad = GUIDE.replace("format: email", "format: mail");
    assert_eq!(
            err(&bad),
            "object `EngagementEvent`, field `customer_email` (line 11): format `mail` is not supported for `type: string` (email, date, date-time, phone, url)"
        );
    let nested = GUIDE.replace(
            "        event_id:\n          type: string\n",
            "        event_id:\n          type: object\n          properties:\n            a: {type: string}\n",
        );
    assert!(
        err(&nested).starts_with("object `EngagementEvent`, field `event_id` (line 9): nested"),
        "{}",
        err(&nested)
    );
    let reserved = GUIDE.replace("event_id:", "version:");
    assert!(err(&reserved).contains("field `version` (line 7): `version` is a reserved field name"));
    let dunder = GUIDE.replace("event_id:", "event__id:");
    assert!(err(&dunder).contains("must not contain `__`"));
    let kq = GUIDE.replace("event_id:", "kq_id:");
    assert!(err(&kq).contains("must not start with `KQ_`"));
    let dup = GUIDE.replace("event_timestamp:", "Event_ID:");
    assert!(err(&dup).contains("field `Event_ID` (line 12): defined twice"));
    let chars = GUIDE.replace("event_id:", "\"event id\":");
    assert!(err(&chars).contains("may only hold letters, digits"));
    let long = GUIDE.replace("event_id:", &format!("{}:", "a".repeat(81)));
    assert!(err(&long).contains("longer than 80"));
    let ty = GUIDE.replace(
        "type: string\n        customer",
        "type: text\n        customer",
    );
    assert!(err(&ty).contains("`type: text` is not supported"));
}

#[test]
fn file_level_errors() {
    assert!(err("").contains("empty"));
    assert!(err("openapi: 3.0.3\ncomponents: [\n").contains("not valid YAML"));
    assert!(
        err("openapi: 2.0\ncomponents: {schemas: {A: {properties: {a: {type: string}}}}}\n")
            .contains("3.0.x")
    );
    assert!(err("openapi: 3.0.3\ncomponents:\n  schemas: {}\n").contains("no object"));
    assert!(
        err("openapi: 3.0.3\ncomponents:\n  schemas:\n    A:\n      properties: {}\n")
            .contains("object `A` (line 5): an object needs at least one field")
    );
    assert!(err("openapi: 3.0.3\n").contains("components.schemas"));
}
