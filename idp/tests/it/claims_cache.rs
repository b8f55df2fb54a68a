//! The claims cache (idp-core `oidc::claims_cache`): userinfo, introspection and refresh are
//! answered from memory, and what changes in the database reaches them: at once when this
//! instance made the change, within the poll interval when anyone else did (another instance,
//! the CLI, a hand-written statement), through the change log the database's triggers write.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    both_backends,
    directory::{api, ok, token},
    harness::{Backend, TestIdp},
    proto::{self, user_tokens},
};

async fn userinfo(idp: &TestIdp, access_token: &str) -> (StatusCode, Value) {
    let res = proto::userinfo(idp, access_token).await;
    let status = res.status();
    let body = if status == StatusCode::OK {
        res.json().await.unwrap()
    } else {
        Value::Null
    };
    (status, body)
}

/// Calls userinfo until `done` holds for its answer, for at most ten seconds (the poll
/// interval of these tests is 50 ms: the deadline only keeps a broken build from hanging).
async fn userinfo_until(
    idp: &TestIdp,
    access_token: &str,
    what: &str,
    done: impl Fn(StatusCode, &Value) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = userinfo(idp, access_token).await;
        if done(status, &body) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: still {status} {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the cache answers (its first read of the change log is done) and returns the
/// hits so far.
async fn warm(idp: &TestIdp, access_token: &str) -> u64 {
    let before = idp.state.claims.stats().hits;
    userinfo_until(idp, access_token, "cache warming", |s, _| {
        s == StatusCode::OK && idp.state.claims.stats().hits > before
    })
    .await;
    idp.state.claims.stats().hits
}

async fn exec(idp: &TestIdp, sql: &str) {
    sqlx::query(sql).execute(&idp.state.db.pool).await.unwrap();
}

both_backends!(
    changes_made_elsewhere_reach_the_cache_through_the_log,
    |backend: Backend| async move {
        let idp = TestIdp::start_configured(backend, |c| c.tokens.claims_cache_poll_ms = 50).await;
        let tokens = user_tokens(&idp, "rp-basic").await;
        let at = tokens.str("access_token").to_owned();
        let hits = warm(&idp, &at).await;
        // Answered from memory: a second call is a hit, not a read.
        let misses = idp.state.claims.stats().misses;
        let (_, body) = userinfo(&idp, &at).await;
        assert_eq!(body["grants"], json!(["incubator"]));
        assert!(idp.state.claims.stats().hits > hits);
        assert_eq!(idp.state.claims.stats().misses, misses);

        // Statements straight to the database, as another instance or an operator would
        // write them: this instance serves no request that changes anything.
        exec(
            &idp,
            "DELETE FROM account_grants WHERE account_id = 'acct-alice'",
        )
        .await;
        userinfo_until(&idp, &at, "a grant removed elsewhere", |_, b| {
            b["grants"] == json!([])
        })
        .await;
        exec(
            &idp,
            "INSERT INTO account_grants (account_id, subsystem_code, granted_at) \
             VALUES ('acct-alice', 'incubator', 0)",
        )
        .await;
        userinfo_until(&idp, &at, "a grant added elsewhere", |_, b| {
            b["grants"] == json!(["incubator"])
        })
        .await;
        // The unit's change reaches its members: a suspended unit lends no grants.
        exec(
            &idp,
            "UPDATE organizations SET status = 'suspended' WHERE id = 'org-1'",
        )
        .await;
        userinfo_until(&idp, &at, "the unit suspended elsewhere", |_, b| {
            b["grants"] == json!([]) && b["org"]["status"] == "suspended"
        })
        .await;
        exec(
            &idp,
            "UPDATE accounts SET display_name = '王爱丽' WHERE id = 'acct-alice'",
        )
        .await;
        userinfo_until(&idp, &at, "a name changed elsewhere", |_, b| {
            b["name"] == "王爱丽"
        })
        .await;
        // A disabled account: userinfo refuses the token, introspection calls it inactive,
        // and its refresh token is refused.
        exec(
            &idp,
            "UPDATE accounts SET status = 'disabled' WHERE id = 'acct-alice'",
        )
        .await;
        userinfo_until(&idp, &at, "the account disabled elsewhere", |s, _| {
            s == StatusCode::UNAUTHORIZED
        })
        .await;
        assert!(!proto::active(&idp, "rp-basic", &at).await);
        proto::refresh(&idp, "rp-basic", tokens.str("refresh_token"))
            .await
            .assert_error(400, "invalid_grant");
    }
);

both_backends!(
    this_instances_own_changes_show_at_once,
    |backend: Backend| async move {
        // A poll interval far longer than the test: only reading the log after the change
        // request can explain a fresh answer.
        let idp =
            TestIdp::start_configured(backend, |c| c.tokens.claims_cache_poll_ms = 600_000).await;
        let tokens = user_tokens(&idp, "rp-basic").await;
        let at = tokens.str("access_token").to_owned();
        warm(&idp, &at).await;
        let unit = token(&idp, "unit_admin").await;
        ok(api(
            &idp,
            "PUT",
            "/api/units/org-1/members/acct-alice/grants",
            Some(&unit),
            Some(json!({"grants": []})),
        )
        .await);
        let (status, body) = userinfo(&idp, &at).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["grants"], json!([]), "userinfo right after the change");
        let refreshed = proto::refresh(&idp, "rp-basic", tokens.str("refresh_token")).await;
        refreshed.assert_ok();
        assert_eq!(
            crate::rp::payload(refreshed.str("id_token"))["grants"],
            json!([]),
            "refresh right after the change"
        );
    }
);

both_backends!(
    an_unreadable_log_turns_the_cache_off,
    |backend: Backend| async move {
        let idp = TestIdp::start_configured(backend, |c| c.tokens.claims_cache_poll_ms = 50).await;
        let at = user_tokens(&idp, "rp-basic")
            .await
            .str("access_token")
            .to_owned();
        warm(&idp, &at).await;
        // The log gone (as in an outage of the database the log lives in): the cache cannot
        // know what changed, so every lookup reads the database.
        exec(
            &idp,
            "ALTER TABLE claim_changes RENAME TO claim_changes_away",
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let hits = idp.state.claims.stats().hits;
            let (status, _) = userinfo(&idp, &at).await;
            assert_eq!(status, StatusCode::OK, "the database still answers");
            if idp.state.claims.stats().hits == hits {
                break;
            }
            assert!(Instant::now() < deadline, "the cache kept answering");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for _ in 0..5 {
            let hits = idp.state.claims.stats().hits;
            userinfo(&idp, &at).await;
            assert_eq!(
                idp.state.claims.stats().hits,
                hits,
                "no hit while the log is away"
            );
        }
        exec(
            &idp,
            "ALTER TABLE claim_changes_away RENAME TO claim_changes",
        )
        .await;
        warm(&idp, &at).await;
    }
);
