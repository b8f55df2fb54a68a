//! The directory API: departments, the review of units (each transition and each refused
//! one), unit search, memberships, grants and their propagation to tokens and subsystem
//! sessions, and who may do what.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tongyi_idp::store::{
    self,
    accounts::{NewAccount, NewOrg},
};
use tongyi_shared::claims::{AccountType, RealnameStatus};

use crate::{
    both_backends,
    harness::{browser, follow, hidden, Backend, Outcome, TestIdp, PASSWORD},
    proto::{code_in, code_request, exchange, Reply},
    rp,
};

/// Adds an account (password [`PASSWORD`], login name = id) in `org` with `org_role`.
pub(crate) async fn add_account(
    idp: &TestIdp,
    id: &str,
    account_type: AccountType,
    org: Option<(&str, &str)>,
    roles: &[&str],
) {
    let now = idp.state.clock.now();
    let cfg = idp.state.config.login.clone();
    let hash = tongyi_idp::accounts::password::hash_blocking(PASSWORD, &cfg).unwrap();
    let account = NewAccount {
        id: id.into(),
        login_name: id.into(),
        password_hash: hash,
        account_type,
        display_name: format!("{id} 名"),
        realname_status: RealnameStatus::Verified,
        org_id: org.map(|(o, _)| o.into()),
        org_role: org.and_then(|(_, r)| tongyi_shared::org::OrgRole::parse(r)),
        grants: vec![],
        roles: roles.iter().map(|r| r.to_string()).collect(),
        login_name_chosen: true,
    };
    let contact = idp.state.pii.seal_contact(None, None);
    assert!(
        store::accounts::insert_with_contact(&idp.state.db, &account, &contact, now)
            .await
            .unwrap()
    );
}

/// Adds a unit in `status` with its legal-entity admin account `admin`.
pub(crate) async fn add_unit(idp: &TestIdp, org_id: &str, name: &str, status: &str, admin: &str) {
    let org = NewOrg {
        id: org_id.into(),
        name: name.into(),
        uscc: Some(format!("USCC-{org_id}")),
        status: tongyi_shared::org::UnitStatus::parse(status).expect("a unit status"),
    };
    store::accounts::ensure_org(&idp.state.db, &org, idp.state.clock.now())
        .await
        .unwrap();
    add_account(
        idp,
        admin,
        AccountType::LegalEntity,
        Some((org_id, "admin")),
        &[],
    )
    .await;
    if status == "active" {
        // An approved unit has the registered subsystems enabled (its own account's grants).
        store::accounts::set_grants(
            &idp.state.db,
            admin,
            &["incubator".into()],
            idp.state.clock.now(),
        )
        .await
        .unwrap();
    }
}

/// A PDF file's bytes (what the content check looks for) padded to `size`.
pub(crate) fn pdf(size: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.7\n".to_vec();
    v.resize(size.max(9), b' ');
    v
}

pub(crate) const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];

/// Uploads `data` as `filename` into `slot` of `org_id`: (status, JSON body).
pub(crate) async fn upload(
    idp: &TestIdp,
    token: &str,
    org_id: &str,
    slot: &str,
    filename: &str,
    data: Vec<u8>,
) -> (StatusCode, Value) {
    let url = reqwest::Url::parse_with_params(
        &idp.url(&format!("/api/units/{org_id}/attachments/{slot}")),
        &[("filename", filename)],
    )
    .unwrap();
    let res = TestIdp::http()
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(data)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A complete unit completion for unit `name` choosing dept-a.
pub(crate) fn full_completion(name: &str) -> Value {
    let address = json!({ "city": "天津市", "district": "南开区", "detail": "卫津路 92 号" });
    json!({
        "legal_person_nature": "民营企业",
        "entity_type": "企业",
        "contact_name": "王联系",
        "contact_mobile": "13812345678",
        "contact_email": "contact@example.com",
        "department_id": "dept-a",
        "registered_address": address,
        "located_address": address,
        "bank_account_name": name,
        "bank_name": "中国银行天津分行",
        "bank_account_number": "6222021234567890",
    })
}

/// The unit's admin fills the whole completion and one file per slot.
pub(crate) async fn complete_unit(idp: &TestIdp, token: &str, org_id: &str, name: &str) {
    ok(api(
        idp,
        "PUT",
        &format!("/api/units/{org_id}/completion"),
        Some(token),
        Some(full_completion(name)),
    )
    .await);
    for slot in ["business_licence", "risk_commitment", "bank_permit"] {
        let (status, body) = upload(idp, token, org_id, slot, "scan.pdf", pdf(1000)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}

/// Signs `login_name` in with browser `b` (on its account type's tab when a login page
/// shows) and redeems the code at `client_id`.
pub(crate) async fn sign_in(
    idp: &TestIdp,
    b: &reqwest::Client,
    client_id: &str,
    login_name: &str,
    account_type: &str,
) -> Reply {
    let req = code_request(idp, client_id, &[]);
    let redirect = match follow(b, &idp.base, &req.url).await {
        Outcome::ToRp(u) => u,
        Outcome::Page { url, html, .. } => {
            assert!(url.contains("/login"), "{url}:\n{html}");
            let id = hidden(&html, "req");
            let page = b
                .get(idp.url(&format!("/login?req={id}&type={account_type}")))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let form = [
                ("csrf", hidden(&page, "csrf")),
                ("req", hidden(&page, "req")),
                ("account_type", account_type.to_owned()),
                ("login_name", login_name.to_owned()),
                ("password", PASSWORD.to_owned()),
            ];
            let res = b.post(idp.url("/login")).form(&form).send().await.unwrap();
            assert!(res.status().is_redirection(), "login of {login_name}");
            let next = crate::harness::location(&res);
            let next = if next.starts_with('/') {
                idp.url(&next)
            } else {
                next
            };
            follow(b, &idp.base, &next).await.rp()
        }
    };
    let code = code_in(idp, &redirect, &req);
    let tokens = exchange(idp, client_id, &code, &req.verifier).await;
    tokens.assert_ok();
    tokens
}

/// An access token of `login_name` for the portal-like client rp-basic.
pub(crate) async fn token(idp: &TestIdp, login_name: &str) -> String {
    let kind = if login_name == "unit_admin" || login_name.starts_with("unit_") {
        "legal_entity"
    } else {
        "natural_person"
    };
    let b = browser();
    sign_in(idp, &b, "rp-basic", login_name, kind)
        .await
        .str("access_token")
        .to_owned()
}

/// Calls the directory API: (status, JSON body).
pub(crate) async fn api(
    idp: &TestIdp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let http = TestIdp::http();
    let url = idp.url(path);
    let mut req = match method {
        "GET" => http.get(url),
        "POST" => http.post(url),
        "PUT" => http.put(url),
        "DELETE" => http.delete(url),
        "PATCH" => http.patch(url),
        other => panic!("no method {other}"),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[track_caller]
pub(crate) fn refused(answer: (StatusCode, Value), status: u16, error: &str) {
    assert_eq!(
        (answer.0.as_u16(), answer.1["error"].as_str()),
        (status, Some(error)),
        "{}",
        answer.1
    );
    assert!(answer.1["error_description"].is_string(), "{}", answer.1);
}

/// The number of items of a list's page.
#[track_caller]
pub(crate) fn items(page: &Value) -> usize {
    page["items"].as_array().map_or(0, Vec::len)
}

#[track_caller]
pub(crate) fn ok(answer: (StatusCode, Value)) -> Value {
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
    answer.1
}

/// Reviewers of dept-a and dept-b and a platform admin, with their tokens.
pub(crate) async fn staff(idp: &TestIdp) -> (String, String, String) {
    add_account(
        idp,
        "reviewer_a",
        AccountType::NaturalPerson,
        None,
        &["department_reviewer:dept-a"],
    )
    .await;
    add_account(
        idp,
        "reviewer_b",
        AccountType::NaturalPerson,
        None,
        &["department_reviewer:dept-b"],
    )
    .await;
    add_account(
        idp,
        "padmin",
        AccountType::NaturalPerson,
        None,
        &["platform_admin"],
    )
    .await;
    (
        token(idp, "reviewer_a").await,
        token(idp, "reviewer_b").await,
        token(idp, "padmin").await,
    )
}

both_backends!(directory_departments, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    refused(
        api(&idp, "GET", "/api/departments", None, None).await,
        401,
        "invalid_token",
    );
    refused(
        api(&idp, "GET", "/api/departments", Some("nope"), None).await,
        401,
        "invalid_token",
    );
    let alice = token(&idp, "alice").await;
    let body = ok(api(&idp, "GET", "/api/departments", Some(&alice), None).await);
    assert_eq!(
        body["departments"],
        json!([
            { "id": "dept-a", "name": "天津市科学技术局 高新技术处" },
            { "id": "dept-b", "name": "滨海新区科技局" },
        ])
    );
});

both_backends!(
    directory_unit_review_transitions,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        add_unit(
            &idp,
            "org-new",
            "天津新单位科技有限公司",
            "registered",
            "unit_new",
        )
        .await;
        let (rev_a, rev_b, padmin) = staff(&idp).await;
        let unit = token(&idp, "unit_new").await;
        let alice = token(&idp, "alice").await;
        let other_admin = token(&idp, "unit_admin").await;
        let post = |path: &'static str, t: String, body: Option<Value>| {
            let idp = &idp;
            async move { api(idp, "POST", path, Some(&t), body).await }
        };
        let submit = "/api/units/org-new/submit";
        let approve = "/api/units/org-new/approve";
        let ret = "/api/units/org-new/return";

        // Refused before submission: nothing to decide, and only the unit's admin submits.
        refused(
            post(approve, padmin.clone(), None).await,
            409,
            "invalid_transition",
        );
        refused(post(approve, rev_a.clone(), None).await, 403, "forbidden");
        refused(
            post(
                submit,
                other_admin.clone(),
                Some(json!({"department_id": "dept-a"})),
            )
            .await,
            403,
            "forbidden",
        );
        refused(
            post(
                submit,
                alice.clone(),
                Some(json!({"department_id": "dept-a"})),
            )
            .await,
            403,
            "forbidden",
        );
        let bad = post(
            submit,
            unit.clone(),
            Some(json!({"department_id": "dept-x"})),
        )
        .await;
        assert_eq!(
            bad.1["fields"]["department_id"],
            "请选择局级（区县）主管部门"
        );
        refused(bad, 422, "invalid_fields");
        // Nothing filled in yet: every field and every attachment slot is named.
        let incomplete = post(submit, unit.clone(), Some(json!({}))).await;
        assert_eq!(
            incomplete.1["fields"]["bank_account_name"],
            "请填写账户（收款单位）"
        );
        assert_eq!(
            incomplete.1["fields"]["attachments.risk_commitment"],
            "请上传附件"
        );
        refused(incomplete, 422, "invalid_fields");
        refused(
            api(
                &idp,
                "POST",
                "/api/units/org-none/submit",
                Some(&unit),
                Some(json!({"department_id": "dept-a"})),
            )
            .await,
            404,
            "not_found",
        );

        // registered → pending_review, once the completion is whole
        complete_unit(&idp, &unit, "org-new", "天津新单位科技有限公司").await;
        let body = ok(post(
            submit,
            unit.clone(),
            Some(json!({"department_id": "dept-a"})),
        )
        .await);
        assert_eq!(body["status"], "pending_review");
        assert_eq!(body["department"]["id"], "dept-a");
        refused(
            post(
                submit,
                unit.clone(),
                Some(json!({"department_id": "dept-a"})),
            )
            .await,
            409,
            "invalid_transition",
        );

        // The review list: only the reviewer's department, search by name, pagination.
        let list = ok(api(
            &idp,
            "GET",
            "/api/reviews/units?state=pending_review",
            Some(&rev_a),
            None,
        )
        .await);
        assert_eq!(items(&list), 1);
        assert_eq!(list["items"][0]["id"], "org-new");
        assert_eq!(list["page_size"], 20);
        assert_eq!(list["next"], Value::Null, "the last page");
        assert!(list.get("total").is_none(), "no count of the whole list");
        let list = ok(api(
            &idp,
            "GET",
            "/api/reviews/units?q=新单位&page=1",
            Some(&rev_a),
            None,
        )
        .await);
        assert_eq!(items(&list), 1, "page=1 is still the first page");
        let list = ok(api(
            &idp,
            "GET",
            "/api/reviews/units?q=不存在",
            Some(&rev_a),
            None,
        )
        .await);
        assert_eq!(items(&list), 0);
        let by_number = api(&idp, "GET", "/api/reviews/units?page=2", Some(&rev_a), None).await;
        assert!(!by_number.1["fields"]["page"]
            .as_str()
            .unwrap_or("")
            .is_empty());
        refused(by_number, 400, "invalid_request");
        let list = ok(api(&idp, "GET", "/api/reviews/units", Some(&rev_b), None).await);
        assert_eq!(items(&list), 0, "another department's unit");
        let list = ok(api(&idp, "GET", "/api/reviews/units", Some(&padmin), None).await);
        assert_eq!(items(&list), 1);
        refused(
            api(&idp, "GET", "/api/reviews/units", Some(&alice), None).await,
            403,
            "forbidden",
        );
        refused(
            api(
                &idp,
                "GET",
                "/api/reviews/units?state=bogus",
                Some(&rev_a),
                None,
            )
            .await,
            400,
            "invalid_request",
        );
        refused(
            api(&idp, "GET", "/api/reviews/units?page=0", Some(&rev_a), None).await,
            400,
            "invalid_request",
        );

        // A reviewer of another department, the unit itself and a person cannot decide.
        refused(post(approve, rev_b.clone(), None).await, 403, "forbidden");
        refused(
            post(ret, rev_b.clone(), Some(json!({"reason": "x"}))).await,
            403,
            "forbidden",
        );
        refused(post(approve, unit.clone(), None).await, 403, "forbidden");
        refused(post(approve, alice.clone(), None).await, 403, "forbidden");

        // pending_review → returned, with a reason
        refused(
            post(ret, rev_a.clone(), Some(json!({"reason": "  "}))).await,
            400,
            "invalid_request",
        );
        let body = ok(post(
            ret,
            rev_a.clone(),
            Some(json!({"reason": "营业执照不清晰"})),
        )
        .await);
        assert_eq!(body["status"], "returned");
        refused(
            post(approve, rev_a.clone(), None).await,
            409,
            "invalid_transition",
        );
        refused(
            post(ret, rev_a.clone(), Some(json!({"reason": "x"}))).await,
            409,
            "invalid_transition",
        );

        // returned → pending_review (resubmitted) → active
        let body = ok(post(
            submit,
            unit.clone(),
            Some(json!({"department_id": "dept-a"})),
        )
        .await);
        assert_eq!(body["status"], "pending_review");
        let body = ok(post(approve, rev_a.clone(), None).await);
        assert_eq!(body["status"], "active");
        refused(
            post(approve, rev_a.clone(), None).await,
            409,
            "invalid_transition",
        );
        refused(
            post(ret, padmin.clone(), Some(json!({"reason": "x"}))).await,
            409,
            "invalid_transition",
        );
        refused(
            post(
                submit,
                unit.clone(),
                Some(json!({"department_id": "dept-b"})),
            )
            .await,
            409,
            "invalid_transition",
        );

        // The record with its history: the unit's admin, its department's reviewers, platform admins.
        let view = ok(api(&idp, "GET", "/api/units/org-new", Some(&unit), None).await);
        assert_eq!(view["status"], "active");
        let steps: Vec<(String, String, String)> = view["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["action"].as_str().unwrap().to_owned(),
                    h["from"].as_str().unwrap().to_owned(),
                    h["to"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let expected = [
            ("submit", "registered", "pending_review"),
            ("return", "pending_review", "returned"),
            ("submit", "returned", "pending_review"),
            ("approve", "pending_review", "active"),
        ];
        assert_eq!(
            steps,
            expected
                .iter()
                .map(|(a, f, t)| (a.to_string(), f.to_string(), t.to_string()))
                .collect::<Vec<_>>()
        );
        assert_eq!(view["history"][1]["reason"], "营业执照不清晰");
        assert_eq!(view["history"][1]["actor_account_id"], "reviewer_a");
        assert_eq!(view["history"][0]["actor_account_id"], "unit_new");
        assert!(view["history"][3]["at"].is_i64());
        ok(api(&idp, "GET", "/api/units/org-new", Some(&rev_a), None).await);
        ok(api(&idp, "GET", "/api/units/org-new", Some(&padmin), None).await);
        refused(
            api(&idp, "GET", "/api/units/org-new", Some(&rev_b), None).await,
            403,
            "forbidden",
        );
        refused(
            api(&idp, "GET", "/api/units/org-new", Some(&alice), None).await,
            403,
            "forbidden",
        );
        refused(
            api(&idp, "GET", "/api/units/org-new", Some(&other_admin), None).await,
            403,
            "forbidden",
        );
        refused(
            api(&idp, "GET", "/api/units/org-none", Some(&padmin), None).await,
            404,
            "not_found",
        );
    }
);

both_backends!(directory_membership_rules, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    add_unit(&idp, "org-2", "天津第二科技有限公司", "active", "unit_two").await;
    add_unit(
        &idp,
        "org-3",
        "天津待审科技有限公司",
        "pending_review",
        "unit_three",
    )
    .await;
    add_account(&idp, "bob", AccountType::NaturalPerson, None, &[]).await;
    add_account(
        &idp,
        "carol",
        AccountType::NaturalPerson,
        Some(("org-1", "member")),
        &[],
    )
    .await;
    let (_, _, padmin) = staff(&idp).await;
    let admin = token(&idp, "unit_admin").await;
    let other_admin = token(&idp, "unit_two").await;
    let alice = token(&idp, "alice").await;
    let bob = token(&idp, "bob").await;
    let grants_of = |who: &str| format!("/api/units/org-1/members/{who}/grants");

    // Search: active units only, the full name only, the USCC masked.
    let found = ok(api(
        &idp,
        "GET",
        "/api/units/search?name=天津测试孵化器有限公司",
        Some(&bob),
        None,
    )
    .await);
    assert_eq!(
        found["units"],
        json!([{ "id": "org-1", "name": "天津测试孵化器有限公司", "uscc": "91************1X4B" }])
    );
    let partial = ok(api(
        &idp,
        "GET",
        "/api/units/search?name=天津测试",
        Some(&bob),
        None,
    )
    .await);
    assert_eq!(partial["units"], json!([]));
    let pending = ok(api(
        &idp,
        "GET",
        "/api/units/search?name=天津待审科技有限公司",
        Some(&bob),
        None,
    )
    .await);
    assert_eq!(pending["units"], json!([]));
    refused(
        api(&idp, "GET", "/api/units/search?name=", Some(&bob), None).await,
        400,
        "invalid_request",
    );
    refused(
        api(&idp, "GET", "/api/units/search?name=x", None, None).await,
        401,
        "invalid_token",
    );

    // Joining: a unit that is not active is not found; a legal entity does not pick a unit.
    refused(
        api(
            &idp,
            "POST",
            "/api/me/unit",
            Some(&bob),
            Some(json!({"org_id": "org-3"})),
        )
        .await,
        404,
        "not_found",
    );
    refused(
        api(
            &idp,
            "POST",
            "/api/me/unit",
            Some(&other_admin),
            Some(json!({"org_id": "org-1"})),
        )
        .await,
        403,
        "forbidden",
    );
    let joined = ok(api(
        &idp,
        "POST",
        "/api/me/unit",
        Some(&bob),
        Some(json!({"org_id": "org-1"})),
    )
    .await);
    assert_eq!(joined["membership"], "pending");
    refused(
        api(
            &idp,
            "POST",
            "/api/me/unit",
            Some(&bob),
            Some(json!({"org_id": "org-1"})),
        )
        .await,
        409,
        "invalid_transition",
    );

    // The claims show the pending membership, without grants.
    let b = browser();
    let tokens = sign_in(&idp, &b, "rp-basic", "bob", "natural_person").await;
    let id = rp::payload(tokens.str("id_token"));
    assert_eq!(id["org"]["id"], "org-1");
    assert_eq!(id["org"]["role"], "pending");
    assert_eq!(id["grants"], json!([]));

    // The unit's admin lists its members; nobody else but a platform admin does.
    let list = ok(api(&idp, "GET", "/api/units/org-1/members", Some(&admin), None).await);
    assert_eq!(items(&list), 3, "{list}");
    let alice_row = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["account_id"] == "acct-alice")
        .unwrap()
        .clone();
    assert_eq!(alice_row["username"], "alice");
    assert_eq!(alice_row["mobile"], "13*****678");
    assert_eq!(alice_row["email"], "a***@example.com");
    assert_eq!(alice_row["status_label"], "已启用");
    assert_eq!(alice_row["membership"], "member");
    assert_eq!(alice_row["grants"], json!(["incubator"]));
    let list = ok(api(
        &idp,
        "GET",
        "/api/units/org-1/members?q=BO",
        Some(&admin),
        None,
    )
    .await);
    assert_eq!(items(&list), 1);
    assert_eq!(list["items"][0]["membership"], "pending");
    let list = ok(api(
        &idp,
        "GET",
        "/api/units/org-1/members?q=张三",
        Some(&admin),
        None,
    )
    .await);
    assert_eq!(list["items"][0]["account_id"], "acct-alice");
    ok(api(&idp, "GET", "/api/units/org-1/members", Some(&padmin), None).await);
    refused(
        api(
            &idp,
            "GET",
            "/api/units/org-1/members",
            Some(&other_admin),
            None,
        )
        .await,
        403,
        "forbidden",
    );
    refused(
        api(&idp, "GET", "/api/units/org-1/members", Some(&alice), None).await,
        403,
        "forbidden",
    );

    // Another unit's admin cannot touch org-1's members, not even through its own unit's path.
    refused(
        api(
            &idp,
            "POST",
            "/api/units/org-1/members/bob/approve",
            Some(&other_admin),
            None,
        )
        .await,
        403,
        "forbidden",
    );
    refused(
        api(
            &idp,
            "PUT",
            &grants_of("acct-alice"),
            Some(&other_admin),
            Some(json!({"grants": []})),
        )
        .await,
        403,
        "forbidden",
    );
    refused(
        api(
            &idp,
            "PUT",
            "/api/units/org-2/members/acct-alice/grants",
            Some(&other_admin),
            Some(json!({"grants": []})),
        )
        .await,
        404,
        "not_found",
    );
    // A member cannot grant itself nor others.
    refused(
        api(
            &idp,
            "PUT",
            &grants_of("acct-alice"),
            Some(&alice),
            Some(json!({"grants": ["incubator"]})),
        )
        .await,
        403,
        "forbidden",
    );
    refused(
        api(
            &idp,
            "PUT",
            &grants_of("carol"),
            Some(&alice),
            Some(json!({"grants": ["incubator"]})),
        )
        .await,
        403,
        "forbidden",
    );
    // Nor does an admin manage itself.
    refused(
        api(
            &idp,
            "PUT",
            &grants_of("acct-unit"),
            Some(&admin),
            Some(json!({"grants": ["incubator"]})),
        )
        .await,
        403,
        "forbidden",
    );

    // A pending member has no grants until approved; approval is pending → member once.
    refused(
        api(
            &idp,
            "PUT",
            &grants_of("bob"),
            Some(&admin),
            Some(json!({"grants": ["incubator"]})),
        )
        .await,
        409,
        "invalid_transition",
    );
    refused(
        api(
            &idp,
            "POST",
            "/api/units/org-1/members/carol/approve",
            Some(&admin),
            None,
        )
        .await,
        409,
        "invalid_transition",
    );
    let body = ok(api(
        &idp,
        "POST",
        "/api/units/org-1/members/bob/approve",
        Some(&admin),
        None,
    )
    .await);
    assert_eq!(body["membership"], "member");
    refused(
        api(
            &idp,
            "POST",
            "/api/units/org-1/members/bob/approve",
            Some(&admin),
            None,
        )
        .await,
        409,
        "invalid_transition",
    );
    refused(
        api(
            &idp,
            "POST",
            "/api/units/org-1/members/nobody/approve",
            Some(&admin),
            None,
        )
        .await,
        404,
        "not_found",
    );

    // Grants: only codes of registered subsystems.
    refused(
        api(
            &idp,
            "PUT",
            &grants_of("bob"),
            Some(&admin),
            Some(json!({"grants": ["nope"]})),
        )
        .await,
        400,
        "invalid_request",
    );
    refused(
        api(
            &idp,
            "PUT",
            &grants_of("bob"),
            Some(&admin),
            Some(json!({"grant": []})),
        )
        .await,
        400,
        "invalid_request",
    );
    let body = ok(api(
        &idp,
        "PUT",
        &grants_of("bob"),
        Some(&admin),
        Some(json!({"grants": ["incubator"]})),
    )
    .await);
    assert_eq!(body["grants"], json!(["incubator"]));
    assert_eq!(body["added"], json!(["incubator"]));
    // A platform admin may do everything.
    let body = ok(api(
        &idp,
        "PUT",
        &grants_of("carol"),
        Some(&padmin),
        Some(json!({"grants": ["incubator"]})),
    )
    .await);
    assert_eq!(body["grants"], json!(["incubator"]));

    // Changing units: pending in the new unit, every grant gone.
    let moved = ok(api(
        &idp,
        "POST",
        "/api/me/unit",
        Some(&alice),
        Some(json!({"org_id": "org-2"})),
    )
    .await);
    assert_eq!(moved["membership"], "pending");
    let b = browser();
    let tokens = sign_in(&idp, &b, "rp-basic", "alice", "natural_person").await;
    let id = rp::payload(tokens.str("id_token"));
    assert_eq!(id["org"]["id"], "org-2");
    assert_eq!(id["org"]["role"], "pending");
    assert_eq!(id["grants"], json!([]));
    let (grants, _) = store::accounts::grants_and_roles(&idp.state.db, "acct-alice")
        .await
        .unwrap();
    assert!(grants.is_empty());
    refused(
        api(
            &idp,
            "GET",
            "/api/units/org-2/members?page=x",
            Some(&other_admin),
            None,
        )
        .await,
        400,
        "invalid_request",
    );
    let list = ok(api(
        &idp,
        "GET",
        "/api/units/org-2/members",
        Some(&other_admin),
        None,
    )
    .await);
    assert_eq!(list["items"][0]["account_id"], "acct-alice");
});

both_backends!(directory_chain_over_http, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    add_unit(
        &idp,
        "org-chain",
        "天津链条科技有限公司",
        "registered",
        "unit_chain",
    )
    .await;
    add_account(&idp, "dave", AccountType::NaturalPerson, None, &[]).await;
    let (rev_a, _, _) = staff(&idp).await;
    let unit = token(&idp, "unit_chain").await;
    complete_unit(&idp, &unit, "org-chain", "天津链条科技有限公司").await;

    // The unit submits, its department approves.
    ok(api(
        &idp,
        "POST",
        "/api/units/org-chain/submit",
        Some(&unit),
        Some(json!({"department_id": "dept-a"})),
    )
    .await);
    ok(api(
        &idp,
        "POST",
        "/api/units/org-chain/approve",
        Some(&rev_a),
        None,
    )
    .await);

    // The person searches by full name, picks the unit; its admin approves and grants.
    let person = token(&idp, "dave").await;
    let found = ok(api(
        &idp,
        "GET",
        "/api/units/search?name=天津链条科技有限公司",
        Some(&person),
        None,
    )
    .await);
    let org_id = found["units"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(org_id, "org-chain");
    ok(api(
        &idp,
        "POST",
        "/api/me/unit",
        Some(&person),
        Some(json!({"org_id": org_id})),
    )
    .await);
    ok(api(
        &idp,
        "POST",
        "/api/units/org-chain/members/dave/approve",
        Some(&unit),
        None,
    )
    .await);
    let grants = "/api/units/org-chain/members/dave/grants";
    ok(api(
        &idp,
        "PUT",
        grants,
        Some(&unit),
        Some(json!({"grants": ["incubator"]})),
    )
    .await);

    // The person's next login at the incubator subsystem carries the grant.
    let b = browser();
    let at_incubator = sign_in(&idp, &b, "rp-incubator", "dave", "natural_person").await;
    let id = rp::payload(at_incubator.str("id_token"));
    assert_eq!(id["grants"], json!(["incubator"]));
    assert_eq!(id["org"]["role"], "member");
    assert_eq!(id["org"]["status"], "active");
    let incubator_refresh = at_incubator.str("refresh_token").to_owned();
    // Single sign-on at the portal-like client in the same browser session.
    let at_portal = sign_in(&idp, &b, "rp-basic", "dave", "natural_person").await;
    assert_eq!(rp::payload(at_portal.str("id_token"))["sid"], id["sid"]);
    idp.logouts.lock().unwrap().clear();

    // Revoking incubator: the incubator client gets a back-channel logout, the portal not.
    let body = ok(api(
        &idp,
        "PUT",
        grants,
        Some(&unit),
        Some(json!({"grants": []})),
    )
    .await);
    assert_eq!(body["removed"], json!(["incubator"]));
    let delivered: Vec<(String, String)> = idp.logouts.lock().unwrap().clone();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0].0, "rp-incubator");
    let logout = rp::payload(&delivered[0].1);
    assert_eq!(logout["sid"], id["sid"]);
    assert_eq!(logout["sub"], "dave");
    assert_eq!(logout["aud"], "rp-incubator");
    let sid = id["sid"].as_str().unwrap();
    let live = tongyi_idp::oidc::session::find_by_sid(&idp.state, sid)
        .await
        .unwrap()
        .expect("the session goes on");
    assert_eq!(live.session.clients, ["rp-basic"]);
    // Its tokens at the incubator are dead; the portal's are not.
    crate::proto::assert_invalid_token(&idp, at_incubator.str("access_token")).await;
    crate::proto::refresh(&idp, "rp-incubator", &incubator_refresh)
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(
        crate::proto::userinfo(&idp, at_portal.str("access_token"))
            .await
            .status(),
        200
    );

    // The next token lacks the grant, at once.
    let again = sign_in(&idp, &b, "rp-incubator", "dave", "natural_person").await;
    let id = rp::payload(again.str("id_token"));
    assert_eq!(id["grants"], json!([]));
    let info: Value = crate::proto::userinfo(&idp, again.str("access_token"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["grants"], json!([]));

    // A full logout reaches each client of each session once: the incubator left the
    // session's clients when its grant was revoked and joined again with the new login.
    idp.logouts.lock().unwrap().clear();
    let ended = tongyi_idp::accounts::sessions::end_all(&idp.state, "dave", None, "test")
        .await
        .unwrap();
    assert_eq!(ended, 2, "the API token's session and the browser's");
    let mut reached: Vec<String> = idp
        .logouts
        .lock()
        .unwrap()
        .iter()
        .map(|(c, _)| c.clone())
        .collect();
    reached.sort();
    assert_eq!(reached, ["rp-basic", "rp-basic", "rp-incubator"]);
});
