//! OAuth scope names and the rules that compare them.
//!
//! Apps may be configured with the modern spellings (`cdp_query_api`) or the
//! legacy short ones (`cdpquery`) that older orgs still echo; both count as
//! the same grant. `full` implies `api`, and the blanket `cdp_api` implies
//! every Data Cloud scope.

/// The Data Cloud scope that stands for all of them.
pub const CDP_BLANKET: &str = "cdp_api";

/// Scopes a client-credentials token never receives (they make no sense
/// without an interactive user).
const NOT_FOR_CLIENT_CREDENTIALS: [&str; 4] = ["full", "web", "offline_access", "refresh_token"];

/// Modern spelling of a scope name (legacy short names mapped, others as is).
pub fn canonical(scope: &str) -> &str {
    match scope {
        "cdpquery" => "cdp_query_api",
        "cdpprofile" => "cdp_profile_api",
        "cdpingest" => "cdp_ingest_api",
        "cdpsegment" => "cdp_segment_api",
        "cdpidentityresolution" => "cdp_identityresolution_api",
        "cdpcalculatedinsight" => "cdp_calculated_insight_api",
        other => other,
    }
}

/// Whether `held` grants `wanted` (legacy spellings, `full` ⊇ `api`,
/// `cdp_api` ⊇ every `cdp_*`).
pub fn grants(held: &[String], wanted: &str) -> bool {
    let wanted = canonical(wanted);
    held.iter().map(|s| canonical(s)).any(|h| {
        h == wanted
            || (wanted == "api" && h == "full")
            || (h == CDP_BLANKET && is_data_cloud(wanted))
    })
}

/// Whether a scope is a Data Cloud one (`cdp_*`, legacy `cdp…`, or the
/// user-claims scope).
pub fn is_data_cloud(scope: &str) -> bool {
    let s = canonical(scope);
    s.starts_with("cdp_") || s == "data_cloud_user_claims"
}

/// Whether a refresh token may be issued with these scopes.
pub fn allows_refresh(scopes: &[String]) -> bool {
    scopes
        .iter()
        .any(|s| s == "refresh_token" || s == "offline_access")
}

/// The scopes a client-credentials token receives.
pub fn for_client_credentials(app_scopes: &[String]) -> Vec<String> {
    app_scopes
        .iter()
        .filter(|s| !NOT_FOR_CLIENT_CREDENTIALS.contains(&s.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn implications() {
        assert!(grants(&v(&["full"]), "api"));
        assert!(grants(&v(&["cdp_api"]), "cdp_query_api"));
        assert!(grants(&v(&["cdpquery"]), "cdp_query_api"));
        assert!(!grants(&v(&["cdp_ingest_api"]), "cdp_query_api"));
        assert!(!grants(&v(&["cdp_api"]), "api"));
    }

    #[test]
    fn client_credentials_drops_interactive_scopes() {
        assert_eq!(
            for_client_credentials(&v(&["api", "refresh_token", "cdp_query_api", "full"])),
            v(&["api", "cdp_query_api"])
        );
    }
}
