//! Local sessions and pending logins, kept in this process.
//!
//! A local session lives no longer than the ID token it was made from, so a revoked grant or a
//! disabled account stops working here within the IdP's token lifetime even if a back-channel
//! logout is lost (SPEC §6). Logging in again is silent while the IdP session lasts.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
};

use crate::claims::TongyiClaims;

/// Bounds the logins in flight: starting one needs no authentication, so without a cap a
/// client could fill memory by requesting `/auth/login` in a loop.
const MAX_PENDING: usize = 10_000;

/// A logged-in user of this app. `Debug` leaves the CSRF token and the ID token out.
#[derive(Clone)]
pub struct RpSession {
    /// The IdP's stable, opaque account id (`sub`).
    pub subject: String,
    /// The IdP's login session id (`sid`), which back-channel logout names.
    pub sid: Option<String>,
    /// Display name (`name`).
    pub name: Option<String>,
    /// Login name (`preferred_username`).
    pub login_name: Option<String>,
    /// The Tongyi claims of the verified ID token.
    pub claims: TongyiClaims,
    /// Every form of this session must echo this token.
    pub csrf: String,
    /// Unix seconds; the ID token's `exp`.
    pub expires_at: i64,
    /// The raw ID token, sent back to the IdP as `id_token_hint` at logout.
    pub(crate) id_token: String,
}

impl std::fmt::Debug for RpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpSession")
            .field("subject", &self.subject)
            .field("sid", &self.sid)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// An authorization request in flight, keyed by its `state`.
pub(crate) struct PendingLogin {
    /// The login cookie of the browser that started it.
    pub binding: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// A local path to go to after login.
    pub return_to: String,
    pub expires_at: i64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves a map that is still consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sessions by session cookie value.
#[derive(Default)]
pub(crate) struct SessionStore {
    map: Mutex<HashMap<String, RpSession>>,
}

impl SessionStore {
    pub fn insert(&self, id: String, session: RpSession, now: i64) {
        let mut map = lock(&self.map);
        map.retain(|_, s| s.expires_at > now);
        map.insert(id, session);
    }

    /// The live session with this id; an expired one is dropped on the way.
    pub fn get(&self, id: &str, now: i64) -> Option<RpSession> {
        let mut map = lock(&self.map);
        match map.get(id) {
            Some(s) if s.expires_at > now => Some(s.clone()),
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }

    pub fn remove(&self, id: &str) -> Option<RpSession> {
        lock(&self.map).remove(id)
    }

    /// Ends the sessions a logout token names (Back-Channel Logout 1.0 §2.7): with a `sid`,
    /// those of that IdP session; with only a `sub`, all of that account's. Returns how many.
    pub fn end_matching(&self, sid: Option<&str>, sub: Option<&str>) -> usize {
        let mut map = lock(&self.map);
        let before = map.len();
        map.retain(|_, s| {
            let hit = match (sid, sub) {
                (Some(sid), sub) => {
                    s.sid.as_deref() == Some(sid) && sub.is_none_or(|u| u == s.subject)
                }
                (None, Some(sub)) => s.subject == sub,
                (None, None) => false,
            };
            !hit
        });
        before - map.len()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        lock(&self.map).len()
    }
}

/// Pending logins by `state`.
#[derive(Default)]
pub(crate) struct PendingStore {
    map: Mutex<HashMap<String, PendingLogin>>,
}

impl PendingStore {
    /// Parks a login; refuses when too many are in flight even after dropping expired ones.
    pub fn insert(&self, state: String, pending: PendingLogin, now: i64) -> bool {
        let mut map = lock(&self.map);
        if map.len() >= MAX_PENDING {
            map.retain(|_, p| p.expires_at > now);
            if map.len() >= MAX_PENDING {
                return false;
            }
        }
        map.insert(state, pending);
        true
    }

    /// Takes the login out for good: a `state` is good for one callback only.
    pub fn take(&self, state: &str, now: i64) -> Option<PendingLogin> {
        lock(&self.map).remove(state).filter(|p| p.expires_at > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(sub: &str, sid: &str) -> RpSession {
        RpSession {
            subject: sub.into(),
            sid: Some(sid.into()),
            name: None,
            login_name: None,
            claims: TongyiClaims::default(),
            csrf: "c".into(),
            expires_at: 100,
            id_token: String::new(),
        }
    }

    #[test]
    fn expiry_and_matching() {
        let store = SessionStore::default();
        store.insert("a".into(), session("u1", "s1"), 0);
        store.insert("b".into(), session("u1", "s2"), 0);
        store.insert("c".into(), session("u2", "s3"), 0);
        assert!(store.get("a", 99).is_some());
        assert!(store.get("a", 100).is_none(), "expired at exp");
        assert_eq!(store.len(), 2);
        assert_eq!(
            store.end_matching(Some("s2"), Some("u2")),
            0,
            "sub must agree"
        );
        assert_eq!(store.end_matching(Some("s2"), None), 1);
        store.insert("d".into(), session("u2", "s4"), 0);
        assert_eq!(store.end_matching(None, Some("u2")), 2);
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn pending_is_single_use_and_expires() {
        let store = PendingStore::default();
        let p = |exp| PendingLogin {
            binding: "b".into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            return_to: "/".into(),
            expires_at: exp,
        };
        assert!(store.insert("s".into(), p(10), 0));
        assert!(store.take("s", 5).is_some());
        assert!(store.take("s", 5).is_none());
        assert!(store.insert("t".into(), p(10), 0));
        assert!(store.take("t", 10).is_none());
    }
}
