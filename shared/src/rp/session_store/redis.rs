//! Sessions and pending logins in Redis, shared by every instance of an app that names the
//! same Redis and prefix.
//!
//! Keys, under `{redis_prefix}rp:{client_id}:` (apps sharing a Redis stay apart by client id):
//!
//! - `s:{digest}`: a session, a hash of `session` and `tokens` (JSON) and `ends_at`, expiring
//!   with it. The digest is SHA-256 of the session cookie, so Redis holds no cookie a reader
//!   could present.
//! - `sid:{sid}` and `sub:{sub}`: the digests of the sessions of an IdP session and of an
//!   account, so that a logout token received by any instance finds them. They expire with
//!   the longest-lived session they name; a digest whose session is gone is skipped.
//! - `p:{state}`: a pending login, taken with `GETDEL`.
//! - `l:{digest}`: the refresh lock of a session (`SET NX PX`, released by its holder only).
//!
//! Expiries are decided by the app's clock on the stored values, as in memory; Redis expiry
//! only drops what nobody can use any more.

use std::{sync::Arc, time::Duration};

use base64::Engine as _;
use redis::{aio::ConnectionManager, AsyncCommands};
use sha2::{Digest, Sha256};

use super::{Entry, PendingLogin, RpSession, StoreError, Tokens, REFRESH_LOCK_TTL};

/// How often a request waiting for another instance's refresh looks again.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// Writes the new claims and tokens only if the session still exists (a logout may have
/// ended it during the refresh); `HSET` keeps the key's expiry.
const UPDATE_IF_PRESENT: &str = "if redis.call('EXISTS', KEYS[1]) == 1 then \
     redis.call('HSET', KEYS[1], 'session', ARGV[1], 'tokens', ARGV[2]) return 1 \
     else return 0 end";

/// Releases a lock only for its holder: a lock that expired and was taken by another
/// request stays.
const RELEASE_IF_HOLDER: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
     return redis.call('DEL', KEYS[1]) else return 0 end";

#[derive(Clone)]
pub(crate) struct RedisSessions {
    conn: ConnectionManager,
    /// `{redis_prefix}rp:{client_id}:`
    prefix: Arc<str>,
}

impl RedisSessions {
    /// Connects (`crate::redis_conn`: 1 s timeouts, refusing a server older than 7, which the
    /// indexes' `EXPIRE … NX` and `GT` need).
    pub async fn connect(url: &str, prefix: String) -> Result<Self, StoreError> {
        let conn = crate::redis_conn::connect(url).await?;
        Ok(RedisSessions {
            conn,
            prefix: Arc::from(prefix),
        })
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    fn key(&self, kind: &str, name: &str) -> String {
        format!("{}{kind}:{name}", self.prefix)
    }

    fn session_key(&self, digest: &str) -> String {
        self.key("s", digest)
    }

    pub async fn insert(&self, entry: &Entry, now: i64) -> Result<(), StoreError> {
        let digest = digest(&entry.session.key);
        let key = self.session_key(&digest);
        let ttl = (entry.ends_at - now).max(1);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset_multiple(
                &key,
                &[
                    ("session", to_json(&entry.session)),
                    ("tokens", to_json(&entry.tokens)),
                    ("ends_at", entry.ends_at.to_string()),
                ],
            )
            .ignore()
            .expire(&key, ttl)
            .ignore();
        let s = &entry.session;
        let indexes = [s.sid.as_deref().map(|sid| self.key("sid", sid))]
            .into_iter()
            .flatten()
            .chain([self.key("sub", &s.subject)]);
        for index in indexes {
            // NX starts the index's expiry, GT lengthens it for a longer-lived session.
            pipe.sadd(&index, &digest)
                .ignore()
                .cmd("EXPIRE")
                .arg(&index)
                .arg(ttl)
                .arg("NX")
                .ignore()
                .cmd("EXPIRE")
                .arg(&index)
                .arg(ttl)
                .arg("GT")
                .ignore();
        }
        let () = pipe.query_async(&mut self.conn()).await?;
        Ok(())
    }

    pub async fn get(&self, id: &str) -> Result<Option<Entry>, StoreError> {
        self.entry_at(&self.session_key(&digest(id)), id).await
    }

    async fn entry_at(&self, key: &str, id: &str) -> Result<Option<Entry>, StoreError> {
        let (session, tokens, ends_at): (Option<String>, Option<String>, Option<i64>) =
            redis::cmd("HMGET")
                .arg(key)
                .arg("session")
                .arg("tokens")
                .arg("ends_at")
                .query_async(&mut self.conn())
                .await?;
        let (Some(session), Some(tokens), Some(ends_at)) = (session, tokens, ends_at) else {
            return Ok(None);
        };
        let decoded = serde_json::from_str::<RpSession>(&session)
            .and_then(|s| Ok((s, serde_json::from_str::<Tokens>(&tokens)?)));
        match decoded {
            Ok((mut session, tokens)) => {
                session.key = id.to_owned();
                Ok(Some(Entry {
                    session,
                    tokens,
                    ends_at,
                }))
            }
            Err(e) => {
                // Written by another version of the app: the user logs in again.
                tracing::warn!(error = %e, "stored session not readable; ignored");
                Ok(None)
            }
        }
    }

    pub async fn update(&self, session: &RpSession, tokens: &Tokens) -> Result<bool, StoreError> {
        let updated: i64 = redis::cmd("EVAL")
            .arg(UPDATE_IF_PRESENT)
            .arg(1)
            .arg(self.session_key(&digest(&session.key)))
            .arg(to_json(session))
            .arg(to_json(tokens))
            .query_async(&mut self.conn())
            .await?;
        if updated == 1 {
            if let Some(sid) = &session.sid {
                // A refresh may name the IdP session for the first time.
                let _: i64 = self
                    .conn()
                    .sadd(self.key("sid", sid), digest(&session.key))
                    .await?;
            }
        }
        Ok(updated == 1)
    }

    pub async fn remove(&self, id: &str) -> Result<(), StoreError> {
        let _: i64 = self.conn().del(self.session_key(&digest(id))).await?;
        Ok(())
    }

    pub async fn end_matching(
        &self,
        sid: Option<&str>,
        sub: Option<&str>,
    ) -> Result<usize, StoreError> {
        let index = match (sid, sub) {
            (Some(sid), _) => self.key("sid", sid),
            (None, Some(sub)) => self.key("sub", sub),
            (None, None) => return Ok(0),
        };
        let digests: Vec<String> = self.conn().smembers(&index).await?;
        let mut ended = Vec::new();
        for d in &digests {
            let key = self.session_key(d);
            // A `sid` with a `sub` ends only the sessions of that account.
            let hit = match sub.filter(|_| sid.is_some()) {
                Some(_) => self
                    .entry_at(&key, "")
                    .await?
                    .is_some_and(|e| e.session.named_by(sid, sub)),
                None => true,
            };
            if hit {
                ended.push(key);
            }
        }
        if ended.is_empty() {
            return Ok(0);
        }
        let count: usize = self.conn().del(&ended).await?;
        Ok(count)
    }

    pub async fn insert_pending(
        &self,
        state: &str,
        pending: &PendingLogin,
        now: i64,
    ) -> Result<bool, StoreError> {
        // No cap as in memory: every pending login expires in Redis by itself, so a flood of
        // `/auth/login` is bounded by its rate times the login's lifetime.
        let ttl = (pending.expires_at - now).max(1) as u64;
        let () = self
            .conn()
            .set_ex(self.key("p", state), to_json(pending), ttl)
            .await?;
        Ok(true)
    }

    pub async fn take_pending(&self, state: &str) -> Result<Option<PendingLogin>, StoreError> {
        let raw: Option<String> = self.conn().get_del(self.key("p", state)).await?;
        Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
    }

    pub async fn lock_refresh(&self, id: &str) -> Result<RedisLock, StoreError> {
        let key = self.key("l", &digest(id));
        let holder = super::super::random_token();
        let deadline = tokio::time::Instant::now() + REFRESH_LOCK_TTL;
        loop {
            let taken: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(&holder)
                .arg("NX")
                .arg("PX")
                .arg(REFRESH_LOCK_TTL.as_millis() as u64)
                .query_async(&mut self.conn())
                .await?;
            if taken.is_some() {
                return Ok(RedisLock {
                    conn: self.conn(),
                    key,
                    holder,
                });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError::LockTimeout);
            }
            tokio::time::sleep(LOCK_POLL).await;
        }
    }
}

/// A held refresh lock; released when dropped (or, should the release fail, when it expires).
pub(crate) struct RedisLock {
    conn: ConnectionManager,
    key: String,
    holder: String,
}

impl Drop for RedisLock {
    fn drop(&mut self) {
        let (mut conn, key, holder) = (
            self.conn.clone(),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.holder),
        );
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let released: Result<i64, _> = redis::cmd("EVAL")
                    .arg(RELEASE_IF_HOLDER)
                    .arg(1)
                    .arg(&key)
                    .arg(&holder)
                    .query_async(&mut conn)
                    .await;
                if let Err(e) = released {
                    tracing::warn!(error = %e, "refresh lock not released; it expires by itself");
                }
            });
        }
    }
}

/// The name a session goes by in Redis: SHA-256 of its cookie value, base64url.
fn digest(id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(id.as_bytes()))
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Plain structs of strings and numbers: serializing cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_hides_the_cookie() {
        let d = digest("cookie-value");
        assert_eq!(d.len(), 43);
        assert!(!d.contains("cookie"));
    }
}
