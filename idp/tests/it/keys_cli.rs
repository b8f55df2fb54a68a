//! The admin commands: `client add/list/show/rotate-secret/remove` and `keys list/rotate`, run
//! against a live instance's database, with their effect on the running IdP.

use reqwest::StatusCode;
use sqlx::Row;
use tongyi_idp::{
    cli::{run_client, run_keys, ClientCommand, KeysCommand},
    crypto::sha256_hex,
    oidc::keys::SigningAlg,
};

use crate::{
    both_backends,
    harness::{authorize_as, browser, Backend, TestIdp},
    proto::{
        self, client_credentials, code_in, code_request, machine_client_args as args, refresh,
        secret_in, user_tokens, Auth,
    },
    rp,
};

async fn stored_secret_hash(idp: &TestIdp, client_id: &str) -> Option<String> {
    let row = sqlx::query("SELECT secret_hash FROM clients WHERE client_id = $1")
        .bind(client_id)
        .fetch_one(&idp.state.db.pool)
        .await
        .unwrap();
    row.try_get("secret_hash").unwrap()
}

both_backends!(client_commands, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let db = &idp.state.db;
    const ID: &str = "cli-machine";

    // add: the secret is printed once and stored only as its SHA-256.
    let out = run_client(db, ClientCommand::Add(Box::new(args(ID))))
        .await
        .unwrap();
    assert!(out.contains("client_id: cli-machine\n"), "{out}");
    assert!(out.contains("auth_method: client_secret_basic\n"), "{out}");
    assert!(out.contains("(shown once"), "{out}");
    let secret = secret_in(&out);
    assert_eq!(secret.len(), 43, "32 random bytes");
    let stored = stored_secret_hash(&idp, ID).await.expect("a secret hash");
    assert_ne!(stored, secret);
    assert_eq!(stored, sha256_hex(secret.as_bytes()));
    client_credentials(&idp, Auth::Basic(ID, &secret), "reports.read")
        .await
        .assert_ok();

    // Duplicates and invalid definitions are refused.
    let err = run_client(db, ClientCommand::Add(Box::new(args(ID))))
        .await
        .unwrap_err();
    assert!(err.contains("already exists"), "{err}");
    let mut bad = args("cli-bad");
    bad.grant_types = vec!["authorization_code".into()];
    assert!(
        run_client(db, ClientCommand::Add(Box::new(bad)))
            .await
            .is_err(),
        "no redirect URI"
    );
    let mut bad = args("cli-bad");
    bad.alg = "HS256".into();
    assert!(
        run_client(db, ClientCommand::Add(Box::new(bad)))
            .await
            .is_err(),
        "unknown alg"
    );
    let mut bad = args("cli-bad");
    bad.auth_method = "none".into();
    assert!(
        run_client(db, ClientCommand::Add(Box::new(bad)))
            .await
            .is_err(),
        "public machine"
    );
    let mut bad = args("cli bad");
    bad.auth_method = "client_secret_post".into();
    assert!(
        run_client(db, ClientCommand::Add(Box::new(bad)))
            .await
            .is_err(),
        "bad id"
    );
    assert!(run_client(
        db,
        ClientCommand::Show {
            client_id: "cli-bad".into()
        }
    )
    .await
    .is_err());

    // list and show; neither shows the secret or its hash.
    let list = run_client(db, ClientCommand::List).await.unwrap();
    assert!(
        list.lines()
            .any(|l| l == "cli-machine\tclient_secret_basic\t命令行应用 cli-machine"),
        "{list}"
    );
    assert!(list.lines().any(|l| l.starts_with("rp-basic\t")), "{list}");
    let show = run_client(
        db,
        ClientCommand::Show {
            client_id: ID.into(),
        },
    )
    .await
    .unwrap();
    for line in [
        "grant_types: client_credentials",
        "scopes: reports.read",
        "signing_alg: ES256",
        "first_party: true",
    ] {
        assert!(show.lines().any(|l| l == line), "{line} in:\n{show}");
    }
    assert!(!show.contains(&secret) && !show.contains(&stored), "{show}");
    let err = run_client(
        db,
        ClientCommand::Show {
            client_id: "nope".into(),
        },
    )
    .await
    .unwrap_err();
    assert!(err.contains("no client nope"), "{err}");

    // rotate-secret: a new secret; once the cached record is gone, the old one fails.
    let out = run_client(
        db,
        ClientCommand::RotateSecret {
            client_id: ID.into(),
        },
    )
    .await
    .unwrap();
    let new_secret = secret_in(&out);
    assert_ne!(new_secret, secret);
    assert_eq!(
        stored_secret_hash(&idp, ID).await.unwrap(),
        sha256_hex(new_secret.as_bytes())
    );
    // Another instance on the same storage has no cached record: it sees the change at once.
    let fresh = TestIdp::start_on(idp.storage.clone(), Some(idp.issuer.clone()), false).await;
    client_credentials(&fresh, Auth::Basic(ID, &secret), "reports.read")
        .await
        .assert_error(401, "invalid_client");
    client_credentials(&fresh, Auth::Basic(ID, &new_secret), "reports.read")
        .await
        .assert_ok();
    idp.state.clients.forget(ID);
    client_credentials(&idp, Auth::Basic(ID, &secret), "reports.read")
        .await
        .assert_error(401, "invalid_client");
    client_credentials(&idp, Auth::Basic(ID, &new_secret), "reports.read")
        .await
        .assert_ok();
    let err = run_client(
        db,
        ClientCommand::RotateSecret {
            client_id: "rp-public".into(),
        },
    )
    .await
    .unwrap_err();
    assert!(err.contains("has no secret"), "{err}");
    assert!(run_client(
        db,
        ClientCommand::RotateSecret {
            client_id: "nope".into()
        }
    )
    .await
    .is_err());

    // remove: the client is gone.
    let out = run_client(
        db,
        ClientCommand::Remove {
            client_id: ID.into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(out, "removed cli-machine\n");
    idp.state.clients.forget(ID);
    client_credentials(&idp, Auth::Basic(ID, &new_secret), "reports.read")
        .await
        .assert_error(401, "invalid_client");
    assert!(run_client(
        db,
        ClientCommand::Remove {
            client_id: ID.into()
        }
    )
    .await
    .is_err());
    let list = run_client(db, ClientCommand::List).await.unwrap();
    assert!(!list.contains(ID), "{list}");
});

both_backends!(cli_code_client_lifecycle, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let db = &idp.state.db;
    const ID: &str = "cli-web";
    let mut a = args(ID);
    a.redirect_uris = vec![proto::redirect_uri(ID)];
    a.grant_types = vec!["authorization_code".into(), "refresh_token".into()];
    a.auth_method = "client_secret_post".into();
    a.alg = "EdDSA".into();
    a.scopes = vec!["openid".into(), "profile".into()];
    let backchannel = format!("{}/bc/{ID}", idp.receiver);
    a.backchannel_logout_uri = Some(backchannel.clone());
    let secret = secret_in(
        &run_client(db, ClientCommand::Add(Box::new(a)))
            .await
            .unwrap(),
    );
    let show = run_client(
        db,
        ClientCommand::Show {
            client_id: ID.into(),
        },
    )
    .await
    .unwrap();
    assert!(
        show.contains(&format!("backchannel_logout_uri: {backchannel}\n")),
        "{show}"
    );

    // A public client gets no secret.
    let mut p = args("cli-spa");
    p.redirect_uris = vec![proto::redirect_uri("cli-spa")];
    p.grant_types = vec!["authorization_code".into()];
    p.auth_method = "none".into();
    p.scopes = vec!["openid".into()];
    let out = run_client(db, ClientCommand::Add(Box::new(p)))
        .await
        .unwrap();
    assert!(!out.contains("client_secret"), "{out}");
    assert_eq!(stored_secret_hash(&idp, "cli-spa").await, None);

    // The new client works in a code flow.
    let b = browser();
    let req = code_request(&idp, ID, &[("scope", "openid profile")]);
    let redirect = authorize_as(&b, &idp.base, &req.url, "alice").await;
    let code = code_in(&idp, &redirect, &req);
    let redirect_uri = proto::redirect_uri(ID);
    let tokens = proto::token(
        &idp,
        Auth::Post(ID, &secret),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", &req.verifier),
        ],
    )
    .await;
    tokens.assert_ok();
    assert_eq!(rp::header(tokens.str("id_token"))["alg"], "EdDSA");
    let rt = tokens.str("refresh_token").to_owned();

    // Removing it removes its refresh tokens as well.
    run_client(
        db,
        ClientCommand::Remove {
            client_id: ID.into(),
        },
    )
    .await
    .unwrap();
    let left: i64 = sqlx::query("SELECT COUNT(*) AS n FROM refresh_tokens WHERE client_id = $1")
        .bind(ID)
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(left, 0);
    idp.state.clients.forget(ID);
    proto::token(
        &idp,
        Auth::Post(ID, &secret),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    )
    .await
    .assert_error(401, "invalid_client");
    // Its authorization requests end on an error page now.
    let req = code_request(&idp, ID, &[("scope", "openid")]);
    let res = TestIdp::http().get(&req.url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get("location").is_none());
});

async fn jwks_kids(idp: &TestIdp, alg: &str) -> Vec<String> {
    let jwks: serde_json::Value = reqwest::get(idp.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["alg"] == alg)
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn kid_of(jwt: &str) -> String {
    rp::header(jwt)["kid"].as_str().unwrap().to_owned()
}

/// Runs `keys rotate` for one algorithm (`at_once`: `--now`), reloads the keys as the
/// periodic task would, and returns the new kid.
async fn rotate(idp: &TestIdp, alg: &str, at_once: bool) -> String {
    let out = run_keys(
        &idp.state.db,
        &idp.state.config,
        &idp.state.clock,
        KeysCommand::Rotate {
            alg: Some(alg.into()),
            now: at_once,
        },
    )
    .await
    .unwrap();
    let kid = out
        .strip_prefix(&format!("{alg}: new key "))
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("unexpected output {out}"))
        .to_owned();
    let wait = if at_once { "(in 0 s)" } else { "(in 3600 s)" };
    assert!(out.trim_end().ends_with(wait), "{out}");
    reload(idp).await;
    kid
}

async fn reload(idp: &TestIdp) {
    idp.state
        .keys
        .reload_if_changed(&idp.state.db)
        .await
        .unwrap();
}

async fn sorted_kids(idp: &TestIdp, alg: &str) -> Vec<String> {
    let mut kids = jwks_kids(idp, alg).await;
    kids.sort();
    kids
}

fn sorted(kids: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = kids.iter().map(|k| k.to_string()).collect();
    v.sort();
    v
}

async fn list(idp: &TestIdp) -> String {
    run_keys(
        &idp.state.db,
        &idp.state.config,
        &idp.state.clock,
        KeysCommand::List,
    )
    .await
    .unwrap()
}

fn assert_listed(list: &str, kid: &str, state: &str) {
    assert!(
        list.contains(&format!("{kid}\tRS256\t{state}\tsigns from ")),
        "{kid} should be {state}:\n{list}"
    );
}

both_backends!(key_rotation, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let keys = || idp.state.keys.current();
    let before = user_tokens(&idp, "rp-basic").await;
    let at1 = before.str("access_token").to_owned();
    let kid1 = kid_of(&at1);
    assert_eq!(keys().active_kid(SigningAlg::Rs256), Some(kid1.as_str()));
    assert_eq!(jwks_kids(&idp, "RS256").await, vec![kid1.clone()]);
    let es = keys().active_kid(SigningAlg::Es256).unwrap().to_owned();
    let ed = keys().active_kid(SigningAlg::EdDsa).unwrap().to_owned();

    // A scheduled rotation publishes the new key at once but keeps signing with the old one
    // for tokens.key_prepublish_secs (3600 by default), so cached JWK Sets learn it first.
    let kid2 = rotate(&idp, "RS256", false).await;
    assert_ne!(kid2, kid1);
    assert_eq!(sorted_kids(&idp, "RS256").await, sorted(&[&kid1, &kid2]));
    assert_eq!(keys().active_kid(SigningAlg::Rs256), Some(kid1.as_str()));
    assert_eq!(
        kid_of(user_tokens(&idp, "rp-basic").await.str("access_token")),
        kid1
    );
    let listed = list(&idp).await;
    assert_listed(&listed, &kid1, "active");
    assert_listed(&listed, &kid2, "pending");
    // One rotation at a time: a second one is refused while the first is pending.
    let err = run_keys(
        &idp.state.db,
        &idp.state.config,
        &idp.state.clock,
        KeysCommand::Rotate {
            alg: Some("RS256".into()),
            now: true,
        },
    )
    .await
    .unwrap_err();
    assert!(err.contains(&kid2) && err.contains("scheduled"), "{err}");

    // When its time comes the new key signs, on every instance by its own clock: no reload.
    idp.state.clock.advance(3600);
    assert_eq!(keys().active_kid(SigningAlg::Rs256), Some(kid2.as_str()));
    assert_eq!(keys().active_kid(SigningAlg::Es256), Some(es.as_str()));
    assert_eq!(keys().active_kid(SigningAlg::EdDsa), Some(ed.as_str()));
    let signed_by_2 = user_tokens(&idp, "rp-basic").await;
    let at2 = signed_by_2.str("access_token").to_owned();
    assert_eq!(kid_of(&at2), kid2);
    assert_eq!(kid_of(signed_by_2.str("id_token")), kid2);
    // The old key stays published while tokens it signed may still be alive.
    assert_eq!(sorted_kids(&idp, "RS256").await, sorted(&[&kid1, &kid2]));
    let listed = list(&idp).await;
    assert_listed(&listed, &kid1, "previous");
    assert_listed(&listed, &kid2, "active");

    // An RP library verifies the ID token signed with the new key through the JWK Set.
    let client = rp::client(&idp.issuer, "rp-basic", Some(crate::harness::SECRET_BASIC)).await;
    let req = rp::start(&client, &["openid", "profile"]);
    let b = browser();
    let redirect = authorize_as(&b, &idp.base, &req.url, "alice").await;
    let code = rp::code_from(&redirect, &req, &idp.issuer);
    let tokens = client
        .exchange_code(code)
        .unwrap()
        .set_pkce_verifier(req.verifier)
        .request_async(&rp::http())
        .await
        .unwrap();
    use openidconnect::TokenResponse;
    let id_token = tokens.id_token().unwrap();
    id_token
        .claims(&client.id_token_verifier(), &req.nonce)
        .expect("the ID token signed with the new key verifies");
    assert_eq!(kid_of(&id_token.to_string()), kid2);

    // Two immediate rotations in a row: a token signed by kid2 before them still verifies,
    // however often keys rotate, until it expires.
    let kid3 = rotate(&idp, "RS256", true).await;
    let kid4 = rotate(&idp, "RS256", true).await;
    assert_eq!(keys().active_kid(SigningAlg::Rs256), Some(kid4.as_str()));
    assert_eq!(proto::userinfo(&idp, &at2).await.status(), StatusCode::OK);
    assert!(proto::active(&idp, "rp-basic", &at2).await);
    assert_eq!(
        sorted_kids(&idp, "RS256").await,
        sorted(&[&kid1, &kid2, &kid3, &kid4])
    );
    let refreshed = refresh(&idp, "rp-basic", signed_by_2.str("refresh_token")).await;
    refreshed.assert_ok();
    assert_eq!(kid_of(refreshed.str("access_token")), kid4);

    // Retention: the longest token lifetime, plus the reload period, plus a minute of skew;
    // after that the superseded keys leave the JWK Set, and the database at the next reload.
    let t = &idp.state.config.tokens;
    let retention = t.key_retention_secs();
    assert_eq!(
        retention,
        t.access_ttl_secs.max(t.id_ttl_secs).max(120) + t.key_reload_secs as i64 + 60
    );
    let kid4_start: i64 = sqlx::query("SELECT activates_at FROM signing_keys WHERE kid = $1")
        .bind(&kid4)
        .fetch_one(&idp.state.db.pool)
        .await
        .unwrap()
        .try_get("activates_at")
        .unwrap();
    // A few seconds short of the end (the test itself takes time on the real clock).
    let until_end = kid4_start + retention - idp.state.clock.now();
    idp.state.clock.advance(until_end - 3);
    assert!(jwks_kids(&idp, "RS256").await.contains(&kid3));
    idp.state.clock.advance(3);
    assert_eq!(jwks_kids(&idp, "RS256").await, vec![kid4.clone()]);
    reload(&idp).await;
    let listed = list(&idp).await;
    for kid in [&kid1, &kid2, &kid3] {
        assert_listed(&listed, kid, "retired");
    }
    assert_listed(&listed, &kid4, "active");
    let withdrawn: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM signing_keys WHERE alg = 'RS256' AND state = 'retired'",
    )
    .fetch_one(&idp.state.db.pool)
    .await
    .unwrap()
    .try_get("n")
    .unwrap();
    assert_eq!(withdrawn, 3);

    // Rotating everything gives every algorithm a new key, each on its own schedule.
    let out = run_keys(
        &idp.state.db,
        &idp.state.config,
        &idp.state.clock,
        KeysCommand::Rotate {
            alg: None,
            now: true,
        },
    )
    .await
    .unwrap();
    assert_eq!(out.lines().count(), 3, "{out}");
    reload(&idp).await;
    assert_ne!(keys().active_kid(SigningAlg::Es256), Some(es.as_str()));
    assert_ne!(keys().active_kid(SigningAlg::EdDsa), Some(ed.as_str()));
    let machine = client_credentials(&idp, proto::seeded("machine-es"), "reports.read").await;
    assert_eq!(
        Some(kid_of(machine.str("access_token")).as_str()),
        keys().active_kid(SigningAlg::Es256)
    );
    assert!(run_keys(
        &idp.state.db,
        &idp.state.config,
        &idp.state.clock,
        KeysCommand::Rotate {
            alg: Some("HS256".into()),
            now: false,
        },
    )
    .await
    .is_err());
});

both_backends!(
    backup_copies_a_live_sqlite_database,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let dir = tongyi_testkit::TempDir::new("idp-backup", &tongyi_testkit::unique_tag());
        let to = dir.path().join("copy.db");
        let out = tongyi_idp::cli::run_backup(&idp.state.db, &to).await;
        if backend == Backend::PostgresRedis {
            assert!(out.unwrap_err().contains("pg_dump"));
            return;
        }
        out.expect("the backup is written");
        // The copy is a database of its own with the accounts in it.
        let copy = tongyi_idp::store::Db::connect(&format!("sqlite://{}", to.display()))
            .await
            .unwrap();
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM accounts")
            .fetch_one(&copy.pool)
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
        assert!(n >= 2, "{n}");
        // An existing file is never overwritten.
        let again = tongyi_idp::cli::run_backup(&idp.state.db, &to).await;
        assert!(again.unwrap_err().contains("exists"));
    }
);
