//! `identity.toml` as written, and its checks: the second stage of the
//! ruleset configuration, turning the file's rulesets into checked
//! [`Ruleset`]s or an error naming the file, the ruleset and the problem.

use std::collections::HashSet;

use serde::Deserialize;

use crate::model::DataModel;
use crate::org::files::Files;
use crate::org::OrgError;

use super::{
    link_name, squash, unified_name, Criterion, MatchMethod, MatchRule, Reconciliation, RuleKind,
    RuleSpec, Ruleset, INDIVIDUAL,
};

const FILE: &str = "identity.toml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rulesets: Vec<RawRuleset>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawRuleset {
    id: String,
    developer_name: String,
    label: String,
    #[serde(default)]
    description: String,
    #[serde(default = "individual_type")]
    configuration_type: String,
    #[serde(default)]
    ruleset_id: String,
    #[serde(default)]
    data_space_name: Option<String>,
    #[serde(default)]
    does_run_automatically: bool,
    #[serde(default)]
    match_rules: Vec<RawMatchRule>,
    #[serde(default)]
    reconciliation_rules: Vec<RawReconciliation>,
}

fn individual_type() -> String {
    "Individual".into()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawMatchRule {
    label: String,
    criteria: Vec<RawCriterion>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawCriterion {
    entity_name: String,
    field_name: String,
    match_method_type: String,
    #[serde(default)]
    should_match_on_blank: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawReconciliation {
    entity_name: String,
    rule_type: String,
    #[serde(default = "yes")]
    should_ignore_empty_value: bool,
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    fields: Vec<RawFieldRule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawFieldRule {
    field_name: String,
    rule_type: String,
    #[serde(default)]
    should_ignore_empty_value: Option<bool>,
    #[serde(default)]
    sources: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Reads and checks `identity.toml` (no file: no rulesets).
pub(crate) fn load(files: &Files, model: &DataModel) -> Result<Vec<Ruleset>, OrgError> {
    let Some(text) = files.read_optional(FILE)? else {
        return Ok(Vec::new());
    };
    let invalid = |message: String| OrgError::Invalid {
        file: files.display(FILE),
        message,
    };
    let raw: RawFile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let mut out: Vec<Ruleset> = Vec::new();
    for r in raw.rulesets {
        let name = r.developer_name.clone();
        let ruleset = check(r, model).map_err(|m| invalid(format!("ruleset `{name}`: {m}")))?;
        if out.iter().any(|o| {
            o.id == ruleset.id
                || o.developer_name
                    .eq_ignore_ascii_case(&ruleset.developer_name)
        }) {
            return Err(invalid(format!(
                "ruleset `{name}`: another ruleset has the same id or developerName"
            )));
        }
        if out.iter().any(|o| o.ruleset_id == ruleset.ruleset_id) {
            return Err(invalid(format!(
                "ruleset `{name}`: rulesetId `{}` is used twice (it names the unified objects)",
                ruleset.ruleset_id
            )));
        }
        out.push(ruleset);
    }
    Ok(out)
}

fn check(r: RawRuleset, model: &DataModel) -> Result<Ruleset, String> {
    crate::org::ids::check_id18(&r.id, "")?;
    let ident = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if !ident(&r.developer_name) {
        return Err("developerName must be letters, digits and `_`, starting with a letter".into());
    }
    if r.ruleset_id.len() > 4 || !r.ruleset_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err("rulesetId is up to 4 letters or digits".into());
    }
    if squash(&r.configuration_type) != "individual" {
        return Err(format!(
            "configurationType `{}` is not supported: the emulator resolves `Individual` rulesets",
            r.configuration_type
        ));
    }
    let individual = canonical_object(model, INDIVIDUAL)?;
    let mut match_rules = Vec::new();
    for rule in r.match_rules {
        let mut criteria = Vec::new();
        for c in rule.criteria {
            let method = MatchMethod::parse(&c.match_method_type).ok_or_else(|| {
                format!(
                    "match rule `{}`: matchMethodType `{}` is not one of EXACT, EXACT_NORMALIZED, FUZZY, FUZZY_HIGH, FUZZY_LOW",
                    rule.label, c.match_method_type
                )
            })?;
            let (entity, field) = party_field(model, &individual, &c.entity_name, &c.field_name)
                .map_err(|m| format!("match rule `{}`: {m}", rule.label))?;
            criteria.push(Criterion {
                entity,
                field,
                method,
                match_on_blank: c.should_match_on_blank,
            });
        }
        if criteria.is_empty() {
            return Err(format!("match rule `{}` has no criteria", rule.label));
        }
        if criteria
            .iter()
            .all(|c| matches!(c.method, MatchMethod::Fuzzy(_)))
        {
            return Err(format!(
                "match rule `{}`: a rule with a fuzzy criterion needs an EXACT or EXACT_NORMALIZED criterion too",
                rule.label
            ));
        }
        match_rules.push(MatchRule {
            label: rule.label,
            criteria,
        });
    }
    if match_rules.is_empty() {
        return Err("a ruleset needs at least one match rule".into());
    }
    let reconciliation = reconciliation(&r.ruleset_id, &individual, r.reconciliation_rules, model)?;
    Ok(Ruleset {
        id: r.id,
        developer_name: r.developer_name,
        label: r.label,
        description: r.description,
        ruleset_id: r.ruleset_id,
        data_space: r.data_space_name.unwrap_or_else(|| "default".into()),
        does_run_automatically: r.does_run_automatically,
        individual,
        match_rules,
        reconciliation,
    })
}

/// The reconciliation rules, individual first (a default `LAST_UPDATED` one
/// when the file has none), each with the unified and link objects it writes.
fn reconciliation(
    ruleset_id: &str,
    individual: &str,
    raw: Vec<RawReconciliation>,
    model: &DataModel,
) -> Result<Vec<Reconciliation>, String> {
    let mut out: Vec<Reconciliation> = Vec::new();
    let mut seen = HashSet::new();
    for rule in raw {
        let (entity, _) = party_field(model, individual, &rule.entity_name, "ssot__Id__c")
            .map_err(|m| format!("reconciliation rule: {m}"))?;
        if !seen.insert(entity.to_ascii_lowercase()) {
            return Err(format!("reconciliation rule for `{entity}` is given twice"));
        }
        let default = spec(
            &rule.rule_type,
            rule.should_ignore_empty_value,
            rule.sources,
        )
        .map_err(|m| format!("reconciliation rule for `{entity}`: {m}"))?;
        let mut fields = Vec::new();
        for f in rule.fields {
            let (_, field) = party_field(model, individual, &entity, &f.field_name)
                .map_err(|m| format!("reconciliation rule for `{entity}`: {m}"))?;
            let ignore = f.should_ignore_empty_value.unwrap_or(default.ignore_empty);
            let s = spec(&f.rule_type, ignore, f.sources)
                .map_err(|m| format!("reconciliation rule for `{entity}.{field}`: {m}"))?;
            fields.push((field, s));
        }
        out.push(outputs(ruleset_id, model, entity, default, fields)?);
    }
    if let Some(pos) = out.iter().position(|r| r.entity == individual) {
        let ind = out.remove(pos);
        out.insert(0, ind);
    } else {
        let default = RuleSpec {
            kind: RuleKind::LastUpdated,
            ignore_empty: true,
            sources: Vec::new(),
        };
        out.insert(
            0,
            outputs(ruleset_id, model, individual.into(), default, Vec::new())?,
        );
    }
    Ok(out)
}

fn spec(kind: &str, ignore_empty: bool, sources: Vec<String>) -> Result<RuleSpec, String> {
    let kind = RuleKind::parse(kind).ok_or_else(|| {
        format!("ruleType `{kind}` is not one of LAST_UPDATED, MOST_FREQUENT, SOURCE_SEQUENCE")
    })?;
    if kind == RuleKind::SourceSequence && sources.is_empty() {
        return Err("SOURCE_SEQUENCE needs `sources`, most trusted first".into());
    }
    Ok(RuleSpec {
        kind,
        ignore_empty,
        sources,
    })
}

/// Attaches the unified and link objects of `entity`, which must be in the model.
fn outputs(
    ruleset_id: &str,
    model: &DataModel,
    entity: String,
    default: RuleSpec,
    fields: Vec<(String, RuleSpec)>,
) -> Result<Reconciliation, String> {
    let unified = unified_name(ruleset_id, &entity);
    let link = link_name(ruleset_id, &entity);
    let need = |object: &str, field_names: &[&str]| -> Result<(), String> {
        let o = model.object(object).ok_or_else(|| {
            format!("`{entity}` is unified into `{object}`, which is not in the data model (add model/{object}.toml)")
        })?;
        for f in field_names {
            if o.field(f).is_none() || o.view_sql.is_some() {
                return Err(format!("`{object}` needs a field `{f}`"));
            }
        }
        Ok(())
    };
    need(&unified, &["ssot__Id__c"])?;
    need(&link, &["SourceRecordId__c", "UnifiedRecordId__c"])?;
    Ok(Reconciliation {
        entity,
        default,
        fields,
        unified,
        link,
    })
}

fn canonical_object(model: &DataModel, name: &str) -> Result<String, String> {
    let o = model
        .object(name)
        .ok_or_else(|| format!("object `{name}` is not in the data model"))?;
    if o.field("ssot__Id__c").is_none() {
        return Err(format!("`{}` has no `ssot__Id__c` field", o.name));
    }
    Ok(o.name.clone())
}

/// Canonical `(object, field)` names for a criterion or rule: the object is
/// the individual or has `ssot__PartyId__c` pointing at one.
fn party_field(
    model: &DataModel,
    individual: &str,
    entity: &str,
    field: &str,
) -> Result<(String, String), String> {
    let o = model
        .object(entity)
        .ok_or_else(|| format!("object `{entity}` is not in the data model"))?;
    if !o.name.eq_ignore_ascii_case(individual)
        && (o.field("ssot__PartyId__c").is_none() || o.field("ssot__Id__c").is_none())
    {
        return Err(format!(
            "`{}` is neither `{individual}` nor a contact point with `ssot__Id__c` and `ssot__PartyId__c`",
            o.name
        ));
    }
    let f = o
        .field(field)
        .ok_or_else(|| format!("`{}` has no field `{field}`", o.name))?;
    Ok((o.name.clone(), f.name.clone()))
}
