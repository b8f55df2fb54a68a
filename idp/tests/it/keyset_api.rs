//! Keyset paging of the directory API's long lists over HTTP: `GET /api/reviews/units` and
//! `GET /api/units/{org_id}/members` walked with `after` = the previous page's `next` return
//! every row exactly once, also while rows are added between two pages; the filters hold
//! across pages; a cursor the list did not answer is a 400 naming `after`; who sees what is
//! unchanged. (idp/tests/it/scale.rs does the same at the store level.) Both backends.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;
use tongyi_idp::store::{self, accounts::NewAccount, directory::ReviewEntry};
use tongyi_shared::{
    claims::{AccountType, RealnameStatus},
    org::{OrgRole, UnitStatus},
};

use crate::{
    both_backends,
    directory::{add_unit, api, ok, refused, staff, token},
    harness::{Backend, TestIdp},
};

/// Rows of a list made for these tests: more than two pages of 20.
const ROWS: usize = 45;
/// Rows whose name holds the filter word: more than one page.
const MATCHING: usize = 25;

/// A unit submitted to `department` at `at` (never submitted when `None`).
async fn unit(idp: &TestIdp, id: &str, name: &str, department: &str, at: Option<i64>) {
    let db = &idp.state.db;
    let org = store::accounts::NewOrg {
        id: id.to_owned(),
        name: name.to_owned(),
        uscc: None,
        status: UnitStatus::Registered,
    };
    store::accounts::ensure_org(db, &org, 0).await.unwrap();
    let Some(at) = at else { return };
    let entry = ReviewEntry {
        id: 0,
        org_id: id.to_owned(),
        actor_account_id: "acct-unit".into(),
        action: "submit".into(),
        from_status: "registered".into(),
        to_status: "pending_review".into(),
        department_id: Some(department.to_owned()),
        reason: None,
        at,
    };
    assert!(
        store::directory::transition(db, &["registered"], &entry, Some(department))
            .await
            .unwrap()
    );
}

/// A member (or a pending one) of `org` who never logs in.
pub(crate) async fn member(
    idp: &TestIdp,
    id: &str,
    login: &str,
    name: &str,
    org: &str,
    pending: bool,
) {
    let account = NewAccount {
        id: id.to_owned(),
        login_name: login.to_owned(),
        password_hash: "x".into(),
        account_type: AccountType::NaturalPerson,
        display_name: name.to_owned(),
        realname_status: RealnameStatus::Unverified,
        org_id: Some(org.to_owned()),
        org_role: Some(if pending {
            OrgRole::Pending
        } else {
            OrgRole::Member
        }),
        grants: Vec::new(),
        roles: Vec::new(),
        login_name_chosen: true,
    };
    assert!(store::accounts::insert(&idp.state.db, &account, 0)
        .await
        .unwrap());
}

/// One page of `list` (a path with its query) after `after`.
async fn page(idp: &TestIdp, token: &str, list: &str, after: Option<&str>) -> Value {
    let path = match after {
        None => list.to_owned(),
        Some(a) => format!(
            "{list}{}after={a}",
            if list.contains('?') { '&' } else { '?' }
        ),
    };
    let page = ok(api(idp, "GET", &path, Some(token), None).await);
    assert_eq!(page["page_size"], 20, "{page}");
    assert!(page.get("total").is_none(), "no count: {page}");
    page
}

fn rows(page: &Value) -> &[Value] {
    page["items"].as_array().map_or(&[], Vec::as_slice)
}

/// Walks `list` to its end without changes; the `key` of every row, in order.
async fn walk(idp: &TestIdp, token: &str, list: &str, key: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for pages in 0.. {
        assert!(pages < 100, "the pages never end");
        let p = page(idp, token, list, after.as_deref()).await;
        seen.extend(rows(&p).iter().map(|r| r[key].as_str().unwrap().to_owned()));
        match p["next"].as_str() {
            Some(next) => {
                assert_eq!(rows(&p).len(), 20, "only the last page is short");
                after = Some(next.to_owned());
            }
            None => break,
        }
    }
    seen
}

#[track_caller]
fn once_each(seen: &[String], expected: &BTreeSet<String>) {
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a row came twice: {seen:?}");
    for id in expected {
        assert!(seen.contains(id), "{id} was skipped: {seen:?}");
    }
}

/// The 400 of a cursor the list did not answer: `invalid_request`, naming `after`.
#[track_caller]
fn bad_cursor(answer: (StatusCode, Value)) {
    assert!(
        !answer.1["fields"]["after"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "{}",
        answer.1
    );
    refused(answer, 400, "invalid_request");
}

both_backends!(
    review_list_pages_by_cursor_over_http,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let (rev_a, rev_b, padmin) = staff(&idp).await;
        let now = idp.state.clock.now();
        // Submitted in threes at the same second, so that ties are broken by id across pages.
        let mut dept_a = BTreeSet::new();
        for i in 0..ROWS {
            let id = format!("ks-a-{i:02}");
            let name = if i < MATCHING {
                format!("天津甲组{i}科技有限公司")
            } else {
                format!("天津乙组{i}科技有限公司")
            };
            unit(
                &idp,
                &id,
                &name,
                "dept-a",
                Some(now - 10_000 + (i / 3) as i64),
            )
            .await;
            dept_a.insert(id);
        }
        let mut dept_b = BTreeSet::new();
        for i in 0..5 {
            let id = format!("ks-b-{i}");
            unit(
                &idp,
                &id,
                &format!("天津丙组{i}有限公司"),
                "dept-b",
                Some(now - i),
            )
            .await;
            dept_b.insert(id);
        }

        // The reviewer of dept-a walks all states while units are submitted between pages: one
        // newer than all, one at the cursor's own second, one older than all, and one never
        // submitted. Every unit that was there is answered once, newest first, dept-a only.
        let list = "/api/reviews/units?state=all";
        let mut seen: Vec<String> = Vec::new();
        let mut order: Vec<i64> = Vec::new();
        let mut after: Option<String> = None;
        let mut pages = 0;
        loop {
            assert!(pages < 100, "the pages never end");
            if (1..=2).contains(&pages) {
                let at = *order.last().unwrap();
                for (k, when) in [Some(now + 10), Some(at), Some(now - 20_000), None]
                    .into_iter()
                    .enumerate()
                {
                    let id = format!("ks-late-{pages}-{k}");
                    unit(&idp, &id, "天津后来单位有限公司", "dept-a", when).await;
                }
            }
            let p = page(&idp, &rev_a, list, after.as_deref()).await;
            assert!(!rows(&p).is_empty(), "no empty page: {p}");
            assert!(rows(&p).len() <= 20);
            for u in rows(&p) {
                assert_eq!(u["department"]["id"], "dept-a", "{u}");
                seen.push(u["id"].as_str().unwrap().to_owned());
                order.push(u["submitted_at"].as_i64().unwrap());
            }
            pages += 1;
            match p["next"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => break,
            }
        }
        assert!(pages >= 3, "{pages} pages");
        once_each(&seen, &dept_a);
        assert!(
            order.windows(2).all(|w| w[0] >= w[1]),
            "newest first: {order:?}"
        );
        // The oldest late units came after the cursor, so they are there too.
        assert!(seen.contains(&"ks-late-1-2".to_owned()));

        // The name filter holds across pages.
        let matching: BTreeSet<String> = dept_a.iter().take(MATCHING).cloned().collect();
        let found = walk(&idp, &rev_a, "/api/reviews/units?state=all&q=甲组", "id").await;
        assert_eq!(found.len(), MATCHING);
        once_each(&found, &matching);
        let pending = walk(&idp, &rev_a, "/api/reviews/units?q=甲组", "id").await;
        assert_eq!(
            pending.len(),
            MATCHING,
            "the default state is pending_review"
        );

        // Another department's reviewer sees only its own; a platform admin sees every one.
        let b = walk(&idp, &rev_b, list, "id").await;
        assert_eq!(b.iter().cloned().collect::<BTreeSet<_>>(), dept_b);
        let everything = walk(&idp, &padmin, list, "id").await;
        let both: BTreeSet<String> = dept_a.union(&dept_b).cloned().collect();
        once_each(&everything, &both);
        assert!(
            everything.iter().any(|id| id.ends_with("-3")),
            "never submitted"
        );

        // A cursor this list did not answer is refused, never a 500 or page 1.
        let first = page(&idp, &rev_a, list, None).await;
        let real = first["next"].as_str().unwrap().to_owned();
        let long = "A".repeat(600);
        for bad in [
            "%25%25",
            "not*base64",
            &format!("{real}!"),
            "cjE6eDp5",
            long.as_str(),
        ] {
            bad_cursor(
                api(
                    &idp,
                    "GET",
                    &format!("{list}&after={bad}"),
                    Some(&rev_a),
                    None,
                )
                .await,
            );
        }
        // Nor is the other list's cursor, either way round.
        let (unit_admin, members) = add_members_list(&idp).await;
        bad_cursor(
            api(
                &idp,
                "GET",
                &format!("{list}&after={members}"),
                Some(&rev_a),
                None,
            )
            .await,
        );
        bad_cursor(
            api(
                &idp,
                "GET",
                &format!("/api/units/org-list/members?after={real}"),
                Some(&unit_admin),
                None,
            )
            .await,
        );
        let by_number = api(&idp, "GET", "/api/reviews/units?page=3", Some(&rev_a), None).await;
        assert!(!by_number.1["fields"]["page"]
            .as_str()
            .unwrap_or("")
            .is_empty());
        refused(by_number, 400, "invalid_request");
        // Permissions are checked before the cursor matters.
        let person = token(&idp, "alice").await;
        refused(
            api(
                &idp,
                "GET",
                &format!("{list}&after={real}"),
                Some(&person),
                None,
            )
            .await,
            403,
            "forbidden",
        );
    }
);

/// A unit with more than a page of members: its admin's token and the `next` of its first
/// members page.
async fn add_members_list(idp: &TestIdp) -> (String, String) {
    add_unit(
        idp,
        "org-list",
        "天津列表单位有限公司",
        "active",
        "unit_list",
    )
    .await;
    for i in 0..ROWS {
        member(
            idp,
            &format!("lm-{i}"),
            &format!("List{i:02}"),
            "成员",
            "org-list",
            false,
        )
        .await;
    }
    let admin = token(idp, "unit_list").await;
    let p = page(idp, &admin, "/api/units/org-list/members", None).await;
    let next = p["next"].as_str().unwrap().to_owned();
    (admin, next)
}

both_backends!(
    members_list_pages_by_cursor_over_http,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        add_unit(&idp, "org-big", "天津大单位有限公司", "active", "unit_big").await;
        // Mixed case: the order is the case-insensitive login key.
        let mut before = BTreeSet::new();
        for i in 0..ROWS {
            let login = if i % 2 == 0 {
                format!("Mem{i:02}")
            } else {
                format!("mem{i:02}")
            };
            let name = if i < MATCHING {
                "张成员"
            } else {
                "李成员"
            };
            let id = format!("big-{i:02}");
            member(&idp, &id, &login, name, "org-big", i % 5 == 0).await;
            before.insert(id);
        }
        let admin = token(&idp, "unit_big").await;
        let list = "/api/units/org-big/members";

        // The unit's admin walks the members while people join between pages: one whose login
        // sorts first (before the cursor: not answered), one last, one right after the cursor
        // (both answered).
        let mut seen: Vec<String> = Vec::new();
        let mut logins: Vec<String> = Vec::new();
        let mut added = BTreeSet::new();
        let mut after: Option<String> = None;
        let mut pages = 0;
        loop {
            assert!(pages < 100, "the pages never end");
            if (1..=2).contains(&pages) {
                let last = logins.last().unwrap().to_lowercase();
                for (k, login) in [
                    format!("aaa{pages}"),
                    format!("zzz{pages}"),
                    format!("{last}_{pages}"),
                ]
                .into_iter()
                .enumerate()
                {
                    let id = format!("late-{pages}-{k}");
                    member(&idp, &id, &login, "新成员", "org-big", true).await;
                    added.insert(id);
                }
            }
            let p = page(&idp, &admin, list, after.as_deref()).await;
            assert!(!rows(&p).is_empty(), "no empty page: {p}");
            for m in rows(&p) {
                seen.push(m["account_id"].as_str().unwrap().to_owned());
                logins.push(m["username"].as_str().unwrap().to_owned());
            }
            pages += 1;
            match p["next"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => break,
            }
        }
        assert!(pages >= 3, "{pages} pages");
        once_each(&seen, &before);
        for id in &seen {
            assert!(
                before.contains(id) || added.contains(id),
                "{id} is not a member"
            );
        }
        for k in 1..=2 {
            assert!(
                seen.contains(&format!("late-{k}-1")),
                "joined after the cursor"
            );
            assert!(
                seen.contains(&format!("late-{k}-2")),
                "joined right after it"
            );
            assert!(!seen.contains(&format!("late-{k}-0")), "joined before it");
        }

        // The filter holds across pages; a platform admin may walk it too.
        let found = walk(&idp, &admin, &format!("{list}?q=张"), "account_id").await;
        let matching: BTreeSet<String> = before.iter().take(MATCHING).cloned().collect();
        assert_eq!(found.len(), MATCHING);
        once_each(&found, &matching);
        let padmin = staff(&idp).await.2;
        let all = walk(&idp, &padmin, list, "account_id").await;
        once_each(&all, &before);

        // Only the unit's admin (and platform admins): not another unit's admin, not a
        // member, with or without a cursor.
        let first = page(&idp, &admin, list, None).await;
        let real = first["next"].as_str().unwrap().to_owned();
        let other = token(&idp, "unit_admin").await;
        let person = token(&idp, "alice").await;
        for t in [&other, &person] {
            refused(
                api(&idp, "GET", list, Some(t), None).await,
                403,
                "forbidden",
            );
            refused(
                api(&idp, "GET", &format!("{list}?after={real}"), Some(t), None).await,
                403,
                "forbidden",
            );
        }

        // A cursor this list did not answer ("m1", "m1:a\n"; the review list's cursor is
        // refused here in the review test).
        for bad in ["%25", "bTE", &format!("{real}="), "bTE6YQo"] {
            bad_cursor(
                api(
                    &idp,
                    "GET",
                    &format!("{list}?after={bad}"),
                    Some(&admin),
                    None,
                )
                .await,
            );
        }
        let by_number = api(&idp, "GET", &format!("{list}?page=2"), Some(&admin), None).await;
        refused(by_number, 400, "invalid_request");
    }
);
