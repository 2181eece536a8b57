//! The metadata API: `GET /api/v1/metadata` on the tenant host, and the
//! renderings the core host's `ssot/metadata` and `ssot/metadata-entities`
//! reuse.
//!
//! Objects come straight from the org's data model and are filtered by the
//! optional `entityName`, `entityCategory` and `entityType` parameters
//! (unknown names give `{"metadata": []}`). Data lake and data model objects
//! list `fields`; calculated insights list `dimensions` and `measures`, which
//! is where `cdp` looks for a `__cio` table's columns. The tenant endpoint
//! requires `cdp_query_api`, the scope `cdp`'s `list_tables` runs under.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::auth;
use crate::error::ApiError;
use crate::model::{DataModel, DcType, EntityType, ObjectDef};
use crate::routes::query::QUERY_SCOPE;
use crate::state::AppState;
use crate::wire::{ok_json, Req, Resp};

/// `GET /api/v1/metadata?entityName=&entityCategory=&entityType=`.
pub fn tenant(state: &AppState, req: &Req) -> Result<Resp, ApiError> {
    auth::require_dc(state, req, QUERY_SCOPE)?;
    let filter = Filter::from_params(&req.query_params());
    Ok(ok_json(&detail(&state.org.model, &filter)))
}

/// Which objects a metadata call asks for; absent parameters match everything.
#[derive(Debug, Default)]
pub struct Filter {
    pub name: Option<String>,
    pub category: Option<String>,
    pub entity_type: Option<String>,
}

impl Filter {
    /// From `entityName`, `entityCategory` and `entityType`; blank means absent.
    pub fn from_params(params: &HashMap<String, String>) -> Filter {
        let get = |k: &str| {
            params
                .get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Filter {
            name: get("entityName"),
            category: get("entityCategory"),
            entity_type: get("entityType"),
        }
    }

    /// Names, categories and types compare case-insensitively, as SQL names do.
    pub fn matches(&self, o: &ObjectDef) -> bool {
        let eq = |want: &Option<String>, have: &str| {
            want.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(have))
        };
        eq(&self.name, &o.name)
            && eq(&self.category, &o.category)
            && eq(&self.entity_type, o.entity_type.as_str())
    }
}

/// `{"metadata": [...]}` with every matching object in full.
pub fn detail(model: &DataModel, filter: &Filter) -> Value {
    let items: Vec<Value> = model
        .objects
        .iter()
        .filter(|o| filter.matches(o))
        .map(object_json)
        .collect();
    json!({ "metadata": items })
}

/// `{"metadata": [...]}` with the name, label, category and type of each object.
pub fn summary(model: &DataModel, filter: &Filter) -> Value {
    let items: Vec<Value> = model
        .objects
        .iter()
        .filter(|o| filter.matches(o))
        .map(|o| {
            json!({
                "name": o.name,
                "displayName": display_name(o),
                "category": o.category,
                "entityType": o.entity_type.as_str(),
            })
        })
        .collect();
    json!({ "metadata": items })
}

/// One object in the shape of reference §5.1.
pub fn object_json(o: &ObjectDef) -> Value {
    let relationships: Vec<Value> = o
        .relationships
        .iter()
        .map(|r| {
            json!({
                "fromEntity": r.from_entity,
                "toEntity": r.to_entity,
                "fromEntityAttribute": r.from_entity_attribute,
                "toEntityAttribute": r.to_entity_attribute,
                "cardinality": r.cardinality,
            })
        })
        .collect();
    let primary_keys: Vec<Value> = o
        .primary_key
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let label = o
                .field(name)
                .map(field_display_name)
                .unwrap_or_else(|| name.clone());
            json!({"name": name, "displayName": label, "indexOrder": (i + 1).to_string()})
        })
        .collect();
    let mut out = json!({
        "name": o.name,
        "displayName": display_name(o),
        "category": o.category,
    });
    if o.entity_type == EntityType::CalculatedInsight {
        let (measures, dimensions): (Vec<_>, Vec<_>) =
            o.fields.iter().partition(|f| is_measure(f.ty));
        out["dimensions"] = Value::Array(dimensions.into_iter().map(field_json).collect());
        out["measures"] = Value::Array(measures.into_iter().map(field_json).collect());
    } else {
        out["fields"] = Value::Array(o.fields.iter().map(field_json).collect());
        out["indexes"] = json!([]);
    }
    out["relationships"] = Value::Array(relationships);
    out["primaryKeys"] = Value::Array(primary_keys);
    out
}

fn field_json(f: &crate::model::FieldDef) -> Value {
    let mut v = json!({
        "name": f.name,
        "displayName": field_display_name(f),
        "type": f.ty.metadata_name(),
    });
    if let Some(kq) = &f.key_qualifier {
        v["keyQualifier"] = json!(kq);
    }
    v
}

/// Calculated insight measures are its numbers; everything else is a dimension.
fn is_measure(ty: DcType) -> bool {
    matches!(
        ty,
        DcType::Decimal | DcType::Bigint | DcType::Integer | DcType::Double
    )
}

/// The label, or the API name when the fixture gives none (`cdp` needs the key).
fn display_name(o: &ObjectDef) -> String {
    if o.display_name.is_empty() {
        o.name.clone()
    } else {
        o.display_name.clone()
    }
}

fn field_display_name(f: &crate::model::FieldDef) -> String {
    if f.display_name.is_empty() {
        f.name.clone()
    } else {
        f.display_name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FieldDef, Relationship};

    fn field(name: &str, ty: DcType, kq: Option<&str>) -> FieldDef {
        FieldDef {
            name: name.into(),
            display_name: String::new(),
            ty,
            key_qualifier: kq.map(Into::into),
        }
    }

    fn model() -> DataModel {
        DataModel {
            objects: vec![
                ObjectDef {
                    name: "ssot__Individual__dlm".into(),
                    display_name: "Individual".into(),
                    entity_type: EntityType::DataModelObject,
                    category: "Profile".into(),
                    fields: vec![
                        field("ssot__Id__c", DcType::Varchar, Some("KQ_Id__c")),
                        field("ssot__BirthDate__c", DcType::Timestamp, None),
                    ],
                    primary_key: vec!["ssot__Id__c".into()],
                    relationships: vec![Relationship {
                        from_entity: "ssot__Individual__dlm".into(),
                        to_entity: "IndividualIdentityLink__dlm".into(),
                        from_entity_attribute: "ssot__Id__c".into(),
                        to_entity_attribute: "SourceRecordId__c".into(),
                        cardinality: "ONETOONE".into(),
                    }],
                    view_sql: None,
                },
                ObjectDef {
                    name: "Spend__cio".into(),
                    display_name: String::new(),
                    entity_type: EntityType::CalculatedInsight,
                    category: "Other".into(),
                    fields: vec![
                        field("customer__c", DcType::Varchar, None),
                        field("total__c", DcType::Decimal, None),
                    ],
                    primary_key: vec![],
                    relationships: vec![],
                    view_sql: None,
                },
            ],
        }
    }

    #[test]
    fn detail_has_reference_shape() {
        let f = Filter {
            name: Some("SSOT__individual__DLM".into()),
            ..Filter::default()
        };
        let v = detail(&model(), &f);
        let items = v["metadata"].as_array().expect("list");
        assert_eq!(items.len(), 1);
        let o = &items[0];
        assert_eq!(o["displayName"], "Individual");
        assert_eq!(
            o["fields"][0],
            json!({"name": "ssot__Id__c", "displayName": "ssot__Id__c", "type": "STRING", "keyQualifier": "KQ_Id__c"})
        );
        assert_eq!(o["fields"][1]["type"], "DATE_TIME");
        assert_eq!(o["indexes"], json!([]));
        assert_eq!(o["primaryKeys"][0]["indexOrder"], "1");
        assert_eq!(o["relationships"][0]["cardinality"], "ONETOONE");
    }

    #[test]
    fn filters_combine() {
        let m = model();
        let by = |c: Option<&str>, t: Option<&str>| {
            let f = Filter {
                name: None,
                category: c.map(Into::into),
                entity_type: t.map(Into::into),
            };
            detail(&m, &f)["metadata"].as_array().map(Vec::len)
        };
        assert_eq!(by(None, None), Some(2));
        assert_eq!(by(Some("Profile"), None), Some(1));
        assert_eq!(by(None, Some("CalculatedInsight")), Some(1));
        assert_eq!(by(Some("Profile"), Some("CalculatedInsight")), Some(0));
        let unknown = Filter {
            name: Some("Nope__dlm".into()),
            ..Filter::default()
        };
        assert_eq!(detail(&m, &unknown), json!({"metadata": []}));
    }

    #[test]
    fn insights_list_dimensions_and_measures() {
        let v = object_json(&model().objects[1]);
        assert_eq!(v["dimensions"][0]["name"], "customer__c");
        assert_eq!(v["measures"][0]["type"], "NUMBER");
        assert!(v.get("fields").is_none());
    }
}
