//! The integration guide's troubleshooting tables as data, and the rules that
//! pick a row for a failed `check` step.
//!
//! Each [`Hint`] quotes one row (issue, likely cause, solution) so what
//! `check` prints is what a user finds when they search the guide. A few
//! failures the guide has no row for (an unreachable login URL, a missing
//! Ingestion API object, a refused client secret) get rows of our own, marked
//! as such below. Matching is on Salesforce's exact `error_description`
//! strings (reference §2.5), never on HTTP status alone.

use crate::auth::TokenFailure;

/// One row of a troubleshooting table, plus an optional note naming the
/// configuration key to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hint {
    pub issue: &'static str,
    pub cause: &'static str,
    pub solution: &'static str,
    pub note: Option<&'static str>,
}

const fn row(issue: &'static str, cause: &'static str, solution: &'static str) -> Hint {
    Hint {
        issue,
        cause,
        solution,
        note: None,
    }
}

impl Hint {
    const fn with_note(self, note: &'static str) -> Hint {
        Hint {
            note: Some(note),
            ..self
        }
    }
}

// The guide's "Troubleshooting" table.
pub const JWT_AUTH: Hint = row(
    "JWT authentication fails",
    "Invalid private key or claims",
    "Verify private key matches certificate uploaded to Connected App",
);
pub const KID_NOT_FOUND: Hint = row(
    "\"kid not found\" error",
    "Key ID mismatch",
    "Check that certificate was uploaded correctly to Connected App",
);
pub const EXCHANGE_FAILS: Hint = row(
    "Token exchange fails",
    "Missing Data Cloud license",
    "Verify user has Data Cloud permission set assigned",
);
pub const QUERY_NO_DATA: Hint = row(
    "Query returns no data",
    "Incorrect SQL syntax or object name",
    "Use Data Explorer to verify object names exist",
);
pub const RATE_LIMITED: Hint = row(
    "Rate limiting (429)",
    "Too many API calls",
    "Reduce sync frequency or upgrade Data Cloud tier",
);
pub const SCOPE_ERROR: Hint = row(
    "\"cdp_query_api\" scope error",
    "Scope not added to Connected App",
    "Add the scope in Connected App OAuth settings",
);

// The guide's "OAuth JWT-Specific Issues" table. Two rows lost their code
// spans in the guide's text; those cells are restated from Salesforce's rules
// (reference §2.2: `exp` within 3 minutes; the login hosts).
pub const JWT_EXPIRATION: Hint = row(
    "JWT expiration claim invalid",
    "`exp` in the past or too far in the future",
    "Set `exp` to at most 3 minutes from now (and check the machine's clock)",
);
pub const INVALID_AUDIENCE: Hint = row(
    "Invalid audience (`aud`)",
    "Wrong login URL",
    "Use https://login.salesforce.com, https://test.salesforce.com for sandboxes, or your My Domain URL",
);
pub const CERTIFICATE_NOT_FOUND: Hint = row(
    "Certificate not found",
    "Certificate not uploaded",
    "Verify certificate is attached in Connected App → Use digital signatures",
);
pub const USER_NOT_APPROVED: Hint = row(
    "User not approved",
    "OAuth policy not configured",
    "Set Permitted Users to \"Admin approved users are pre-authorized\"",
);

// Rows of our own, for failures the guide does not cover.
pub const UNREACHABLE: Hint = row(
    "Salesforce unreachable",
    "Wrong login URL, no network, or an untrusted TLS certificate",
    "Check upstream.login_url (and upstream.ca_cert for a private CA or the emulator)",
);
pub const INGEST_OBJECT_MISSING: Hint = row(
    "Test ingest refused",
    "No Ingestion API connector (source) with an EngagementEvent object and data stream",
    "Create the Ingestion API, upload the EngagementEvent schema and create its data stream (guide Step 8.1–8.3), or pass --ingest-source",
);
pub const CLIENT_SECRET: Hint = row(
    "Client credentials refused",
    "Wrong consumer secret, or the app has no Run As user",
    "Copy the Consumer Secret from Connected App → Manage Consumer Details; set a Run As user for the client credentials flow",
);
pub const REFRESH_TOKEN: Hint = row(
    "Refresh token refused",
    "The refresh token expired or was revoked",
    "Authorize again to get a new refresh token, or use the JWT bearer flow",
);

const CONSUMER_KEY_NOTE: &str =
    "\"client identifier invalid\": credentials.client_id must be the Consumer Key (Connected App → Manage Consumer Details)";
const USERNAME_NOTE: &str = "also check that credentials.username names an active user of the org";

/// The row for a failed token step (core grant or a360 exchange).
pub fn for_token(exchange: bool, failure: &TokenFailure) -> Option<Hint> {
    let (status, error, description) = match failure {
        TokenFailure::Rejected {
            status,
            error,
            description,
        } => (*status, error.as_str(), description.to_ascii_lowercase()),
        TokenFailure::Unreachable(_) => return Some(UNREACHABLE),
        // Salesforce answers a refused subject token with an HTML page.
        TokenFailure::BadResponse(_) if exchange => return Some(EXCHANGE_FAILS),
        TokenFailure::BadResponse(_) | TokenFailure::Local(_) => return None,
    };
    let has = |s: &str| description.contains(s);
    Some(if status == 429 {
        RATE_LIMITED
    } else if error == "invalid_client_id" {
        JWT_AUTH.with_note(CONSUMER_KEY_NOTE)
    } else if has("kid not found") {
        KID_NOT_FOUND
    } else if has("certificate not found") {
        CERTIFICATE_NOT_FOUND
    } else if has("audience") {
        INVALID_AUDIENCE
    } else if has("expired authorization code") {
        JWT_EXPIRATION
    } else if has("approved this consumer") || has("not approved") {
        USER_NOT_APPROVED
    } else if has("invalid assertion") {
        JWT_AUTH.with_note(USERNAME_NOTE)
    } else if has("invalid client credentials") || has("no client credentials user") {
        CLIENT_SECRET
    } else if has("expired access/refresh token") {
        REFRESH_TOKEN
    } else if exchange && (error == "invalid_scope" || has("scope")) {
        SCOPE_ERROR
    } else if exchange {
        EXCHANGE_FAILS
    } else {
        return None;
    })
}

/// Which tenant call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantCall {
    Query,
    Ingest,
}

/// The row for a refused query or test ingest (`message` is the tenant
/// error body's `message`, or the body itself).
pub fn for_tenant(call: TenantCall, status: u16, message: &str) -> Option<Hint> {
    let message = message.to_ascii_lowercase();
    match (call, status) {
        (_, 429) => Some(RATE_LIMITED),
        (_, 403) if message.contains("cdp_") || message.contains("scope") => Some(SCOPE_ERROR),
        (TenantCall::Query, 400 | 404) => Some(QUERY_NO_DATA),
        (TenantCall::Ingest, 400 | 404) => Some(INGEST_OBJECT_MISSING),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(error: &str, description: &str) -> TokenFailure {
        TokenFailure::Rejected {
            status: 400,
            error: error.into(),
            description: description.into(),
        }
    }

    #[test]
    fn every_token_error_string_has_its_row() {
        let cases = [
            ("invalid_client_id", "client identifier invalid", JWT_AUTH),
            ("invalid_grant", "invalid assertion", JWT_AUTH),
            ("invalid_grant", "kid not found", KID_NOT_FOUND),
            (
                "invalid_grant",
                "certificate not found",
                CERTIFICATE_NOT_FOUND,
            ),
            ("invalid_grant", "audience is invalid", INVALID_AUDIENCE),
            (
                "invalid_grant",
                "Audience validation failed",
                INVALID_AUDIENCE,
            ),
            (
                "invalid_grant",
                "expired authorization code",
                JWT_EXPIRATION,
            ),
            (
                "invalid_grant",
                "user hasn't approved this consumer",
                USER_NOT_APPROVED,
            ),
            (
                "invalid_client",
                "invalid client credentials",
                CLIENT_SECRET,
            ),
            (
                "invalid_grant",
                "expired access/refresh token",
                REFRESH_TOKEN,
            ),
        ];
        for (error, description, want) in cases {
            let got = for_token(false, &rejected(error, description)).unwrap();
            assert_eq!(got.issue, want.issue, "{description}");
        }
        assert_eq!(for_token(false, &rejected("x", "something else")), None);
    }

    #[test]
    fn exchange_refusals() {
        let licence = rejected(
            "invalid_grant",
            "user does not have Data Cloud permission: assign a Data Cloud permission set",
        );
        assert_eq!(for_token(true, &licence), Some(EXCHANGE_FAILS));
        let scope = rejected("invalid_scope", "the subject token has no Data Cloud scope");
        assert_eq!(for_token(true, &scope), Some(SCOPE_ERROR));
        let html = TokenFailure::BadResponse("HTTP 302".into());
        assert_eq!(for_token(true, &html), Some(EXCHANGE_FAILS));
        let limited = TokenFailure::Rejected {
            status: 429,
            error: "x".into(),
            description: String::new(),
        };
        assert_eq!(for_token(true, &limited), Some(RATE_LIMITED));
    }

    #[test]
    fn tenant_refusals() {
        let q = TenantCall::Query;
        assert_eq!(
            for_tenant(
                q,
                403,
                "Access denied: token lacks the \"cdp_query_api\" scope"
            ),
            Some(SCOPE_ERROR)
        );
        assert_eq!(for_tenant(q, 429, "Too many requests"), Some(RATE_LIMITED));
        assert_eq!(
            for_tenant(q, 400, "DataModelEntity not found"),
            Some(QUERY_NO_DATA)
        );
        assert_eq!(
            for_tenant(TenantCall::Ingest, 404, "Not Found"),
            Some(INGEST_OBJECT_MISSING)
        );
        assert_eq!(for_tenant(q, 500, "Internal Server Error"), None);
    }
}
