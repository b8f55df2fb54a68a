//! Where sessions and pending logins are kept: in this process ([`memory`]), or in Redis
//! ([`redis`]) when several instances of an app must act as one. Both give the same answers:
//! a session counts by the expiries of its [`Entry`], a pending login is taken once, an update
//! never revives a session that ended meanwhile, a logout token ends the sessions it names
//! wherever they were created, and one refresh of a session runs at a time.

mod memory;
mod redis;

use std::time::Duration;

use super::session::{Entry, PendingLogin, RpSession, Snapshot, Tokens};

pub(crate) use self::redis::RedisSessions;
pub(crate) use memory::MemorySessions;

/// Why the store could not answer. Every case means "try again later": the app answers 503.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("Redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    /// Another instance held this session's refresh lock for longer than a refresh takes.
    #[error("the session's refresh lock was not released in time")]
    LockTimeout,
}

/// How long one refresh may hold a session's lock: the token request's timeout (10 s) plus a
/// JWKS refetch, with room to spare. A crashed holder blocks the session no longer than this.
pub(crate) const REFRESH_LOCK_TTL: Duration = Duration::from_secs(25);

/// The sessions and pending logins of one relying party.
pub(crate) enum SessionStore {
    Memory(MemorySessions),
    Redis(RedisSessions),
}

impl SessionStore {
    /// Stores a new session under its key; returns until when it may live (for the cookie).
    pub async fn insert(
        &self,
        session: RpSession,
        tokens: Tokens,
        now: i64,
    ) -> Result<i64, StoreError> {
        let entry = Entry::new(session, tokens, now);
        let ends_at = entry.ends_at;
        match self {
            SessionStore::Memory(m) => m.insert(entry, now),
            SessionStore::Redis(r) => r.insert(&entry, now).await?,
        }
        Ok(ends_at)
    }

    /// The session with this id while its claims count.
    pub async fn get(&self, id: &str, now: i64) -> Result<Option<RpSession>, StoreError> {
        Ok(self
            .snapshot(id, now)
            .await?
            .filter(|s| now < s.session.expires_at)
            .map(|s| s.session))
    }

    /// The session with this id and its tokens while it may still be refreshed; an ended one
    /// is dropped on the way.
    pub async fn snapshot(&self, id: &str, now: i64) -> Result<Option<Snapshot>, StoreError> {
        let entry = match self {
            SessionStore::Memory(m) => m.get(id),
            SessionStore::Redis(r) => r.get(id).await?,
        };
        match entry {
            Some(e) if e.alive(now) => Ok(Some(Snapshot {
                session: e.session,
                tokens: e.tokens,
            })),
            Some(_) => {
                self.remove(id).await?;
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// Replaces the claims and tokens after a refresh, unless the session ended meanwhile (a
    /// back-channel logout during the refresh wins). Returns whether it was still there.
    pub async fn update(&self, session: RpSession, tokens: Tokens) -> Result<bool, StoreError> {
        match self {
            SessionStore::Memory(m) => Ok(m.update(session, tokens)),
            SessionStore::Redis(r) => r.update(&session, &tokens).await,
        }
    }

    pub async fn remove(&self, id: &str) -> Result<(), StoreError> {
        match self {
            SessionStore::Memory(m) => {
                m.remove(id);
                Ok(())
            }
            SessionStore::Redis(r) => r.remove(id).await,
        }
    }

    /// Ends the sessions a logout token names (see [`Entry::named_by`]). Returns how many.
    pub async fn end_matching(
        &self,
        sid: Option<&str>,
        sub: Option<&str>,
    ) -> Result<usize, StoreError> {
        match self {
            SessionStore::Memory(m) => Ok(m.end_matching(sid, sub)),
            SessionStore::Redis(r) => r.end_matching(sid, sub).await,
        }
    }

    /// Parks a login under its `state`; false when too many are in flight.
    pub async fn insert_pending(
        &self,
        state: &str,
        pending: PendingLogin,
        now: i64,
    ) -> Result<bool, StoreError> {
        match self {
            SessionStore::Memory(m) => Ok(m.insert_pending(state, pending, now)),
            SessionStore::Redis(r) => r.insert_pending(state, &pending, now).await,
        }
    }

    /// Takes the login out for good: a `state` is good for one callback only.
    pub async fn take_pending(
        &self,
        state: &str,
        now: i64,
    ) -> Result<Option<PendingLogin>, StoreError> {
        let pending = match self {
            SessionStore::Memory(m) => m.take_pending(state),
            SessionStore::Redis(r) => r.take_pending(state).await?,
        };
        Ok(pending.filter(|p| p.expires_at > now))
    }

    /// Waits until no other request (of this instance or, with Redis, of any) refreshes
    /// session `id`, and holds that until the guard is dropped: the IdP treats a refresh token
    /// presented twice as stolen and revokes the whole family.
    pub async fn lock_refresh(&self, id: &str) -> Result<RefreshGuard, StoreError> {
        match self {
            SessionStore::Memory(m) => Ok(RefreshGuard::Memory(m.lock_refresh(id).await)),
            SessionStore::Redis(r) => Ok(RefreshGuard::Redis(r.lock_refresh(id).await?)),
        }
    }
}

/// Held while a session is refreshed; dropping it lets the next refresh in.
pub(crate) enum RefreshGuard {
    Memory(#[allow(dead_code)] tokio::sync::OwnedMutexGuard<()>),
    Redis(#[allow(dead_code)] self::redis::RedisLock),
}

#[cfg(test)]
mod tests;
