//! The portal's directory API beyond the review itself: the unit completion and its
//! attachments (limits, content checks, who sees what), the person's profile and unit
//! registration, expert applications, subsystems (launcher, per unit, suspension) and the
//! platform admin's departments, reviewers and clients. Both backends.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tongyi_shared::claims::AccountType;

use crate::{
    both_backends,
    directory::{
        add_account, add_unit, api, complete_unit, full_completion, ok, pdf, refused, sign_in,
        staff, token, upload, PNG,
    },
    harness::{browser, Backend, TestIdp},
    rp,
};

fn field<'a>(answer: &'a (StatusCode, Value), name: &str) -> &'a str {
    answer.1["fields"][name].as_str().unwrap_or("")
}

both_backends!(
    directory_completion_and_attachments,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let name = "天津补全科技有限公司";
        add_unit(&idp, "org-c", name, "registered", "unit_c").await;
        let (rev_a, rev_b, _padmin) = staff(&idp).await;
        let unit = token(&idp, "unit_c").await;
        let other_admin = token(&idp, "unit_admin").await;
        let completion = "/api/units/org-c/completion";

        // A partial save is fine; wrong values are refused field by field, nothing stored.
        let saved = ok(api(
            &idp,
            "PUT",
            completion,
            Some(&unit),
            Some(json!({"contact_name": "王联系", "contact_mobile": "13812345678"})),
        )
        .await);
        assert_eq!(saved["completion"]["contact_name"], "王联系");
        assert_eq!(
            saved["completion"]["contact_mobile"], "13812345678",
            "the unit sees its own"
        );
        assert_eq!(saved["completion"]["bank_name"], Value::Null);
        assert_eq!(saved["editable"], true);
        let bad = api(
            &idp,
            "PUT",
            completion,
            Some(&unit),
            Some(json!({
                "bank_account_name": "别的公司",
                "contact_mobile": "12345",
                "registered_address": {"city": "天津市", "district": "朝阳区"},
                "contact_name": "改了",
            })),
        )
        .await;
        assert_eq!(
            field(&bad, "bank_account_name"),
            "账户（收款单位）必须与单位名称相同"
        );
        assert!(!field(&bad, "contact_mobile").is_empty());
        assert_eq!(field(&bad, "registered_address.district"), "请选择区县");
        refused(bad, 422, "invalid_fields");
        let view = ok(api(&idp, "GET", "/api/units/org-c", Some(&unit), None).await);
        assert_eq!(
            view["completion"]["contact_name"], "王联系",
            "a refused save wrote nothing"
        );
        refused(
            api(&idp, "PUT", completion, Some(&other_admin), Some(json!({}))).await,
            403,
            "forbidden",
        );
        ok(api(
            &idp,
            "PUT",
            completion,
            Some(&unit),
            Some(full_completion(name)),
        )
        .await);

        // Attachments: checked by content, at most 10 MB, a failed upload leaves nothing.
        let (status, a) = upload(
            &idp,
            &unit,
            "org-c",
            "business_licence",
            "执照.pdf",
            pdf(2048),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        assert_eq!(a["content_type"], "application/pdf");
        assert_eq!(a["size"], 2048);
        let (status, png) = upload(
            &idp,
            &unit,
            "org-c",
            "business_licence",
            "page2.png",
            PNG.to_vec(),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{png}");
        let fake = upload(
            &idp,
            &unit,
            "org-c",
            "risk_commitment",
            "承诺书.pdf",
            PNG.to_vec(),
        )
        .await;
        assert_eq!(fake.0, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", fake.1);
        assert_eq!(fake.1["error"], "type_mismatch");
        assert_eq!(
            fake.1["error_description"],
            "文件内容是PNG 图片，与文件扩展名不符"
        );
        let exe = upload(
            &idp,
            &unit,
            "org-c",
            "risk_commitment",
            "x.pdf",
            b"MZ\x90\x00".to_vec(),
        )
        .await;
        assert_eq!(exe.1["error"], "unsupported_type", "{}", exe.1);
        let big = upload(
            &idp,
            &unit,
            "org-c",
            "risk_commitment",
            "big.pdf",
            pdf(11 * 1024 * 1024),
        )
        .await;
        assert_eq!(big.0, StatusCode::PAYLOAD_TOO_LARGE, "{}", big.1);
        assert_eq!(big.1["error"], "file_too_large");
        assert_eq!(big.1["error_description"], "文件不能超过 10 MB");
        let exact = upload(
            &idp,
            &unit,
            "org-c",
            "risk_commitment",
            "max.pdf",
            pdf(10 * 1024 * 1024),
        )
        .await;
        assert_eq!(exact.0, StatusCode::CREATED, "exactly 10 MB is accepted");
        let other = upload(
            &idp,
            &other_admin,
            "org-c",
            "bank_permit",
            "p.pdf",
            pdf(100),
        )
        .await;
        refused(other, 403, "forbidden");
        let slot = upload(&idp, &unit, "org-c", "selfie", "p.pdf", pdf(100)).await;
        refused(slot, 404, "not_found");
        let list = ok(api(
            &idp,
            "GET",
            "/api/units/org-c/attachments",
            Some(&unit),
            None,
        )
        .await);
        let files = list["attachments"].as_array().unwrap();
        assert_eq!(files.len(), 3, "{list}");
        let stored: i64 = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM uploads")
            .fetch_one(&idp.state.db.pool)
            .await
            .unwrap();
        assert_eq!(stored, 3, "the refused uploads left nothing");

        // Submit needs a file in every slot; then nothing changes until a decision.
        let missing = api(&idp, "POST", "/api/units/org-c/submit", Some(&unit), None).await;
        assert_eq!(field(&missing, "attachments.bank_permit"), "请上传附件");
        assert!(missing.1["fields"]
            .get("attachments.risk_commitment")
            .is_none());
        refused(missing, 422, "invalid_fields");
        let (status, permit) = upload(
            &idp,
            &unit,
            "org-c",
            "bank_permit",
            "permit.jpg",
            vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2],
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        let del = format!(
            "/api/units/org-c/attachments/file/{}",
            png["id"].as_str().unwrap()
        );
        let (status, _) = api(&idp, "DELETE", &del, Some(&unit), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        refused(
            api(&idp, "DELETE", &del, Some(&unit), None).await,
            404,
            "not_found",
        );
        let submitted = ok(api(&idp, "POST", "/api/units/org-c/submit", Some(&unit), None).await);
        assert_eq!(submitted["status"], "pending_review");
        assert_eq!(submitted["department"]["id"], "dept-a");
        refused(
            api(
                &idp,
                "PUT",
                completion,
                Some(&unit),
                Some(json!({"bank_name": "x"})),
            )
            .await,
            409,
            "invalid_transition",
        );
        refused(
            upload(&idp, &unit, "org-c", "bank_permit", "more.pdf", pdf(10)).await,
            409,
            "invalid_transition",
        );
        let permit_url = permit["download_url"].as_str().unwrap().to_owned();
        refused(
            api(&idp, "DELETE", &permit_url, Some(&unit), None).await,
            409,
            "invalid_transition",
        );

        // The reviewer sees the record masked and downloads the files; others may not.
        let seen = ok(api(&idp, "GET", "/api/units/org-c", Some(&rev_a), None).await);
        assert_eq!(seen["completion"]["contact_mobile"], "13*****678");
        assert_eq!(seen["completion"]["bank_account_number"], "******7890");
        assert_eq!(seen["completion"]["bank_name"], "中国银行天津分行");
        assert_eq!(seen["editable"], false);
        assert_eq!(seen["attachments"].as_array().unwrap().len(), 3);
        let res = TestIdp::http()
            .get(idp.url(&permit_url))
            .bearer_auth(&rev_a)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "image/jpeg");
        assert!(res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("permit.jpg"));
        assert_eq!(
            res.bytes().await.unwrap().as_ref(),
            &[0xFF, 0xD8, 0xFF, 0xE0, 1, 2]
        );
        for t in [&rev_b, &other_admin] {
            refused(
                api(&idp, "GET", &permit_url, Some(t), None).await,
                403,
                "forbidden",
            );
            refused(
                api(&idp, "GET", "/api/units/org-c/attachments", Some(t), None).await,
                403,
                "forbidden",
            );
        }
        let sealed: String = sqlx::query_scalar::<_, String>(
            "SELECT completion FROM organizations WHERE id = 'org-c'",
        )
        .fetch_one(&idp.state.db.pool)
        .await
        .unwrap();
        assert!(!sealed.contains("13812345678") && !sealed.contains("6222021234567890"));

        // Returned: the reason shows, the unit edits and resubmits; the decisions are recorded.
        ok(api(
            &idp,
            "POST",
            "/api/units/org-c/return",
            Some(&rev_a),
            Some(json!({"reason": "开户许可证不清晰"})),
        )
        .await);
        let back = ok(api(&idp, "GET", "/api/units/org-c", Some(&unit), None).await);
        assert_eq!(back["status"], "returned");
        assert_eq!(back["return_reason"], "开户许可证不清晰");
        assert_eq!(back["editable"], true);
        let (status, _) = api(&idp, "DELETE", &permit_url, Some(&unit), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = upload(&idp, &unit, "org-c", "bank_permit", "permit2.pdf", pdf(50)).await;
        assert_eq!(status, StatusCode::CREATED);
        ok(api(&idp, "POST", "/api/units/org-c/submit", Some(&unit), None).await);
        let approved = ok(api(&idp, "POST", "/api/units/org-c/approve", Some(&rev_a), None).await);
        assert_eq!(approved["status"], "active");
        let done = ok(api(&idp, "GET", "/api/units/org-c", Some(&unit), None).await);
        assert_eq!(done["return_reason"], Value::Null);
        let actions: Vec<(&str, &str)> = done["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["action"].as_str().unwrap(),
                    h["actor_account_id"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            actions,
            [
                ("submit", "unit_c"),
                ("return", "reviewer_a"),
                ("submit", "unit_c"),
                ("approve", "reviewer_a")
            ]
        );
        assert_eq!(done["history"][1]["actor_name"], "reviewer_a 名");
        // Approval enabled the registered subsystems for the unit.
        let subs = ok(api(
            &idp,
            "GET",
            "/api/units/org-c/subsystems",
            Some(&unit),
            None,
        )
        .await);
        assert_eq!(
            subs["subsystems"],
            json!([{"code": "incubator", "name": "测试应用 rp-incubator", "enabled": true}])
        );
    }
);

both_backends!(
    directory_person_profile_and_unit,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        add_account(&idp, "erin", AccountType::NaturalPerson, None, &[]).await;
        add_account(&idp, "frank", AccountType::NaturalPerson, None, &[]).await;
        add_unit(
            &idp,
            "org-taken",
            "天津已注册科技有限公司",
            "active",
            "unit_taken",
        )
        .await;
        let (rev_a, _, _) = staff(&idp).await;
        let erin = token(&idp, "erin").await;
        let alice = token(&idp, "alice").await;
        let unit = token(&idp, "unit_admin").await;

        // The profile: account data masked, the rest saved with field-level errors.
        let p = ok(api(&idp, "GET", "/api/me/profile", Some(&alice), None).await);
        assert_eq!(p["username"], "alice");
        assert_eq!(p["mobile"], "13*****678");
        assert_eq!(p["complete"], false);
        assert_eq!(p["org"]["membership"], "member");
        let bad = api(
            &idp,
            "PUT",
            "/api/me/profile",
            Some(&alice),
            Some(json!({"gender": "?", "position": ""})),
        )
        .await;
        assert_eq!(field(&bad, "gender"), "请选择性别");
        assert_eq!(field(&bad, "position"), "请填写职务");
        assert_eq!(field(&bad, "title"), "请填写职称");
        refused(bad, 422, "invalid_fields");
        let p = ok(api(
            &idp,
            "PUT",
            "/api/me/profile",
            Some(&alice),
            Some(json!({"gender": "女", "phone": "022-23456789", "position": "主任", "title": "工程师"})),
        )
        .await);
        assert_eq!(
            (
                p["gender"].as_str(),
                p["title"].as_str(),
                p["complete"].as_bool()
            ),
            (Some("女"), Some("工程师"), Some(true))
        );
        refused(
            api(&idp, "GET", "/api/me/profile", Some(&unit), None).await,
            403,
            "forbidden",
        );

        // The Zhengzhou path: a person registers its unit and becomes its admin.
        let reg = "/api/me/unit-registration";
        let bad = api(&idp, "POST", reg, Some(&erin), Some(json!({"name": "天津已注册科技有限公司", "uscc": "91120116MA05JJ1X4B", "entity_type": "企业"}))).await;
        assert_eq!(field(&bad, "name"), "该单位名称已注册");
        refused(bad, 422, "invalid_fields");
        let bad = api(&idp, "POST", reg, Some(&erin), Some(json!({"name": "天津新注册科技有限公司", "uscc": "91120116MA05JJ1X4B", "entity_type": "企业"}))).await;
        assert_eq!(field(&bad, "uscc"), "该统一社会信用代码已注册");
        let bad = api(
            &idp,
            "POST",
            reg,
            Some(&erin),
            Some(json!({"name": "", "uscc": "123", "entity_type": "x"})),
        )
        .await;
        assert_eq!(bad.1["fields"].as_object().unwrap().len(), 3, "{}", bad.1);
        refused(api(&idp, "POST", reg, Some(&alice), Some(json!({"name": "天津另一科技有限公司", "uscc": "91310000MA1FL0XY3K", "entity_type": "企业"}))).await, 409, "invalid_transition");
        refused(
            api(
                &idp,
                "POST",
                reg,
                Some(&unit),
                Some(json!({"name": "x", "uscc": "y", "entity_type": "企业"})),
            )
            .await,
            403,
            "forbidden",
        );
        let (status, created) = api(&idp, "POST", reg, Some(&erin), Some(json!({"name": "天津新注册科技有限公司", "uscc": "91310000MA1FL0XY3K", "entity_type": "企业"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["status"], "registered");
        let org_id = created["id"].as_str().unwrap().to_owned();
        let again = api(&idp, "POST", reg, Some(&erin), Some(json!({"name": "天津第三科技有限公司", "uscc": "91110000600037341L", "entity_type": "企业"}))).await;
        refused(again, 409, "invalid_transition");
        let frank = token(&idp, "frank").await;
        let taken = api(&idp, "POST", reg, Some(&frank), Some(json!({"name": "天津新注册科技有限公司", "uscc": "91110000600037341L", "entity_type": "企业"}))).await;
        assert_eq!(field(&taken, "name"), "该单位名称已注册");

        // Its next token names it the unit's admin; the same completion and review follow.
        let erin = token(&idp, "erin").await;
        let b = browser();
        let id = rp::payload(
            sign_in(&idp, &b, "rp-basic", "erin", "natural_person")
                .await
                .str("id_token"),
        );
        assert_eq!(id["org"]["id"], org_id);
        assert_eq!(id["org"]["role"], "admin");
        assert_eq!(id["org"]["status"], "registered");
        complete_unit(&idp, &erin, &org_id, "天津新注册科技有限公司").await;
        ok(api(
            &idp,
            "POST",
            &format!("/api/units/{org_id}/submit"),
            Some(&erin),
            None,
        )
        .await);
        let approved = ok(api(
            &idp,
            "POST",
            &format!("/api/units/{org_id}/approve"),
            Some(&rev_a),
            None,
        )
        .await);
        assert_eq!(approved["status"], "active");
        let found = ok(api(
            &idp,
            "GET",
            "/api/units/search?name=天津新注册科技有限公司",
            Some(&frank),
            None,
        )
        .await);
        assert_eq!(found["units"][0]["id"], org_id.as_str());
    }
);

both_backends!(directory_expert_review, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let (_, _, padmin) = staff(&idp).await;
    let alice = token(&idp, "alice").await;
    let unit = token(&idp, "unit_admin").await;
    let me = ok(api(&idp, "GET", "/api/me/expert", Some(&alice), None).await);
    assert_eq!(me["status"], "none");
    refused(
        api(&idp, "GET", "/api/me/expert", Some(&unit), None).await,
        403,
        "forbidden",
    );
    let bad = api(
        &idp,
        "POST",
        "/api/me/expert",
        Some(&alice),
        Some(json!({"gender": "男", "fields": []})),
    )
    .await;
    assert_eq!(field(&bad, "fields"), "请填写专业领域");
    assert_eq!(field(&bad, "institution"), "请填写工作单位");
    refused(bad, 422, "invalid_fields");
    let application = json!({
        "gender": "女", "institution": "南开大学", "position": "教授", "title": "正高级",
        "fields": ["新材料", "生物医药"], "email": "expert@example.com",
    });
    let sent = ok(api(
        &idp,
        "POST",
        "/api/me/expert",
        Some(&alice),
        Some(application.clone()),
    )
    .await);
    assert_eq!(sent["status"], "pending");
    assert_eq!(sent["email"], "e***@example.com");
    refused(
        api(
            &idp,
            "POST",
            "/api/me/expert",
            Some(&alice),
            Some(application.clone()),
        )
        .await,
        409,
        "invalid_transition",
    );

    // Only platform admins review.
    refused(
        api(&idp, "GET", "/api/admin/experts", Some(&alice), None).await,
        403,
        "forbidden",
    );
    refused(
        api(
            &idp,
            "POST",
            "/api/admin/experts/acct-alice/approve",
            Some(&alice),
            None,
        )
        .await,
        403,
        "forbidden",
    );
    let list = ok(api(
        &idp,
        "GET",
        "/api/admin/experts?state=pending",
        Some(&padmin),
        None,
    )
    .await);
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["fields"], json!(["新材料", "生物医药"]));
    refused(
        api(
            &idp,
            "POST",
            "/api/admin/experts/acct-alice/reject",
            Some(&padmin),
            Some(json!({"reason": " "})),
        )
        .await,
        400,
        "invalid_request",
    );
    let rejected = ok(api(
        &idp,
        "POST",
        "/api/admin/experts/acct-alice/reject",
        Some(&padmin),
        Some(json!({"reason": "职称证明缺失"})),
    )
    .await);
    assert_eq!(
        (rejected["status"].as_str(), rejected["reason"].as_str()),
        (Some("rejected"), Some("职称证明缺失"))
    );
    refused(
        api(
            &idp,
            "POST",
            "/api/admin/experts/acct-alice/approve",
            Some(&padmin),
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
            "/api/admin/experts/acct-unit/approve",
            Some(&padmin),
            None,
        )
        .await,
        404,
        "not_found",
    );

    // Resubmitted and approved: the role is in the next ID token.
    ok(api(
        &idp,
        "POST",
        "/api/me/expert",
        Some(&alice),
        Some(application),
    )
    .await);
    let before = rp::payload(
        sign_in(&idp, &browser(), "rp-basic", "alice", "natural_person")
            .await
            .str("id_token"),
    );
    assert!(!before["roles"]
        .as_array()
        .unwrap()
        .contains(&json!("expert")));
    let approved = ok(api(
        &idp,
        "POST",
        "/api/admin/experts/acct-alice/approve",
        Some(&padmin),
        None,
    )
    .await);
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["decided_by"], "padmin");
    let after = rp::payload(
        sign_in(&idp, &browser(), "rp-basic", "alice", "natural_person")
            .await
            .str("id_token"),
    );
    assert!(
        after["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("expert")),
        "{after}"
    );
});

both_backends!(
    directory_subsystems_suspension_and_refresh,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let (_, _, padmin) = staff(&idp).await;
        sqlx::query("UPDATE clients SET initiate_login_uri = 'http://rp-incubator.test/auth/login' WHERE client_id = 'rp-incubator'")
            .execute(&idp.state.db.pool)
            .await
            .unwrap();
        idp.state.clients.forget("rp-incubator");
        let b = browser();
        let at_incubator = sign_in(&idp, &b, "rp-incubator", "alice", "natural_person").await;
        let at_portal = sign_in(&idp, &b, "rp-basic", "alice", "natural_person").await;
        let alice = at_portal.str("access_token").to_owned();
        let unit = token(&idp, "unit_admin").await;

        // The launcher: the registered subsystem, where to start its login, whether held.
        let l = ok(api(&idp, "GET", "/api/subsystems", Some(&alice), None).await);
        assert_eq!(
            l["subsystems"],
            json!([{"code": "incubator", "name": "测试应用 rp-incubator",
                    "initiate_login_uri": "http://rp-incubator.test/auth/login",
                    "granted": true, "how_to_get": null}])
        );
        let padmin_view = ok(api(&idp, "GET", "/api/subsystems", Some(&padmin), None).await);
        assert_eq!(padmin_view["subsystems"][0]["granted"], false);
        assert_eq!(
            padmin_view["subsystems"][0]["how_to_get"],
            "先选择所属单位，由单位管理员授权"
        );

        // Only subsystems enabled for the unit can be granted; only platform admins enable.
        refused(
            api(
                &idp,
                "PUT",
                "/api/units/org-1/subsystems",
                Some(&unit),
                Some(json!({"subsystems": []})),
            )
            .await,
            403,
            "forbidden",
        );
        refused(
            api(
                &idp,
                "PUT",
                "/api/units/org-1/subsystems",
                Some(&padmin),
                Some(json!({"subsystems": ["nope"]})),
            )
            .await,
            400,
            "invalid_request",
        );
        idp.logouts.lock().unwrap().clear();
        let set = ok(api(
            &idp,
            "PUT",
            "/api/units/org-1/subsystems",
            Some(&padmin),
            Some(json!({"subsystems": []})),
        )
        .await);
        assert_eq!(set["subsystems"], json!([]));
        let reached: Vec<String> = idp
            .logouts
            .lock()
            .unwrap()
            .iter()
            .map(|(c, _)| c.clone())
            .collect();
        assert_eq!(reached, ["rp-incubator"], "alice's incubator session ended");
        refused(
            api(
                &idp,
                "PUT",
                "/api/units/org-1/members/acct-alice/grants",
                Some(&unit),
                Some(json!({"grants": ["incubator"]})),
            )
            .await,
            400,
            "invalid_request",
        );
        let l = ok(api(&idp, "GET", "/api/subsystems", Some(&alice), None).await);
        assert_eq!(l["subsystems"][0]["granted"], false);
        assert_eq!(
            l["subsystems"][0]["how_to_get"],
            "本单位未开通该子系统，请联系平台管理员"
        );
        crate::proto::refresh(&idp, "rp-incubator", at_incubator.str("refresh_token"))
            .await
            .assert_error(400, "invalid_grant");
        // A refresh at the portal mints claims from current data: the grant is gone.
        let refreshed =
            crate::proto::refresh(&idp, "rp-basic", at_portal.str("refresh_token")).await;
        refreshed.assert_ok();
        assert_eq!(rp::payload(refreshed.str("id_token"))["grants"], json!([]));

        // Enabled again and granted; then the unit is suspended: no grants, sessions ended.
        ok(api(
            &idp,
            "PUT",
            "/api/units/org-1/subsystems",
            Some(&padmin),
            Some(json!({"subsystems": ["incubator"]})),
        )
        .await);
        ok(api(
            &idp,
            "PUT",
            "/api/units/org-1/members/acct-alice/grants",
            Some(&unit),
            Some(json!({"grants": ["incubator"]})),
        )
        .await);
        let again = sign_in(&idp, &b, "rp-incubator", "alice", "natural_person").await;
        assert_eq!(
            rp::payload(again.str("id_token"))["grants"],
            json!(["incubator"])
        );
        idp.logouts.lock().unwrap().clear();
        refused(
            api(
                &idp,
                "POST",
                "/api/units/org-1/suspend",
                Some(&unit),
                Some(json!({"reason": "x"})),
            )
            .await,
            403,
            "forbidden",
        );
        let s = ok(api(
            &idp,
            "POST",
            "/api/units/org-1/suspend",
            Some(&padmin),
            Some(json!({"reason": "资质到期"})),
        )
        .await);
        assert_eq!(s["status"], "suspended");
        let reached: Vec<String> = idp
            .logouts
            .lock()
            .unwrap()
            .iter()
            .map(|(c, _)| c.clone())
            .collect();
        assert!(reached.contains(&"rp-incubator".to_owned()), "{reached:?}");
        crate::proto::refresh(&idp, "rp-incubator", again.str("refresh_token"))
            .await
            .assert_error(400, "invalid_grant");
        let during = sign_in(&idp, &b, "rp-incubator", "alice", "natural_person").await;
        let id = rp::payload(during.str("id_token"));
        assert_eq!(
            (id["grants"].clone(), id["org"]["status"].clone()),
            (json!([]), json!("suspended"))
        );
        refused(
            api(
                &idp,
                "POST",
                "/api/units/org-1/suspend",
                Some(&padmin),
                Some(json!({"reason": "x"})),
            )
            .await,
            409,
            "invalid_transition",
        );
        ok(api(
            &idp,
            "POST",
            "/api/units/org-1/reactivate",
            Some(&padmin),
            None,
        )
        .await);
        refused(
            api(
                &idp,
                "POST",
                "/api/units/org-1/reactivate",
                Some(&padmin),
                None,
            )
            .await,
            409,
            "invalid_transition",
        );
        let after = sign_in(&idp, &b, "rp-incubator", "alice", "natural_person").await;
        assert_eq!(
            rp::payload(after.str("id_token"))["grants"],
            json!(["incubator"])
        );
    }
);

both_backends!(directory_admin_api, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    add_account(&idp, "gina", AccountType::NaturalPerson, None, &[]).await;
    let (_, _, padmin) = staff(&idp).await;
    let alice = token(&idp, "alice").await;

    // Non-admins are refused everywhere.
    for (m, p) in [
        ("GET", "/api/admin/departments"),
        ("POST", "/api/admin/departments"),
        ("GET", "/api/admin/departments/dept-a/reviewers"),
        ("GET", "/api/admin/clients"),
        ("POST", "/api/admin/clients/rp-basic/disable"),
    ] {
        let body = (m == "POST").then(|| json!({"id": "x", "name": "x", "username": "gina"}));
        refused(api(&idp, m, p, Some(&alice), body).await, 403, "forbidden");
    }

    // Departments.
    let bad = api(
        &idp,
        "POST",
        "/api/admin/departments",
        Some(&padmin),
        Some(json!({"id": "Bad Id", "name": ""})),
    )
    .await;
    assert_eq!(bad.1["fields"].as_object().unwrap().len(), 2);
    refused(bad, 422, "invalid_fields");
    let (status, d) = api(
        &idp,
        "POST",
        "/api/admin/departments",
        Some(&padmin),
        Some(json!({"id": "dept-c", "name": "和平区科技局"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    refused(
        api(
            &idp,
            "POST",
            "/api/admin/departments",
            Some(&padmin),
            Some(json!({"id": "dept-c", "name": "重复"})),
        )
        .await,
        409,
        "invalid_transition",
    );
    let r = ok(api(
        &idp,
        "PUT",
        "/api/admin/departments/dept-c",
        Some(&padmin),
        Some(json!({"name": "和平区科学技术局"})),
    )
    .await);
    assert_eq!(r["name"], "和平区科学技术局");
    let all = ok(api(&idp, "GET", "/api/departments", Some(&alice), None).await);
    assert_eq!(all["departments"].as_array().unwrap().len(), 3);

    // Reviewers: the role appears and works; in use, the department cannot be deleted.
    refused(
        api(
            &idp,
            "POST",
            "/api/admin/departments/dept-c/reviewers",
            Some(&padmin),
            Some(json!({"username": "nobody"})),
        )
        .await,
        404,
        "not_found",
    );
    let (status, added) = api(
        &idp,
        "POST",
        "/api/admin/departments/dept-c/reviewers",
        Some(&padmin),
        Some(json!({"username": "gina"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(added["account_id"], "gina");
    let list = ok(api(
        &idp,
        "GET",
        "/api/admin/departments/dept-c/reviewers",
        Some(&padmin),
        None,
    )
    .await);
    assert_eq!(list["reviewers"][0]["username"], "gina");
    let gina = token(&idp, "gina").await;
    ok(api(&idp, "GET", "/api/reviews/units", Some(&gina), None).await);
    refused(
        api(
            &idp,
            "DELETE",
            "/api/admin/departments/dept-c",
            Some(&padmin),
            None,
        )
        .await,
        409,
        "in_use",
    );
    let (status, _) = api(
        &idp,
        "DELETE",
        "/api/admin/departments/dept-c/reviewers/gina",
        Some(&padmin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let gina = token(&idp, "gina").await;
    refused(
        api(&idp, "GET", "/api/reviews/units", Some(&gina), None).await,
        403,
        "forbidden",
    );
    let (status, _) = api(
        &idp,
        "DELETE",
        "/api/admin/departments/dept-c",
        Some(&padmin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    refused(
        api(
            &idp,
            "DELETE",
            "/api/admin/departments/dept-c",
            Some(&padmin),
            None,
        )
        .await,
        404,
        "not_found",
    );

    // Clients: created with a secret shown once (stored as its digest), updated, rotated,
    // disabled (gone from the launcher and the token endpoint) and enabled.
    let (status, c) = api(&idp, "POST", "/api/admin/clients", Some(&padmin), Some(json!({
        "client_id": "rp-makerspace", "name": "众创空间", "redirect_uris": ["http://rp-makerspace.test/cb"],
        "backchannel_logout_uri": "http://rp-makerspace.test/bc", "initiate_login_uri": "http://rp-makerspace.test/login",
        "subsystem_code": "makerspace", "first_party": true,
    }))).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    let secret = c["client_secret"].as_str().unwrap().to_owned();
    let stored = tongyi_idp::store::clients::find(&idp.state.db, "rp-makerspace")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.secret_hash.as_deref(),
        Some(tongyi_idp::crypto::sha256_hex(secret.as_bytes()).as_str())
    );
    refused(api(&idp, "POST", "/api/admin/clients", Some(&padmin), Some(json!({"client_id": "rp-makerspace", "name": "x", "redirect_uris": ["http://x.test/cb"]}))).await, 409, "invalid_transition");
    let bad = api(
        &idp,
        "POST",
        "/api/admin/clients",
        Some(&padmin),
        Some(json!({"client_id": "rp-x", "name": "x", "redirect_uris": ["not a url"]})),
    )
    .await;
    refused(bad, 422, "invalid_fields");
    let l = ok(api(&idp, "GET", "/api/subsystems", Some(&alice), None).await);
    let codes: Vec<&str> = l["subsystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["incubator", "makerspace"]);
    let u = ok(api(
        &idp,
        "PATCH",
        "/api/admin/clients/rp-makerspace",
        Some(&padmin),
        Some(
            json!({"initiate_login_uri": null, "redirect_uris": ["http://rp-makerspace.test/cb2"]}),
        ),
    )
    .await);
    assert_eq!(u["initiate_login_uri"], Value::Null);
    assert_eq!(u["redirect_uris"], json!(["http://rp-makerspace.test/cb2"]));
    assert_eq!(
        u["backchannel_logout_uri"], "http://rp-makerspace.test/bc",
        "absent fields keep their value"
    );
    let token_with = |secret: String| {
        let idp = &idp;
        async move {
            TestIdp::http()
                .post(idp.url("/token"))
                .basic_auth("rp-makerspace", Some(secret))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", "nope"),
                    ("redirect_uri", "http://rp-makerspace.test/cb2"),
                ])
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["error"]
                .clone()
        }
    };
    assert_eq!(
        token_with(secret.clone()).await,
        "invalid_grant",
        "the secret authenticates"
    );
    let rotated = ok(api(
        &idp,
        "POST",
        "/api/admin/clients/rp-makerspace/rotate-secret",
        Some(&padmin),
        None,
    )
    .await);
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(token_with(secret).await, "invalid_client");
    assert_eq!(token_with(new_secret.clone()).await, "invalid_grant");
    let off = ok(api(
        &idp,
        "POST",
        "/api/admin/clients/rp-makerspace/disable",
        Some(&padmin),
        None,
    )
    .await);
    assert_eq!(off["enabled"], false);
    assert_eq!(token_with(new_secret.clone()).await, "invalid_client");
    let l = ok(api(&idp, "GET", "/api/subsystems", Some(&alice), None).await);
    assert_eq!(l["subsystems"].as_array().unwrap().len(), 1);
    ok(api(
        &idp,
        "POST",
        "/api/admin/clients/rp-makerspace/enable",
        Some(&padmin),
        None,
    )
    .await);
    assert_eq!(token_with(new_secret).await, "invalid_grant");
    refused(
        api(
            &idp,
            "POST",
            "/api/admin/clients/nope/enable",
            Some(&padmin),
            None,
        )
        .await,
        404,
        "not_found",
    );
    let listed = ok(api(&idp, "GET", "/api/admin/clients", Some(&padmin), None).await);
    assert!(listed["clients"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c.get("client_secret").is_none()));
});
