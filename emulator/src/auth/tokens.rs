//! Issued core access tokens and refresh tokens, and the key that signs Data
//! Cloud tokens.
//!
//! Core tokens are opaque (`00D…!…`), so the emulator must remember them: each
//! maps to its user, app, scopes, issue time and expiry. Refresh tokens map to
//! the same grant and remember the access tokens minted from them, so revoking
//! a refresh token revokes those too. Data Cloud tokens, by contrast, are
//! self-contained JWTs (see `auth/dc.rs`) and are *not* stored: revoking the
//! core token they were exchanged from leaves them valid, as `cdp` requires.
//!
//! Everything sits behind one `RwLock` held only for a map operation; time
//! comes from the emulator's [`Clock`].

use std::collections::HashMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::clock::Clock;

/// Characters of the opaque part of core and refresh tokens: exactly 64, so a
/// random byte masked to 6 bits picks one without bias.
const TOKEN_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";

/// Length of the opaque part of an access token (Salesforce's are ~90-110).
const ACCESS_OPAQUE_LEN: usize = 96;

/// Refresh tokens look like Salesforce's: `5Aep861…`, 87 characters.
const REFRESH_PREFIX: &str = "5Aep861";
const REFRESH_LEN: usize = 87;

/// Above this many remembered access tokens, issuing one first drops the
/// expired ones, so a long-running emulator does not grow without bound.
const SWEEP_THRESHOLD: usize = 10_000;

/// What a core access token stands for.
#[derive(Clone)]
pub struct CoreToken {
    pub user_id: String,
    pub username: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Unix milliseconds, per the emulator clock.
    pub issued_at_ms: i64,
    /// Unix milliseconds after which the token is refused.
    pub expires_at_ms: i64,
    /// The refresh token it was minted from or alongside, if any.
    pub refresh_token: Option<String>,
}

/// What a refresh token stands for.
#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub user_id: String,
    pub username: String,
    pub client_id: String,
    pub scopes: Vec<String>,
}

/// A freshly issued core token.
#[derive(Clone)]
pub struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub issued_at_ms: i64,
}

// Tokens are secrets: `Debug` shows who they belong to, never the tokens.
impl std::fmt::Debug for CoreToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreToken")
            .field("user_id", &self.user_id)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("issued_at_ms", &self.issued_at_ms)
            .field("expires_at_ms", &self.expires_at_ms)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("issued_at_ms", &self.issued_at_ms)
            .finish()
    }
}

/// Who a token is being issued to (borrowed from the org and the grant).
#[derive(Debug, Clone, Copy)]
pub struct Grantee<'a> {
    pub user_id: &'a str,
    pub username: &'a str,
    pub client_id: &'a str,
    pub scopes: &'a [String],
}

/// What [`TokenStore::revoke`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    Access,
    /// A refresh token, with this many access tokens revoked along with it.
    Refresh(usize),
    Unknown,
}

#[derive(Default)]
struct Inner {
    access: HashMap<String, CoreToken>,
    refresh: HashMap<String, RefreshGrant>,
}

/// Token bookkeeping for one emulator.
pub struct TokenStore {
    clock: Clock,
    inner: RwLock<Inner>,
    /// HMAC key of Data Cloud tokens: random per emulator, so tokens of one
    /// run (or one in-process test emulator) are worthless to another;
    /// replaced by [`TokenStore::clear`], which so voids every DC token.
    dc_secret: RwLock<[u8; 32]>,
}

impl TokenStore {
    pub fn new(clock: Clock) -> Self {
        TokenStore {
            inner: RwLock::new(Inner::default()),
            dc_secret: RwLock::new(new_dc_secret()),
            clock,
        }
    }

    /// The key Data Cloud tokens are signed with.
    pub(crate) fn dc_secret(&self) -> [u8; 32] {
        *self.dc_secret.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets every core and refresh token and replaces the Data Cloud
    /// signing key, so every token issued so far is refused
    /// (`POST /__emulator/reset`).
    pub fn clear(&self) {
        *self.write() = Inner::default();
        *self.dc_secret.write().unwrap_or_else(|e| e.into_inner()) = new_dc_secret();
    }

    /// Issues a core access token `{org_id15}!{opaque}` valid for `ttl_ms`,
    /// plus a refresh token when `with_refresh`.
    pub fn issue(
        &self,
        org_id15: &str,
        who: Grantee<'_>,
        ttl_ms: i64,
        with_refresh: bool,
    ) -> Issued {
        let refresh_token = with_refresh.then(|| {
            format!(
                "{REFRESH_PREFIX}{}",
                random_token(REFRESH_LEN - REFRESH_PREFIX.len())
            )
        });
        let mut inner = self.write();
        if let Some(rt) = &refresh_token {
            inner.refresh.insert(
                rt.clone(),
                RefreshGrant {
                    user_id: who.user_id.to_owned(),
                    username: who.username.to_owned(),
                    client_id: who.client_id.to_owned(),
                    scopes: who.scopes.to_vec(),
                },
            );
        }
        let mut issued =
            self.insert_access(&mut inner, org_id15, who, ttl_ms, refresh_token.clone());
        issued.refresh_token = refresh_token;
        issued
    }

    /// Issues an access token from a refresh token (no new refresh token:
    /// Salesforce rotates only when configured to). One write lock covers
    /// the lookup and the insert, so a concurrent revoke cannot slip between.
    pub fn issue_from_refresh(
        &self,
        org_id15: &str,
        refresh_token: &str,
        ttl_ms: i64,
    ) -> Option<(Issued, RefreshGrant)> {
        let mut inner = self.write();
        let grant = inner.refresh.get(refresh_token).cloned()?;
        let who = Grantee {
            user_id: &grant.user_id,
            username: &grant.username,
            client_id: &grant.client_id,
            scopes: &grant.scopes,
        };
        let issued = self.insert_access(
            &mut inner,
            org_id15,
            who,
            ttl_ms,
            Some(refresh_token.to_owned()),
        );
        Some((issued, grant))
    }

    /// Mints and records an access token (caller holds the write lock).
    fn insert_access(
        &self,
        inner: &mut Inner,
        org_id15: &str,
        who: Grantee<'_>,
        ttl_ms: i64,
        refresh_token: Option<String>,
    ) -> Issued {
        let now = self.clock.now_ms();
        if inner.access.len() >= SWEEP_THRESHOLD {
            inner.access.retain(|_, t| t.expires_at_ms > now);
        }
        let access_token = format!("{org_id15}!{}", random_token(ACCESS_OPAQUE_LEN));
        inner.access.insert(
            access_token.clone(),
            CoreToken {
                user_id: who.user_id.to_owned(),
                username: who.username.to_owned(),
                client_id: who.client_id.to_owned(),
                scopes: who.scopes.to_vec(),
                issued_at_ms: now,
                expires_at_ms: now.saturating_add(ttl_ms),
                refresh_token,
            },
        );
        Issued {
            access_token,
            refresh_token: None,
            issued_at_ms: now,
        }
    }

    /// The refresh grant behind a refresh token, if it is still valid.
    pub fn refresh_grant(&self, refresh_token: &str) -> Option<RefreshGrant> {
        self.read().refresh.get(refresh_token).cloned()
    }

    /// The session behind a core access token, if it exists, is not revoked
    /// and has not expired per the emulator clock.
    pub fn core(&self, access_token: &str) -> Option<CoreToken> {
        let now = self.clock.now_ms();
        self.read()
            .access
            .get(access_token)
            .filter(|t| t.expires_at_ms > now)
            .cloned()
    }

    /// Revokes an access or refresh token. Revoking a refresh token revokes
    /// every access token minted from it.
    pub fn revoke(&self, token: &str) -> Revoked {
        let mut inner = self.write();
        if inner.access.remove(token).is_some() {
            return Revoked::Access;
        }
        if inner.refresh.remove(token).is_some() {
            let before = inner.access.len();
            inner
                .access
                .retain(|_, t| t.refresh_token.as_deref() != Some(token));
            return Revoked::Refresh(before - inner.access.len());
        }
        Revoked::Unknown
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated
        // (each operation is a single insert/remove), so poison is harmless.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// A fresh random Data Cloud signing key (see [`fill_random`] for the
/// no-entropy fallback).
fn new_dc_secret() -> [u8; 32] {
    let mut key = [0u8; 32];
    fill_random(&mut key);
    key
}

/// `len` random characters from [`TOKEN_ALPHABET`].
pub fn random_token(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    fill_random(&mut bytes);
    bytes
        .iter()
        .map(|b| TOKEN_ALPHABET[(b & 63) as usize] as char)
        .collect()
}

/// Fills `buf` from the OS generator (aws-lc-rs). A failure here means the
/// platform has no entropy source at all; fall back to a counter mixed with
/// the address of the buffer rather than panic on a request path.
pub fn fill_random(buf: &mut [u8]) {
    if aws_lc_rs::rand::fill(buf).is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
        for chunk in buf.chunks_mut(8) {
            let v = COUNTER
                .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
                .wrapping_mul(0xbf58_476d_1ce4_e5b9);
            for (d, s) in chunk.iter_mut().zip(v.to_le_bytes()) {
                *d = s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who<'a>(scopes: &'a [String]) -> Grantee<'a> {
        Grantee {
            user_id: "005000000000001AAA",
            username: "u@x.com",
            client_id: "cid",
            scopes,
        }
    }

    #[test]
    fn token_shape() {
        let store = TokenStore::new(Clock::default());
        let scopes = vec!["api".to_owned()];
        let issued = store.issue("00D000000000001", who(&scopes), 1000, true);
        let (org, opaque) = issued.access_token.split_once('!').unwrap();
        assert_eq!(org, "00D000000000001");
        assert_eq!(opaque.len(), ACCESS_OPAQUE_LEN);
        assert!(opaque
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_'));
        assert_eq!(issued.refresh_token.unwrap().len(), REFRESH_LEN);
    }

    #[test]
    fn expiry_follows_the_clock() {
        let clock = Clock::default();
        let store = TokenStore::new(clock.clone());
        let scopes = vec![];
        let issued = store.issue("00D000000000001", who(&scopes), 1000, false);
        assert!(store.core(&issued.access_token).is_some());
        clock.advance_ms(1001);
        assert!(store.core(&issued.access_token).is_none());
    }

    #[test]
    fn revoking_a_refresh_token_revokes_its_access_tokens() {
        let store = TokenStore::new(Clock::default());
        let scopes = vec!["api".to_owned(), "refresh_token".to_owned()];
        let first = store.issue("00D000000000001", who(&scopes), 60_000, true);
        let rt = first.refresh_token.clone().unwrap();
        let (second, _) = store
            .issue_from_refresh("00D000000000001", &rt, 60_000)
            .unwrap();
        assert_eq!(store.revoke(&rt), Revoked::Refresh(2));
        assert!(store.core(&first.access_token).is_none());
        assert!(store.core(&second.access_token).is_none());
        assert_eq!(store.revoke(&rt), Revoked::Unknown);
    }
}
