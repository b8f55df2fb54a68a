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

/// Runs `keys rotate` for one algorithm and returns the new kid.
async fn rotate(idp: &TestIdp, alg: &str) -> String {
    let out = run_keys(
        &idp.state.db,
        &idp.state.config,
        KeysCommand::Rotate {
            alg: Some(alg.into()),
        },
    )
    .await
    .unwrap();
    let kid = out
        .strip_prefix(&format!("{alg}: new active key "))
        .unwrap_or_else(|| panic!("unexpected output {out}"))
        .trim_end()
        .to_owned();
    idp.state
        .keys
        .reload_if_changed(&idp.state.db)
        .await
        .unwrap();
    kid
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

    let kid2 = rotate(&idp, "RS256").await;
    assert_ne!(kid2, kid1);
    assert_eq!(keys().active_kid(SigningAlg::Rs256), Some(kid2.as_str()));
    assert_eq!(keys().active_kid(SigningAlg::Es256), Some(es.as_str()));
    assert_eq!(keys().active_kid(SigningAlg::EdDsa), Some(ed.as_str()));

    // The token signed before the rotation still verifies.
    assert_eq!(proto::userinfo(&idp, &at1).await.status(), StatusCode::OK);
    assert!(proto::active(&idp, "rp-basic", &at1).await);
    // JWKS publishes both RS256 keys, the others unchanged.
    let mut rs = jwks_kids(&idp, "RS256").await;
    rs.sort();
    let mut expected = vec![kid1.clone(), kid2.clone()];
    expected.sort();
    assert_eq!(rs, expected);
    assert_eq!(jwks_kids(&idp, "ES256").await, vec![es.clone()]);

    // New tokens carry the new kid, and an RP library verifies them with the published JWKS.
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
    use openidconnect::{OAuth2TokenResponse, TokenResponse};
    let id_token = tokens.id_token().unwrap();
    id_token
        .claims(&client.id_token_verifier(), &req.nonce)
        .expect("the ID token signed with the new key verifies");
    assert_eq!(kid_of(&id_token.to_string()), kid2);
    let at2 = tokens.access_token().secret().clone();
    assert_eq!(kid_of(&at2), kid2);
    // A refresh token from before the rotation yields tokens with the new kid.
    let refreshed = refresh(&idp, "rp-basic", before.str("refresh_token")).await;
    refreshed.assert_ok();
    assert_eq!(kid_of(refreshed.str("access_token")), kid2);
    assert_eq!(kid_of(refreshed.str("id_token")), kid2);

    let list = run_keys(&idp.state.db, &idp.state.config, KeysCommand::List)
        .await
        .unwrap();
    assert!(
        list.contains(&format!("{kid1}\tRS256\tprevious\t")),
        "{list}"
    );
    assert!(list.contains(&format!("{kid2}\tRS256\tactive\t")), "{list}");

    // A second rotation retires the first key: tokens signed with it stop verifying.
    let kid3 = rotate(&idp, "RS256").await;
    let mut rs = jwks_kids(&idp, "RS256").await;
    rs.sort();
    let mut expected = vec![kid2.clone(), kid3.clone()];
    expected.sort();
    assert_eq!(rs, expected);
    proto::assert_invalid_token(&idp, &at1).await;
    assert_eq!(proto::userinfo(&idp, &at2).await.status(), StatusCode::OK);
    let list = run_keys(&idp.state.db, &idp.state.config, KeysCommand::List)
        .await
        .unwrap();
    assert!(
        list.contains(&format!("{kid1}\tRS256\tretired\t")),
        "{list}"
    );

    // Rotating everything gives every algorithm a new key.
    let out = run_keys(
        &idp.state.db,
        &idp.state.config,
        KeysCommand::Rotate { alg: None },
    )
    .await
    .unwrap();
    assert_eq!(out.lines().count(), 3, "{out}");
    idp.state
        .keys
        .reload_if_changed(&idp.state.db)
        .await
        .unwrap();
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
        KeysCommand::Rotate {
            alg: Some("HS256".into())
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
