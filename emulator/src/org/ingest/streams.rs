//! One `[[connectors.streams]]` entry: the data stream settings of a schema
//! object (category, primary key, event time, DLO, key qualifier,
//! processing delay, real-time identity resolution), its derived DLO, and
//! its `[[…mappings]]` to DMOs.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::ingest::mapping::{Column, Mapping, Template};
use crate::ingest::{
    dlo_field_name, key_qualifier_name, Category, Connector, FieldKind, SchemaObject, Stream,
    DLO_INGESTED_FIELD, DLO_OBJECT_FIELD, DLO_SOURCE_FIELD,
};
use crate::model::{DataModel, DcType, EntityType, FieldDef, ObjectDef};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStream {
    object: String,
    category: String,
    primary_key: String,
    #[serde(default)]
    event_time: Option<String>,
    /// Default `<connector>_<object>__dll`.
    #[serde(default)]
    dlo: Option<String>,
    /// Default: the connector name.
    #[serde(default)]
    key_qualifier: Option<String>,
    #[serde(default)]
    processing_delay_ms: u64,
    /// Identity resolution runs right after this stream's records land.
    #[serde(default)]
    real_time_identity_resolution: bool,
    #[serde(default)]
    mappings: Vec<RawMapping>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    dmo: String,
    #[serde(default)]
    when: Option<String>,
    #[serde(default)]
    keep: Vec<String>,
    fields: BTreeMap<String, String>,
}

/// Checks one stream of `connector`, adds its DLO to `model` (or checks the
/// model's own definition of it) and builds its mappings.
pub(crate) fn build(
    connector: &Connector,
    raw: RawStream,
    model: &mut DataModel,
) -> Result<Stream, String> {
    let object = connector.object(&raw.object).ok_or_else(|| {
        format!(
            "stream for object `{}`, which {} does not define",
            raw.object, connector.schema_file
        )
    })?;
    let who = format!("stream `{}`", raw.object);
    if connector
        .streams
        .iter()
        .any(|s| s.object.name == raw.object)
    {
        return Err(format!(
            "{who}: an object has one data stream per connector"
        ));
    }
    let category = match raw.category.as_str() {
        "Profile" => Category::Profile,
        "Engagement" => Category::Engagement,
        "Other" => Category::Other,
        other => {
            return Err(format!(
                "{who}: category `{other}` is not Profile, Engagement or Other"
            ))
        }
    };
    let field = |name: &str, what: &str| {
        object
            .index_of(name)
            .ok_or_else(|| format!("{who}: {what} `{name}` is not a field of `{}`", object.name))
    };
    let primary_key = field(&raw.primary_key, "primary key")?;
    let event_time = raw
        .event_time
        .as_deref()
        .map(|n| field(n, "event time"))
        .transpose()?;
    if let Some(i) = event_time {
        if !matches!(object.fields[i].kind, FieldKind::DateTime | FieldKind::Date) {
            return Err(format!(
                "{who}: event time `{}` must be a date-time field",
                object.fields[i].name
            ));
        }
    }
    if category == Category::Engagement && event_time.is_none() {
        return Err(format!("{who}: an Engagement stream needs `event_time`"));
    }
    let dlo = raw
        .dlo
        .unwrap_or_else(|| format!("{}_{}__dll", connector.name, object.name.replace('-', "_")));
    let derived = derive_dlo(&dlo, &connector.name, object, category, primary_key)
        .map_err(|m| format!("{who}: {m}"))?;
    match model.object(&dlo) {
        Some(declared) => {
            same_shape(declared, &derived).map_err(|m| format!("{who}: the model's `{dlo}` {m}"))?
        }
        None => model.objects.push(derived),
    }
    let mut stream = Stream {
        connector: connector.name.clone(),
        object: object.clone(),
        category,
        primary_key,
        event_time,
        dlo,
        key_qualifier: raw.key_qualifier.unwrap_or_else(|| connector.name.clone()),
        processing_delay_ms: raw.processing_delay_ms,
        real_time_identity_resolution: raw.real_time_identity_resolution,
        mappings: Vec::new(),
    };
    for m in raw.mappings {
        let dmo = m.dmo.clone();
        let mapping =
            mapping(&stream, m, model).map_err(|e| format!("{who}: mapping to `{dmo}`: {e}"))?;
        stream.mappings.push(mapping);
    }
    Ok(stream)
}

fn derive_dlo(
    name: &str,
    connector: &str,
    object: &SchemaObject,
    category: Category,
    primary_key: usize,
) -> Result<ObjectDef, String> {
    let ident = name.strip_suffix("__dll").is_some_and(|base| {
        base.starts_with(|c: char| c.is_ascii_alphabetic())
            && base.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    if !ident {
        return Err(format!(
            "DLO name `{name}` must be letters, digits and `_` ending in `__dll`"
        ));
    }
    let field = |name: String, ty: DcType, kq: Option<String>| FieldDef {
        display_name: crate::org::schema::display_name(&name),
        name,
        ty,
        key_qualifier: kq,
    };
    let pk = &object.fields[primary_key].name;
    let mut fields: Vec<FieldDef> = object
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let kq = (i == primary_key).then(|| key_qualifier_name(pk));
            field(dlo_field_name(&f.name), f.kind.dc_type(), kq)
        })
        .collect();
    fields.push(field(key_qualifier_name(pk), DcType::Varchar, None));
    fields.push(field(DLO_SOURCE_FIELD.into(), DcType::Varchar, None));
    fields.push(field(DLO_OBJECT_FIELD.into(), DcType::Varchar, None));
    fields.push(field(DLO_INGESTED_FIELD.into(), DcType::Timestamp, None));
    let mut seen = std::collections::HashSet::new();
    for (i, f) in fields.iter().enumerate() {
        if !seen.insert(f.name.to_ascii_lowercase()) {
            let culprit = object.fields.get(i).map_or(f.name.as_str(), |s| &s.name);
            return Err(format!(
                "field `{culprit}` of `{}` would be the DLO column `{}`, which another field or a system field already is",
                object.name, f.name
            ));
        }
    }
    Ok(ObjectDef {
        name: name.to_owned(),
        display_name: format!("{connector} {}", object.name),
        entity_type: EntityType::DataLakeObject,
        category: category.as_str().to_owned(),
        fields,
        primary_key: vec![dlo_field_name(pk)],
        relationships: Vec::new(),
        view_sql: None,
    })
}

/// Whether a model file's DLO fits the stream (names and types, any order).
fn same_shape(declared: &ObjectDef, derived: &ObjectDef) -> Result<(), String> {
    if declared.entity_type != EntityType::DataLakeObject || declared.view_sql.is_some() {
        return Err("must be a DataLakeObject table".into());
    }
    if declared.category != derived.category {
        return Err(format!(
            "has category `{}` but the stream is `{}`",
            declared.category, derived.category
        ));
    }
    for f in &derived.fields {
        match declared.field(&f.name) {
            None => return Err(format!("lacks field `{}`", f.name)),
            Some(d) if d.ty != f.ty => {
                return Err(format!(
                    "has `{}` as {} but the schema makes it {}",
                    f.name,
                    d.ty.v2_name(),
                    f.ty.v2_name()
                ))
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = declared
        .fields
        .iter()
        .find(|d| derived.field(&d.name).is_none())
    {
        return Err(format!(
            "has field `{}`, which the schema does not define",
            extra.name
        ));
    }
    let same_key = declared.primary_key.len() == 1
        && declared.primary_key[0].eq_ignore_ascii_case(&derived.primary_key[0]);
    if !same_key {
        return Err(format!(
            "must have primary key `{}`",
            derived.primary_key[0]
        ));
    }
    Ok(())
}

fn mapping(stream: &Stream, raw: RawMapping, model: &DataModel) -> Result<Mapping, String> {
    let dmo = model
        .object(&raw.dmo)
        .ok_or_else(|| "no such object in the model".to_owned())?;
    if dmo.entity_type != EntityType::DataModelObject || dmo.view_sql.is_some() {
        return Err("only DataModelObject tables can be mapped to".into());
    }
    let [key_column] = dmo.primary_key.as_slice() else {
        return Err("the DMO needs a single-column primary key".into());
    };
    let when =
        raw.when
            .as_deref()
            .map(|w| {
                stream.object.index_of(w).ok_or_else(|| {
                    format!("when: `{w}` is not a field of `{}`", stream.object.name)
                })
            })
            .transpose()?;
    let mut columns = Vec::with_capacity(raw.fields.len());
    for (name, text) in &raw.fields {
        let field = dmo
            .field(name)
            .ok_or_else(|| format!("`{name}` is not a field of `{}`", dmo.name))?;
        let template = Template::parse(text, &stream.object).map_err(|m| format!("{name}: {m}"))?;
        columns.push(Column {
            name: field.name.clone(),
            ty: field.ty,
            template,
            keep: false,
        });
    }
    for k in &raw.keep {
        let column = columns
            .iter_mut()
            .find(|c| c.name.eq_ignore_ascii_case(k))
            .ok_or_else(|| format!("keep: `{k}` is not a mapped field"))?;
        if column.name == *key_column {
            return Err(format!("keep: `{k}` is the primary key"));
        }
        column.keep = true;
    }
    let key = columns
        .iter()
        .find(|c| c.name == *key_column)
        .ok_or_else(|| format!("the primary key `{key_column}` must be mapped"))?;
    if key.template.uses_now() || key.template.fields().any(|i| i != stream.primary_key) {
        return Err(format!(
            "`{key_column}` may use only the stream's primary key `{}` (and $source, $object, $kq, $org), so deletes can find the row",
            stream.primary_key_name()
        ));
    }
    if key.template.fields().next().is_none() {
        return Err(format!(
            "`{key_column}` must use the stream's primary key `{}`",
            stream.primary_key_name()
        ));
    }
    Ok(Mapping {
        dmo: dmo.name.clone(),
        key_column: key_column.clone(),
        when,
        columns,
    })
}
