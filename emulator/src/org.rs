//! The fixture org: connected apps, users, data spaces and the data model.
//!
//! Loaded once at start from a fixtures directory (`--fixtures DIR`) or from
//! the built-in default org compiled into the binary (`fixtures/default`).
//! Plain files a user can copy and edit: `org.toml` for apps/users/spaces
//! and Ingestion API connectors, `ingest/*.yaml` for the connectors' OpenAPI
//! schemas, `model/*.toml` for objects, `rows/*` for data, `identity.toml`
//! for the identity resolution rulesets.

pub mod generate;
pub mod identity;
pub mod ids;

mod files;
mod ingest;
mod schema;
mod settings;

use crate::model::DataModel;

pub use settings::normalize_scope;

use files::Files;

/// Where the org comes from.
#[derive(Debug, Clone)]
pub enum FixtureSource {
    /// `fixtures/default`, compiled into the binary.
    Builtin,
    /// A directory on disk with the same layout.
    Dir(std::path::PathBuf),
    /// An org built in code (tests).
    Inline(std::sync::Arc<Org>),
}

/// A loaded org.
#[derive(Debug, Clone)]
pub struct Org {
    /// 15-character org id (`00D…`), the prefix of access tokens.
    pub org_id: String,
    /// 18-character org id, used in identity URLs.
    pub org_id18: String,
    /// Org display name.
    pub name: String,
    /// `audienceTenantId` claim of Data Cloud tokens, e.g. `a360/local/…`.
    pub tenant_id: String,
    pub apps: Vec<ConnectedApp>,
    pub users: Vec<User>,
    pub dataspaces: Vec<String>,
    pub model: DataModel,
    /// Seed rows per object, in file order.
    pub rows: Vec<TableRows>,
    /// Identity resolution rulesets (`identity.toml`).
    pub identity: Vec<identity::Ruleset>,
    /// Ingestion API connectors (`[[connectors]]` in `org.toml`); their
    /// streams' DLOs are part of `model`.
    pub connectors: Vec<crate::ingest::Connector>,
}

/// A connected app (or external client app). `Debug` leaves the secret out.
#[derive(Clone)]
pub struct ConnectedApp {
    pub name: String,
    /// Consumer key (`iss` of JWT assertions).
    pub client_id: String,
    /// Consumer secret.
    pub client_secret: String,
    /// PEM certificate uploaded with "Use digital signatures".
    pub certificate_pem: String,
    /// Granted OAuth scopes, modern spelling (`api`, `cdp_query_api`, …).
    pub scopes: Vec<String>,
    /// "Admin approved users are pre-authorized" (true) or "All users may self-authorize".
    pub admin_approved_only: bool,
    /// Usernames pre-authorized (by profile or permission set in the real org).
    pub preauthorized_users: Vec<String>,
    /// Client-credentials "Run As" username.
    pub run_as: Option<String>,
    /// Deactivated apps refuse every grant.
    pub active: bool,
}

/// An org user. `Debug` leaves the password out.
#[derive(Clone)]
pub struct User {
    pub username: String,
    /// 18-character user id (`005…`).
    pub user_id: String,
    pub password: String,
    pub profile: String,
    pub permission_sets: Vec<String>,
    pub active: bool,
}

impl User {
    /// Whether the user holds a Data Cloud permission set.
    pub fn has_data_cloud(&self) -> bool {
        self.permission_sets.iter().any(|p| {
            p.to_ascii_lowercase().starts_with("data cloud")
                || p.to_ascii_lowercase().starts_with("data 360")
        })
    }
}

/// Rows for one object as stored in the fixtures. `Debug` gives the size,
/// not the (large) content.
#[derive(Clone)]
pub struct TableRows {
    pub object: String,
    /// `csv` or `jsonl`.
    pub format: String,
    pub content: String,
}

impl std::fmt::Debug for ConnectedApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectedApp")
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("admin_approved_only", &self.admin_approved_only)
            .field("preauthorized_users", &self.preauthorized_users)
            .field("run_as", &self.run_as)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("username", &self.username)
            .field("user_id", &self.user_id)
            .field("password", &"<redacted>")
            .field("profile", &self.profile)
            .field("permission_sets", &self.permission_sets)
            .field("active", &self.active)
            .finish()
    }
}

impl std::fmt::Debug for TableRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableRows")
            .field("object", &self.object)
            .field("format", &self.format)
            .field("bytes", &self.content.len())
            .finish()
    }
}

/// Errors while loading an org.
#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
}

impl Org {
    /// Loads the org from its source and checks it: every error names the
    /// file and what is wrong in it. An inline org is taken as built.
    pub fn load(source: &FixtureSource) -> Result<Org, OrgError> {
        match source {
            FixtureSource::Inline(org) => Ok(Org::clone(org)),
            FixtureSource::Builtin => Org::load_files(&Files::builtin()),
            FixtureSource::Dir(dir) => {
                if !dir.is_dir() {
                    return Err(OrgError::Invalid {
                        file: dir.display().to_string(),
                        message: "fixture directory not found".into(),
                    });
                }
                Org::load_files(&Files::Disk(dir.clone()))
            }
        }
    }

    fn load_files(files: &Files) -> Result<Org, OrgError> {
        let mut settings = settings::load(files)?;
        let mut model = schema::load_model(files)?;
        let raw_connectors = std::mem::take(&mut settings.raw.connectors);
        let connectors = ingest::load(files, raw_connectors, &mut model)?;
        let rows = schema::load_rows(files, &model)?;
        let identity = identity::load(files, &model)?;
        let raw = settings.raw;
        Ok(Org {
            org_id: raw.org_id,
            org_id18: raw.org_id18,
            name: raw.name,
            tenant_id: raw.tenant_id,
            apps: settings.apps,
            users: settings.users,
            dataspaces: raw.dataspaces,
            model,
            rows,
            identity,
            connectors,
        })
    }

    /// App by consumer key.
    pub fn app(&self, client_id: &str) -> Option<&ConnectedApp> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    /// User by username (Salesforce usernames compare case-insensitively).
    pub fn user(&self, username: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(username))
    }

    /// Ingestion API connector by name (exact: it is a path segment).
    pub fn connector(&self, name: &str) -> Option<&crate::ingest::Connector> {
        self.connectors.iter().find(|c| c.name == name)
    }

    /// User by id.
    pub fn user_by_id(&self, user_id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.user_id == user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_secrets() {
        let org = Org::load(&FixtureSource::Builtin).unwrap();
        let text = format!("{org:?}");
        assert!(!text.contains("emulator-client-secret"));
        assert!(!text.contains("emulator-password"));
        assert!(text.contains("emulator-client-id"));
    }
}
