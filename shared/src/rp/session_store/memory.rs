//! Sessions and pending logins in this process's memory: one instance, and a restart logs
//! its users out.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use super::{Entry, PendingLogin, RpSession, Tokens};

/// Bounds the logins in flight: starting one needs no authentication, so without a cap a
/// client could fill memory by requesting `/auth/login` in a loop.
const MAX_PENDING: usize = 10_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves a map that is still consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct Held {
    entry: Entry,
    /// Serializes the refreshes of this session.
    refresh_lock: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Default)]
pub(crate) struct MemorySessions {
    /// Sessions by session cookie value.
    sessions: Mutex<HashMap<String, Held>>,
    /// Pending logins by `state`.
    pending: Mutex<HashMap<String, PendingLogin>>,
}

impl MemorySessions {
    pub fn insert(&self, entry: Entry, now: i64) {
        let mut map = lock(&self.sessions);
        map.retain(|_, h| h.entry.alive(now));
        map.insert(
            entry.session.key.clone(),
            Held {
                entry,
                refresh_lock: Arc::default(),
            },
        );
    }

    pub fn get(&self, id: &str) -> Option<Entry> {
        lock(&self.sessions).get(id).map(|h| h.entry.clone())
    }

    pub fn update(&self, session: RpSession, tokens: Tokens) -> bool {
        match lock(&self.sessions).get_mut(&session.key) {
            Some(h) => {
                h.entry.session = session;
                h.entry.tokens = tokens;
                true
            }
            None => false,
        }
    }

    pub fn remove(&self, id: &str) {
        lock(&self.sessions).remove(id);
    }

    pub fn end_matching(&self, sid: Option<&str>, sub: Option<&str>) -> usize {
        let mut map = lock(&self.sessions);
        let before = map.len();
        map.retain(|_, h| !h.entry.session.named_by(sid, sub));
        before - map.len()
    }

    pub fn insert_pending(&self, state: &str, pending: PendingLogin, now: i64) -> bool {
        let mut map = lock(&self.pending);
        if map.len() >= MAX_PENDING {
            map.retain(|_, p| p.expires_at > now);
            if map.len() >= MAX_PENDING {
                return false;
            }
        }
        map.insert(state.to_owned(), pending);
        true
    }

    pub fn take_pending(&self, state: &str) -> Option<PendingLogin> {
        lock(&self.pending).remove(state)
    }

    pub async fn lock_refresh(&self, id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        // A session gone meanwhile gets a lock of its own; the refresh then finds it ended.
        let lock_of_session = lock(&self.sessions)
            .get(id)
            .map(|h| h.refresh_lock.clone())
            .unwrap_or_default();
        lock_of_session.lock_owned().await
    }
}
