//! DLO → DMO mappings: which DMO row a stream's record becomes, declared in
//! `org.toml` as one template per DMO column.
//!
//! A template is text with `{…}` placeholders: `{field}` is the value of a
//! schema field; `{$source}` the connector name, `{$object}` the object
//! name, `{$kq}` the stream's key qualifier, `{$org}` the org id and
//! `{$now}` the time the record is applied. A placeholder may go through one
//! filter: `{email|lower}`, `{x|upper}`, `{x|trim}`, `{phone|e164}` (the
//! E.164 form, blank when the text is no phone number). `{{` and `}}` are
//! literal braces. Like SQL's NULL, a blank placeholder makes the whole
//! value blank (stored as NULL): `{lead_id}-email` is blank only when
//! `lead_id` is.

use crate::model::DcType;
use crate::org::generate::phone;

use super::validate::Record;
use super::SchemaObject;

/// How one stream's records become rows of one DMO.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub dmo: String,
    /// The DMO's primary-key column; its template uses only the stream's
    /// primary key (and `$source`/`$object`/`$kq`/`$org`), so a delete by
    /// id can find the row.
    pub key_column: String,
    /// A row exists only while this field is not blank; otherwise the row
    /// with the record's key is deleted (an email removed from a lead).
    pub when: Option<usize>,
    pub columns: Vec<Column>,
}

impl Mapping {
    /// The key column's template.
    pub fn key(&self) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == self.key_column)
    }
}

/// One DMO column of a mapping.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: DcType,
    pub template: Template,
    /// Written when the row is created, left alone on later upserts
    /// (`ssot__CreatedDate__c`).
    pub keep: bool,
}

/// A parsed column template.
#[derive(Debug, Clone)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Field(usize, Option<Filter>),
    Var(Var, Option<Filter>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    Source,
    Object,
    KeyQualifier,
    Org,
    Now,
}

#[derive(Debug, Clone, Copy)]
enum Filter {
    Lower,
    Upper,
    Trim,
    E164,
}

/// What a template can refer to besides the record.
pub struct Context<'a> {
    pub record: &'a Record,
    pub source: &'a str,
    pub object: &'a str,
    pub key_qualifier: &'a str,
    pub org_id: &'a str,
    /// The time of processing, in stored form.
    pub now: &'a str,
}

impl Template {
    /// Parses `text`, resolving field names against `object`.
    pub fn parse(text: &str, object: &SchemaObject) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(format!("`{text}`: unmatched `}}` (write `}}}}`)")),
                '{' => {
                    let mut inner = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => inner.push(c),
                            None => return Err(format!("`{text}`: unclosed `{{`")),
                        }
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(
                        placeholder(inner.trim(), object).map_err(|m| format!("`{text}`: {m}"))?,
                    );
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    /// The value for `ctx`; `None` when blank.
    pub fn eval(&self, ctx: &Context<'_>) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            let (raw, filter) = match part {
                Part::Text(t) => {
                    out.push_str(t);
                    continue;
                }
                Part::Field(i, f) => (ctx.record.get(*i)?, *f),
                Part::Var(v, f) => {
                    let raw = match v {
                        Var::Source => ctx.source,
                        Var::Object => ctx.object,
                        Var::KeyQualifier => ctx.key_qualifier,
                        Var::Org => ctx.org_id,
                        Var::Now => ctx.now,
                    };
                    (raw, *f)
                }
            };
            let value = match filter {
                None => raw.to_owned(),
                Some(Filter::Lower) => raw.to_lowercase(),
                Some(Filter::Upper) => raw.to_uppercase(),
                Some(Filter::Trim) => raw.trim().to_owned(),
                Some(Filter::E164) => phone::normalize(raw)?,
            };
            if value.is_empty() {
                return None;
            }
            out.push_str(&value);
        }
        (!out.is_empty()).then_some(out)
    }

    /// Indices of the schema fields the template reads.
    pub fn fields(&self) -> impl Iterator<Item = usize> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(i, _) => Some(*i),
            _ => None,
        })
    }

    /// Whether the template reads `$now` (so its value differs run to run).
    pub fn uses_now(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Var(Var::Now, _)))
    }
}

fn placeholder(inner: &str, object: &SchemaObject) -> Result<Part, String> {
    let (name, filter) = match inner.split_once('|') {
        None => (inner, None),
        Some((n, f)) => {
            let filter = match f.trim() {
                "lower" => Filter::Lower,
                "upper" => Filter::Upper,
                "trim" => Filter::Trim,
                "e164" => Filter::E164,
                other => {
                    return Err(format!(
                        "unknown filter `{other}` (lower, upper, trim, e164)"
                    ))
                }
            };
            (n.trim(), Some(filter))
        }
    };
    if let Some(var) = name.strip_prefix('$') {
        let var = match var {
            "source" => Var::Source,
            "object" => Var::Object,
            "kq" => Var::KeyQualifier,
            "org" => Var::Org,
            "now" => Var::Now,
            other => {
                return Err(format!(
                    "unknown variable `${other}` ($source, $object, $kq, $org, $now)"
                ))
            }
        };
        return Ok(Part::Var(var, filter));
    }
    let index = object
        .index_of(name)
        .ok_or_else(|| format!("`{name}` is not a field of `{}`", object.name))?;
    Ok(Part::Field(index, filter))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{FieldKind, SchemaField};

    fn object() -> SchemaObject {
        SchemaObject {
            name: "Lead".into(),
            fields: ["id", "email", "phone"]
                .iter()
                .map(|n| SchemaField {
                    name: (*n).into(),
                    kind: FieldKind::Text,
                })
                .collect(),
        }
    }

    fn eval(template: &str, record: &[Option<&str>]) -> Option<String> {
        let record = Record(record.iter().map(|v| v.map(str::to_owned)).collect());
        let ctx = Context {
            record: &record,
            source: "Bridged",
            object: "Lead",
            key_qualifier: "KQ",
            org_id: "00D",
            now: "2026-01-01T00:00:00.000Z",
        };
        Template::parse(template, &object()).unwrap().eval(&ctx)
    }

    #[test]
    fn templates_evaluate() {
        let rec = [Some("L1"), Some("A@X.io"), Some("+1 415-555-0142")];
        assert_eq!(eval("{id}-email", &rec).as_deref(), Some("L1-email"));
        assert_eq!(eval("{email|lower}", &rec).as_deref(), Some("a@x.io"));
        assert_eq!(eval("{phone|e164}", &rec).as_deref(), Some("+14155550142"));
        assert_eq!(
            eval("{$source}:{$object}", &rec).as_deref(),
            Some("Bridged:Lead")
        );
        assert_eq!(eval("{{{id}}}", &rec).as_deref(), Some("{L1}"));
        assert_eq!(eval("x{email}", &[Some("L1"), None, None]), None);
        assert_eq!(
            eval("{phone|e164}", &[Some("L1"), None, Some("junk")]),
            None
        );
    }

    #[test]
    fn bad_templates_are_named() {
        let o = object();
        assert!(Template::parse("{nope}", &o)
            .unwrap_err()
            .contains("`nope` is not a field"));
        assert!(Template::parse("{id|x}", &o)
            .unwrap_err()
            .contains("unknown filter"));
        assert!(Template::parse("{$x}", &o)
            .unwrap_err()
            .contains("unknown variable"));
        assert!(Template::parse("{id", &o).unwrap_err().contains("unclosed"));
        assert!(Template::parse("id}", &o)
            .unwrap_err()
            .contains("unmatched"));
        assert!(Template::parse("{$now}", &o).unwrap().uses_now());
    }
}
