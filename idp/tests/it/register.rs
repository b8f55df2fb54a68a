//! Registration: legal entities, natural persons and quick registration by mobile. Field rules
//! are checked through the domain functions (every failing field named, nothing written), the
//! availability checks through the form buttons and the JSON endpoint (with their rate limit),
//! and one test goes through the HTML forms over real HTTP like a person would: captcha read
//! from the store, SMS code from the development outbox, then a login with the new password.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr},
};

use reqwest::StatusCode;
use tongyi_idp::{
    accounts::{
        captcha, realname,
        register::{
            self, DocumentInput, LegalEntityInput, PersonInput, QuickInput, RegisterError,
            RepresentativeInput, CHECKS_PER_WINDOW, SUBMITS_PER_WINDOW,
        },
    },
    store::{
        accounts::{NewAccount, NewOrg},
        identities::{self, CreateError, NewLegalEntity, OrgPerson, PersonIdentity, Taken},
    },
};
use tongyi_shared::claims::{AccountType, RealnameStatus};

use crate::{
    both_backends,
    captcha::read_picture,
    harness::{browser, hidden, location, Backend, TestIdp, ALICE_MOBILE, PASSWORD},
};

const NEW_PASSWORD: &str = "Reg#Pass2026";
/// The fixture unit (`org-1`).
const FIXTURE_UNIT: &str = "天津测试孵化器有限公司";
const FIXTURE_USCC: &str = "91120116MA05JJ1X4B";

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

/// A resident ID number with a correct GB 11643 check digit.
pub fn resident_id(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

/// The same number with a wrong check digit.
fn wrong_check(id: &str) -> String {
    let last = if id.ends_with('1') { '2' } else { '1' };
    format!("{}{last}", &id[..17])
}

/// A USCC with a correct GB 32100 check character.
fn uscc(first17: &str) -> String {
    const CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let sum: usize = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| CHARS.iter().position(|c| *c == b).unwrap() * w)
        .sum();
    let check = (31 - sum % 31) % 31;
    format!("{first17}{}", CHARS[check] as char)
}

/// A fresh captcha challenge and what its picture shows.
async fn solved_captcha(idp: &TestIdp) -> (String, String) {
    let id = captcha::issue(&idp.state.store).await.unwrap();
    let answer = read_picture(idp, &id).await;
    (id, answer)
}

/// The last code the development outbox holds for `mobile`.
fn delivered(idp: &TestIdp, mobile: &str) -> String {
    let entry = idp
        .state
        .sms
        .outbox()
        .expect("tests use the development outbox")
        .latest_for(mobile)
        .unwrap_or_else(|| panic!("nothing sent to {mobile}"));
    let start = entry.text.find(|c: char| c.is_ascii_digit()).unwrap();
    entry.text[start..start + 6].to_owned()
}

/// Sends a registration code to `mobile` through the domain (captcha answered) and reads it.
pub async fn code_for(idp: &TestIdp, mobile: &str) -> String {
    let (id, answer) = solved_captcha(idp).await;
    register::send_register_code(&idp.state, "mobile", mobile, &id, &answer, ip(1))
        .await
        .unwrap();
    delivered(idp, mobile)
}

async fn count(idp: &TestIdp, table: &str) -> i64 {
    let row: (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&idp.state.db.pool)
        .await
        .unwrap();
    row.0
}

async fn counts(idp: &TestIdp) -> [i64; 4] {
    [
        count(idp, "accounts").await,
        count(idp, "organizations").await,
        count(idp, "org_people").await,
        count(idp, "person_identities").await,
    ]
}

fn resident_doc(number: &str) -> DocumentInput {
    DocumentInput {
        id_type: "resident_id_card".into(),
        id_number: number.into(),
        valid_from: "2020-01-15".into(),
        term: "20".into(),
        valid_to: String::new(),
    }
}

pub async fn valid_person(idp: &TestIdp) -> PersonInput {
    let (captcha_id, captcha) = solved_captcha(idp).await;
    PersonInput {
        login_name: "wang_wu".into(),
        password: NEW_PASSWORD.into(),
        password_confirm: NEW_PASSWORD.into(),
        real_name: "王五".into(),
        identity_region: "mainland".into(),
        document: resident_doc(&resident_id("12010119900307123")),
        id_country: String::new(),
        mobile: "13700001111".into(),
        sms_code: String::new(),
        captcha_id,
        captcha,
        agreed: true,
    }
}

async fn valid_legal(idp: &TestIdp) -> LegalEntityInput {
    let (captcha_id, captcha) = solved_captcha(idp).await;
    LegalEntityInput {
        login_name: "tj_lab".into(),
        password: NEW_PASSWORD.into(),
        password_confirm: NEW_PASSWORD.into(),
        entity_type: "enterprise".into(),
        registration_region: "domestic".into(),
        unit_name: "天津新材料研究院有限公司".into(),
        uscc: uscc("91120116MA06ABCD1"),
        legal_rep: RepresentativeInput {
            name: "李四".into(),
            document: resident_doc(&resident_id("12010219750101123")),
            mobile: "13800002222".into(),
        },
        agent: RepresentativeInput {
            name: "赵六".into(),
            document: DocumentInput {
                id_type: "passport".into(),
                id_number: "E12345678".into(),
                valid_from: "2021-06-01".into(),
                term: String::new(),
                valid_to: "2031-05-31".into(),
            },
            mobile: "13600003333".into(),
        },
        sms_code: String::new(),
        captcha_id,
        captcha,
        agreed: true,
    }
}

async fn valid_quick(idp: &TestIdp) -> QuickInput {
    let (captcha_id, captcha) = solved_captcha(idp).await;
    QuickInput {
        mobile: "13500004444".into(),
        password: NEW_PASSWORD.into(),
        password_confirm: NEW_PASSWORD.into(),
        sms_code: String::new(),
        captcha_id,
        captcha,
        agreed: true,
    }
}

fn invalid(r: Result<register::Registered, RegisterError>) -> HashMap<&'static str, String> {
    match r {
        Err(RegisterError::Invalid(m)) => m.iter().map(|(f, m)| (f, m.to_owned())).collect(),
        Ok(r) => panic!("registered {r:?} although a field is wrong"),
        Err(e) => panic!("unexpected {e:?}"),
    }
}

fn assert_field(errors: &HashMap<&'static str, String>, field: &str, message: &str) {
    let got = errors
        .get(field)
        .unwrap_or_else(|| panic!("no error at {field}: {errors:?}"));
    assert!(
        got.contains(message),
        "{field}: expected {message:?}, got {got:?}"
    );
}

type Edit<T> = Box<dyn Fn(&mut T)>;

both_backends!(
    person_rejects_each_bad_field,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        // A registered document to collide with.
        let taken_id = resident_id("11010119800101001");
        identities::set_identity(
            &idp.state.db,
            &idp.state.pii,
            "acct-alice",
            &PersonIdentity {
                real_name: "张三".into(),
                identity_region: "mainland".into(),
                id_type: "resident_id_card".into(),
                id_number: taken_id.clone(),
                id_valid_from: Some("2020-01-15".into()),
                id_valid_to: None,
                id_country: None,
                gender: None,
                ethnicity: None,
            },
            idp.state.clock.now(),
        )
        .await
        .unwrap();
        let before = counts(&idp).await;
        let cases: Vec<(Edit<PersonInput>, &str, &str)> = vec![
            (
                Box::new(|p| p.login_name = "1wang".into()),
                "login_name",
                "",
            ),
            (
                Box::new(|p| p.login_name = "alice".into()),
                "login_name",
                "已被注册",
            ),
            (
                Box::new(|p| p.login_name = "ALICE".into()),
                "login_name",
                "已被注册",
            ),
            (
                Box::new(|p| {
                    p.password = "weakpassword".into();
                    p.password_confirm = "weakpassword".into();
                }),
                "password",
                "至少三种",
            ),
            (
                Box::new(|p| p.password_confirm = "Reg#Pass2027".into()),
                "password_confirm",
                "两次输入的密码不一致",
            ),
            (
                Box::new(|p| {
                    p.login_name = "Wang_Wu_2026".into();
                    p.password = "wang_wu_2026".into();
                    p.password_confirm = "wang_wu_2026".into();
                }),
                "password",
                "密码不能与账号相同",
            ),
            (
                Box::new(|p| p.real_name = "  ".into()),
                "real_name",
                "请输入真实姓名",
            ),
            (
                Box::new(|p| p.identity_region = "mars".into()),
                "identity_region",
                "请选择身份类型",
            ),
            (
                Box::new(|p| p.document.id_type = String::new()),
                "id_type",
                "请选择证件类型",
            ),
            (
                Box::new(|p| p.document.id_number = wrong_check(&p.document.id_number)),
                "id_number",
                "校验",
            ),
            (
                Box::new(move |p| p.document.id_number = taken_id.clone()),
                "id_number",
                "已被注册",
            ),
            (
                Box::new(|p| {
                    p.document.valid_from = "2010-01-01".into();
                    p.document.term = "10".into();
                }),
                "id_valid_from",
                "证件已过期",
            ),
            (
                Box::new(|p| p.document.term = String::new()),
                "id_term",
                "有效期限",
            ),
            (
                Box::new(|p| {
                    p.document = DocumentInput {
                        id_type: "passport".into(),
                        id_number: "E87654321".into(),
                        valid_from: "2022-01-01".into(),
                        term: String::new(),
                        valid_to: "2032-01-01".into(),
                    };
                    p.id_country = String::new();
                }),
                "id_country",
                "国家或地区",
            ),
            (
                Box::new(|p| {
                    p.document = DocumentInput {
                        id_type: "hk_macao_permit".into(),
                        id_number: "H12345678".into(),
                        valid_from: "2012-01-01".into(),
                        term: String::new(),
                        valid_to: "2022-01-01".into(),
                    };
                }),
                "id_valid_to",
                "证件已过期",
            ),
            (
                Box::new(|p| p.mobile = "12345678901".into()),
                "mobile",
                "手机号码",
            ),
            (
                Box::new(|p| p.mobile = ALICE_MOBILE.into()),
                "mobile",
                "已被注册",
            ),
            (Box::new(|p| p.agreed = false), "agree", "同意"),
            (
                Box::new(|p| p.captcha = "WRONG".into()),
                "captcha",
                "图形验证码错误",
            ),
        ];
        for (edit, field, message) in cases {
            let mut input = valid_person(&idp).await;
            edit(&mut input);
            let errors = invalid(register::register_person(&idp.state, &input, ip(2)).await);
            assert_field(&errors, field, message);
        }
        // All failing fields at once, not just the first.
        let mut input = valid_person(&idp).await;
        input.login_name = "x".into();
        input.password_confirm = "other".into();
        input.real_name.clear();
        input.mobile = "1".into();
        input.agreed = false;
        let errors = invalid(register::register_person(&idp.state, &input, ip(2)).await);
        for field in [
            "login_name",
            "password_confirm",
            "real_name",
            "mobile",
            "agree",
        ] {
            assert!(errors.contains_key(field), "{field} missing in {errors:?}");
        }
        assert_eq!(counts(&idp).await, before, "nothing is written on failure");
    }
);

both_backends!(
    legal_entity_rejects_each_bad_field,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let before = counts(&idp).await;
        let cases: Vec<(Edit<LegalEntityInput>, &str, &str)> = vec![
            (Box::new(|l| l.login_name = "ab".into()), "login_name", ""),
            (
                Box::new(|l| l.login_name = "Unit_Admin".into()),
                "login_name",
                "已被注册",
            ),
            (
                Box::new(|l| {
                    l.password = "short1A".into();
                    l.password_confirm = "short1A".into();
                }),
                "password",
                "",
            ),
            (
                Box::new(|l| l.password_confirm = "Reg#Pass2025".into()),
                "password_confirm",
                "两次输入的密码不一致",
            ),
            (
                Box::new(|l| l.entity_type = "company".into()),
                "entity_type",
                "法人类型",
            ),
            (
                Box::new(|l| l.registration_region = String::new()),
                "registration_region",
                "注册地",
            ),
            (
                Box::new(|l| l.unit_name = " ".into()),
                "unit_name",
                "请输入单位名称",
            ),
            (
                Box::new(|l| l.unit_name = FIXTURE_UNIT.into()),
                "unit_name",
                "已被注册",
            ),
            (
                Box::new(|l| {
                    let mut u = l.uscc.clone();
                    let last = if u.ends_with('0') { '1' } else { '0' };
                    u.pop();
                    u.push(last);
                    l.uscc = u;
                }),
                "uscc",
                "",
            ),
            (
                Box::new(|l| l.uscc = FIXTURE_USCC.into()),
                "uscc",
                "已被注册",
            ),
            (
                Box::new(|l| l.legal_rep.name.clear()),
                "rep_name",
                "法定代表人",
            ),
            (
                Box::new(|l| {
                    l.legal_rep.document.id_number = wrong_check(&l.legal_rep.document.id_number)
                }),
                "rep_id_number",
                "校验",
            ),
            (
                Box::new(|l| l.legal_rep.mobile = "2345".into()),
                "rep_mobile",
                "",
            ),
            (Box::new(|l| l.agent.name.clear()), "agent_name", "主代办人"),
            (
                Box::new(|l| l.agent.document.valid_to = "2022-01-01".into()),
                "agent_valid_to",
                "",
            ),
            (
                Box::new(|l| l.agent.document.id_number = "E1".into()),
                "agent_id_number",
                "护照",
            ),
            (
                Box::new(|l| l.agent.mobile = "139".into()),
                "agent_mobile",
                "",
            ),
            (Box::new(|l| l.agreed = false), "agree", "同意"),
            (
                Box::new(|l| l.captcha_id = "nope".into()),
                "captcha",
                "图形验证码错误",
            ),
        ];
        for (edit, field, message) in cases {
            let mut input = valid_legal(&idp).await;
            edit(&mut input);
            let errors = invalid(register::register_legal_entity(&idp.state, &input, ip(3)).await);
            assert_field(&errors, field, message);
        }
        assert_eq!(counts(&idp).await, before, "nothing is written on failure");
    }
);

both_backends!(
    quick_rejects_each_bad_field,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let before = counts(&idp).await;
        let cases: Vec<(Edit<QuickInput>, &str, &str)> = vec![
            (
                Box::new(|q| q.mobile = "23500004444".into()),
                "mobile",
                "手机号码",
            ),
            (
                Box::new(|q| q.mobile = ALICE_MOBILE.into()),
                "mobile",
                "已被注册",
            ),
            (
                Box::new(|q| {
                    q.password = "abcdefgh".into();
                    q.password_confirm = "abcdefgh".into();
                }),
                "password",
                "至少三种",
            ),
            (
                Box::new(|q| q.password_confirm.clear()),
                "password_confirm",
                "两次输入的密码不一致",
            ),
            (Box::new(|q| q.agreed = false), "agree", "同意"),
            (Box::new(|q| q.captcha.clear()), "captcha", "图形验证码错误"),
        ];
        for (edit, field, message) in cases {
            let mut input = valid_quick(&idp).await;
            edit(&mut input);
            let errors = invalid(register::register_quick(&idp.state, &input, ip(4)).await);
            assert_field(&errors, field, message);
        }
        assert_eq!(counts(&idp).await, before, "nothing is written on failure");
        // Submissions from one address are limited too.
        let input = QuickInput::default();
        let mut accepted = 0;
        loop {
            match register::register_quick(&idp.state, &input, ip(40)).await {
                Err(RegisterError::Invalid(_)) => accepted += 1,
                Err(RegisterError::TooMany) => break,
                other => panic!("unexpected {other:?}"),
            }
            assert!(accepted <= SUBMITS_PER_WINDOW, "no limit");
        }
        assert_eq!(accepted, SUBMITS_PER_WINDOW);
    }
);

both_backends!(sms_code_is_checked_last, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    // 20:00 in Shanghai: outside the real-name service hours, so the check is queued.
    crate::harness::advance_to(&idp.state, 20, 0);
    let before = counts(&idp).await;
    // No code at all, then a wrong one.
    let input = valid_person(&idp).await;
    let errors = invalid(register::register_person(&idp.state, &input, ip(5)).await);
    assert_field(&errors, "sms_code", "请输入短信验证码");
    let code = code_for(&idp, "13700001111").await;
    let mut input = valid_person(&idp).await;
    input.sms_code = if code == "000000" { "111111" } else { "000000" }.into();
    let errors = invalid(register::register_person(&idp.state, &input, ip(5)).await);
    assert_field(&errors, "sms_code", "验证码错误");
    // A mistake elsewhere does not use the code up.
    let mut input = valid_person(&idp).await;
    input.sms_code = code.clone();
    input.real_name.clear();
    let errors = invalid(register::register_person(&idp.state, &input, ip(5)).await);
    assert!(!errors.contains_key("sms_code"), "{errors:?}");
    assert_eq!(counts(&idp).await, before);
    // The same code still registers once everything else is right…
    let mut input = valid_person(&idp).await;
    input.sms_code = code.clone();
    let done = register::register_person(&idp.state, &input, ip(5))
        .await
        .unwrap();
    let account = tongyi_idp::store::accounts::find_by_id(&idp.state.db, &done.account_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.realname_status, RealnameStatus::Unverified);
    assert_eq!(done.realname, Some(realname::Standing::Queued));
    assert_eq!(account.display_name, "王五");
    let identity = identities::person_identity(&idp.state.db, &idp.state.pii, &account.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(identity.id_valid_to.as_deref(), Some("2040-01-15"));
    // A code is for its own mobile only.
    let mut again = valid_person(&idp).await;
    again.login_name = "wang_wu_2".into();
    again.mobile = "13700001112".into();
    again.document = resident_doc(&resident_id("12010119900307124"));
    again.sms_code = code;
    let errors = invalid(register::register_person(&idp.state, &again, ip(5)).await);
    assert_field(&errors, "sms_code", "");
    // An expired code.
    let code = code_for(&idp, "13500004444").await;
    idp.state.clock.advance(301);
    let mut quick = valid_quick(&idp).await;
    quick.sms_code = code;
    let errors = invalid(register::register_quick(&idp.state, &quick, ip(5)).await);
    assert_field(&errors, "sms_code", "已过期");
    assert_eq!(count(&idp, "accounts").await, before[0] + 1);
});

both_backends!(creation_is_all_or_nothing, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let before = counts(&idp).await;
    let person = |mobile: &str| OrgPerson {
        name: "李四".into(),
        id_type: "resident_id_card".into(),
        id_number: resident_id("12010219750101123"),
        id_valid_from: Some("2020-01-15".into()),
        id_valid_to: None,
        mobile: mobile.into(),
    };
    let account = NewAccount {
        id: "acct-new-unit".into(),
        login_name: "new_unit".into(),
        password_hash: "x".into(),
        account_type: AccountType::LegalEntity,
        display_name: "另一家公司".into(),
        realname_status: RealnameStatus::Unverified,
        org_id: Some("org-new".into()),
        org_role: Some(tongyi_shared::org::OrgRole::Admin),
        grants: vec![],
        roles: vec![],
        login_name_chosen: true,
    };
    // The USCC collides only at the unit's insert: neither unit nor account remains.
    let unit = NewLegalEntity {
        org: NewOrg {
            id: "org-new".into(),
            name: "另一家公司".into(),
            uscc: Some(FIXTURE_USCC.into()),
            status: tongyi_shared::org::UnitStatus::Registered,
        },
        entity_type: "enterprise".into(),
        registration_region: "domestic".into(),
        legal_rep: person("13800002222"),
        agent: person("13600003333"),
    };
    let now = idp.state.clock.now();
    let r = identities::create_legal_entity(
        &idp.state.db,
        &idp.state.pii,
        &account,
        Some("13600003333"),
        None,
        &unit,
        now,
    )
    .await;
    assert!(matches!(r, Err(CreateError::Taken(Taken::Uscc))), "{r:?}");
    assert_eq!(counts(&idp).await, before);
    // The login name collides at the account's insert, after unit and people were written.
    let mut taken_login = account.clone();
    taken_login.login_name = "alice".into();
    let mut fresh_unit = unit.clone();
    fresh_unit.org.uscc = Some(uscc("91120116MA06ABCD1"));
    let r = identities::create_legal_entity(
        &idp.state.db,
        &idp.state.pii,
        &taken_login,
        Some("13600003333"),
        None,
        &fresh_unit,
        now,
    )
    .await;
    assert!(
        matches!(r, Err(CreateError::Taken(Taken::LoginName))),
        "{r:?}"
    );
    assert_eq!(counts(&idp).await, before, "the unit went with the account");
});

/// Posts a form and returns the status and the page.
async fn post(
    b: &reqwest::Client,
    idp: &TestIdp,
    path: &str,
    form: &[(&str, String)],
) -> (StatusCode, String) {
    let res = b.post(idp.url(path)).form(form).send().await.unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

pub async fn get_page(b: &reqwest::Client, idp: &TestIdp, path: &str) -> String {
    let res = b.get(idp.url(path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

/// The text of the note or error shown under field `name`, if any.
fn message_at(html: &str, name: &str, kind: &str) -> Option<String> {
    let marker = format!("id=\"{name}-{kind}\"");
    let start = html.find(&marker)? + marker.len();
    let rest = &html[start..];
    let open = rest.find('>')? + 1;
    let close = rest[open..].find("</p>")?;
    Some(rest[open..open + close].to_owned())
}

both_backends!(
    availability_checks_and_their_limit,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = browser();
        let page = get_page(&b, &idp, "/register/legal-entity").await;
        let csrf = hidden(&page, "csrf");
        let check = |action: &'static str, field: &'static str, value: &str| {
            vec![
                ("csrf", csrf.clone()),
                ("action", action.to_owned()),
                (field, value.to_owned()),
                ("password", "Secret#2026x".to_owned()),
            ]
        };
        let (status, html) = post(
            &b,
            &idp,
            "/register/legal-entity",
            &check("check_login_name", "login_name", "alice"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            message_at(&html, "login_name", "error").as_deref(),
            Some("已被注册")
        );
        assert!(html.contains("aria-invalid=\"true\""));
        assert!(html.contains("value=\"alice\""), "the value is kept");
        assert!(!html.contains("Secret#2026x"), "passwords are not echoed");
        let (_, html) = post(
            &b,
            &idp,
            "/register/legal-entity",
            &check("check_login_name", "login_name", "fresh_name"),
        )
        .await;
        assert_eq!(
            message_at(&html, "login_name", "note").as_deref(),
            Some("可以使用")
        );
        let (_, html) = post(
            &b,
            &idp,
            "/register/legal-entity",
            &check("check_unit_name", "unit_name", FIXTURE_UNIT),
        )
        .await;
        assert_eq!(
            message_at(&html, "unit_name", "error").as_deref(),
            Some("已被注册")
        );
        let (_, html) = post(
            &b,
            &idp,
            "/register/legal-entity",
            &check("check_uscc", "uscc", &uscc("91120116MA06ABCD1")),
        )
        .await;
        assert_eq!(
            message_at(&html, "uscc", "note").as_deref(),
            Some("可以使用")
        );

        let json = |field: &str, value: &str| {
            let url = idp.url(&format!("/register/available?field={field}&value={value}"));
            let b = b.clone();
            async move {
                let res = b.get(url).send().await.unwrap();
                let status = res.status();
                (status, res.json::<serde_json::Value>().await.unwrap())
            }
        };
        let (status, v) = json("uscc", FIXTURE_USCC).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["available"], false);
        let (_, v) = json("login_name", "Brand_New").await;
        assert_eq!(v["available"], true);
        let (_, v) = json("unit_name", "不存在的单位").await;
        assert_eq!(v["available"], true);
        let (status, _) = json("uscc", "91120116MA05JJ1X4C").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a wrong check character");
        let (status, v) = json("password", "x").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(v["error"], "invalid_request");
        // Eight checks so far (the unknown field does not count); the budget ends at 30.
        for _ in 8..CHECKS_PER_WINDOW {
            let (status, _) = json("login_name", "alice").await;
            assert_eq!(status, StatusCode::OK);
        }
        let (status, v) = json("login_name", "alice").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(v["error"], "too_many_requests");
        assert_eq!(v["error_description"], "操作过于频繁，请稍后再试");
        let (status, html) = post(
            &b,
            &idp,
            "/register/legal-entity",
            &check("check_login_name", "login_name", "alice"),
        )
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(html.contains("操作过于频繁，请稍后再试"));
        // Another address has its own budget.
        let other =
            register::check_available(&idp.state, register::Checkable::LoginName, "alice", ip(9))
                .await
                .unwrap();
        assert_eq!(other, register::Availability::Taken);
    }
);

/// Sends the form's SMS code through the "获取验证码" button and returns the re-rendered page.
pub async fn press_send_code(
    b: &reqwest::Client,
    idp: &TestIdp,
    path: &str,
    page: &str,
    fields: &[(&str, String)],
) -> String {
    let captcha_id = hidden(page, "captcha_id");
    let mut form = fields.to_vec();
    form.push(("csrf", hidden(page, "csrf")));
    form.push(("captcha_id", captcha_id.clone()));
    form.push(("captcha", read_picture(idp, &captcha_id).await));
    form.push(("action", "send_code".into()));
    let (status, html) = post(b, idp, path, &form).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    html
}

/// Submits the form with the page's fresh captcha answered.
pub async fn press_register(
    b: &reqwest::Client,
    idp: &TestIdp,
    path: &str,
    page: &str,
    fields: &[(&str, String)],
) -> (StatusCode, String) {
    let captcha_id = hidden(page, "captcha_id");
    let mut form = fields.to_vec();
    form.push(("csrf", hidden(page, "csrf")));
    form.push(("captcha_id", captcha_id.clone()));
    form.push(("captcha", read_picture(idp, &captcha_id).await));
    form.push(("agree", "1".into()));
    form.push(("action", "register".into()));
    post(b, idp, path, &form).await
}

/// Logs in through the login form; true when it ends in a session.
async fn logs_in(idp: &TestIdp, login_name: &str, password: &str) -> bool {
    let b = browser();
    let page = get_page(&b, idp, "/login").await;
    let form = [
        ("csrf", hidden(&page, "csrf")),
        ("req", String::new()),
        ("next", String::new()),
        ("login_name", login_name.to_owned()),
        ("password", password.to_owned()),
    ];
    let res = b.post(idp.url("/login")).form(&form).send().await.unwrap();
    res.status().is_redirection() && location(&res) == "/"
}

async fn audit_kinds(idp: &TestIdp) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT detail FROM audit_log WHERE event = 'account_registered' ORDER BY id",
    )
    .fetch_all(&idp.state.db.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(d,)| {
            let v: serde_json::Value = serde_json::from_str(&d).unwrap();
            v["kind"].as_str().unwrap().to_owned()
        })
        .collect()
}

both_backends!(registers_through_the_forms, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let b = browser();

    // 法人注册.
    let path = "/register/legal-entity";
    let page = get_page(&b, &idp, path).await;
    let agent_mobile = "13600003333";
    let mut fields: Vec<(&str, String)> = vec![
        ("login_name", "tj_lab".into()),
        ("password", NEW_PASSWORD.into()),
        ("password_confirm", NEW_PASSWORD.into()),
        ("entity_type", "institution".into()),
        ("registration_region", "domestic".into()),
        ("unit_name", "天津新材料研究院".into()),
        ("uscc", uscc("12120000MB0123456")),
        ("rep_name", "李四".into()),
        ("rep_id_type", "resident_id_card".into()),
        ("rep_id_number", resident_id("12010219750101123")),
        ("rep_valid_from", "2015-03-01".into()),
        ("rep_term", "long_term".into()),
        ("rep_mobile", "13800002222".into()),
        ("agent_name", "赵六".into()),
        ("agent_mobile", agent_mobile.into()),
        ("agent_id_type", "resident_id_card".into()),
        ("agent_id_number", resident_id("12010419880808123")),
        ("agent_valid_from", "2019-08-08".into()),
        ("agent_term", "20".into()),
    ];
    let page = press_send_code(&b, &idp, path, &page, &fields).await;
    assert_eq!(
        message_at(&page, "sms_code", "note").as_deref(),
        Some("验证码已发送至 13*****333"),
    );
    assert!(
        page.contains("value=\"天津新材料研究院\""),
        "values are kept"
    );
    fields.push(("sms_code", delivered(&idp, agent_mobile)));
    let (status, done) = press_register(&b, &idp, path, &page, &fields).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done.contains("注册成功") && done.contains("href=\"/login\""));
    let account = tongyi_idp::store::accounts::find_by_login(&idp.state.db, "tj_lab")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.account_type, AccountType::LegalEntity);
    assert_eq!(account.display_name, "天津新材料研究院");
    let org = account.org.clone().unwrap();
    assert_eq!(
        (org.status.as_str(), org.role.as_str()),
        ("registered", "admin")
    );
    let by_mobile = identities::find_by_mobile(
        &idp.state.db,
        &idp.state.pii,
        AccountType::LegalEntity,
        agent_mobile,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(by_mobile.id, account.id);
    let details = identities::org_details(&idp.state.db, &org.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(details.entity_type.as_deref(), Some("institution"));
    let rep = identities::org_person(
        &idp.state.db,
        &idp.state.pii,
        &org.id,
        identities::OrgPersonRole::LegalRepresentative,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!((rep.name.as_str(), rep.id_valid_to), ("李四", None));
    assert!(logs_in(&idp, "tj_lab", NEW_PASSWORD).await);

    // 自然人注册, in the same browser.
    let path = "/register/person";
    let page = get_page(&b, &idp, path).await;
    let mobile = "13700001111";
    let mut fields: Vec<(&str, String)> = vec![
        ("login_name", "wang_wu".into()),
        ("password", NEW_PASSWORD.into()),
        ("password_confirm", NEW_PASSWORD.into()),
        ("real_name", "王五".into()),
        ("identity_region", "mainland".into()),
        ("id_type", "resident_id_card".into()),
        ("id_number", resident_id("12010119900307123")),
        ("id_valid_from", "2020-01-15".into()),
        ("id_term", "20".into()),
        ("mobile", mobile.into()),
    ];
    let page = press_send_code(&b, &idp, path, &page, &fields).await;
    let code = delivered(&idp, mobile);
    // A field error first: the code survives it and the other values come back.
    let mut wrong = fields.clone();
    wrong.push(("sms_code", code.clone()));
    wrong[5].1 = "passport".into();
    let (status, page) = press_register(&b, &idp, path, &page, &wrong).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message_at(&page, "id_country", "error").is_some(), "{page}");
    assert!(page.contains("aria-describedby=\"id_country-hint id_country-error\""));
    assert!(page.contains("value=\"王五\""));
    assert!(!page.contains(NEW_PASSWORD));
    fields.push(("sms_code", code));
    let (status, done) = press_register(&b, &idp, path, &page, &fields).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done.contains("wang_wu"));
    assert!(logs_in(&idp, "wang_wu", NEW_PASSWORD).await);
    assert!(!logs_in(&idp, "wang_wu", PASSWORD).await);

    // 快速注册.
    let path = "/register/quick";
    let page = get_page(&b, &idp, path).await;
    assert!(page.contains("暂时不实名认证"));
    let mobile = "13500004444";
    let mut fields: Vec<(&str, String)> = vec![
        ("mobile", mobile.into()),
        ("password", NEW_PASSWORD.into()),
        ("password_confirm", NEW_PASSWORD.into()),
    ];
    let page = press_send_code(&b, &idp, path, &page, &fields).await;
    fields.push(("sms_code", delivered(&idp, mobile)));
    let (status, done) = press_register(&b, &idp, path, &page, &fields).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done.contains("暂时不实名认证"));
    let quick = identities::find_by_mobile(
        &idp.state.db,
        &idp.state.pii,
        AccountType::NaturalPerson,
        mobile,
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!quick.login_name_chosen);
    assert!(quick.login_name.starts_with('m') && quick.login_name.len() == 11);
    assert_eq!(quick.display_name, "13*****444");
    assert!(done.contains(&quick.login_name));
    assert!(
        identities::person_identity(&idp.state.db, &idp.state.pii, &quick.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(logs_in(&idp, &quick.login_name, NEW_PASSWORD).await);

    assert_eq!(
        audit_kinds(&idp).await,
        ["legal_entity", "natural_person", "quick"]
    );
});

both_backends!(
    send_code_needs_mobile_and_captcha,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = browser();
        let path = "/register/quick";
        let page = get_page(&b, &idp, path).await;
        let send = |mobile: &str, answer: Option<String>, page: &str| {
            let mut form = vec![
                ("csrf", hidden(page, "csrf")),
                ("captcha_id", hidden(page, "captcha_id")),
                ("mobile", mobile.to_owned()),
                ("action", "send_code".to_owned()),
            ];
            if let Some(a) = answer {
                form.push(("captcha", a));
            }
            form
        };
        let (status, page) = post(&b, &idp, path, &send("1350000", None, &page)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(message_at(&page, "mobile", "error").is_some());
        let (_, page) = post(
            &b,
            &idp,
            path,
            &send("13500004444", Some("ZZZZZ".into()), &page),
        )
        .await;
        assert_eq!(
            message_at(&page, "captcha", "error").as_deref(),
            Some("图形验证码错误，请重新输入")
        );
        assert!(idp
            .state
            .sms
            .outbox()
            .unwrap()
            .latest_for("13500004444")
            .is_none());
        // The same challenge cannot be answered twice.
        let id = hidden(&page, "captcha_id");
        let answer = read_picture(&idp, &id).await;
        let (_, next) = post(
            &b,
            &idp,
            path,
            &send("13500004444", Some(answer.clone()), &page),
        )
        .await;
        assert!(message_at(&next, "sms_code", "note").is_some(), "{next}");
        let (_, again) = post(&b, &idp, path, &send("13500004444", Some(answer), &page)).await;
        assert!(message_at(&again, "captcha", "error").is_some());
        // "换一张" keeps what was typed and shows a new challenge.
        let form = [
            ("csrf", hidden(&again, "csrf")),
            ("mobile", "13500004444".to_owned()),
            ("action", "new_captcha".to_owned()),
        ];
        let (status, fresh) = post(&b, &idp, path, &form).await;
        assert_eq!(status, StatusCode::OK);
        assert!(fresh.contains("value=\"13500004444\""));
        assert_ne!(hidden(&fresh, "captcha_id"), hidden(&again, "captcha_id"));
        // Without CSRF nothing happens.
        let res = b
            .post(idp.url(path))
            .form(&[("mobile", "13500004444"), ("action", "send_code")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let landing = get_page(&b, &idp, "/register").await;
        for link in [
            "/register/legal-entity",
            "/register/person",
            "/register/quick",
        ] {
            assert!(landing.contains(&format!("href=\"{link}\"")));
        }
    }
);

both_backends!(
    registration_starts_real_name_verification,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        // 10:00 in Shanghai: the upstream is open, the check runs at once.
        crate::harness::advance_to(&idp.state, 10, 0);
        let mut input = valid_person(&idp).await;
        input.sms_code = code_for(&idp, &input.mobile).await;
        let done = register::register_person(&idp.state, &input, ip(6))
            .await
            .unwrap();
        assert_eq!(done.realname, Some(realname::Standing::Verified));
        let account = tongyi_idp::store::accounts::find_by_id(&idp.state.db, &done.account_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(account.realname_status, RealnameStatus::Verified);

        // 20:00: queued, and done by the background job when the service opens.
        crate::harness::advance_to(&idp.state, 20, 0);
        let mut input = valid_person(&idp).await;
        input.login_name = "zhao_liu".into();
        input.real_name = "赵六".into();
        input.mobile = "13700002222".into();
        input.document = resident_doc(&resident_id("12010119880512456"));
        input.sms_code = code_for(&idp, &input.mobile).await;
        let done = register::register_person(&idp.state, &input, ip(6))
            .await
            .unwrap();
        assert_eq!(done.realname, Some(realname::Standing::Queued));
        assert_eq!(realname::run_due(&idp.state).await.unwrap(), 0);
        crate::harness::advance_to(&idp.state, 8, 30);
        assert_eq!(realname::run_due(&idp.state).await.unwrap(), 1);
        let account = tongyi_idp::store::accounts::find_by_id(&idp.state.db, &done.account_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(account.realname_status, RealnameStatus::Verified);
    }
);
