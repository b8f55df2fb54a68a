//! What userinfo, introspection and refresh build their answers from (an account with its
//! unit, grants and roles), cached in the process so that the hot paths need no database
//! round trip, and forgotten as soon as the database says it changed.
//!
//! The database itself records every change to those columns (migration 0013's triggers on
//! accounts, grants, roles and units), whoever made it: this instance, another one, the CLI or
//! an operator's statement. Each instance follows that log:
//! - after every state-changing request it served (`settle`, called by the web layer), so
//!   that its own writes are never answered from the cache;
//! - every `claims_cache_poll_ms` in the background, for everyone else's, also re-reading the
//!   last [`LATE_COMMIT_WINDOW_MS`] by time, for PostgreSQL transactions that commit out of
//!   order.
//!
//! The cache is only used while the log is being followed: until the first read of it, and
//! whenever a read fails (an outage), every lookup goes to the database, which then answers
//! 503 as it would without a cache. An entry lives at most `claims_cache_ttl_secs`, which bounds
//! what a change the log somehow missed could leave stale; access tokens carry their claims for
//! longer than that anyway.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use crate::store::{
    self,
    accounts::Account,
    claim_changes::{self, ClaimChange},
    Db, StoreError,
};

/// How far back by time each background read of the log looks again.
pub const LATE_COMMIT_WINDOW_MS: i64 = 10_000;
/// Changes kept in the log; far longer than any reader lags.
const KEEP_MS: i64 = 3_600_000;
/// More changes than this in one read (a bulk import, say) empty the whole cache instead.
const READ_LIMIT: i64 = 1_000;

/// An account as its claims are built: with its unit, grants and roles. The password hash is
/// not kept (nothing built from a snapshot needs it, and it should not sit in memory).
#[derive(Debug)]
pub struct Snapshot {
    pub account: Account,
    pub grants: Vec<String>,
    pub roles: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
}

#[derive(Clone)]
pub struct ClaimsCache {
    inner: Arc<Inner>,
}

struct Inner {
    capacity: usize,
    ttl: Duration,
    poll_every: Duration,
    entries: Mutex<HashMap<String, Entry>>,
    /// Bumped by every eviction, so that a lookup that read the database while a change came
    /// in does not put what it read in the cache.
    generation: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    follow: tokio::sync::Mutex<Follow>,
    /// Until when the cache may answer: a little after the last successful read of the log.
    trusted_until: Mutex<Option<Instant>>,
}

struct Entry {
    snapshot: Arc<Snapshot>,
    org_id: Option<String>,
    at: Instant,
}

#[derive(Default)]
struct Follow {
    last_seq: Option<i64>,
    /// The changes of the time window already applied, so that re-reading the window forgets
    /// only what it finds new (an account changed a moment ago stays cacheable).
    seen: HashSet<i64>,
    last_purge: Option<Instant>,
}

impl ClaimsCache {
    /// A cache of at most `capacity` accounts (0: no cache, every lookup reads the database).
    pub fn new(capacity: usize, ttl: Duration, poll_every: Duration) -> Self {
        ClaimsCache {
            inner: Arc::new(Inner {
                capacity,
                ttl,
                poll_every,
                entries: Mutex::new(HashMap::new()),
                generation: AtomicU64::new(0),
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                follow: tokio::sync::Mutex::new(Follow::default()),
                trusted_until: Mutex::new(None),
            }),
        }
    }

    pub fn enabled(&self) -> bool {
        self.inner.capacity > 0
    }

    pub fn poll_every(&self) -> Duration {
        self.inner.poll_every
    }

    /// The account `account_id` with its grants and roles, from the cache when it may answer.
    pub async fn snapshot(
        &self,
        db: &Db,
        account_id: &str,
    ) -> Result<Option<Arc<Snapshot>>, StoreError> {
        if let Some(hit) = self.lookup(account_id) {
            self.inner.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Some(hit));
        }
        self.inner.misses.fetch_add(1, Ordering::Relaxed);
        let generation = self.inner.generation.load(Ordering::Acquire);
        let Some(mut account) = store::accounts::find_by_id(db, account_id).await? else {
            return Ok(None);
        };
        let (grants, roles) = store::accounts::grants_and_roles(db, account_id).await?;
        account.password_hash = String::new();
        let org_id = account.org.as_ref().map(|o| o.id.clone());
        let snapshot = Arc::new(Snapshot {
            account,
            grants,
            roles,
        });
        self.insert(account_id, &snapshot, org_id, generation);
        Ok(Some(snapshot))
    }

    /// Lookups answered from memory and from the database since start.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.inner.hits.load(Ordering::Relaxed),
            misses: self.inner.misses.load(Ordering::Relaxed),
        }
    }

    fn trusted(&self) -> bool {
        let until = *self.inner.trusted_until.lock().unwrap();
        until.is_some_and(|t| Instant::now() < t)
    }

    fn lookup(&self, account_id: &str) -> Option<Arc<Snapshot>> {
        if !self.enabled() || !self.trusted() {
            return None;
        }
        let entries = self.inner.entries.lock().unwrap();
        let entry = entries.get(account_id)?;
        (entry.at.elapsed() < self.inner.ttl).then(|| entry.snapshot.clone())
    }

    fn insert(
        &self,
        account_id: &str,
        snapshot: &Arc<Snapshot>,
        org_id: Option<String>,
        generation: u64,
    ) {
        if !self.enabled() || !self.trusted() {
            return;
        }
        let mut entries = self.inner.entries.lock().unwrap();
        // Checked under the lock evictions take, so no eviction can slip in between.
        if self.inner.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= self.inner.capacity {
            let ttl = self.inner.ttl;
            entries.retain(|_, e| e.at.elapsed() < ttl);
            if entries.len() >= self.inner.capacity {
                // Full of live entries: start again rather than keep a bookkeeping of use.
                entries.clear();
            }
        }
        entries.insert(
            account_id.to_owned(),
            Entry {
                snapshot: snapshot.clone(),
                org_id,
                at: Instant::now(),
            },
        );
    }

    fn forget(&self, changes: &[ClaimChange]) {
        let mut entries = self.inner.entries.lock().unwrap();
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        if changes.len() as i64 > READ_LIMIT {
            entries.clear();
            return;
        }
        // One pass over the entries for all the units named, not one per unit.
        let orgs: HashSet<&str> = changes.iter().filter_map(|c| c.org_id.as_deref()).collect();
        if !orgs.is_empty() {
            entries.retain(|_, e| e.org_id.as_deref().is_none_or(|o| !orgs.contains(o)));
        }
        for c in changes {
            if let Some(id) = &c.account_id {
                entries.remove(id);
            }
        }
    }

    /// Forgets every entry.
    fn distrust_entries(&self) {
        let mut entries = self.inner.entries.lock().unwrap();
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Stops answering until the log has been read again, and forgets every entry.
    fn distrust(&self) {
        *self.inner.trusted_until.lock().unwrap() = None;
        self.distrust_entries();
    }

    fn trust(&self) {
        // Three missed background reads in a row and the cache stops answering.
        let until = Instant::now() + self.inner.poll_every * 3;
        *self.inner.trusted_until.lock().unwrap() = Some(until);
    }

    /// Reads the changes logged since the last read and forgets what they touch. Called after
    /// each state-changing request this instance served, so its own writes show at once.
    pub async fn settle(&self, db: &Db) {
        if !self.enabled() {
            return;
        }
        let mut follow = self.inner.follow.lock().await;
        if let Err(e) = self.read_log(db, &mut follow).await {
            tracing::warn!(error = %e, "claims cache: the change log cannot be read; cache off");
            follow.last_seq = None;
            self.distrust();
        }
    }

    /// The background read: the new changes, the last window again by time, and now and then
    /// a purge of old changes.
    pub async fn follow(&self, db: &Db) {
        if !self.enabled() {
            return;
        }
        let mut follow = self.inner.follow.lock().await;
        let read = async {
            self.read_log(db, &mut follow).await?;
            let recent = claim_changes::recent(db, LATE_COMMIT_WINDOW_MS, READ_LIMIT + 1).await?;
            let late: Vec<ClaimChange> = recent
                .iter()
                .filter(|c| !follow.seen.contains(&c.seq))
                .cloned()
                .collect();
            if !late.is_empty() {
                self.forget(&late);
            }
            // What fell out of the window cannot come back into it.
            follow.seen = recent.iter().map(|c| c.seq).collect();
            if follow
                .last_purge
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(600))
            {
                follow.last_purge = Some(Instant::now());
                claim_changes::purge(db, KEEP_MS).await?;
            }
            Ok::<(), StoreError>(())
        };
        match read.await {
            Ok(()) => self.trust(),
            Err(e) => {
                tracing::warn!(error = %e, "claims cache: the change log cannot be read; cache off");
                follow.last_seq = None;
                self.distrust();
            }
        }
    }

    async fn read_log(&self, db: &Db, follow: &mut Follow) -> Result<(), StoreError> {
        let Some(last) = follow.last_seq else {
            // A first read (or the first after an outage): nothing cached can be trusted, so
            // start from an empty cache at the log's end.
            let last = claim_changes::last_seq(db).await?;
            self.distrust();
            follow.last_seq = Some(last);
            follow.seen.clear();
            return Ok(());
        };
        let changes = claim_changes::after_seq(db, last, READ_LIMIT + 1).await?;
        let Some(newest) = changes.last().map(|c| c.seq) else {
            return Ok(());
        };
        // More than one read's worth: there may be more behind, so forget everything.
        let overflow = changes.len() as i64 > READ_LIMIT;
        let new: Vec<ClaimChange> = changes
            .into_iter()
            .filter(|c| follow.seen.insert(c.seq))
            .collect();
        if overflow {
            self.distrust_entries();
        } else if !new.is_empty() {
            self.forget(&new);
        }
        follow.last_seq = Some(if overflow {
            claim_changes::last_seq(db).await?
        } else {
            newest
        });
        Ok(())
    }
}
