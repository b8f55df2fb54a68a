//! Legacy accounts (issue 6): the import's four outcomes with crafted rows, conflicts inside
//! one file, bad rows, GBK input, idempotent re-runs, resume after a killed run, each legacy
//! hash scheme upgraded at the first login, 账号检索, 老用户绑定 with the manual's errors,
//! and history linking at registration seen through the API.

use std::net::{IpAddr, Ipv4Addr};

use reqwest::StatusCode;
use tongyi_idp::{
    accounts::{captcha::CaptchaAnswer, password, register},
    legacy::{
        bench,
        binding::{ALREADY_BOUND, EXPERT_FIRST, MISMATCH},
        hashes::{make, HashScheme, SaltPosition},
        import::{self, ImportOptions, RowReport, RowStatus, Silent, Summary},
        lookup::{self, LookupAnswer, LookupQuery, LOOKUPS_PER_ADDRESS_HOUR},
        outcome::Outcome,
        rows::{Encoding, RecordKind},
    },
    store::{
        self,
        accounts::{NewAccount, NewOrg},
    },
};
use tongyi_shared::{
    claims::{AccountType, RealnameStatus},
    validate::{Mobile, Uscc},
};

use crate::{
    both_backends,
    console::{get, give_alice_identity, signed_in, ALICE_ID_NUMBER},
    harness::{Backend, TestIdp, PASSWORD},
    login_modes::{delivered, message, post_page},
    login_rules::login_answering_captcha,
    proto::user_tokens,
    register::{code_for, resident_id, valid_person},
};

/// The fixture unit `org-1`, whose account logs in as `unit_admin` (not its USCC).
const FIXTURE_USCC: &str = "91120116MA05JJ1X4B";
/// Registered below as a natural person's login name (outcome 3 for a unit).
const TAKEN_USCC: &str = "91110108MA01ET88XL";
/// Registered below as a legal entity's login name (outcome 2).
const LINKED_USCC: &str = "91110000MA00AAAB0B";
/// Nowhere on the platform yet (outcome 1).
const FREE_USCC: &str = "91110000MA00AAAA0A";
const SALT: &str = "x9";

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, last))
}

fn md5(password: &str) -> String {
    make::salted_hex(HashScheme::Md5, SaltPosition::Suffix, password, SALT)
}

fn options(kind: RecordKind, scheme: HashScheme) -> ImportOptions {
    ImportOptions {
        kind,
        source: "torch".into(),
        scheme,
        salt_position: SaltPosition::Suffix,
        encoding: Encoding::Auto,
        batch_size: 3,
    }
}

async fn run(idp: &TestIdp, opts: &ImportOptions, bytes: &[u8]) -> (Summary, Vec<RowReport>) {
    let mut reports = Vec::new();
    let mut collect = |r: &RowReport| {
        reports.push(r.clone());
        Ok(())
    };
    let summary = import::import(
        &idp.state.db,
        &idp.state.pii,
        idp.state.clock.now(),
        bytes,
        opts,
        &mut Silent,
        &mut collect,
    )
    .await
    .expect("the import runs");
    (summary, reports)
}

fn by_id<'a>(reports: &'a [RowReport], legacy_id: &str) -> &'a RowReport {
    reports
        .iter()
        .find(|r| r.legacy_id == legacy_id)
        .unwrap_or_else(|| panic!("no report for {legacy_id}"))
}

async fn add(
    idp: &TestIdp,
    id: &str,
    login_name: &str,
    account_type: AccountType,
    org: Option<&str>,
) {
    let account = NewAccount {
        id: id.into(),
        login_name: login_name.into(),
        password_hash: password::hash_blocking(PASSWORD, &idp.state.config.login).unwrap(),
        account_type,
        display_name: "某某".into(),
        realname_status: RealnameStatus::Unverified,
        org_id: org.map(str::to_owned),
        org_role: org.map(|_| tongyi_shared::org::OrgRole::Admin),
        grants: vec![],
        roles: vec![],
        login_name_chosen: true,
    };
    assert!(store::accounts::insert(&idp.state.db, &account, 1)
        .await
        .unwrap());
}

async fn scalar(idp: &TestIdp, sql: &str) -> i64 {
    let row: (i64,) = sqlx::query_as(sql)
        .fetch_one(&idp.state.db.pool)
        .await
        .unwrap();
    row.0
}

async fn grants_of(idp: &TestIdp, account_id: &str) -> Vec<String> {
    store::accounts::grants_and_roles(&idp.state.db, account_id)
        .await
        .unwrap()
        .0
}

fn unit_file() -> String {
    let h = md5("Torch#Unit2019");
    format!(
        "legacy_id,login_name,password_hash,password_salt,unit_name,uscc,contact_mobile,subsystems\n\
         u1,{FREE_USCC},{h},{SALT},北京火炬一号科技有限公司,{FREE_USCC},13600000001,gaoqi;kexiao\n\
         u2,{LINKED_USCC},{h},{SALT},北京火炬二号科技有限公司,{LINKED_USCC},,gaoqi\n\
         u3,{TAKEN_USCC},{h},{SALT},北京火炬三号科技有限公司,{TAKEN_USCC},,gaoqi\n\
         u4,{FIXTURE_USCC},{h},{SALT},天津测试孵化器有限公司,{FIXTURE_USCC},,gaoqi;kexiao\n\
         u5,torch_bad,{h},{SALT},校验位错误公司,91110000MA00AAAA0B,,\n\
         u1,other_login,{h},{SALT},重复编号公司,91110000MA00AAAC0C,,\n\
         u7,other_login,{h},{SALT},重复信用代码公司,{FREE_USCC},,\n\
         u8,torch_nohash,,,缺少密码公司,91110000MA00AAAD0D,,\n"
    )
}

/// An active unit `org_id` with its own legal-entity account.
async fn active_unit(
    idp: &TestIdp,
    org_id: &str,
    name: &str,
    uscc: &str,
    account: &str,
    login: &str,
) {
    store::accounts::ensure_org(
        &idp.state.db,
        &NewOrg {
            id: org_id.into(),
            name: name.into(),
            uscc: Some(uscc.into()),
            status: tongyi_shared::org::UnitStatus::Active,
        },
        1,
    )
    .await
    .unwrap();
    add(idp, account, login, AccountType::LegalEntity, Some(org_id)).await;
}

/// The accounts the unit file's outcomes need: a person whose login name is a USCC of the
/// file, and a unit registered with its own legal-entity account.
async fn accounts_the_unit_file_meets(idp: &TestIdp) {
    add(
        idp,
        "acct-np-uscc",
        TAKEN_USCC,
        AccountType::NaturalPerson,
        None,
    )
    .await;
    active_unit(
        idp,
        "org-linked",
        "北京火炬二号科技有限公司",
        LINKED_USCC,
        "acct-le-uscc",
        LINKED_USCC,
    )
    .await;
}

both_backends!(unit_import_outcomes, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    accounts_the_unit_file_meets(&idp).await;

    let opts = options(RecordKind::Unit, HashScheme::Md5);
    let (summary, reports) = run(&idp, &opts, unit_file().as_bytes()).await;
    assert_eq!(summary.rows, 8, "{reports:?}");
    assert_eq!(
        (summary.imported, summary.errors),
        (4, 4),
        "{}",
        summary.render()
    );

    let u1 = by_id(&reports, "u1");
    assert_eq!(u1.outcome, Some(Outcome::KeptLogin));
    assert_eq!(
        (u1.login_name.as_deref(), u1.window),
        (Some(FREE_USCC), Some("法人"))
    );
    let u2 = by_id(&reports, "u2");
    assert_eq!(u2.outcome, Some(Outcome::LinkedExisting));
    assert_eq!(u2.login_name.as_deref(), Some(LINKED_USCC));
    let u3 = by_id(&reports, "u3");
    assert_eq!(u3.outcome, Some(Outcome::RenamedHj));
    assert_eq!(
        u3.login_name.as_deref(),
        Some(format!("HJ_{TAKEN_USCC}").as_str())
    );
    let u4 = by_id(&reports, "u4");
    assert_eq!(u4.outcome, Some(Outcome::BecamePerson));
    assert_eq!(
        (u4.login_name.as_deref(), u4.window),
        (Some(FIXTURE_USCC), Some("自然人"))
    );
    let errors: Vec<(&str, &str)> = reports
        .iter()
        .filter(|r| r.status == RowStatus::Error)
        .map(|r| (r.legacy_id.as_str(), r.error.as_ref().unwrap().code))
        .collect();
    assert_eq!(
        errors,
        [
            ("u5", "bad_uscc"),
            ("u1", "duplicate_in_file"),
            ("u7", "duplicate_in_file"),
            ("u8", "missing_field")
        ]
    );

    // (1) a new unit and its admin account with the old name and password.
    let db = &idp.state.db;
    let kept = store::accounts::find_by_login(db, FREE_USCC)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.account_type, AccountType::LegalEntity);
    assert_eq!(kept.org.as_ref().unwrap().uscc.as_deref(), Some(FREE_USCC));
    assert!(kept.password_hash.starts_with("legacy:md5:"));
    assert!(
        login_answering_captcha(&idp.state, FREE_USCC, "Torch#Unit2019", ip(1))
            .await
            .is_ok()
    );
    assert_eq!(grants_of(&idp, &kept.id).await, ["gaoqi", "kexiao"]);
    // (2) linked to the existing account, whose own password stays.
    let linked = store::accounts::find_by_id(db, "acct-le-uscc")
        .await
        .unwrap()
        .unwrap();
    assert!(!linked.password_hash.starts_with("legacy:"));
    assert_eq!(grants_of(&idp, "acct-le-uscc").await, ["gaoqi"]);
    // (3) HJ_ + the old name, a legal entity with the old password.
    let renamed = store::accounts::find_by_login(db, &format!("HJ_{TAKEN_USCC}"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.account_type, AccountType::LegalEntity);
    assert!(
        login_answering_captcha(&idp.state, &renamed.login_name, "Torch#Unit2019", ip(1))
            .await
            .is_ok()
    );
    // (4) the unit already had an account under another name: a natural person of that
    // unit with the unit's subsystems.
    let person = store::accounts::find_by_login(db, FIXTURE_USCC)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(person.account_type, AccountType::NaturalPerson);
    let org = person.org.as_ref().unwrap();
    assert_eq!((org.id.as_str(), org.role.as_str()), ("org-1", "member"));
    assert_eq!(grants_of(&idp, &person.id).await, ["gaoqi", "kexiao"]);

    // Audit: one entry per imported row, no personal data.
    let audit: Vec<String> = sqlx::query_as::<_, (String,)>(
        "SELECT detail FROM audit_log WHERE event = 'legacy_imported' ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
    .into_iter()
    .map(|r| r.0)
    .collect();
    assert_eq!(audit.len(), 4);
    for d in &audit {
        assert!(!d.contains("1360000") && !d.contains("火炬"), "{d}");
    }
    assert!(audit
        .iter()
        .any(|d| d.contains("\"outcome\":\"became_person\"")));

    // A re-run changes nothing.
    let accounts = scalar(&idp, "SELECT COUNT(*) FROM accounts").await;
    let (again, reports2) = run(&idp, &opts, unit_file().as_bytes()).await;
    assert_eq!((again.imported, again.unchanged, again.errors), (0, 4, 4));
    assert_eq!(by_id(&reports2, "u3").login_name, u3.login_name);
    assert_eq!(
        scalar(&idp, "SELECT COUNT(*) FROM accounts").await,
        accounts
    );
    assert_eq!(scalar(&idp, "SELECT COUNT(*) FROM legacy_records").await, 4);
    assert_eq!(
        scalar(
            &idp,
            "SELECT COUNT(*) FROM audit_log WHERE event = 'legacy_imported'"
        )
        .await,
        4
    );
    // The same legacy_id with other data is refused, not overwritten.
    let changed = unit_file().replace("北京火炬一号科技有限公司", "改名公司");
    let (_, reports3) = run(&idp, &opts, changed.as_bytes()).await;
    assert_eq!(by_id(&reports3, "u2").status, RowStatus::Unchanged);
    let u1 = reports3.iter().find(|r| r.legacy_id == "u1").unwrap();
    assert_eq!(u1.error.as_ref().unwrap().code, "changed_since_import");
});

fn person_file() -> String {
    let h = md5(PASSWORD);
    format!(
        "legacy_id,user_type,login_name,password_hash,password_salt,name,id_type,id_number,mobile,subsystems\n\
         p1,申报用户,torch_wang,{h},{SALT},王小明,,,13600000011,gaoqi\n\
         p2,declarant,13600000012,{h},{SALT},李小红,,,13600000012,\n\
         p3,declarant,alice,{h},{SALT},赵小刚,,,13600000013,\n\
         p4,declarant,torch_bad_id,{h},{SALT},钱小北,,110105194912310021,13600000014,\n\
         p5,declarant,torch_dup,{h},{SALT},孙小南,,,13600000011,\n\
         p6,专家用户,,,,周专家,,{id},13600000016,pingshen\n\
         p7,申报用户,,,,周专家,,{id},13600000016,gaoqi\n\
         p8,专家用户,torch_wang,{h},{SALT},吴同名,,,13600000018,\n",
        id = resident_id("11010119800101123")
    )
}

both_backends!(person_import_from_gbk, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    add(
        &idp,
        "acct-mobile-login",
        "13600000012",
        AccountType::NaturalPerson,
        None,
    )
    .await;
    let text = person_file();
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let opts = options(RecordKind::Person, HashScheme::Md5);
    let (summary, reports) = run(&idp, &opts, &gbk).await;
    assert_eq!((summary.imported, summary.errors), (6, 2), "{reports:?}");
    assert_eq!(by_id(&reports, "p1").outcome, Some(Outcome::KeptLogin));
    assert_eq!(by_id(&reports, "p1").window, Some("自然人"));
    assert_eq!(by_id(&reports, "p2").outcome, Some(Outcome::LinkedExisting));
    let p3 = by_id(&reports, "p3");
    assert_eq!(
        (p3.outcome, p3.login_name.as_deref()),
        (Some(Outcome::RenamedHj), Some("HJ_alice"))
    );
    assert_eq!(
        by_id(&reports, "p4").error.as_ref().unwrap().code,
        "bad_id_number"
    );
    assert_eq!(
        by_id(&reports, "p5").error.as_ref().unwrap().code,
        "duplicate_in_file"
    );
    assert_eq!(by_id(&reports, "p6").outcome, Some(Outcome::RecordOnly));
    assert_eq!(by_id(&reports, "p7").outcome, Some(Outcome::RecordOnly));
    // A login name repeated inside the file: the later row is the one renamed.
    assert_eq!(
        by_id(&reports, "p8").login_name.as_deref(),
        Some("HJ_torch_wang")
    );

    // GBK names arrive intact; the mobile and document are sealed, found by their keys.
    let db = &idp.state.db;
    let wang = store::accounts::find_by_login(db, "torch_wang")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(wang.display_name, "王小明");
    let (mobile, _) = store::identities::contact_of(&idp.state.pii, &wang);
    assert_eq!(mobile.as_deref(), Some("13600000011"));
    let raw: (Option<String>,) =
        sqlx::query_as("SELECT mobile_sealed FROM legacy_records WHERE legacy_id = 'p6'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(!raw.0.unwrap().contains("13600000016"));
    let key = idp
        .state
        .pii
        .lookup_key(tongyi_idp::pii::PiiField::Mobile, "13600000016");
    assert_eq!(
        store::legacy::persons_by_mobile(db, &key)
            .await
            .unwrap()
            .len(),
        2
    );
    // The same file as UTF-8 is the same rows: nothing changes.
    let (again, _) = run(&idp, &opts, person_file().as_bytes()).await;
    assert_eq!((again.imported, again.unchanged), (0, 6));
});

both_backends!(
    each_legacy_hash_is_upgraded_at_first_login,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        const PW: &str = "Old#Torch2019";
        let cases = [
            (HashScheme::Md5, md5(PW)),
            (
                HashScheme::Sha1,
                make::salted_hex(HashScheme::Sha1, SaltPosition::Suffix, PW, SALT),
            ),
            (
                HashScheme::Sha256,
                make::salted_hex(HashScheme::Sha256, SaltPosition::Suffix, PW, SALT),
            ),
            (
                HashScheme::Pbkdf2,
                make::pbkdf2_sha256(PW, "NaCl2019", 1000),
            ),
            (HashScheme::Bcrypt, make::bcrypt(PW, 4)),
        ];
        for (i, (scheme, hash)) in cases.iter().enumerate() {
            let login = format!("hash_{}", scheme.as_str());
            let file = format!(
                "legacy_id,user_type,login_name,password_hash,password_salt,name,mobile\n\
             h{i},declarant,{login},{hash},{SALT},测试{i},1360000010{i}\n"
            );
            let mut opts = options(RecordKind::Person, *scheme);
            opts.source = format!("src-{i}");
            let (summary, reports) = run(&idp, &opts, file.as_bytes()).await;
            assert_eq!(summary.imported, 1, "{scheme:?} {reports:?}");
            let db = &idp.state.db;
            let before = store::accounts::find_by_login(db, &login)
                .await
                .unwrap()
                .unwrap();
            assert!(
                before
                    .password_hash
                    .starts_with(&format!("legacy:{}:", scheme.as_str())),
                "{}",
                before.password_hash
            );
            assert!(
                login_answering_captcha(&idp.state, &login, "Old#Torch2018", ip(2))
                    .await
                    .is_err()
            );
            let still = store::accounts::find_by_id(db, &before.id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                still.password_hash, before.password_hash,
                "a wrong password upgrades nothing"
            );
            assert!(
                login_answering_captcha(&idp.state, &login, PW, ip(2))
                    .await
                    .is_ok(),
                "{scheme:?}"
            );
            let after = store::accounts::find_by_id(db, &before.id)
                .await
                .unwrap()
                .unwrap();
            assert!(after.password_hash.starts_with("$argon2id$"), "{scheme:?}");
            assert!(!after.password_hash.contains(hash.as_str()));
            assert!(login_answering_captcha(&idp.state, &login, PW, ip(2))
                .await
                .is_ok());
            assert!(
                login_answering_captcha(&idp.state, &login, "Old#Torch2018", ip(2))
                    .await
                    .is_err()
            );
        }
        assert_eq!(
            scalar(
                &idp,
                "SELECT COUNT(*) FROM audit_log WHERE event = 'legacy_password_upgraded'"
            )
            .await,
            5
        );
        assert_eq!(
            scalar(
                &idp,
                "SELECT COUNT(*) FROM accounts WHERE password_hash LIKE 'legacy:%'"
            )
            .await,
            0
        );
    }
);

both_backends!(
    lookup_page_tells_outcome_and_window,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        add(
            &idp,
            "acct-np-uscc",
            TAKEN_USCC,
            AccountType::NaturalPerson,
            None,
        )
        .await;
        run(
            &idp,
            &options(RecordKind::Unit, HashScheme::Md5),
            unit_file().as_bytes(),
        )
        .await;
        run(
            &idp,
            &options(RecordKind::Person, HashScheme::Md5),
            person_file().as_bytes(),
        )
        .await;
        let b = crate::harness::browser();

        let lookup = |kind: &'static str, identifier: String| {
            let (idp, b) = (&idp, &b);
            async move {
                let (_, page) = get(b, idp, &format!("/legacy/lookup?type={kind}")).await;
                assert!(page.contains("<label for=\"identifier\">"), "{page}");
                let (_, status, html) = post_page(
                    idp,
                    b,
                    "/legacy/lookup",
                    &page,
                    &[("kind", kind), ("identifier", &identifier)],
                )
                .await
                .page();
                (status, html)
            }
        };
        // Outcome 3 for a unit: HJ_ + USCC shown whole, the window 法人, the name masked.
        let (status, html) = lookup("unit", TAKEN_USCC.to_owned()).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("data-outcome=\"renamed_hj\""), "{html}");
        assert!(html.contains(&format!("HJ_{TAKEN_USCC}")));
        assert!(html.contains("法人登录"));
        assert!(
            !html.contains("北京火炬三号科技有限公司"),
            "names are masked"
        );
        assert!(!html.contains("legacy:") && !html.contains(&md5("Torch#Unit2019")));
        // Outcome 4: the 自然人 window.
        let (_, html) = lookup("unit", FIXTURE_USCC.to_owned()).await;
        assert!(html.contains("data-outcome=\"became_person\""), "{html}");
        assert!(html.contains("<strong>自然人登录</strong>"));
        // A person's mobile: the old login name that is not the mobile is masked.
        let (_, html) = lookup("person", "13600000011".to_owned()).await;
        assert!(html.contains("data-outcome=\"kept_login\""), "{html}");
        assert!(
            html.contains("to****ng") && !html.contains("torch_wang"),
            "{html}"
        );
        // Two records of one mobile: both told (expert and declarant, waiting for binding).
        let (_, html) = lookup("person", "13600000016".to_owned()).await;
        assert_eq!(
            html.matches("data-outcome=\"record_only\"").count(),
            2,
            "{html}"
        );
        assert!(html.contains("/legacy/bind"));
        // Nothing found, and a bad USCC at its field.
        let (_, html) = lookup("unit", "91110000MA00AAAE0E".to_owned()).await;
        assert!(html.contains("id=\"lookup-none\""), "{html}");
        let (status, html) = lookup("unit", "91110000MA00AAAA0B".to_owned()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(message(&html, "identifier-error").is_some(), "{html}");
        assert!(html.contains("aria-describedby=\"identifier-error\""));
        // A wrong captcha answers nothing.
        let (_, page) = get(&b, &idp, "/legacy/lookup?type=unit").await;
        let (_, status, html) = post_page(
            &idp,
            &b,
            "/legacy/lookup",
            &page,
            &[
                ("kind", "unit"),
                ("identifier", TAKEN_USCC),
                ("captcha", "0000"),
            ],
        )
        .await
        .page();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(message(&html, "captcha-error").is_some());
        assert!(!html.contains("data-outcome"));

        // The per-address limit.
        let query = LookupQuery::Unit(Uscc::parse(TAKEN_USCC).unwrap());
        let solved = || crate::login_rules::solved_captcha(&idp.state);
        fn answer((id, answer): &(String, String)) -> CaptchaAnswer<'_> {
            CaptchaAnswer { id, answer }
        }
        for _ in 0..LOOKUPS_PER_ADDRESS_HOUR {
            let c = solved().await;
            assert!(!matches!(
                lookup::lookup(&idp.state, &query, answer(&c), ip(9))
                    .await
                    .unwrap(),
                LookupAnswer::Limited | LookupAnswer::CaptchaWrong
            ));
        }
        let c = solved().await;
        assert!(matches!(
            lookup::lookup(&idp.state, &query, answer(&c), ip(9))
                .await
                .unwrap(),
            LookupAnswer::Limited
        ));
        // The captcha comes first: a wrong one is refused without touching the limit.
        let wrong = CaptchaAnswer {
            id: "0000",
            answer: "0000",
        };
        assert!(matches!(
            lookup::lookup(&idp.state, &query, wrong, ip(9))
                .await
                .unwrap(),
            LookupAnswer::CaptchaWrong
        ));
        let person = LookupQuery::Person(Mobile::parse("13600000011").unwrap());
        let c = solved().await;
        assert!(matches!(
            lookup::lookup(&idp.state, &person, answer(&c), ip(10))
                .await
                .unwrap(),
            LookupAnswer::Found(_)
        ));
    }
);

async fn bind_post(
    idp: &TestIdp,
    b: &reqwest::Client,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let (status, page) = get(b, idp, "/legacy/bind").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (_, status, html) = post_page(idp, b, "/legacy/bind", &page, fields)
        .await
        .page();
    (status, html)
}

both_backends!(
    old_user_binding_with_the_manuals_errors,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let expert_id = resident_id("11010119800101123");
        let file = format!(
            "legacy_id,user_type,name,id_number,mobile,subsystems\n\
         e1,expert,周专家,{expert_id},13600000016,pingshen\n\
         d1,declarant,周专家,{expert_id},13600000017,gaoqi\n\
         d2,declarant,郑申报,,13600000019,gaoqi\n"
        );
        let (summary, _) = run(
            &idp,
            &options(RecordKind::Person, HashScheme::Md5),
            file.as_bytes(),
        )
        .await;
        assert_eq!(summary.imported, 3);
        let alice = signed_in(&idp, "alice").await;

        // Wrong type for the mobile, or an unknown mobile.
        for (t, m) in [("declarant", "13600000016"), ("expert", "13600000099")] {
            let (status, html) = bind_post(
                &idp,
                &alice,
                &[("user_type", t), ("mobile", m), ("action", "send_code")],
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(
                message(&html, "bind-error").as_deref(),
                Some(MISMATCH),
                "{html}"
            );
        }
        // A declarant record of a person whose expert record is unbound (same document).
        let (_, html) = bind_post(
            &idp,
            &alice,
            &[
                ("user_type", "declarant"),
                ("mobile", "13600000017"),
                ("action", "send_code"),
            ],
        )
        .await;
        assert_eq!(
            message(&html, "bind-error").as_deref(),
            Some(EXPERT_FIRST),
            "{html}"
        );
        assert!(
            delivered(&idp, "13600000017").is_none(),
            "no code for a refusal"
        );

        // The expert record: code, wrong code, then the binding.
        let (status, html) = bind_post(
            &idp,
            &alice,
            &[
                ("user_type", "expert"),
                ("mobile", "13600000016"),
                ("action", "send_code"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(
            message(&html, "bind-notice")
                .unwrap()
                .contains(&Mobile::parse("13600000016").unwrap().masked()),
            "{html}"
        );
        let code = delivered(&idp, "13600000016").expect("a code");
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let (status, html) = bind_post(
            &idp,
            &alice,
            &[
                ("user_type", "expert"),
                ("mobile", "13600000016"),
                ("code", wrong),
                ("action", "bind"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(message(&html, "code-error").is_some(), "{html}");
        let (status, html) = bind_post(
            &idp,
            &alice,
            &[
                ("user_type", "expert"),
                ("mobile", "13600000016"),
                ("code", &code),
                ("action", "bind"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("id=\"bind-done\""), "{html}");
        assert!(grants_of(&idp, "acct-alice")
            .await
            .contains(&"pingshen".to_owned()));

        // An account binds once.
        let (_, html) = bind_post(
            &idp,
            &alice,
            &[
                ("user_type", "declarant"),
                ("mobile", "13600000019"),
                ("action", "send_code"),
            ],
        )
        .await;
        assert_eq!(
            message(&html, "bind-error").as_deref(),
            Some(ALREADY_BOUND),
            "{html}"
        );
        // A bound record cannot be bound again by another account; the declarant record of the
        // same person can now be, its expert record being bound.
        crate::console::add_account(&idp, "acct-other", "other_person", true, &[]).await;
        let other = signed_in(&idp, "other_person").await;
        let (_, html) = bind_post(
            &idp,
            &other,
            &[
                ("user_type", "expert"),
                ("mobile", "13600000016"),
                ("action", "send_code"),
            ],
        )
        .await;
        assert_eq!(
            message(&html, "bind-error").as_deref(),
            Some(MISMATCH),
            "{html}"
        );
        let (status, html) = bind_post(
            &idp,
            &other,
            &[
                ("user_type", "declarant"),
                ("mobile", "13600000017"),
                ("action", "send_code"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{html}");

        // A legal entity has no binding; and a signed-out browser is sent to log in.
        let unit = signed_in(&idp, "unit_admin").await;
        let (_, html) = bind_post(
            &idp,
            &unit,
            &[
                ("user_type", "declarant"),
                ("mobile", "13600000019"),
                ("action", "send_code"),
            ],
        )
        .await;
        assert!(
            message(&html, "bind-error").unwrap().contains("自然人"),
            "{html}"
        );
        let res = crate::harness::browser()
            .get(idp.url("/legacy/bind"))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_redirection());

        let bound = scalar(
        &idp,
        "SELECT COUNT(*) FROM audit_log WHERE event = 'legacy_bound' AND detail LIKE '%\"bound\"%'",
    )
    .await;
        assert_eq!(bound, 1);
        let details: Vec<(String,)> =
            sqlx::query_as("SELECT detail FROM audit_log WHERE event = 'legacy_bound'")
                .fetch_all(&idp.state.db.pool)
                .await
                .unwrap();
        assert!(details.iter().all(|d| !d.0.contains("1360000")));
    }
);

both_backends!(
    history_is_linked_and_visible_to_subsystems,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        give_alice_identity(&idp).await;
        let newcomer = resident_id("12010119900307123");
        let file = format!(
            "legacy_id,user_type,name,id_number,mobile,subsystems\n\
         t1,declarant,张三,{ALICE_ID_NUMBER},13600000031,gaoqi\n\
         t2,declarant,王五,{newcomer},13600000032,gaoqi\n"
        );
        let mut opts = options(RecordKind::Person, HashScheme::Md5);
        opts.source = "tianjin".into();
        run(&idp, &opts, file.as_bytes()).await;

        // Alice registered before the import: linked by the import itself.
        let tokens = user_tokens(&idp, "rp-basic").await;
        let res = reqwest::Client::new()
            .get(idp.url("/api/me/legacy-records"))
            .bearer_auth(tokens.str("access_token"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body: serde_json::Value = res.json().await.unwrap();
        let records = body["records"].as_array().unwrap();
        assert_eq!(records.len(), 1, "{body}");
        assert_eq!(records[0]["legacy_id"], "t1");
        assert_eq!(records[0]["linked_via"], "import");
        assert_eq!(records[0]["source"], "tianjin");
        assert!(
            !body.to_string().contains(ALICE_ID_NUMBER) && !body.to_string().contains("1360000")
        );

        // A newcomer registering with the same document type and number gets the history.
        let mut input = valid_person(&idp).await;
        input.sms_code = code_for(&idp, &input.mobile).await;
        let registered = register::register_person(&idp.state, &input, ip(3))
            .await
            .unwrap();
        let linked = store::legacy::records_of_account(&idp.state.db, &registered.account_id)
            .await
            .unwrap();
        assert_eq!(linked.len(), 1);
        assert_eq!(
            (
                linked[0].legacy_id.as_str(),
                linked[0].linked_via.as_deref()
            ),
            ("t2", Some("registration"))
        );
        assert_eq!(
            scalar(
                &idp,
                "SELECT COUNT(*) FROM audit_log WHERE event = 'legacy_history_linked'"
            )
            .await,
            1
        );
        // Without a token, the API refuses.
        let res = reqwest::Client::new()
            .get(idp.url("/api/me/legacy-records"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
);

both_backends!(
    a_killed_import_resumes_without_duplicates,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let dir =
            std::env::temp_dir().join(format!("tongyi-legacy-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let total = 6000usize;
        let file = dir.join("persons.csv");
        std::fs::write(&file, bench::generate(total)).unwrap();
        let config = dir.join("idp.toml");
        std::fs::write(
        &config,
        format!(
            "issuer = \"http://127.0.0.1:1\"\nbind = \"127.0.0.1:0\"\ndatabase_url = \"{}\"\nkek = \"{}\"\n",
            idp.storage.database_url,
            tongyi_idp::config::DEMO_KEK
        ),
    )
    .unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_idp"))
            .args([
                "--config",
                config.to_str().unwrap(),
                "legacy",
                "import",
                "--kind",
                "person",
            ])
            .args([
                "--source",
                "bench",
                "--batch-size",
                "100",
                "--file",
                file.to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill it once some batches have committed.
        let mut before = 0;
        for _ in 0..3000 {
            before = store::legacy::count(&idp.state.db, "bench", "person")
                .await
                .unwrap();
            if before >= 300 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let before = store::legacy::count(&idp.state.db, "bench", "person")
            .await
            .unwrap()
            .max(before);
        assert!(
            before > 0 && (before as usize) < total,
            "killed midway: {before}"
        );
        assert_eq!(before % 100, 0, "batches commit whole");

        let mut opts = options(RecordKind::Person, HashScheme::Md5);
        opts.source = "bench".into();
        opts.batch_size = 100;
        let bytes = std::fs::read(&file).unwrap();
        let (summary, _) = run(&idp, &opts, &bytes).await;
        assert_eq!(summary.errors, 0, "{}", summary.render());
        assert_eq!(summary.unchanged as i64, before);
        assert_eq!(summary.imported as usize + before as usize, total);
        assert_eq!(
            store::legacy::count(&idp.state.db, "bench", "person")
                .await
                .unwrap(),
            total as i64
        );
        // One account per row with a login; none twice.
        let with_login = (0..total).filter(|i| i % 20 != 0).count() as i64;
        assert_eq!(
            scalar(
                &idp,
                "SELECT COUNT(*) FROM accounts WHERE login_name LIKE '%bench_user_%'"
            )
            .await,
            with_login
        );
        assert_eq!(
            scalar(
                &idp,
                "SELECT COUNT(*) FROM audit_log WHERE event = 'legacy_imported'"
            )
            .await,
            total as i64
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
);

both_backends!(
    units_approved_in_the_old_system_work_on_day_one,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        const PW: &str = "Torch#Unit2019";
        let h = md5(PW);
        let file = format!(
            "legacy_id,login_name,password_hash,password_salt,unit_name,uscc,subsystems,approved\n\
             a1,{FREE_USCC},{h},{SALT},北京火炬一号科技有限公司,{FREE_USCC},incubator,是\n\
             a2,{LINKED_USCC},{h},{SALT},北京火炬二号科技有限公司,{LINKED_USCC},incubator,\n\
             a3,{TAKEN_USCC},{h},{SALT},北京火炬三号科技有限公司,{TAKEN_USCC},incubator,也许\n"
        );
        let opts = options(RecordKind::Unit, HashScheme::Md5);
        let (summary, reports) = run(&idp, &opts, file.as_bytes()).await;
        assert_eq!((summary.imported, summary.errors), (2, 1), "{reports:?}");
        let bad = by_id(&reports, "a3").error.as_ref().expect("an error");
        assert!(format!("{bad:?}").contains("approved"), "{bad:?}");

        // Approved in the old system: active at once, its imported grant in the first token.
        let approved =
            crate::login_modes::login_as(&idp, crate::login_modes::LEGAL, FREE_USCC, PW).await;
        let claims = crate::rp::payload(approved.str("id_token"));
        assert_eq!(claims["org"]["status"], "active", "{claims}");
        assert_eq!(
            claims["grants"],
            serde_json::json!(["incubator"]),
            "{claims}"
        );
        // Not approved: registered, through review as before, so no grant reaches a token yet.
        let pending =
            crate::login_modes::login_as(&idp, crate::login_modes::LEGAL, LINKED_USCC, PW).await;
        let claims = crate::rp::payload(pending.str("id_token"));
        assert_eq!(claims["org"]["status"], "registered", "{claims}");
        assert_ne!(
            claims["grants"],
            serde_json::json!(["incubator"]),
            "{claims}"
        );

        // The audit log says which unit skipped the review, and why.
        assert_eq!(
            scalar(
                &idp,
                "SELECT COUNT(*) FROM audit_log WHERE event = 'legacy_imported' \
                 AND detail LIKE '%approved_in_old_system%'"
            )
            .await,
            1
        );
    }
);

/// The report of runs as the report file has it (line, legacy_id, status, outcome, login
/// name, window, error code, error), one line per row, `#` before each run.
fn report_text(runs: &[(&str, Vec<RowReport>)]) -> String {
    let mut out = String::new();
    for (name, reports) in runs {
        out.push_str(&format!("# {name}\n"));
        for r in reports {
            let (code, message) = r
                .error
                .as_ref()
                .map(|e| (e.code, e.message.as_str()))
                .unwrap_or(("", ""));
            out.push_str(&format!(
                "{},{},{},{},{},{},{code},{message}\n",
                r.line,
                r.legacy_id,
                r.status.as_str(),
                r.outcome.map(|o| o.as_str()).unwrap_or(""),
                r.login_name.as_deref().unwrap_or(""),
                r.window.unwrap_or(""),
            ));
        }
    }
    out
}

/// The person file of `person_file` with rows whose outcome depends on rows before them in
/// the same file (a login and its `HJ_` both taken, a document registered by an earlier
/// row, an email reserved by an earlier row) and on the platform (alice's document).
fn person_file_with_neighbours() -> String {
    let h = md5(PASSWORD);
    let header = "legacy_id,user_type,login_name,password_hash,password_salt,name,id_type,id_number,mobile,subsystems";
    let mut text = person_file().replacen(header, &format!("{header},email"), 1);
    text.push_str(&format!(
        "p9,declarant,alice,{h},{SALT},钱小西,,,13600000019,,\n\
         p10,申报用户,,,,张三,,{ALICE_ID_NUMBER},13600000020,gaoqi,\n\
         p11,declarant,torch_doc,{h},{SALT},郑小东,,{doc},13600000021,gaoqi,doc@example.com\n\
         p12,expert,,,,郑小东,,{doc},13600000022,pingshen,\n\
         p13,declarant,torch_mail,{h},{SALT},冯小雨,,,13600000023,,DOC@example.com\n\
         p14,declarant,13600000021,{h},{SALT},郑小东,,,13600000024,,\n\
         p15,expert,torch_link,{h},{SALT},郑小东,,,13600000021,kexiao,\n",
        doc = resident_id("11010119900307456")
    ));
    text
}

/// The unit file of `unit_file` with a record of a unit the platform has (linked to its
/// account).
fn unit_file_with_neighbours() -> String {
    format!(
        "{}u9,,,,北京火炬四号科技有限公司,{THIRD_USCC},,,\n",
        unit_file()
    )
}

/// A unit registered on the platform with its own account (`third_unit`).
const THIRD_USCC: &str = "91110000MA00AAAC0C";

/// The runs of both files (first import, re-run, a changed row) in batches of `batch_size`,
/// on a fresh platform with the accounts the files meet.
async fn every_outcome_report(backend: Backend, batch_size: usize) -> String {
    let idp = TestIdp::start(backend).await;
    accounts_the_unit_file_meets(&idp).await;
    active_unit(
        &idp,
        "org-third",
        "北京火炬四号科技有限公司",
        THIRD_USCC,
        "acct-third",
        "third_unit",
    )
    .await;
    add(
        &idp,
        "acct-mobile-login",
        "13600000012",
        AccountType::NaturalPerson,
        None,
    )
    .await;
    give_alice_identity(&idp).await;

    let mut unit = options(RecordKind::Unit, HashScheme::Md5);
    unit.batch_size = batch_size;
    let mut person = options(RecordKind::Person, HashScheme::Md5);
    person.batch_size = batch_size;
    let units = unit_file_with_neighbours();
    let persons = person_file_with_neighbours();
    let (gbk, _, _) = encoding_rs::GBK.encode(&persons);
    let mut runs = Vec::new();
    runs.push(("units", run(&idp, &unit, units.as_bytes()).await.1));
    runs.push(("persons (GBK)", run(&idp, &person, &gbk).await.1));
    runs.push(("units again", run(&idp, &unit, units.as_bytes()).await.1));
    runs.push((
        "persons again",
        run(&idp, &person, persons.as_bytes()).await.1,
    ));
    let changed = persons.replace("冯小雨", "冯小雪");
    runs.push((
        "persons changed",
        run(&idp, &person, changed.as_bytes()).await.1,
    ));
    let mut text = report_text(&runs);
    text.push_str(&written_rows(&idp).await);
    text
}

/// kind, legacy_id, outcome, login name, login of the linked account, linked via.
type RecordRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);
/// login name, type, unit role, has a mobile, has an email, unit's USCC, documents.
type AccountRow = (String, String, Option<String>, i64, i64, String, i64);

/// What the runs wrote, without the random ids: each record with the login of its account,
/// each account with its reserved contacts, grants and documents, the audit entries.
async fn written_rows(idp: &TestIdp) -> String {
    let db = &idp.state.db.pool;
    let mut out = String::from("# records\n");
    let records: Vec<RecordRow> = sqlx::query_as(
        "SELECT r.kind, r.legacy_id, r.outcome, r.login_name, a.login_name, r.linked_via \
             FROM legacy_records r LEFT JOIN accounts a ON a.id = r.account_id \
             ORDER BY r.kind, r.legacy_id",
    )
    .fetch_all(db)
    .await
    .unwrap();
    for r in records {
        out.push_str(&format!("{r:?}\n"));
    }
    out.push_str("# accounts\n");
    let accounts: Vec<AccountRow> = sqlx::query_as(
        "SELECT a.login_name, a.account_type, a.org_role, \
         CAST(CASE WHEN a.mobile_key IS NULL THEN 0 ELSE 1 END AS BIGINT), \
         CAST(CASE WHEN a.email_key IS NULL THEN 0 ELSE 1 END AS BIGINT), \
         COALESCE(o.uscc, '-'), \
         (SELECT COUNT(*) FROM person_identities p WHERE p.account_id = a.id) \
         FROM accounts a LEFT JOIN organizations o ON o.id = a.org_id ORDER BY a.login_name",
    )
    .fetch_all(db)
    .await
    .unwrap();
    for a in accounts {
        out.push_str(&format!("{a:?}\n"));
    }
    out.push_str("# grants\n");
    let grants: Vec<(String, String)> = sqlx::query_as(
        "SELECT a.login_name, g.subsystem_code FROM account_grants g \
         JOIN accounts a ON a.id = g.account_id ORDER BY a.login_name, g.subsystem_code",
    )
    .fetch_all(db)
    .await
    .unwrap();
    for g in grants {
        out.push_str(&format!("{g:?}\n"));
    }
    out.push_str("# audit\n");
    let audit: Vec<(Option<String>, String)> = sqlx::query_as(
        "SELECT a.login_name, l.detail FROM audit_log l \
         LEFT JOIN accounts a ON a.id = l.subject_account_id \
         WHERE l.event = 'legacy_imported' ORDER BY l.id",
    )
    .fetch_all(db)
    .await
    .unwrap();
    for (login, detail) in audit {
        // The record id in the detail is random.
        let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
        out.push_str(&format!(
            "{login:?} {} {}\n",
            detail["outcome"], detail["unit_status"]
        ));
    }
    out
}

/// The reports and rows of [`every_outcome_report`] as the import gave them before it
/// streamed (recorded from that version, commit 6d11ef5, the same on both backends and in
/// batches of 1, 3 and 1000).
const EVERY_OUTCOME_REPORT: &str = include_str!("legacy_every_outcome_report.txt");

both_backends!(
    streaming_gives_the_same_report_in_any_batch_size,
    |backend: Backend| async move {
        for batch_size in [1, 3, 1000] {
            assert_eq!(
                every_outcome_report(backend, batch_size).await,
                EVERY_OUTCOME_REPORT,
                "batches of {batch_size}"
            );
        }
    }
);

both_backends!(
    a_row_the_database_refuses_loses_nothing_else,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        // Stands for a registration racing the import: the database refuses one account.
        let refuse = match backend {
            Backend::SqliteMemory => vec![
                "CREATE TRIGGER refuse_doomed BEFORE INSERT ON accounts \
                 WHEN NEW.login_name = 'doomed' BEGIN SELECT RAISE(ABORT, 'refused'); END",
            ],
            Backend::PostgresRedis => vec![
                "CREATE FUNCTION refuse_doomed() RETURNS trigger AS $$ BEGIN \
                 IF NEW.login_name = 'doomed' THEN RAISE EXCEPTION 'refused'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER refuse_doomed BEFORE INSERT ON accounts \
                 FOR EACH ROW EXECUTE FUNCTION refuse_doomed()",
            ],
        };
        for sql in refuse {
            sqlx::raw_sql(sql)
                .execute(&idp.state.db.pool)
                .await
                .unwrap();
        }
        let h = md5(PASSWORD);
        let file = format!(
            "legacy_id,user_type,login_name,password_hash,password_salt,name,mobile\n\
             d1,declarant,torch_before,{h},{SALT},甲,13600000031\n\
             d2,declarant,doomed,{h},{SALT},乙,13600000032\n\
             d3,declarant,torch_after,{h},{SALT},丙,13600000033\n"
        );
        let opts = options(RecordKind::Person, HashScheme::Md5);
        let (summary, reports) = run(&idp, &opts, file.as_bytes()).await;
        assert_eq!((summary.imported, summary.errors), (2, 1), "{reports:?}");
        assert_eq!(
            by_id(&reports, "d2").error.as_ref().unwrap().code,
            "database"
        );
        assert_eq!(scalar(&idp, "SELECT COUNT(*) FROM legacy_records").await, 2);

        let drop = match backend {
            Backend::SqliteMemory => "DROP TRIGGER refuse_doomed",
            Backend::PostgresRedis => "DROP TRIGGER refuse_doomed ON accounts",
        };
        sqlx::raw_sql(drop)
            .execute(&idp.state.db.pool)
            .await
            .unwrap();
        let (again, reports) = run(&idp, &opts, file.as_bytes()).await;
        assert_eq!((again.imported, again.unchanged), (1, 2), "{reports:?}");
        assert_eq!(
            scalar(
                &idp,
                "SELECT COUNT(*) FROM audit_log WHERE event = 'legacy_imported'"
            )
            .await,
            3
        );
    }
);
