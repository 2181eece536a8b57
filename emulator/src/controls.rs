//! The runtime overlay on the fixture org: connected apps and users switched
//! off (or back on) while the emulator runs, through
//! `POST /__emulator/apps/{clientId}/deactivate` and friends.
//!
//! The org itself is loaded once and shared immutably (`Arc<Org>`), so the
//! switches live here, beside it. Every place that used to read the static
//! `ConnectedApp::active` / `User::active` flags asks [`Controls`] instead:
//! the grants (so a blocked app or an inactive user gets Salesforce's own
//! refusal), `require_core`/`require_dc` (so tokens already issued stop
//! working on both hosts while the switch is off) and the a360 exchange.
//! An app or user without an entry keeps its fixture flag.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::org::{ConnectedApp, Org, User};

/// Runtime activation overrides, keyed by consumer key and by user id.
#[derive(Debug, Default)]
pub struct Controls {
    /// Whether any override exists: the common case (none) then costs one
    /// atomic load per authenticated request instead of a lock.
    any: AtomicBool,
    inner: RwLock<Overlay>,
}

#[derive(Debug, Default, Clone)]
struct Overlay {
    /// Consumer key → active.
    apps: HashMap<String, bool>,
    /// User id (`005…`) → active.
    users: HashMap<String, bool>,
}

/// The overrides in force, for `GET`-style reporting.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// `(client id, active)`, sorted.
    pub apps: Vec<(String, bool)>,
    /// `(user id, active)`, sorted.
    pub users: Vec<(String, bool)>,
}

impl Controls {
    /// Whether `app` may be used: its override, else its fixture flag.
    pub fn app_active(&self, app: &ConnectedApp) -> bool {
        if !self.any.load(Ordering::Acquire) {
            return app.active;
        }
        self.read()
            .apps
            .get(&app.client_id)
            .copied()
            .unwrap_or(app.active)
    }

    /// Whether `user` may log in and use its tokens.
    pub fn user_active(&self, user: &User) -> bool {
        if !self.any.load(Ordering::Acquire) {
            return user.active;
        }
        self.read()
            .users
            .get(&user.user_id)
            .copied()
            .unwrap_or(user.active)
    }

    /// Whether the app with consumer key `client_id` exists in `org` and is active.
    pub fn client_active(&self, org: &Org, client_id: &str) -> bool {
        org.app(client_id).is_some_and(|a| self.app_active(a))
    }

    /// Whether the user with id `user_id` exists in `org` and is active.
    pub fn user_id_active(&self, org: &Org, user_id: &str) -> bool {
        org.user_by_id(user_id).is_some_and(|u| self.user_active(u))
    }

    /// Switches an app on or off.
    pub fn set_app(&self, client_id: &str, active: bool) {
        let mut inner = self.write();
        inner.apps.insert(client_id.to_owned(), active);
        self.any.store(true, Ordering::Release);
    }

    /// Switches a user on or off.
    pub fn set_user(&self, user_id: &str, active: bool) {
        let mut inner = self.write();
        inner.users.insert(user_id.to_owned(), active);
        self.any.store(true, Ordering::Release);
    }

    /// Drops every override: the fixture flags apply again.
    pub fn clear(&self) {
        let mut inner = self.write();
        *inner = Overlay::default();
        self.any.store(false, Ordering::Release);
    }

    /// The overrides in force.
    pub fn snapshot(&self) -> Snapshot {
        let inner = self.read();
        let mut apps: Vec<(String, bool)> =
            inner.apps.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let mut users: Vec<(String, bool)> =
            inner.users.iter().map(|(k, v)| (k.clone(), *v)).collect();
        apps.sort();
        users.sort();
        Snapshot { apps, users }
    }

    fn read(&self) -> RwLockReadGuard<'_, Overlay> {
        // Each write is a single insert or a whole replacement, so a poisoned
        // lock still guards a consistent map.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Overlay> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::FixtureSource;

    #[test]
    fn overrides_win_over_fixture_flags_until_cleared() {
        let org = Org::load(&FixtureSource::Builtin).unwrap();
        let app = &org.apps[0];
        let user = &org.users[0];
        let c = Controls::default();
        assert_eq!(c.app_active(app), app.active);
        c.set_app(&app.client_id, false);
        c.set_user(&user.user_id, false);
        assert!(!c.app_active(app));
        assert!(!c.user_active(user));
        assert!(!c.client_active(&org, &app.client_id));
        assert!(!c.client_active(&org, "no-such-app"));
        c.set_user(&user.user_id, true);
        assert!(c.user_id_active(&org, &user.user_id));
        assert_eq!(c.snapshot().apps, vec![(app.client_id.clone(), false)]);
        c.clear();
        assert_eq!(c.app_active(app), app.active);
    }
}
