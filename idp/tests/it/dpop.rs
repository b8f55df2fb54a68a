//! DPoP (RFC 9449, issue 17): access tokens bound to the key of the token request's proof
//! (`cnf.jkt`, `token_type` DPoP), refresh tokens of public clients bound to it, the proof
//! checks at the token endpoint and at userinfo, server nonces, per-client
//! `dpop_bound_access_tokens`, introspection, discovery and CORS. No RP library speaks DPoP,
//! so the proofs are built here with josekit and sent as raw requests.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use josekit::{
    jwk::{
        alg::{ec::EcCurve, ec::EcKeyPair, rsa::RsaKeyPair},
        Jwk,
    },
    jws::{JwsHeader, JwsSigner, ES256, RS256},
    jwt::{self, JwtPayload},
};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tongyi_idp::cli::{run_client, ClientCommand};

use crate::{
    both_backends,
    harness::{authorize_as, browser, Backend, Storage, TestIdp},
    proto::{
        self, code_in, code_request, introspect, machine_client_args, redirect_uri, secret_in,
        seeded, Auth, Reply,
    },
    rp,
};

/// A client's DPoP key pair.
struct DpopKey {
    private: Jwk,
    public: Jwk,
    rsa: bool,
}

impl DpopKey {
    fn es256() -> Self {
        let k = EcKeyPair::generate(EcCurve::P256).unwrap();
        DpopKey {
            private: k.to_jwk_private_key(),
            public: k.to_jwk_public_key(),
            rsa: false,
        }
    }

    fn rs256() -> Self {
        let k = RsaKeyPair::generate(2048).unwrap();
        DpopKey {
            private: k.to_jwk_private_key(),
            public: k.to_jwk_public_key(),
            rsa: true,
        }
    }

    /// The RFC 7638 thumbprint, computed here apart from the IdP's code.
    fn jkt(&self) -> String {
        let m = |name: &str| self.public.parameter(name).unwrap().as_str().unwrap();
        let canonical = if self.rsa {
            format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, m("e"), m("n"))
        } else {
            format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                m("crv"),
                m("x"),
                m("y")
            )
        };
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// A proof for `htm` `htu` issued at `iat`, with a fresh jti and the `extra` claims.
    fn proof_at(&self, htm: &str, htu: &str, iat: i64, extra: &[(&str, &str)]) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type("dpop+jwt");
        header.set_jwk(self.public.clone());
        let mut payload = JwtPayload::new();
        payload.set_jwt_id(tongyi_idp::crypto::random_token(16));
        payload.set_claim("htm", Some(htm.into())).unwrap();
        payload.set_claim("htu", Some(htu.into())).unwrap();
        payload.set_claim("iat", Some(iat.into())).unwrap();
        for (k, v) in extra {
            payload.set_claim(k, Some(Value::from(*v))).unwrap();
        }
        let signer: Box<dyn JwsSigner> = if self.rsa {
            Box::new(RS256.signer_from_jwk(&self.private).unwrap())
        } else {
            Box::new(ES256.signer_from_jwk(&self.private).unwrap())
        };
        jwt::encode_with_signer(&payload, &header, &*signer).unwrap()
    }

    /// A good proof for the token endpoint, now.
    fn for_token(&self, idp: &TestIdp) -> String {
        self.proof_at("POST", &token_url(idp), idp.state.clock.now(), &[])
    }

    /// A good proof for GET /userinfo with `access_token`, now.
    fn for_userinfo(&self, idp: &TestIdp, access_token: &str) -> String {
        self.proof_at(
            "GET",
            &format!("{}/userinfo", idp.issuer),
            idp.state.clock.now(),
            &[("ath", &ath(access_token))],
        )
    }
}

fn token_url(idp: &TestIdp) -> String {
    format!("{}/token", idp.issuer)
}

fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// A token request with the client authentication `auth` and, when given, a DPoP header.
async fn token(idp: &TestIdp, auth: Auth<'_>, form: &[(&str, &str)], proof: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = proof.map(|p| ("DPoP", p)).into_iter().collect();
    proto::post_form_with(idp, "/token", auth, form, &headers).await
}

async fn client_credentials(idp: &TestIdp, auth: Auth<'_>, proof: Option<&str>) -> Reply {
    token(
        idp,
        auth,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "reports.read"),
        ],
        proof,
    )
    .await
}

async fn refresh(idp: &TestIdp, auth: Auth<'_>, rt: &str, proof: Option<&str>) -> Reply {
    token(
        idp,
        auth,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        proof,
    )
    .await
}

/// Alice's tokens at `client` through the code flow, the code redeemed with `proof`.
async fn code_tokens(
    idp: &TestIdp,
    client: &str,
    auth: Auth<'_>,
    proof: impl FnOnce() -> Option<String>,
) -> Reply {
    let req = code_request(idp, client, &[]);
    let redirect = authorize_as(&browser(), &idp.base, &req.url, "alice").await;
    let code = code_in(idp, &redirect, &req);
    let cb = redirect_uri(client);
    let proof = proof();
    token(
        idp,
        auth,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &cb),
            ("code_verifier", &req.verifier),
        ],
        proof.as_deref(),
    )
    .await
}

/// GET /userinfo with `Authorization: {scheme} {token}` and, when given, a DPoP header.
async fn userinfo(
    idp: &TestIdp,
    scheme: &str,
    access_token: &str,
    proof: Option<&str>,
) -> reqwest::Response {
    let mut req = TestIdp::http()
        .get(idp.url("/userinfo"))
        .header("authorization", format!("{scheme} {access_token}"));
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    req.send().await.unwrap()
}

/// Asserts a 401 with a `DPoP` challenge naming `error`.
async fn assert_dpop_challenge(res: reqwest::Response, error: &str) {
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let challenge = proto::www_authenticate(&res);
    assert!(
        challenge.starts_with("DPoP ") && challenge.contains(&format!("error=\"{error}\"")),
        "{challenge}"
    );
}

/// Asserts that a token response is DPoP-bound to `key`.
#[track_caller]
fn assert_bound(r: &Reply, key: &DpopKey) {
    r.assert_ok();
    assert_eq!(r.str("token_type"), "DPoP", "{r:?}");
    assert_eq!(
        rp::payload(r.str("access_token"))["cnf"]["jkt"],
        key.jkt(),
        "{r:?}"
    );
}

both_backends!(
    client_credentials_bound_to_the_proof_key,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let machine = seeded("machine-es");
        // Without a proof: a Bearer token, as before.
        let plain = client_credentials(&idp, machine, None).await;
        plain.assert_ok();
        assert_eq!(plain.str("token_type"), "Bearer");
        assert!(rp::payload(plain.str("access_token")).get("cnf").is_none());

        for key in [DpopKey::es256(), DpopKey::rs256()] {
            let r = client_credentials(&idp, machine, Some(&key.for_token(&idp))).await;
            assert_bound(&r, &key);
            // Introspection tells a resource server the binding (RFC 9449 §6.2).
            let i = introspect(&idp, machine, r.str("access_token")).await;
            assert_eq!(i.body["active"], true);
            assert_eq!(i.body["token_type"], "DPoP");
            assert_eq!(i.body["cnf"]["jkt"], key.jkt());
        }
        let i = introspect(&idp, machine, plain.str("access_token")).await;
        assert_eq!(i.body["token_type"], "Bearer");
        assert!(i.body.get("cnf").is_none(), "{:?}", i.body);
    }
);

both_backends!(
    proofs_that_do_not_fit_are_refused,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let machine = seeded("machine-es");
        let key = DpopKey::es256();
        let now = idp.state.clock.now();
        let url = token_url(&idp);
        let refused = |r: Reply| {
            r.assert_error(400, "invalid_dpop_proof");
            r
        };
        // Another method, another URL (userinfo's), too old, from too far ahead.
        refused(
            client_credentials(&idp, machine, Some(&key.proof_at("GET", &url, now, &[]))).await,
        );
        let userinfo_url = format!("{}/userinfo", idp.issuer);
        refused(
            client_credentials(
                &idp,
                machine,
                Some(&key.proof_at("POST", &userinfo_url, now, &[])),
            )
            .await,
        );
        refused(
            client_credentials(
                &idp,
                machine,
                Some(&key.proof_at("POST", &url, now - 120, &[])),
            )
            .await,
        );
        refused(
            client_credentials(
                &idp,
                machine,
                Some(&key.proof_at("POST", &url, now + 120, &[])),
            )
            .await,
        );
        // Not a proof at all, and two proofs at once.
        refused(client_credentials(&idp, machine, Some("not.a.jwt")).await);
        let two = TestIdp::http()
            .post(idp.url("/token"))
            .basic_auth("machine-es", Some(crate::harness::SECRET_MACHINE))
            .header("DPoP", key.for_token(&idp))
            .header("DPoP", key.for_token(&idp))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(two.status(), StatusCode::BAD_REQUEST);
        // A query on htu is ignored (RFC 9449 §4.3), a proof is good once only.
        let proof = key.proof_at("POST", &format!("{url}?x=1"), now, &[]);
        assert_bound(&client_credentials(&idp, machine, Some(&proof)).await, &key);
        let replayed = refused(client_credentials(&idp, machine, Some(&proof)).await);
        assert_eq!(
            replayed.str("error_description"),
            "the proof was already used"
        );
    }
);

both_backends!(
    a_client_registered_for_dpop_must_send_a_proof,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let mut args = machine_client_args("machine-dpop");
        args.dpop_bound_access_tokens = true;
        let out = run_client(&idp.state.db, ClientCommand::Add(Box::new(args)))
            .await
            .unwrap();
        assert!(out.contains("dpop_bound_access_tokens: true"), "{out}");
        let secret = secret_in(&out);
        let auth = Auth::Basic("machine-dpop", &secret);
        let r = client_credentials(&idp, auth, None).await;
        r.assert_error(400, "invalid_dpop_proof");
        let key = DpopKey::es256();
        assert_bound(
            &client_credentials(&idp, auth, Some(&key.for_token(&idp))).await,
            &key,
        );
    }
);

both_backends!(
    public_client_code_flow_refresh_and_userinfo,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let client = Auth::Public("rp-public");
        let key = DpopKey::es256();
        let tokens = code_tokens(&idp, "rp-public", client, || Some(key.for_token(&idp))).await;
        assert_bound(&tokens, &key);
        let access = tokens.str("access_token").to_owned();

        // Userinfo with the DPoP scheme and a proof of the key.
        let res = userinfo(
            &idp,
            "DPoP",
            &access,
            Some(&key.for_userinfo(&idp, &access)),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        let info: Value = res.json().await.unwrap();
        assert_eq!(info["sub"], "acct-alice");
        // POST with a proof for POST works too.
        let now = idp.state.clock.now();
        let post_proof = key.proof_at(
            "POST",
            &format!("{}/userinfo", idp.issuer),
            now,
            &[("ath", &ath(&access))],
        );
        let res = TestIdp::http()
            .post(idp.url("/userinfo"))
            .header("authorization", format!("DPoP {access}"))
            .header("DPoP", post_proof)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);

        // As a Bearer token (header or body), without a proof, with a proof of another key,
        // without ath, with the ath of another token, for GET but sent as POST, replayed.
        assert_dpop_challenge(
            userinfo(&idp, "Bearer", &access, None).await,
            "invalid_token",
        )
        .await;
        let body = TestIdp::http()
            .post(idp.url("/userinfo"))
            .form(&[("access_token", access.as_str())])
            .send()
            .await
            .unwrap();
        assert_dpop_challenge(body, "invalid_token").await;
        assert_dpop_challenge(
            userinfo(&idp, "DPoP", &access, None).await,
            "invalid_dpop_proof",
        )
        .await;
        let other = DpopKey::es256();
        assert_dpop_challenge(
            userinfo(
                &idp,
                "DPoP",
                &access,
                Some(&other.for_userinfo(&idp, &access)),
            )
            .await,
            "invalid_dpop_proof",
        )
        .await;
        let url = format!("{}/userinfo", idp.issuer);
        let no_ath = key.proof_at("GET", &url, now, &[]);
        assert_dpop_challenge(
            userinfo(&idp, "DPoP", &access, Some(&no_ath)).await,
            "invalid_dpop_proof",
        )
        .await;
        let wrong_ath = key.proof_at("GET", &url, now, &[("ath", &ath("another token"))]);
        assert_dpop_challenge(
            userinfo(&idp, "DPoP", &access, Some(&wrong_ath)).await,
            "invalid_dpop_proof",
        )
        .await;
        let once = key.for_userinfo(&idp, &access);
        assert_eq!(
            userinfo(&idp, "DPoP", &access, Some(&once)).await.status(),
            StatusCode::OK
        );
        assert_dpop_challenge(
            userinfo(&idp, "DPoP", &access, Some(&once)).await,
            "invalid_dpop_proof",
        )
        .await;

        // The refresh token is bound too (RFC 9449 §5): no proof, or a proof of another key,
        // is refused without spending the token.
        let rt = tokens.str("refresh_token").to_owned();
        refresh(&idp, client, &rt, None)
            .await
            .assert_error(400, "invalid_dpop_proof");
        refresh(&idp, client, &rt, Some(&other.for_token(&idp)))
            .await
            .assert_error(400, "invalid_dpop_proof");
        let next = refresh(&idp, client, &rt, Some(&key.for_token(&idp))).await;
        assert_bound(&next, &key);
        // The binding survives the rotation.
        let rt2 = next.str("refresh_token").to_owned();
        refresh(&idp, client, &rt2, Some(&other.for_token(&idp)))
            .await
            .assert_error(400, "invalid_dpop_proof");
        assert_bound(
            &refresh(&idp, client, &rt2, Some(&key.for_token(&idp))).await,
            &key,
        );
    }
);

both_backends!(
    confidential_client_refresh_tokens_stay_unbound,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let client = seeded("rp-basic");
        let first = DpopKey::es256();
        let tokens = code_tokens(&idp, "rp-basic", client, || Some(first.for_token(&idp))).await;
        assert_bound(&tokens, &first);
        let rt = tokens.str("refresh_token").to_owned();
        let i = introspect(&idp, client, &rt).await;
        assert_eq!(i.body["active"], true);
        assert!(i.body.get("cnf").is_none(), "{:?}", i.body);
        // RFC 9449 §5: the client's authentication binds its refresh token; the new access
        // token is bound to the new proof's key.
        let second = DpopKey::rs256();
        let next = refresh(&idp, client, &rt, Some(&second.for_token(&idp))).await;
        assert_bound(&next, &second);
        let plain = refresh(&idp, client, next.str("refresh_token"), None).await;
        plain.assert_ok();
        assert_eq!(plain.str("token_type"), "Bearer");

        // The directory API takes Bearer tokens only: a bound one is refused there.
        let idp = &idp;
        let api = |token: String| async move {
            TestIdp::http()
                .get(idp.url("/api/me/legacy-records"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        };
        assert_eq!(api(plain.str("access_token").into()).await, StatusCode::OK);
        assert_eq!(
            api(next.str("access_token").into()).await,
            StatusCode::UNAUTHORIZED
        );
    }
);

both_backends!(server_nonces, |backend: Backend| async move {
    let storage = Storage::new(backend).await;
    let require = |c: &mut tongyi_idp::config::Config| c.dpop.require_nonce = true;
    let idp = TestIdp::start_on_with(storage.clone(), None, true, require).await;
    let machine = seeded("machine-es");
    let key = DpopKey::es256();
    let url = token_url(&idp);

    // Without a nonce: use_dpop_nonce with the nonce to send (RFC 9449 §8).
    let r = client_credentials(&idp, machine, Some(&key.for_token(&idp))).await;
    r.assert_error(400, "use_dpop_nonce");
    let nonce = r.header("dpop-nonce").expect("a DPoP-Nonce").to_owned();
    let wrong = key.proof_at("POST", &url, idp.state.clock.now(), &[("nonce", "made-up")]);
    client_credentials(&idp, machine, Some(&wrong))
        .await
        .assert_error(400, "use_dpop_nonce");
    let with_nonce = key.proof_at("POST", &url, idp.state.clock.now(), &[("nonce", &nonce)]);
    let ok = client_credentials(&idp, machine, Some(&with_nonce)).await;
    assert_bound(&ok, &key);
    assert!(
        ok.header("dpop-nonce").is_some(),
        "the next nonce comes along"
    );

    // Another instance of the same deployment takes the nonce without sharing any state.
    let other =
        TestIdp::start_on_with(storage.clone(), Some(idp.issuer.clone()), false, require).await;
    let elsewhere = key.proof_at("POST", &url, idp.state.clock.now(), &[("nonce", &nonce)]);
    assert_bound(
        &client_credentials(&other, machine, Some(&elsewhere)).await,
        &key,
    );

    // At userinfo: 401 with a DPoP challenge and the nonce.
    let tokens = code_tokens(&idp, "rp-public", Auth::Public("rp-public"), || {
        Some(key.proof_at("POST", &url, idp.state.clock.now(), &[("nonce", &nonce)]))
    })
    .await;
    assert_bound(&tokens, &key);
    let access = tokens.str("access_token");
    let res = userinfo(&idp, "DPoP", access, Some(&key.for_userinfo(&idp, access))).await;
    assert!(res.headers().get("dpop-nonce").is_some());
    assert_dpop_challenge(res, "use_dpop_nonce").await;
    let proof = key.proof_at(
        "GET",
        &format!("{}/userinfo", idp.issuer),
        idp.state.clock.now(),
        &[("ath", &ath(access)), ("nonce", &nonce)],
    );
    let res = userinfo(&idp, "DPoP", access, Some(&proof)).await;
    assert_eq!(res.status(), StatusCode::OK);
});

both_backends!(
    advertised_and_allowed_from_browsers,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let doc: Value = TestIdp::http()
            .get(idp.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let algs = doc["dpop_signing_alg_values_supported"].as_array().unwrap();
        assert!(algs.contains(&Value::from("ES256")) && algs.contains(&Value::from("RS256")));
        let res = TestIdp::http()
            .request(reqwest::Method::OPTIONS, idp.url("/token"))
            .header("origin", "http://rp-public.test")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type, dpop")
            .send()
            .await
            .unwrap();
        let allowed = res.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap();
        assert!(allowed.contains("dpop"), "{allowed}");
        let res = TestIdp::http()
            .post(idp.url("/token"))
            .header("origin", "http://rp-public.test")
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        let exposed = res.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap();
        assert!(exposed.contains("dpop-nonce"), "{exposed}");
    }
);

both_backends!(
    a_code_bound_by_dpop_jkt_needs_that_key,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let client = Auth::Public("rp-public");
        let key = DpopKey::es256();
        let jkt = key.jkt();
        // RFC 9449 §10: the code is bound to the key named at /authorize.
        let redeem = |proof: Option<String>| {
            let idp = &idp;
            let jkt = jkt.clone();
            async move {
                let req = code_request(idp, "rp-public", &[("dpop_jkt", &jkt)]);
                let redirect = authorize_as(&browser(), &idp.base, &req.url, "alice").await;
                let code = code_in(idp, &redirect, &req);
                let cb = redirect_uri("rp-public");
                token(
                    idp,
                    client,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", &cb),
                        ("code_verifier", &req.verifier),
                    ],
                    proof.as_deref(),
                )
                .await
            }
        };
        redeem(Some(DpopKey::es256().for_token(&idp)))
            .await
            .assert_error(400, "invalid_dpop_proof");
        redeem(None).await.assert_error(400, "invalid_dpop_proof");
        assert_bound(&redeem(Some(key.for_token(&idp))).await, &key);

        // A dpop_jkt that is no thumbprint is an invalid request.
        let req = code_request(&idp, "rp-public", &[("dpop_jkt", "short")]);
        let res = TestIdp::http().get(&req.url).send().await.unwrap();
        proto::assert_error_redirect(&idp, &res, "rp-public", Some(&req.state), "invalid_request");
    }
);
