//! The short-lived store: login sessions, pending authorization requests, authorization codes,
//! revoked access-token ids and throttle counters. Everything in it expires by itself.
//!
//! In-process for a single instance; Redis when several instances must act as one. Both
//! implement the same operations with the same atomicity: `take` is a single-use read, and
//! `put_if_absent` succeeds for exactly one caller.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use redis::{aio::ConnectionManager, AsyncCommands};

#[derive(Clone)]
pub enum Ephemeral {
    Memory(MemoryStore),
    Redis(RedisStore),
}

impl Ephemeral {
    pub fn memory() -> Self {
        Ephemeral::Memory(MemoryStore::default())
    }

    /// Connects to Redis (`tongyi_shared::redis_conn`: 1 s timeouts, Redis 7 or newer).
    pub async fn redis(url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        let conn = tongyi_shared::redis_conn::connect(url).await?;
        Ok(Ephemeral::Redis(RedisStore {
            conn,
            prefix: Arc::from(prefix),
        }))
    }

    pub async fn put(
        &self,
        key: &str,
        value: &str,
        ttl_secs: i64,
    ) -> Result<(), redis::RedisError> {
        let ttl = ttl_secs.max(1) as u64;
        match self {
            Ephemeral::Memory(m) => {
                m.put(key, value, ttl);
                Ok(())
            }
            Ephemeral::Redis(r) => {
                let _: () = r.conn().set_ex(r.key(key), value, ttl).await?;
                Ok(())
            }
        }
    }

    /// Stores the value only if the key is absent; true for the one caller that stored it.
    pub async fn put_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl_secs: i64,
    ) -> Result<bool, redis::RedisError> {
        let ttl = ttl_secs.max(1) as u64;
        match self {
            Ephemeral::Memory(m) => Ok(m.put_if_absent(key, value, ttl)),
            Ephemeral::Redis(r) => {
                let set: Option<String> = redis::cmd("SET")
                    .arg(r.key(key))
                    .arg(value)
                    .arg("NX")
                    .arg("EX")
                    .arg(ttl)
                    .query_async(&mut r.conn())
                    .await?;
                Ok(set.is_some())
            }
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, redis::RedisError> {
        match self {
            Ephemeral::Memory(m) => Ok(m.get(key)),
            Ephemeral::Redis(r) => r.conn().get(r.key(key)).await,
        }
    }

    pub async fn exists(&self, key: &str) -> Result<bool, redis::RedisError> {
        match self {
            Ephemeral::Memory(m) => Ok(m.get(key).is_some()),
            Ephemeral::Redis(r) => r.conn().exists(r.key(key)).await,
        }
    }

    /// Reads and deletes in one step: of two concurrent callers only one gets the value.
    pub async fn take(&self, key: &str) -> Result<Option<String>, redis::RedisError> {
        match self {
            Ephemeral::Memory(m) => Ok(m.take(key)),
            Ephemeral::Redis(r) => r.conn().get_del(r.key(key)).await,
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), redis::RedisError> {
        match self {
            Ephemeral::Memory(m) => {
                m.take(key);
                Ok(())
            }
            Ephemeral::Redis(r) => {
                let _: i64 = r.conn().del(r.key(key)).await?;
                Ok(())
            }
        }
    }

    /// Increments a counter; the first increment starts its expiry window.
    pub async fn incr(&self, key: &str, window_secs: i64) -> Result<i64, redis::RedisError> {
        let ttl = window_secs.max(1);
        match self {
            Ephemeral::Memory(m) => Ok(m.incr(key, ttl as u64)),
            Ephemeral::Redis(r) => {
                let k = r.key(key);
                let (count,): (i64,) = redis::pipe()
                    .atomic()
                    .incr(&k, 1)
                    .cmd("EXPIRE")
                    .arg(&k)
                    .arg(ttl)
                    .arg("NX")
                    .ignore()
                    .query_async(&mut r.conn())
                    .await?;
                Ok(count)
            }
        }
    }

    /// Increments several counters in one step (one atomic Redis transaction), each starting
    /// its own window at its first increment; the new values, in order. Throttles reserve an
    /// attempt with it before any work, so that parallel attempts are all counted.
    pub async fn incr_all(
        &self,
        keys: &[&str],
        window_secs: i64,
    ) -> Result<Vec<i64>, redis::RedisError> {
        let ttl = window_secs.max(1);
        match self {
            Ephemeral::Memory(m) => Ok(m.incr_all(keys, ttl as u64)),
            Ephemeral::Redis(r) => {
                let mut pipe = redis::pipe();
                pipe.atomic();
                for key in keys {
                    let k = r.key(key);
                    pipe.incr(&k, 1)
                        .cmd("EXPIRE")
                        .arg(&k)
                        .arg(ttl)
                        .arg("NX")
                        .ignore();
                }
                pipe.query_async(&mut r.conn()).await
            }
        }
    }

    /// Takes one back from a counter (a reservation that turned out not to be a failure).
    /// Should the counter have expired in between, it restarts at -1 for a new window, which
    /// undercounts by one at most.
    pub async fn decr(&self, key: &str, window_secs: i64) -> Result<(), redis::RedisError> {
        match self {
            Ephemeral::Memory(m) => {
                m.decr(key);
                Ok(())
            }
            Ephemeral::Redis(r) => {
                let k = r.key(key);
                let _: () = redis::pipe()
                    .atomic()
                    .decr(&k, 1)
                    .ignore()
                    .cmd("EXPIRE")
                    .arg(&k)
                    .arg(window_secs.max(1))
                    .arg("NX")
                    .ignore()
                    .query_async(&mut r.conn())
                    .await?;
                Ok(())
            }
        }
    }

    pub async fn ping(&self) -> Result<(), redis::RedisError> {
        match self {
            Ephemeral::Memory(_) => Ok(()),
            Ephemeral::Redis(r) => {
                let _: String = redis::cmd("PING").query_async(&mut r.conn()).await?;
                Ok(())
            }
        }
    }

    /// Drops expired in-process entries; Redis expires keys itself.
    pub fn sweep(&self) {
        if let Ephemeral::Memory(m) = self {
            m.sweep();
        }
    }
}

#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: Arc<str>,
}

impl RedisStore {
    fn key(&self, key: &str) -> String {
        let mut k = String::with_capacity(self.prefix.len() + key.len());
        k.push_str(&self.prefix);
        k.push_str(key);
        k
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }
}

#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<HashMap<String, (String, Instant)>>>,
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        // A panic while holding the lock cannot leave a half-written entry, so poisoning is
        // safe to ignore.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn put(&self, key: &str, value: &str, ttl: u64) {
        let exp = Instant::now() + Duration::from_secs(ttl);
        self.lock().insert(key.to_owned(), (value.to_owned(), exp));
    }

    fn put_if_absent(&self, key: &str, value: &str, ttl: u64) -> bool {
        let now = Instant::now();
        let mut map = self.lock();
        match map.get(key) {
            Some((_, exp)) if *exp > now => false,
            _ => {
                map.insert(
                    key.to_owned(),
                    (value.to_owned(), now + Duration::from_secs(ttl)),
                );
                true
            }
        }
    }

    fn get(&self, key: &str) -> Option<String> {
        let map = self.lock();
        map.get(key)
            .filter(|(_, exp)| *exp > Instant::now())
            .map(|(v, _)| v.clone())
    }

    fn take(&self, key: &str) -> Option<String> {
        self.lock()
            .remove(key)
            .filter(|(_, exp)| *exp > Instant::now())
            .map(|(v, _)| v)
    }

    fn incr(&self, key: &str, ttl: u64) -> i64 {
        let now = Instant::now();
        let mut map = self.lock();
        let entry = map
            .entry(key.to_owned())
            .or_insert_with(|| ("0".into(), now + Duration::from_secs(ttl)));
        if entry.1 <= now {
            *entry = ("0".into(), now + Duration::from_secs(ttl));
        }
        let n = entry.0.parse::<i64>().unwrap_or(0) + 1;
        entry.0 = n.to_string();
        n
    }

    fn incr_all(&self, keys: &[&str], ttl: u64) -> Vec<i64> {
        // One lock for all, like the Redis transaction.
        let now = Instant::now();
        let mut map = self.lock();
        keys.iter()
            .map(|key| {
                let entry = map
                    .entry((*key).to_owned())
                    .or_insert_with(|| ("0".into(), now + Duration::from_secs(ttl)));
                if entry.1 <= now {
                    *entry = ("0".into(), now + Duration::from_secs(ttl));
                }
                let n = entry.0.parse::<i64>().unwrap_or(0) + 1;
                entry.0 = n.to_string();
                n
            })
            .collect()
    }

    fn decr(&self, key: &str) {
        let now = Instant::now();
        if let Some(entry) = self.lock().get_mut(key).filter(|e| e.1 > now) {
            let n = entry.0.parse::<i64>().unwrap_or(0) - 1;
            entry.0 = n.to_string();
        }
    }

    fn sweep(&self) {
        let now = Instant::now();
        self.lock().retain(|_, (_, exp)| *exp > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_store_semantics() {
        let s = Ephemeral::memory();
        s.put("a", "1", 60).await.unwrap();
        assert_eq!(s.get("a").await.unwrap().as_deref(), Some("1"));
        assert_eq!(s.take("a").await.unwrap().as_deref(), Some("1"));
        assert_eq!(s.take("a").await.unwrap(), None, "take is single use");
        assert!(s.put_if_absent("b", "x", 60).await.unwrap());
        assert!(!s.put_if_absent("b", "y", 60).await.unwrap());
        assert_eq!(s.incr("c", 60).await.unwrap(), 1);
        assert_eq!(s.incr("c", 60).await.unwrap(), 2);
        s.delete("b").await.unwrap();
        assert!(!s.exists("b").await.unwrap());
    }
}
