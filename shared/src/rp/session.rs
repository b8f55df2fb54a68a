//! Local sessions and pending logins: what they hold and when they count.
//!
//! A session holds the claims of the last verified ID token and the tokens of the last token
//! response. Its claims count only until that ID token's `exp`: after that the session must be
//! refreshed (a refresh-token grant, which brings a new ID token) before it is used again, so a
//! revoked grant, a disabled account or a unit that lost its status shows here within the
//! IdP's ID-token lifetime even if a back-channel logout is lost (SPEC §6). A session without a
//! refresh token ends with its ID token; one with a refresh token ends when a refresh fails or
//! [`SESSION_MAX_SECS`] after login, whichever comes first.
//!
//! Where they are kept is [`super::session_store`].

use serde::{Deserialize, Serialize};

use crate::claims::TongyiClaims;

/// The longest a local session lives, refreshed or not: the IdP's default refresh-token and
/// login-session lifetime (8 hours), after which the IdP would refuse the refresh anyway.
pub(crate) const SESSION_MAX_SECS: i64 = 8 * 3600;

/// A logged-in user of this app. `Debug` leaves the CSRF token, the ID token and the session
/// key out; the access and refresh tokens are not in here at all (see [`super::Rp::access_token`]).
#[derive(Clone, Serialize, Deserialize)]
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
    /// The session cookie's value, which names this session in the store. Never stored: a
    /// store keeps sessions under a digest of it.
    #[serde(skip)]
    pub(crate) key: String,
}

impl RpSession {
    /// Whether a logout token naming `sid` and/or `sub` ends this session (Back-Channel
    /// Logout 1.0 §2.7): with a `sid`, those of that IdP session (and of `sub`, if named);
    /// with only a `sub`, all of that account's.
    pub(crate) fn named_by(&self, sid: Option<&str>, sub: Option<&str>) -> bool {
        match (sid, sub) {
            (Some(sid), sub) => {
                self.sid.as_deref() == Some(sid) && sub.is_none_or(|u| u == self.subject)
            }
            (None, Some(sub)) => self.subject == sub,
            (None, None) => false,
        }
    }

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
#[derive(Clone, Serialize, Deserialize)]
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

/// What a store keeps per session.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub session: RpSession,
    pub tokens: Tokens,
    /// Unix seconds after which the session is over whatever its tokens say.
    pub ends_at: i64,
}

impl Entry {
    /// A new session's entry: one with a refresh token lives up to [`SESSION_MAX_SECS`], one
    /// without ends with its ID token.
    pub fn new(session: RpSession, tokens: Tokens, now: i64) -> Entry {
        let ends_at = if tokens.refresh_token.is_some() {
            now + SESSION_MAX_SECS
        } else {
            session.expires_at
        };
        Entry {
            session,
            tokens,
            ends_at,
        }
    }

    pub fn alive(&self, now: i64) -> bool {
        now < self.ends_at && (self.tokens.refresh_token.is_some() || now < self.session.expires_at)
    }
}

/// A session as the refresh sees it: what it is now.
pub(crate) struct Snapshot {
    pub session: RpSession,
    pub tokens: Tokens,
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
#[derive(Serialize, Deserialize)]
pub(crate) struct PendingLogin {
    /// The login cookie of the browser that started it.
    pub binding: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// A local path to go to after login.
    pub return_to: String,
    pub expires_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn session(key: &str, sub: &str, sid: &str) -> RpSession {
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

    pub(crate) fn tokens(refresh: bool) -> Tokens {
        Tokens {
            access_token: "at".into(),
            access_expires_at: 100,
            access_lifetime: 100,
            refresh_token: refresh.then(|| "rt".into()),
            nonce: "n".into(),
        }
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
    fn the_session_key_is_not_serialized() {
        let json = serde_json::to_string(&session("key-secret", "u", "s")).unwrap();
        assert!(!json.contains("key-secret"), "{json}");
    }
}
