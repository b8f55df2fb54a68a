//! Registering at the IdP's own pages the way a person would: the captcha answered from the
//! IdP's store and the SMS code read from its development outbox, as the IdP's tests do. Test
//! helpers only; the IdP has no bypass.

use reqwest::StatusCode;

use crate::harness::{hidden, Browser, Platform};

/// The GB 11643 check character appended to 17 digits.
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

/// The GB 32100 check character appended to 17 characters.
pub fn uscc(first17: &str) -> String {
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

/// What the captcha picture of `page` shows.
async fn captcha_answer(p: &Platform, page: &str) -> (String, String) {
    let id = hidden(page, "captcha_id");
    let answer = p
        .idp_state
        .store
        .get(&format!("captcha:{id}"))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no live captcha {id}"));
    (id, answer)
}

/// The last code sent to `mobile`.
fn sms_code(p: &Platform, mobile: &str) -> String {
    let entry = p
        .idp_state
        .sms
        .outbox()
        .expect("the development outbox")
        .latest_for(mobile)
        .unwrap_or_else(|| panic!("nothing sent to {mobile}"));
    let start = entry.text.find(|c: char| c.is_ascii_digit()).unwrap();
    entry.text[start..start + 6].to_owned()
}

async fn press(
    p: &Platform,
    b: &Browser,
    path: &str,
    page: &str,
    fields: &[(&str, String)],
    action: &str,
) -> (StatusCode, String) {
    let (captcha_id, captcha) = captcha_answer(p, page).await;
    let mut form: Vec<(&str, String)> = fields.to_vec();
    form.push(("csrf", hidden(page, "csrf")));
    form.push(("captcha_id", captcha_id));
    form.push(("captcha", captcha));
    form.push(("action", action.into()));
    if action == "register" {
        form.push(("agree", "1".into()));
    }
    let res = b
        .http
        .post(format!("{}{path}", p.idp))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

/// Fills in a registration form at `path`, asks for the SMS code, and registers.
async fn register(p: &Platform, path: &str, mut fields: Vec<(&str, String)>, mobile: &str) {
    let b = Browser::new();
    let page = b.open(&format!("{}{path}", p.idp)).await.html;
    let (status, page) = press(p, &b, path, &page, &fields, "send_code").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    fields.push(("sms_code", sms_code(p, mobile)));
    let (status, done) = press(p, &b, path, &page, &fields, "register").await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done.contains("注册成功"), "{done}");
}

/// 法人注册: a domestic enterprise with its legal representative and agent.
pub async fn register_legal_entity(
    p: &Platform,
    login_name: &str,
    password: &str,
    unit_name: &str,
    uscc: &str,
    agent_mobile: &str,
) {
    let fields: Vec<(&str, String)> = vec![
        ("login_name", login_name.into()),
        ("password", password.into()),
        ("password_confirm", password.into()),
        ("entity_type", "enterprise".into()),
        ("registration_region", "domestic".into()),
        ("unit_name", unit_name.into()),
        ("uscc", uscc.into()),
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
    register(p, "/register/legal-entity", fields, agent_mobile).await;
}

/// 自然人注册 with a mainland resident ID card.
pub async fn register_person(
    p: &Platform,
    login_name: &str,
    password: &str,
    real_name: &str,
    id17: &str,
    mobile: &str,
) {
    let fields: Vec<(&str, String)> = vec![
        ("login_name", login_name.into()),
        ("password", password.into()),
        ("password_confirm", password.into()),
        ("real_name", real_name.into()),
        ("identity_region", "mainland".into()),
        ("id_type", "resident_id_card".into()),
        ("id_number", resident_id(id17)),
        ("id_valid_from", "2020-01-15".into()),
        ("id_term", "20".into()),
        ("mobile", mobile.into()),
    ];
    register(p, "/register/person", fields, mobile).await;
}
