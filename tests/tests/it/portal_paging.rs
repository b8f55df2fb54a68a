//! The portal's 用户管理 list across pages: the IdP answers it by cursor, and the page's
//! 下一页 / 上一页 / 首页 links walk it, keeping the search, each member once.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use tongyi_idp::store::{self, accounts::NewAccount};
use tongyi_shared::{
    claims::{AccountType, RealnameStatus},
    org::OrgRole,
};

use crate::harness::{log_in_at_idp, Browser, Page, Platform};

/// The demo unit (config/demo.toml) and its admin.
const ORG: &str = "org-demo-incubator";
const UNIT_LOGIN: &str = "demo_unit";
const UNIT_PASSWORD: &str = "Demo@Unit2026";
/// Members added to the demo unit: more than one page of 20.
const ADDED: usize = 25;

/// The login names of the member rows of a members page, in order.
fn usernames(html: &str) -> Vec<String> {
    html.split("<tr id=\"member-")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or("").to_owned())
        .collect()
}

/// The link of the pager's `id` (page-next, page-prev, page-first), as the browser reads it.
fn link(html: &str, id: &str) -> Option<String> {
    let rest = html.split(&format!("<a id=\"{id}\" href=\"")).nth(1)?;
    // Askama writes `&` in attributes as `&#38;`.
    Some(
        rest.split('"')
            .next()?
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

async fn open(p: &Platform, b: &Browser, path: &str) -> Page {
    let page = b.open(&format!("{}{path}", p.portal)).await;
    assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.html);
    page
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_members_list_walks_two_pages_by_cursor() {
    let p = Platform::start().await;
    let now = p.idp_state.clock.now();
    for i in 0..ADDED {
        let account = NewAccount {
            id: format!("acct-page-{i:02}"),
            login_name: format!("page_m{i:02}"),
            password_hash: "x".into(),
            account_type: AccountType::NaturalPerson,
            display_name: format!("翻页成员{i}"),
            realname_status: RealnameStatus::Unverified,
            org_id: Some(ORG.into()),
            org_role: Some(OrgRole::Member),
            grants: Vec::new(),
            roles: Vec::new(),
            login_name_chosen: true,
        };
        assert!(store::accounts::insert(&p.idp_state.db, &account, now)
            .await
            .unwrap());
    }
    let b = Browser::new();
    let login = b.open(&format!("{}/auth/login", p.portal)).await;
    let home = log_in_at_idp(&b, &p.idp, &login, UNIT_LOGIN, UNIT_PASSWORD).await;
    assert_eq!(home.url, format!("{}/", p.portal), "{:?}", home.trail);

    // Page 1: 20 members, 下一页 only.
    let first = open(&p, &b, "/members").await;
    let one = usernames(&first.html);
    assert_eq!(one.len(), 20, "{}", first.html);
    assert!(first.html.contains("第 1 页"), "{}", first.html);
    assert_eq!(link(&first.html, "page-first"), None);
    assert_eq!(link(&first.html, "page-prev"), None);
    let next = link(&first.html, "page-next").expect("下一页");
    assert!(next.starts_with("/members?q=&after="), "{next}");

    // Page 2: the rest, each member once; 首页 and 上一页 lead back to page 1.
    let second = open(&p, &b, &next).await;
    let two = usernames(&second.html);
    assert!(!two.is_empty(), "{}", second.html);
    assert!(second.html.contains("第 2 页"), "{}", second.html);
    assert_eq!(link(&second.html, "page-next"), None, "the last page");
    let all: BTreeSet<&String> = one.iter().chain(&two).collect();
    assert_eq!(all.len(), one.len() + two.len(), "a member came twice");
    for i in 0..ADDED {
        assert!(
            all.contains(&format!("page_m{i:02}")),
            "page_m{i:02} skipped"
        );
    }
    assert!(all.contains(&"demo_person".to_owned()));
    for id in ["page-first", "page-prev"] {
        let back = link(&second.html, id).expect(id);
        assert_eq!(usernames(&open(&p, &b, &back).await.html), one, "{id}");
    }

    // The search holds across pages: 25 matches, 20 then 5.
    let found = open(&p, &b, "/members?q=page_m").await;
    assert_eq!(usernames(&found.html).len(), 20);
    let next = link(&found.html, "page-next").expect("下一页");
    assert!(next.starts_with("/members?q=page_m&after="), "{next}");
    let rest = usernames(&open(&p, &b, &next).await.html);
    assert_eq!(rest.len(), ADDED - 20, "{rest:?}");
    assert!(rest.iter().all(|u| u.starts_with("page_m")));

    // A cursor that is not one is refused with the portal's page, not a server error.
    let bad = b.open(&format!("{}/members?after=%25%25", p.portal)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.html);
    let bad = b.open(&format!("{}/members?after=bm9wZQ", p.portal)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.html);
}
