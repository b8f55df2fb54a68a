//! Local sessions and pending logins, kept in this process.
//!
//! A session holds the claims of the last verified ID token and the tokens of the last token
//! response. Its claims count only until that ID token's `exp`: after that the session must be
//! refreshed (a refresh-token grant, which brings a new ID token) before it is used again, so a
//! revoked grant, a disabled account or a unit that lost its status shows here within the
//! IdP's ID-token lifetime even if a back-channel logout is lost (SPEC §6). A session without a
//! refresh token ends with its ID token; one with a refresh token ends when a refresh fails or
//! [`SESSION_MAX_SECS`] after login, whichever comes first.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use crate::claims::TongyiClaims;

/// Bounds the logins in flight: starting one needs no authentication, so without a cap a
/// client could fill memory by requesting `/auth/login` in a loop.
const MAX_PENDING: usize = 10_000;

/// The longest a local session lives, refreshed or not: the IdP's default refresh-token and
/// login-session lifetime (8 hours), after which the IdP would refuse the refresh anyway.
pub(crate) const SESSION_MAX_SECS: i64 = 8 * 3600;

/// A logged-in user of this app. `Debug` leaves the CSRF token, the ID token and the session
/// key out; the access and refresh tokens are not in here at all (see [`super::Rp::access_token`]).
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
    /// The Tongyi claims of the last verified ID token.
    pub claims: TongyiClaims,
    /// Every form of this session must echo this token.
    pub csrf: String,
    /// Unix seconds; the last ID token's `exp`, until which [`RpSession::claims`] count.
    pub expires_at: i64,
    /// The raw ID token, sent back to the IdP as `id_token_hint` at logout.
    pub(crate) id_token: String,
    /// The session cookie's value, which names this session in the store.
    pub(crate) key: String,
}

impl RpSession {
    /// A session that no store holds, with these claims: for apps' unit tests of what their
    /// pages make of the claims. No request can present it, and it has no tokens.
    pub fn detached(subject: &str, claims: TongyiClaims) -> RpSession {
        RpSession {
            subject: subject.to_owned(),
            sid: None,
            name: None,
            login_name: None,
            claims,
            csrf: super::random_token(),
            expires_at: 0,
            id_token: String::new(),
            key: String::new(),
        }
    }

    /// Whether a submitted form's `csrf` value is this session's token (constant time).
    pub fn csrf_matches(&self, submitted: &str) -> bool {
        super::constant_time_eq(&self.csrf, submitted)
    }
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

/// The tokens of a session's last token response. `Debug` shows only the expiry.
#[derive(Clone)]
pub(crate) struct Tokens {
    pub access_token: String,
    /// Unix seconds.
    pub access_expires_at: i64,
    /// The access token's lifetime when it was issued, which sets how early it is renewed.
    pub access_lifetime: i64,
    pub refresh_token: Option<String>,
    /// The nonce of the login; a refreshed ID token may carry only this one (OIDC Core §12.2).
    pub nonce: String,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access_expires_at", &self.access_expires_at)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// How many seconds before its `exp` an access token is renewed: 30, or a quarter of its
/// lifetime when that is shorter, so that short-lived tokens are still used for a while.
fn renew_margin(lifetime: i64) -> i64 {
    (lifetime / 4).clamp(0, 30)
}

impl Tokens {
    /// Whether the access token is expired or about to be.
    pub fn access_stale(&self, now: i64) -> bool {
        now >= self.access_expires_at - renew_margin(self.access_lifetime)
    }
}

/// What the store keeps per session.
struct Entry {
    session: RpSession,
    tokens: Tokens,
    /// Unix seconds after which the session is over whatever its tokens say.
    ends_at: i64,
    /// Serializes the refreshes of this session: the IdP treats a refresh token presented
    /// twice as stolen and revokes the whole family, so two requests must never race.
    refresh_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Entry {
    fn alive(&self, now: i64) -> bool {
        now < self.ends_at && (self.tokens.refresh_token.is_some() || now < self.session.expires_at)
    }
}

/// A session as the refresh sees it: what it is now and the lock to hold while renewing it.
pub(crate) struct Snapshot {
    pub session: RpSession,
    pub tokens: Tokens,
    pub refresh_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Snapshot {
    /// Whether the claims or the access token need a refresh before use.
    pub fn stale(&self, now: i64) -> bool {
        Snapshot::is_stale(&self.session, &self.tokens, now)
    }

    pub fn is_stale(session: &RpSession, tokens: &Tokens, now: i64) -> bool {
        now >= session.expires_at || tokens.access_stale(now)
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
    map: Mutex<HashMap<String, Entry>>,
}

impl SessionStore {
    /// Stores a new session under its key; returns until when it may live (for the cookie).
    pub fn insert(&self, session: RpSession, tokens: Tokens, now: i64) -> i64 {
        let ends_at = if tokens.refresh_token.is_some() {
            now + SESSION_MAX_SECS
        } else {
            session.expires_at
        };
        let mut map = lock(&self.map);
        map.retain(|_, e| e.alive(now));
        map.insert(
            session.key.clone(),
            Entry {
                session,
                tokens,
                ends_at,
                refresh_lock: Arc::default(),
            },
        );
        ends_at
    }

    /// The session with this id while its claims count; an ended one is dropped on the way.
    pub fn get(&self, id: &str, now: i64) -> Option<RpSession> {
        self.snapshot(id, now)
            .filter(|s| now < s.session.expires_at)
            .map(|s| s.session)
    }

    /// The session with this id and its tokens while it may still be refreshed.
    pub fn snapshot(&self, id: &str, now: i64) -> Option<Snapshot> {
        let mut map = lock(&self.map);
        match map.get(id) {
            Some(e) if e.alive(now) => Some(Snapshot {
                session: e.session.clone(),
                tokens: e.tokens.clone(),
                refresh_lock: e.refresh_lock.clone(),
            }),
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }

    /// Replaces the claims and tokens after a refresh, unless the session ended meanwhile (a
    /// back-channel logout during the refresh wins). Returns whether it was still there.
    pub fn update(&self, session: RpSession, tokens: Tokens) -> bool {
        let mut map = lock(&self.map);
        match map.get_mut(&session.key) {
            Some(e) => {
                e.session = session;
                e.tokens = tokens;
                true
            }
            None => false,
        }
    }

    pub fn remove(&self, id: &str) -> Option<RpSession> {
        lock(&self.map).remove(id).map(|e| e.session)
    }

    /// Ends the sessions a logout token names (Back-Channel Logout 1.0 §2.7): with a `sid`,
    /// those of that IdP session; with only a `sub`, all of that account's. Returns how many.
    pub fn end_matching(&self, sid: Option<&str>, sub: Option<&str>) -> usize {
        let mut map = lock(&self.map);
        let before = map.len();
        map.retain(|_, e| {
            let s = &e.session;
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

    fn session(key: &str, sub: &str, sid: &str) -> RpSession {
        RpSession {
            subject: sub.into(),
            sid: Some(sid.into()),
            name: None,
            login_name: None,
            claims: TongyiClaims::default(),
            csrf: "c".into(),
            expires_at: 100,
            id_token: String::new(),
            key: key.into(),
        }
    }

    fn tokens(refresh: bool) -> Tokens {
        Tokens {
            access_token: "at".into(),
            access_expires_at: 100,
            access_lifetime: 100,
            refresh_token: refresh.then(|| "rt".into()),
            nonce: "n".into(),
        }
    }

    #[test]
    fn expiry_and_matching() {
        let store = SessionStore::default();
        store.insert(session("a", "u1", "s1"), tokens(false), 0);
        store.insert(session("b", "u1", "s2"), tokens(false), 0);
        store.insert(session("c", "u2", "s3"), tokens(false), 0);
        assert!(store.get("a", 99).is_some());
        assert!(store.get("a", 100).is_none(), "expired at exp");
        assert_eq!(store.len(), 2);
        assert_eq!(
            store.end_matching(Some("s2"), Some("u2")),
            0,
            "sub must agree"
        );
        assert_eq!(store.end_matching(Some("s2"), None), 1);
        store.insert(session("d", "u2", "s4"), tokens(false), 0);
        assert_eq!(store.end_matching(None, Some("u2")), 2);
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn a_refreshable_session_outlives_its_id_token_but_not_its_claims() {
        let store = SessionStore::default();
        let ends = store.insert(session("a", "u1", "s1"), tokens(true), 0);
        assert_eq!(ends, SESSION_MAX_SECS);
        assert!(store.get("a", 100).is_none(), "stale claims are not served");
        let snap = store.snapshot("a", 100).expect("still refreshable");
        assert!(snap.stale(100));
        let mut renewed = snap.session.clone();
        renewed.expires_at = 400;
        let mut t = snap.tokens.clone();
        t.access_expires_at = 400;
        assert!(store.update(renewed, t));
        assert!(store.get("a", 300).is_some());
        assert!(
            store.snapshot("a", SESSION_MAX_SECS).is_none(),
            "hard limit"
        );
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn an_update_does_not_revive_an_ended_session() {
        let store = SessionStore::default();
        store.insert(session("a", "u1", "s1"), tokens(true), 0);
        let snap = store.snapshot("a", 0).unwrap();
        assert_eq!(store.end_matching(Some("s1"), None), 1);
        assert!(!store.update(snap.session, snap.tokens));
        assert!(store.snapshot("a", 0).is_none());
    }

    #[test]
    fn access_tokens_are_renewed_a_little_early() {
        let mut t = tokens(true);
        t.access_expires_at = 300;
        t.access_lifetime = 300;
        assert!(!t.access_stale(269));
        assert!(t.access_stale(270), "30 s early");
        t.access_expires_at = 4;
        t.access_lifetime = 4;
        assert!(!t.access_stale(2));
        assert!(t.access_stale(3), "a quarter of a short lifetime early");
    }

    #[test]
    fn debug_shows_no_secret() {
        let s = format!("{:?} {:?}", session("key-secret", "u", "s"), tokens(true));
        for secret in ["key-secret", "\"at\"", "\"rt\"", "\"c\""] {
            assert!(!s.contains(secret), "{secret} in {s}");
        }
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
