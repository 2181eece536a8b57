//! `org.toml`: the org's identity, connected apps and users, as written by
//! people, turned into the validated [`ConnectedApp`]s and [`User`]s.
//!
//! The raw structs reject unknown keys so a typo (`scope =` for `scopes =`)
//! fails the start instead of silently granting nothing. Every check names
//! the file and the app or user at fault.

use std::collections::HashSet;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::Deserialize;

use super::files::Files;
use super::{ids, ConnectedApp, OrgError, User};

pub(crate) const ORG_FILE: &str = "org.toml";

/// `org.toml` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOrg {
    pub name: String,
    pub org_id: String,
    pub org_id18: String,
    pub tenant_id: String,
    #[serde(default = "default_dataspaces")]
    pub dataspaces: Vec<String>,
    #[serde(default)]
    apps: Vec<RawApp>,
    #[serde(default)]
    users: Vec<RawUser>,
    /// Ingestion API connectors (`org/ingest.rs`).
    #[serde(default)]
    pub connectors: Vec<super::ingest::RawConnector>,
}

fn default_dataspaces() -> Vec<String> {
    vec!["default".into()]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApp {
    name: String,
    #[serde(alias = "client_id")]
    consumer_key: String,
    #[serde(alias = "client_secret")]
    consumer_secret: String,
    /// A PEM file name relative to the fixture directory, or the PEM itself.
    certificate: String,
    #[serde(default = "default_permitted")]
    permitted_users: String,
    scopes: Vec<String>,
    #[serde(default)]
    preauthorized_users: Vec<String>,
    #[serde(default)]
    run_as: Option<String>,
    #[serde(default = "yes")]
    active: bool,
}

fn default_permitted() -> String {
    ADMIN_APPROVED.into()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    username: String,
    user_id: String,
    password: String,
    profile: String,
    #[serde(default)]
    permission_sets: Vec<String>,
    #[serde(default = "yes")]
    active: bool,
}

const ADMIN_APPROVED: &str = "admin approved users are pre-authorized";
const SELF_AUTHORIZE: &str = "all users may self-authorize";

/// Scopes a connected app can be granted, in their modern spelling.
const KNOWN_SCOPES: &[&str] = &[
    "api",
    "refresh_token",
    "full",
    "web",
    "openid",
    "id",
    "profile",
    "email",
    "address",
    "phone",
    "chatter_api",
    "custom_permissions",
    "wave_api",
    "visualforce",
    "lightning",
    "content",
    "pardot_api",
    "eclair_api",
    "interaction_api",
    "sfap_api",
    "einstein_gpt_api",
    "cdp_api",
    "cdp_query_api",
    "cdp_profile_api",
    "cdp_ingest_api",
    "cdp_segment_api",
    "cdp_identityresolution_api",
    "cdp_calculated_insight_api",
];

/// Modern spelling of a scope: older Data Cloud docs and apps use
/// `cdpquery`/`cdpprofile`, and `offline_access` is Salesforce's synonym of
/// `refresh_token`.
pub fn normalize_scope(scope: &str) -> String {
    let s = scope.trim().to_ascii_lowercase();
    match s.as_str() {
        "cdpquery" => "cdp_query_api".into(),
        "cdpprofile" => "cdp_profile_api".into(),
        "cdpingest" => "cdp_ingest_api".into(),
        "offline_access" => "refresh_token".into(),
        _ => s,
    }
}

/// Validated contents of `org.toml`.
pub(crate) struct Settings {
    pub raw: RawOrg,
    pub apps: Vec<ConnectedApp>,
    pub users: Vec<User>,
}

/// Parses and checks `org.toml`, reading the certificates it names.
pub(crate) fn load(files: &Files) -> Result<Settings, OrgError> {
    let file = files.display(ORG_FILE);
    let invalid = |message: String| OrgError::Invalid {
        file: file.clone(),
        message,
    };
    let text = files.read(ORG_FILE)?;
    let mut raw: RawOrg = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;

    if !ids::is_id15(&raw.org_id, "00D") {
        return Err(invalid(format!(
            "org_id `{}` must be 15 letters/digits starting with `00D`",
            raw.org_id
        )));
    }
    if raw.org_id18.get(..15) != Some(raw.org_id.as_str()) {
        return Err(invalid(format!(
            "org_id18 `{}` must start with org_id `{}`",
            raw.org_id18, raw.org_id
        )));
    }
    ids::check_id18(&raw.org_id18, "00D").map_err(|m| invalid(format!("org_id18: {m}")))?;
    if raw.tenant_id.trim().is_empty() {
        return Err(invalid("tenant_id must not be empty".into()));
    }
    if raw.dataspaces.is_empty() {
        return Err(invalid("dataspaces must list at least `default`".into()));
    }

    let users = users(std::mem::take(&mut raw.users)).map_err(invalid)?;
    let mut apps = Vec::new();
    let mut keys = HashSet::new();
    for app in std::mem::take(&mut raw.apps) {
        let name = app.name.clone();
        let built =
            build_app(app, &users, files).map_err(|m| invalid(format!("app `{name}`: {m}")))?;
        if !keys.insert(built.client_id.clone()) {
            return Err(invalid(format!(
                "app `{name}`: consumer_key `{}` is used by another app",
                built.client_id
            )));
        }
        apps.push(built);
    }
    Ok(Settings { raw, apps, users })
}

fn users(raw: Vec<RawUser>) -> Result<Vec<User>, String> {
    let mut names = HashSet::new();
    let mut user_ids = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for u in raw {
        let who = format!("user `{}`", u.username);
        if !u.username.contains('@') {
            return Err(format!("{who}: a username looks like an email address"));
        }
        ids::check_id18(&u.user_id, "005").map_err(|m| format!("{who}: user_id {m}"))?;
        if !names.insert(u.username.to_ascii_lowercase()) {
            return Err(format!("{who}: listed twice"));
        }
        if !user_ids.insert(u.user_id.clone()) {
            return Err(format!(
                "{who}: user_id `{}` is used by another user",
                u.user_id
            ));
        }
        out.push(User {
            username: u.username,
            user_id: u.user_id,
            password: u.password,
            profile: u.profile,
            permission_sets: u.permission_sets,
            active: u.active,
        });
    }
    Ok(out)
}

fn build_app(app: RawApp, users: &[User], files: &Files) -> Result<ConnectedApp, String> {
    let find = |username: &str| {
        users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(username))
            .map(|u| u.username.clone())
            .ok_or_else(|| format!("user `{username}` is not a user of this org"))
    };
    if app.consumer_key.trim().is_empty() || app.consumer_secret.is_empty() {
        return Err("consumer_key and consumer_secret must not be empty".into());
    }
    let admin_approved_only = match app.permitted_users.trim().to_ascii_lowercase().as_str() {
        ADMIN_APPROVED => true,
        SELF_AUTHORIZE => false,
        other => {
            return Err(format!(
                "permitted_users `{other}` must be \"{ADMIN_APPROVED}\" or \"{SELF_AUTHORIZE}\""
            ))
        }
    };
    let mut scopes: Vec<String> = Vec::new();
    for s in &app.scopes {
        let n = normalize_scope(s);
        if !KNOWN_SCOPES.contains(&n.as_str()) {
            return Err(format!("unknown OAuth scope `{s}`"));
        }
        if !scopes.contains(&n) {
            scopes.push(n);
        }
    }
    let preauthorized_users = app
        .preauthorized_users
        .iter()
        .map(|u| find(u))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| format!("preauthorized_users: {m}"))?;
    let run_as = app
        .run_as
        .as_deref()
        .map(find)
        .transpose()
        .map_err(|m| format!("run_as: {m}"))?;
    let certificate_pem = certificate(&app.certificate, files)?;
    Ok(ConnectedApp {
        name: app.name,
        client_id: app.consumer_key,
        client_secret: app.consumer_secret,
        certificate_pem,
        scopes,
        admin_approved_only,
        preauthorized_users,
        run_as,
        active: app.active,
    })
}

/// The certificate PEM: inline, or read from a file beside `org.toml`.
fn certificate(value: &str, files: &Files) -> Result<String, String> {
    let (pem, origin) = if value.trim_start().starts_with("-----BEGIN") {
        (value.to_owned(), "inline certificate".to_owned())
    } else {
        if value.contains("..") || value.starts_with('/') {
            return Err(format!(
                "certificate `{value}` must be a file name inside the fixture directory"
            ));
        }
        let pem = files
            .read_optional(value)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("certificate file {} not found", files.display(value)))?;
        (pem, files.display(value))
    };
    match CertificateDer::pem_slice_iter(pem.as_bytes()).next() {
        Some(Ok(_)) => Ok(pem),
        _ => Err(format!(
            "{origin} is not a PEM certificate (-----BEGIN CERTIFICATE-----)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_scope;

    #[test]
    fn legacy_scopes_become_modern() {
        assert_eq!(normalize_scope("cdpquery"), "cdp_query_api");
        assert_eq!(normalize_scope(" CDPPROFILE "), "cdp_profile_api");
        assert_eq!(normalize_scope("offline_access"), "refresh_token");
        assert_eq!(normalize_scope("api"), "api");
    }
}
