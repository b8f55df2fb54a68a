//! One body per behaviour, run against both stores: the in-process one and Redis (a prefix of
//! its own per test, on the Redis of `tongyi_testkit::redis_url`).

use super::*;
use crate::claims::TongyiClaims;

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

fn pending(expires_at: i64) -> PendingLogin {
    PendingLogin {
        binding: "b".into(),
        nonce: "n".into(),
        pkce_verifier: "v".into(),
        return_to: "/".into(),
        expires_at,
    }
}

async fn redis_store_at(url: &str) -> SessionStore {
    let prefix = tongyi_testkit::redis_prefix(&tongyi_testkit::unique_tag());
    let redis = RedisSessions::connect(url, format!("{prefix}rp:t:"))
        .await
        .expect("Redis 7 at TONGYI_TEST_REDIS");
    SessionStore::Redis(redis)
}

async fn redis_store() -> SessionStore {
    redis_store_at(&tongyi_testkit::redis_url()).await
}

fn memory_store() -> SessionStore {
    SessionStore::Memory(MemorySessions::default())
}

/// Runs `body` against a fresh store of each kind.
macro_rules! both_stores {
    ($memory:ident, $redis:ident, $body:ident) => {
        #[tokio::test]
        async fn $memory() {
            $body(memory_store()).await;
        }
        #[tokio::test]
        async fn $redis() {
            $body(redis_store().await).await;
        }
    };
}

async fn expiry_and_matching(store: SessionStore) {
    for (k, u, s) in [("a", "u1", "s1"), ("b", "u1", "s2"), ("c", "u2", "s3")] {
        store
            .insert(session(k, u, s), tokens(false), 0)
            .await
            .unwrap();
    }
    let a = store.get("a", 99).await.unwrap().expect("live");
    assert_eq!((a.subject.as_str(), a.key.as_str()), ("u1", "a"));
    assert!(
        store.get("a", 100).await.unwrap().is_none(),
        "expired at exp"
    );
    assert!(store.get("nobody", 0).await.unwrap().is_none());
    assert_eq!(
        store.end_matching(Some("s2"), Some("u2")).await.unwrap(),
        0,
        "sub must agree"
    );
    assert_eq!(store.end_matching(Some("s2"), None).await.unwrap(), 1);
    assert!(store.get("b", 0).await.unwrap().is_none());
    store
        .insert(session("d", "u2", "s4"), tokens(false), 0)
        .await
        .unwrap();
    assert_eq!(store.end_matching(None, Some("u2")).await.unwrap(), 2);
    assert!(store.get("c", 0).await.unwrap().is_none());
    assert!(store.get("d", 0).await.unwrap().is_none());
    assert_eq!(store.end_matching(None, None).await.unwrap(), 0);
}
both_stores!(
    expiry_and_matching_in_memory,
    expiry_and_matching_in_redis,
    expiry_and_matching
);

async fn a_refreshable_session_outlives_its_id_token_but_not_its_claims(store: SessionStore) {
    let ends = store
        .insert(session("a", "u1", "s1"), tokens(true), 0)
        .await
        .unwrap();
    assert_eq!(ends, crate::rp::session::SESSION_MAX_SECS);
    assert!(
        store.get("a", 100).await.unwrap().is_none(),
        "stale claims are not served"
    );
    let snap = store
        .snapshot("a", 100)
        .await
        .unwrap()
        .expect("still refreshable");
    assert!(snap.stale(100));
    let mut renewed = snap.session.clone();
    renewed.expires_at = 400;
    let mut t = snap.tokens.clone();
    t.access_expires_at = 400;
    t.access_token = "at2".into();
    assert!(store.update(renewed, t).await.unwrap());
    let again = store.snapshot("a", 300).await.unwrap().expect("renewed");
    assert_eq!(again.tokens.access_token, "at2");
    assert!(store.get("a", 300).await.unwrap().is_some());
    assert!(
        store.snapshot("a", ends).await.unwrap().is_none(),
        "hard limit"
    );
    assert!(
        store.snapshot("a", 0).await.unwrap().is_none(),
        "dropped on the way"
    );
}
both_stores!(
    refreshable_session_in_memory,
    refreshable_session_in_redis,
    a_refreshable_session_outlives_its_id_token_but_not_its_claims
);

async fn an_update_does_not_revive_an_ended_session(store: SessionStore) {
    store
        .insert(session("a", "u1", "s1"), tokens(true), 0)
        .await
        .unwrap();
    let snap = store.snapshot("a", 0).await.unwrap().unwrap();
    assert_eq!(store.end_matching(Some("s1"), None).await.unwrap(), 1);
    assert!(!store.update(snap.session, snap.tokens).await.unwrap());
    assert!(store.snapshot("a", 0).await.unwrap().is_none());
    store
        .insert(session("b", "u1", "s1"), tokens(true), 0)
        .await
        .unwrap();
    store.remove("b").await.unwrap();
    assert!(store.snapshot("b", 0).await.unwrap().is_none());
}
both_stores!(
    no_revival_in_memory,
    no_revival_in_redis,
    an_update_does_not_revive_an_ended_session
);

async fn pending_is_single_use_and_expires(store: SessionStore) {
    assert!(store.insert_pending("s", pending(10), 0).await.unwrap());
    let p = store.take_pending("s", 5).await.unwrap().expect("parked");
    assert_eq!(p.pkce_verifier, "v");
    assert!(
        store.take_pending("s", 5).await.unwrap().is_none(),
        "single use"
    );
    assert!(store.insert_pending("t", pending(10), 0).await.unwrap());
    assert!(
        store.take_pending("t", 10).await.unwrap().is_none(),
        "expired"
    );
}
both_stores!(
    pending_in_memory,
    pending_in_redis,
    pending_is_single_use_and_expires
);

async fn one_refresh_at_a_time(store: SessionStore) {
    store
        .insert(session("a", "u1", "s1"), tokens(true), 0)
        .await
        .unwrap();
    let store = std::sync::Arc::new(store);
    let first = store.lock_refresh("a").await.unwrap();
    let waiter = tokio::spawn({
        let store = store.clone();
        async move { store.lock_refresh("a").await.map(|_| ()) }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "the second refresh waits");
    let other = store.lock_refresh("b").await.unwrap();
    drop(other);
    drop(first);
    tokio::time::timeout(Duration::from_secs(2), waiter)
        .await
        .expect("released on drop")
        .unwrap()
        .unwrap();
}
both_stores!(
    refresh_lock_in_memory,
    refresh_lock_in_redis,
    one_refresh_at_a_time
);

#[tokio::test]
async fn a_redis_outage_fails_fast_and_recovery_needs_no_restart() {
    let target = tongyi_testkit::redis_url();
    let target = target.trim_start_matches("redis://").trim_end_matches('/');
    let relay = tongyi_testkit::Relay::start(target).await;
    let store = redis_store_at(&format!("redis://{}", relay.addr)).await;
    store
        .insert(session("a", "u1", "s1"), tokens(true), 0)
        .await
        .unwrap();
    relay.cut();
    let started = std::time::Instant::now();
    let err = store.get("a", 0).await.expect_err("Redis is unreachable");
    assert!(matches!(err, StoreError::Redis(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered in {:?}",
        started.elapsed()
    );
    relay.restore();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match store.get("a", 0).await {
            Ok(found) => {
                assert!(found.is_some(), "the session outlived the outage");
                break;
            }
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("not recovered: {e}"),
        }
    }
}
